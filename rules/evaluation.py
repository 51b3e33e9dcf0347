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

from rules.matching import CompiledRule, compile_rule
from rules.models import Effect, Rule, RuleSetVersion

Index = dict[tuple[str, str | None], tuple[CompiledRule, ...]]

_compiled: tuple[str, Index] | None = None
_reload_lock = threading.Lock()


def rules_version() -> str:
    return RuleSetVersion.objects.filter(id=1).values_list("version", flat=True).first() or ""


def _load() -> Index:
    grouped: dict[tuple[str, str | None], list[CompiledRule]] = defaultdict(list)
    live = Rule.objects.filter(disabled_at__isnull=True, expired_at__isnull=True).order_by("id")
    for row in live.values("id", "effect", "action_type", "skill_id", "expires_at", "matchers", "updated_at"):
        rule = compile_rule(**row)
        grouped[(rule.action_type, rule.skill_id)].append(rule)
    # Deny rules first: a deny wins over any allow.
    return {
        key: tuple(sorted(rules, key=lambda rule: (rule.effect != Effect.DENY, rule.id)))
        for key, rules in grouped.items()
    }


def _index() -> Index:
    global _compiled
    version = rules_version()
    compiled = _compiled
    if compiled is not None and compiled[0] == version:
        return compiled[1]
    with _reload_lock:
        compiled = _compiled
        if compiled is None or compiled[0] != version:
            # Read after the version, so the copy is at least as new as the version it carries.
            compiled = (version, _load())
            _compiled = compiled
    return compiled[1]


def rules_deciding(
    *, action_type: str, skill_id: str | None, parameters: dict[str, Any], level: str, now: datetime
) -> list[CompiledRule]:
    """The live rules that decide this action, deny rules first; empty when rules are switched off."""
    if not settings.ACTIONHUB_RULES_ENABLED:
        return []
    candidates = _index().get((action_type, skill_id or None), ())
    return [rule for rule in candidates if rule.decides(parameters=parameters, level=level, now=now)]
