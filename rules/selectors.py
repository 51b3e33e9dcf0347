"""Reads of standing rules: the list, the preview of what a rule would decide, and a rule's
suggested matchers for an action."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.utils import timezone

from approvals.kinds.registry import find_kind
from approvals.models import Action, SecurityLevel
from approvals.selectors import actions_visible_to
from lib.pagination import Page, keyset_page
from rules.matching import EXACT, GLOB, URL_PREFIX, CompiledRule, compile_rule, fields_for, value_at
from rules.models import Rule
from rules.services import RuleSpec

PREVIEW_WINDOW = timedelta(days=30)
PREVIEW_SHOWN = 20
_ABSENT = object()


def allow_rule_may_decide(*, level: str) -> bool:
    """Whether an allow rule could ever decide an action of this level: HIGH only (CRITICAL ones
    always need people, LOW and MEDIUM ones run anyway), as CompiledRule.decides says."""
    return level == SecurityLevel.HIGH


def rule_state(rule: Rule, now: datetime | None = None) -> str:
    now = now or timezone.now()
    if rule.disabled_at is not None:
        return "disabled"
    if rule.expired_at is not None or rule.expires_at <= now:
        return "expired"
    return "active"


def rules_list(*, before_id: int | None = None, limit: int) -> Page[Rule]:
    """A page of `limit` rules, newest first, keyset-paged by id."""
    queryset: QuerySet[Rule] = Rule.objects.select_related("created_by", "disabled_by")
    after = None if before_id is None else (before_id,)
    return keyset_page(queryset, fields=("id",), after=after, size=limit, descending=True)


def rule_get(*, rule_id: int) -> Rule | None:
    return Rule.objects.select_related("created_by", "disabled_by").filter(id=rule_id).first()


@dataclass
class Preview:
    """What a rule would have decided among the last 30 days' actions of its type and skill that
    the viewer may see."""

    decided: int = 0
    shown: list[Action] = field(default_factory=list)
    # Matching actions an allow rule leaves alone: CRITICAL ones, and LOW/MEDIUM ones that run anyway.
    matched_not_decided: int = 0
    # Matching HIGH actions an allow rule leaves to a human because one of its authors requested them.
    authored: int = 0


def rule_preview(
    *, spec: RuleSpec, user: AbstractBaseUser, rule: Rule | None = None, now: datetime | None = None
) -> Preview:
    """Run the rule, compiled exactly as evaluation compiles it, over recent actions `user` may see.

    `user` is about to save it, so they are one of its authors, with everyone who wrote `rule` before.
    """
    now = now or timezone.now()
    authors = {user.pk, *(rule.authors.values_list("id", flat=True) if rule is not None else ())}
    compiled = _compiled(spec, frozenset(authors))
    recent = actions_visible_to(
        Action.objects.filter(
            action_type=spec.action_type, skill_id=spec.skill_id, created_at__gte=now - PREVIEW_WINDOW
        ),
        user=user,
    ).order_by("-created_at", "-id")
    preview = Preview()
    shown_ids = []
    # Only what matching needs, row by row; the few shown are fetched whole afterwards.
    rows = recent.values_list("id", "parameters", "security_level", "requested_by_id")
    for action_id, parameters, level, requester_id in rows.iterator(chunk_size=2000):
        if compiled.decides(parameters=parameters, level=level, now=now, requester_id=requester_id):
            preview.decided += 1
            if len(shown_ids) < PREVIEW_SHOWN:
                shown_ids.append(action_id)
        elif not compiled.matches(parameters):
            continue
        elif level == SecurityLevel.HIGH and compiled.leaves_to_a_human(requester_id):
            preview.authored += 1
        else:
            preview.matched_not_decided += 1
    shown = Action.objects.select_related("requested_by").in_bulk(shown_ids)
    preview.shown = [shown[action_id] for action_id in shown_ids]
    return preview


def _compiled(spec: RuleSpec, author_ids: frozenset[int]) -> CompiledRule:
    return compile_rule(
        id=0,
        effect=spec.effect,
        action_type=spec.action_type,
        skill_id=spec.skill_id,
        expires_at=spec.expires_at,
        matchers=spec.matchers,
        author_ids=author_ids,
    )


def suggested_matchers(action: Action) -> dict[str, dict[str, Any]]:
    """For each parameter a rule may match, the matcher "allow similar" suggests, or kind "any".

    Exact for most values, a glob over the same directory and extension for paths, the URL up
    to its last segment for an api_call url, the exact words of a command.
    """
    suggestions: dict[str, dict[str, Any]] = {}
    kind = find_kind(action.action_type)
    parameters = kind.rule_parameters(action.parameters or {}) if kind is not None else action.parameters or {}
    for name, spec in fields_for(action.action_type, action.skill_id).items():
        value = value_at(parameters, spec.path, _ABSENT)
        if value is _ABSENT:
            if "default" in spec.schema:
                suggestions[name] = {"kind": EXACT, "value": spec.schema["default"]}
            else:
                suggestions[name] = {"kind": "any", "value": None}
            continue
        if spec.is_path and isinstance(value, str):
            suggestions[name] = {"kind": GLOB, "value": path_glob(value)}
        elif URL_PREFIX in spec.kinds and isinstance(value, str):
            suggestions[name] = {"kind": URL_PREFIX, "value": url_parent(value)}
        else:
            suggestions[name] = {"kind": EXACT, "value": value}
    return suggestions


def path_glob(path: str) -> str:
    """`notes/2026/old.txt` → `notes/2026/*.txt`: same directory, same extension."""
    directory, name = posixpath.split(posixpath.normpath(path))
    stem, dot, extension = name.rpartition(".")
    pattern = f"*.{extension}" if dot and stem else "*"
    return f"{directory}/{pattern}" if directory else pattern


def url_parent(url: str) -> str:
    """`https://api.x/v1/items/42?q=1` → `https://api.x/v1/items`."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    parent = path.rsplit("/", 1)[0] if "/" in path.strip("/") else path
    return urlunsplit((parts.scheme, parts.netloc, parent, "", ""))
