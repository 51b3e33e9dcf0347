"""A new row in one INSERT whose text is built once per model: `save(force_insert=True)` without
the ORM's per-call compiling.

The ORM compiles a fresh INSERT on every save: for a model of thirty columns that is more of a
submit's CPU than the statement's round trip. The values written are the ORM's own: each concrete
field's `pre_save(add=True)` then `get_db_prep_save`, so defaults, `auto_now_add`, JSON and time
zones come out as they would from `save()`.

It applies to a model whose primary key is set in Python, with no parent model, no generated
column and no receiver of `pre_save`/`post_save` (it sends none), and to values that are not
database expressions (`db_default` with no Python default, `Now()`, ...); anything else is left
to `save()`, which knows how to write it. Unlike `save()` it does not check that related objects
were saved first: an unsaved one is refused by the database's foreign key instead.
"""

from __future__ import annotations

from typing import Any

from django.db import connections
from django.db.models import Model, signals

_statements: dict[tuple[type[Model], str], str] = {}


def insert_statement(instance: Model, *, using: str = "default") -> tuple[str, list[Any]] | None:
    """The INSERT that writes `instance` as a new row, and its parameters (`%s` placeholders); None
    when only `save()` writes it as it should. Run it, then call `inserted(instance)`."""
    model = type(instance)
    meta = model._meta
    if (
        meta.parents
        or instance.pk is None
        or any(field.generated for field in meta.concrete_fields)
        or signals.pre_save.has_listeners(model)
        or signals.post_save.has_listeners(model)
    ):
        return None  # a parent's row, a key the database makes, a generated column, receivers to call
    connection = connections[using]
    fields = meta.concrete_fields
    values = [field.pre_save(instance, True) for field in fields]
    if any(hasattr(value, "resolve_expression") for value in values):
        return None
    key = (model, connection.vendor)
    sql = _statements.get(key)
    if sql is None:
        quote = connection.ops.quote_name
        sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 - names from the model, values bound
            quote(meta.db_table),
            ", ".join(quote(field.column) for field in fields),
            ", ".join(["%s"] * len(fields)),
        )
        _statements[key] = sql
    return sql, [field.get_db_prep_save(value, connection) for field, value in zip(fields, values, strict=True)]


def inserted(instance: Model, *, using: str = "default") -> None:
    """Mark `instance` as saved, as `save()` does once its INSERT has run."""
    instance._state.adding = False
    instance._state.db = using


def insert_new(instance: Model, *, using: str = "default") -> None:
    statement = insert_statement(instance, using=using)
    if statement is None:
        instance.save(force_insert=True, using=using)
        return
    with connections[using].cursor() as cursor:
        cursor.execute(*statement)
    inserted(instance, using=using)
