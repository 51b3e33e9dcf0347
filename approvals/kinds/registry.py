"""The action kinds in use: one instance of each class named in ACTIONHUB_ACTION_KINDS."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from approvals.kinds.base import ActionKind


@lru_cache(maxsize=8)
def _load(paths: tuple[str, ...]) -> dict[str, ActionKind]:
    kinds: dict[str, ActionKind] = {}
    for path in paths:
        kind_class = import_string(path)
        if not (isinstance(kind_class, type) and issubclass(kind_class, ActionKind)):
            raise ImproperlyConfigured(f"ACTIONHUB_ACTION_KINDS: {path} is not an ActionKind")
        if kind_class.name in kinds:
            raise ImproperlyConfigured(f"ACTIONHUB_ACTION_KINDS: two kinds are named {kind_class.name!r}")
        kinds[kind_class.name] = kind_class()
    return kinds


def action_kinds() -> dict[str, ActionKind]:
    """Name -> kind, in settings order (the order filters list them in)."""
    return _load(tuple(settings.ACTIONHUB_ACTION_KINDS))


def find_kind(name: object) -> ActionKind | None:
    """The kind called `name`, or None (for any other value too, so bad input stays a clean error)."""
    return action_kinds().get(name) if isinstance(name, str) else None


def decide_only_names() -> list[str]:
    """The kinds a requester runs itself: no worker ever takes one of their actions."""
    return [name for name, kind in action_kinds().items() if not kind.executes]


def kind_names() -> list[str]:
    return list(action_kinds())


def skill_kinds_named() -> str:
    """The kinds that name a skill, for the error when another kind is given a skill_id."""
    return " and ".join(name for name, kind in action_kinds().items() if kind.names_skill) or "no"


def kind_choices() -> list[tuple[str, str]]:
    return [(name, kind.label) for name, kind in action_kinds().items()]
