"""Submit-time lookup of the rules that decide an action, from a per-process compiled copy.

The copy is indexed by (action_type, skill_id) and reloaded when the database's
RuleSetVersion moves, which every rule change bumps in its own transaction: one primary-key
read per submit keeps every process current.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import datetime
from typing import Any

from django.conf import settings

from approvals.kinds.registry import find_kind
from lib.versions import version_read, version_register
from rules.matching import (
    CompiledRule,
    compile_rule,
    dispatch_token,
    field_path,
    fields_for,
    parameter_defaults,
    value_at,
)
from rules.models import Effect, Rule, RuleSetVersion


def _precedence(rule: CompiledRule) -> tuple[bool, int]:
    """Deny rules first (a deny wins over any allow), then the oldest."""
    return (rule.effect != Effect.DENY, rule.id)


class Bucket:
    """The live rules of one (action_type, skill_id), indexed by their dispatch keys."""

    def __init__(self, action_type: str, skill_id: str | None, rules: list[CompiledRule]) -> None:
        self.action_type = action_type
        self.fields = fields_for(action_type, skill_id)
        self.defaults = parameter_defaults(self.fields)
        kind = find_kind(action_type)
        self.view = kind.rule_parameters if kind is not None else None
        self.scan: list[CompiledRule] = []
        self.tables: dict[tuple[str, str], dict[str, list[CompiledRule]]] = defaultdict(dict)
        for rule in rules:
            if rule.dispatch is None:
                self.scan.append(rule)
            else:
                name, way, token = rule.dispatch
                self.tables[(name, way)].setdefault(token, []).append(rule)

    def candidates(self, parameters: dict[str, Any]) -> list[CompiledRule]:
        """Every rule that could match `parameters` (a superset), in precedence order."""
        found = list(self.scan)
        seen = self.view(parameters) if self.view is not None else parameters
        for (name, way), table in self.tables.items():
            token = dispatch_token(way, value_at(seen, field_path(name, self.fields), self.defaults.get(name)))
            if token is not None:
                found += table.get(token, ())
        return sorted(found, key=_precedence)


Index = dict[tuple[str, str | None], Bucket]

_compiled: tuple[str, Index] | None = None
_reload_lock = threading.Lock()
RULES_VERSION_TABLE = RuleSetVersion._meta.db_table
version_register(RULES_VERSION_TABLE)


def rules_version() -> str:
    return version_read(RULES_VERSION_TABLE)


def _load() -> Index:
    grouped: dict[tuple[str, str | None], list[CompiledRule]] = defaultdict(list)
    live = Rule.objects.filter(disabled_at__isnull=True, expired_at__isnull=True).order_by("id")
    authors: dict[int, set[int]] = defaultdict(set)
    for rule_id, user_id in Rule.authors.through.objects.filter(rule__in=live).values_list("rule_id", "user_id"):
        authors[rule_id].add(user_id)
    for row in live.values("id", "effect", "action_type", "skill_id", "expires_at", "matchers", "updated_at"):
        rule = compile_rule(**row, author_ids=frozenset(authors[row["id"]]))
        grouped[(rule.action_type, rule.skill_id)].append(rule)
    return {key: Bucket(key[0], key[1], rules) for key, rules in grouped.items()}


def _index(*, fresh: bool) -> Index:
    global _compiled
    version = rules_version()
    compiled = _compiled
    if not fresh and compiled is not None and compiled[0] == version:
        return compiled[1]
    with _reload_lock:
        compiled = _compiled
        if fresh or compiled is None or compiled[0] != version:
            # Read after the version, so the copy is at least as new as the version it carries.
            compiled = (version, _load())
            _compiled = compiled
    return compiled[1]


def rules_deciding(
    *,
    action_type: str,
    skill_id: str | None,
    parameters: dict[str, Any],
    level: str,
    now: datetime,
    requester_id: int,
    fresh: bool = False,
) -> list[CompiledRule]:
    """The live rules that decide this action, deny rules first; empty when rules are switched off.

    An allow rule is left out for an action one of its authors requested: it waits for a reviewer.
    `fresh` reloads the rules even if the version has not moved (a hit found a rule changed).
    """
    if not settings.ACTIONHUB_RULES_ENABLED:
        return []
    bucket = _index(fresh=fresh).get((action_type, skill_id or None))
    if bucket is None:
        return []
    return [
        rule
        for rule in bucket.candidates(parameters)
        if rule.decides(parameters=parameters, level=level, now=now, requester_id=requester_id)
    ]
