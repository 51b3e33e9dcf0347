"""Every write to a standing rule: create (alone or with approving the action it came from),
edit, disable, expiry, and recording a hit. Each is audited and bumps the rule set's version
in its own transaction, so every process stops using the old rule before anyone can rely on it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from approvals.exceptions import (
    ActionExpired,
    AllowRuleForbidden,
    InvalidRule,
    NotARuleAdmin,
    RuleDisabled,
    RuleNotFound,
)
from audit.services import SYSTEM_ACTOR, audit_append
from lib.roles import is_reviewer, is_rule_admin
from lib.versions import version_bump
from rules.matching import RuleInvalid, validate_matchers
from rules.models import Effect, Rule, RuleSetVersion

DEFAULT_EXPIRY = timedelta(days=7)
MAX_EXPIRY = timedelta(days=90)
MAX_NOTE = 2000


@dataclass(frozen=True)
class RuleSpec:
    """A rule as validated, before it is saved."""

    action_type: str
    skill_id: str | None
    matchers: list[dict[str, Any]]
    effect: str
    expires_at: datetime
    note: str


def _require_rule_admin(user: AbstractBaseUser) -> None:
    if not is_rule_admin(user):
        raise NotARuleAdmin("only rule admins (group rule_admins) or staff may change rules")


def _require_may_write(user: AbstractBaseUser, spec: RuleSpec) -> None:
    """An allow rule approves other people's actions, which only a reviewer may do; a deny rule only
    ever rejects, the safe direction, so any rule admin may write one."""
    if spec.effect == Effect.ALLOW and not is_reviewer(user):
        raise AllowRuleForbidden(
            "only reviewers may write allow rules, since an allow rule approves actions; "
            "as a rule admin who is not a reviewer you may write deny rules",
            errors={"effect": "only reviewers may write allow rules; choose deny"},
        )


def _expiry_error(expires_at: Any, now: datetime) -> str | None:
    if not isinstance(expires_at, datetime):
        return "must be a date and time"
    if timezone.is_naive(expires_at):
        return "must include a time zone, e.g. 2026-01-31T12:00:00Z"
    if expires_at <= now:
        return "must be in the future"
    if expires_at > now + MAX_EXPIRY:
        return "must be at most 90 days from now"
    return None


def rule_validate(
    *,
    action_type: Any,
    skill_id: Any,
    matchers: Any,
    effect: Any,
    expires_at: datetime | None,
    note: Any,
    now: datetime | None = None,
) -> RuleSpec:
    """The rule as it would be saved, or InvalidRule (400) listing every problem; writes nothing."""
    now = now or timezone.now()
    errors: dict[str, str] = {}
    skill_id = skill_id or None
    try:
        cleaned = validate_matchers(action_type=action_type, skill_id=skill_id, matchers=matchers)
    except RuleInvalid as exc:
        errors.update(exc.errors)
        cleaned = []
    if effect not in Effect.values:
        errors["effect"] = "must be allow or deny"
    expires_at = (now + DEFAULT_EXPIRY).replace(microsecond=0) if expires_at is None else expires_at
    if message := _expiry_error(expires_at, now):
        errors["expires_at"] = message
    note = "" if note is None else note
    if not isinstance(note, str) or len(note) > MAX_NOTE:
        errors["note"] = f"must be text of at most {MAX_NOTE} characters"
    if errors:
        summary = "; ".join(f"{key}: {message}" for key, message in errors.items())
        raise InvalidRule(f"invalid rule: {summary}", errors=errors)
    return RuleSpec(action_type, skill_id, cleaned, effect, expires_at, note.strip())


def _iso(moment: datetime) -> str:
    """One spelling per instant, whatever offset it came with, so a diff shows only real changes."""
    return moment.astimezone(UTC).isoformat()


def _bump_version() -> None:
    version_bump(RuleSetVersion._meta.db_table)


def _described(rule: Rule) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "action_type": rule.action_type,
        "skill_id": rule.skill_id,
        "matchers": rule.matchers,
        "effect": rule.effect,
        "expires_at": _iso(rule.expires_at),
        "note": rule.note,
    }


def _insert(spec: RuleSpec, user: AbstractBaseUser, *, now: datetime, from_action: UUID | None) -> Rule:
    rule = Rule.objects.create(
        action_type=spec.action_type,
        skill_id=spec.skill_id,
        matchers=spec.matchers,
        effect=spec.effect,
        note=spec.note,
        expires_at=spec.expires_at,
        created_by=user,
        created_at=now,
        updated_at=now,
    )
    rule.authors.add(user)
    _bump_version()
    data = _described(rule)
    if from_action is not None:
        data["from_action"] = str(from_action)
    audit_append(actor=user.get_username(), event="rule.created", action_id=from_action, data=data)
    return rule


def rule_create(*, user: AbstractBaseUser, **fields: Any) -> Rule:
    """Create a rule from `action_type`, `skill_id`, `matchers`, `effect`, `expires_at`, `note`."""
    _require_rule_admin(user)
    now = timezone.now()
    spec = rule_validate(now=now, **fields)
    _require_may_write(user, spec)
    with transaction.atomic():
        return _insert(spec, user, now=now, from_action=None)


def rule_create_from_action(
    *, action_id: UUID, user: AbstractBaseUser, payload_hash: str, **fields: Any
) -> tuple[Rule, Any]:
    """ "Approve and allow similar": approve the action as `user` (through action_decide, with
    the payload hash they saw) and create the rule, both or neither."""
    from approvals.models import Action
    from approvals.services import action_decide

    _require_rule_admin(user)
    action = Action.objects.filter(id=action_id).only("action_type", "skill_id").first()
    if action is None:
        raise Action.DoesNotExist
    now = timezone.now()
    spec = rule_validate(now=now, action_type=action.action_type, skill_id=action.skill_id, **fields)
    _require_may_write(user, spec)
    expired: ActionExpired | None = None
    with transaction.atomic():
        try:
            outcome = action_decide(action_id=action_id, user=user, approved=True, payload_hash=payload_hash)
        except ActionExpired as exc:
            # action_decide expired it (fail closed); keep that, but create no rule.
            expired = exc
        else:
            rule = _insert(spec, user, now=now, from_action=action_id)
    if expired is not None:
        raise expired
    return rule, outcome


def _locked_rule(rule_id: int) -> Rule:
    rule = Rule.objects.select_for_update().filter(id=rule_id).first()
    if rule is None:
        raise RuleNotFound(f"rule {rule_id} not found")
    return rule


def rule_edit(*, rule_id: int, user: AbstractBaseUser, **fields: Any) -> Rule:
    """Change a live rule's `matchers`, `effect`, `expires_at` or `note`; the diff is audited."""
    _require_rule_admin(user)
    now = timezone.now()
    with transaction.atomic():
        rule = _locked_rule(rule_id)
        if rule.disabled_at is not None:
            raise RuleDisabled(f"rule {rule_id} is disabled; create a new rule instead")
        spec = rule_validate(now=now, action_type=rule.action_type, skill_id=rule.skill_id, **fields)
        _require_may_write(user, spec)
        if abs(spec.expires_at - rule.expires_at) < timedelta(seconds=1):
            # The edit form shows the expiry to the second: the same second is no change.
            spec = replace(spec, expires_at=rule.expires_at)
        old, new = _described(rule), {**_described(rule), **_spec_fields(spec)}
        diff = {key: {"old": old[key], "new": new[key]} for key in new if old[key] != new[key]}
        if not diff:
            raise InvalidRule("nothing changed: the rule already says this")
        Rule.objects.filter(id=rule.id).update(
            matchers=spec.matchers,
            effect=spec.effect,
            expires_at=spec.expires_at,
            note=spec.note,
            updated_at=now,
            expired_at=None,  # a new expiry in the future makes an expired rule live again
        )
        rule.authors.add(user)
        _bump_version()
        audit_append(actor=user.get_username(), event="rule.edited", data={"rule_id": rule.id, "diff": diff})
    rule.refresh_from_db()
    return rule


def _spec_fields(spec: RuleSpec) -> dict[str, Any]:
    return {
        "matchers": spec.matchers,
        "effect": spec.effect,
        "expires_at": _iso(spec.expires_at),
        "note": spec.note,
    }


def rule_disable(*, rule_id: int, user: AbstractBaseUser) -> Rule:
    _require_rule_admin(user)
    now = timezone.now()
    with transaction.atomic():
        rule = _locked_rule(rule_id)
        if rule.disabled_at is not None:
            raise RuleDisabled(f"rule {rule_id} is already disabled")
        Rule.objects.filter(id=rule.id).update(disabled_at=now, disabled_by=user, updated_at=now)
        _bump_version()
        audit_append(
            actor=user.get_username(),
            event="rule.disabled",
            data={"rule_id": rule.id, "hit_count": rule.hit_count, "effect": rule.effect},
        )
    rule.refresh_from_db()
    return rule


def rules_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    """Audit each rule whose expiry passed (matching already ignores it); run by worker maintenance."""
    now = now or timezone.now()
    due = Rule.objects.filter(disabled_at__isnull=True, expired_at__isnull=True, expires_at__lte=now)
    expired = 0
    for rule_id in list(due.values_list("id", flat=True)[:limit]):
        with transaction.atomic():
            claimed = Rule.objects.filter(
                id=rule_id, disabled_at__isnull=True, expired_at__isnull=True, expires_at__lte=now
            ).update(expired_at=now)
            if not claimed:
                continue
            rule = Rule.objects.get(id=rule_id)
            _bump_version()
            audit_append(
                actor=SYSTEM_ACTOR,
                event="rule.expired",
                data={"rule_id": rule.id, "expires_at": rule.expires_at.isoformat(), "hit_count": rule.hit_count},
            )
        expired += 1
    return expired
