"""Every write to an action: creation, decisions, edits, expiry and execution bookkeeping.

`Action.status` changes only here, through `_transition`: a compare-and-set update checked
against ALLOWED_TRANSITIONS, its audit entry in the same transaction, and its effects: the
`action_approved` / `action_held` signals (the worker queues its task; a held action carries its
reviewers' notice in its own row, `notice_due`, whose database trigger wakes the workers) and
`action_settled` when it is decided or finished (outboxes write there), all inside the transaction
so a submit or a decision is one durable commit,
the websocket broadcast through approvals.events (written in the same transaction on the
database channel layer, sent on commit on Redis). What an action type means, its kind says.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from approvals import events, signals
from approvals.assignment import NOT_ASSIGNED, action_assign, escalation_time, may_review, review_groups
from approvals.authorship import EDITED_BY_YOU, editor_approval_refuse
from approvals.callback_target import callback_clean
from approvals.exceptions import (
    ActionExpired,
    ActionNotPending,
    AlreadyDecided,
    EditedByYou,
    InvalidParameters,
    InvalidTransition,
    NotAReviewer,
    NotAssigned,
    NotRequester,
    PayloadChanged,
    RunByActionHub,
    SelfApprovalForbidden,
)
from approvals.kinds.registry import decide_only_names, find_kind
from approvals.models import Action, ActionEdit, Approval, Decision, SecurityLevel, Status
from approvals.parameters import validate_parameters
from approvals.policy import classify
from approvals.runtime import expiry_for, runtime_values
from audit.chain import canonical_json
from audit.services import SYSTEM_ACTOR, audit_append, audit_append_with
from lib.inserts import insert_new, insert_statement, inserted
from lib.roles import is_reviewer
from lib.urlnorm import normalize_url
from lib.versions import versions_pinned
from rules.evaluation import rules_deciding
from rules.hits import rule_hit_record
from rules.matching import CompiledRule

logger = logging.getLogger(__name__)

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.PENDING: frozenset({Status.APPROVED, Status.REJECTED, Status.EXPIRED, Status.CANCELLED}),
    # APPROVED -> COMPLETED/FAILED: the requester's report on a decide-only action (action_report_outcome).
    Status.APPROVED: frozenset({Status.EXECUTING, Status.COMPLETED, Status.FAILED}),
    # EXECUTING -> APPROVED releases an action whose worker died or shut down, for a retry.
    Status.EXECUTING: frozenset({Status.COMPLETED, Status.FAILED, Status.APPROVED}),
    Status.REJECTED: frozenset(),
    Status.EXPIRED: frozenset(),
    Status.COMPLETED: frozenset(),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
}
HELD_LEVELS = (SecurityLevel.HIGH, SecurityLevel.CRITICAL)
DECIDED = "action.decided"
FINISHED = "action.finished"
INTERRUPTED = "interrupted"


def payload_hash(*, action_type: str, skill_id: str | None, parameters: dict[str, Any]) -> str:
    body = canonical_json({"action_type": action_type, "skill_id": skill_id, "parameters": parameters})
    return hashlib.sha256(body.encode()).hexdigest()


def _transition(
    action: Action,
    *,
    source: str,
    target: str,
    actor: str,
    event: str,
    data: dict[str, Any] | None = None,
    where: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Compare-and-set `source` -> `target`; False when the action was no longer in `source`.

    On success `action` holds what was written, so no caller copies the status by hand (which is
    why `fields` are plain values, never expressions). Must run inside the caller's transaction
    so the audit entry commits with the change.
    """
    if target not in ALLOWED_TRANSITIONS[source]:
        raise InvalidTransition(f"an action cannot go from {source} to {target}")
    action_id = action.id
    updated = Action.objects.filter(id=action_id, status=source, **(where or {})).update(status=target, **fields)
    if not updated:
        return False
    for name, value in fields.items():
        setattr(action, name, value)
    action.status = target
    audit_append(actor=actor, event=event, action_id=action_id, data={"from": source, "to": target, **(data or {})})
    events.action_changed(action_id=action_id, status=target)
    if source == Status.PENDING:
        _announce_settled(action, DECIDED)
    elif target in (Status.COMPLETED, Status.FAILED):
        _announce_settled(action, FINISHED)
    if target == Status.APPROVED:
        _announce_approved(action)
    return True


def _announce_settled(action: Action, event: str) -> None:
    signals.action_settled.send(sender=Action, action=action, event=event)


def _announce_approved(action: Action) -> None:
    signals.action_approved.send(sender=Action, action_id=action.id, action_type=action.action_type)


def _required_approvals(level: str, quorum_critical: int) -> int:
    if level == SecurityLevel.CRITICAL:
        return quorum_critical
    if level == SecurityLevel.HIGH:
        return 1
    return 0


@versions_pinned()
def action_create(
    *,
    user: AbstractBaseUser,
    action_type: str,
    parameters: Any,
    skill_id: str | None = None,
    external_id: str = "",
    callback_url: str | None = None,
    callback_state: Any = None,
) -> Action:
    """Validate, classify on the server, persist; LOW/MEDIUM are approved by `system` at once.

    `external_id` is the requester's own name for the action; `callback_url` (allowlisted) hears of
    its decision and finish, with `callback_state` echoed back. None of them is in the payload hash.
    """
    parameters = validate_parameters(action_type=action_type, parameters=parameters, skill_id=skill_id)
    callback_url, callback_state = callback_clean(url=callback_url, state=callback_state)
    find_kind(action_type).admit(skill_id=skill_id)
    classification = classify(action_type=action_type, parameters=parameters, skill_id=skill_id)
    values = runtime_values("expiry_high", "expiry_critical", "quorum_critical")
    now = timezone.now()
    expiry = expiry_for(classification.level, values)
    held = classification.level in HELD_LEVELS
    rules = rules_deciding(
        action_type=action_type,
        skill_id=skill_id,
        parameters=parameters,
        level=classification.level,
        now=now,
        requester_id=user.pk,
    )
    # An action a standing rule decides starts pending, so the rule's decision is a normal transition.
    waits = held or bool(rules)
    action = Action(
        action_type=action_type,
        skill_id=skill_id,
        parameters=parameters,
        payload_hash=payload_hash(action_type=action_type, skill_id=skill_id, parameters=parameters),
        security_level=classification.level,
        classification_reasons=classification.reasons,
        status=Status.PENDING if waits else Status.APPROVED,
        requested_by=user,
        approvals_required=_required_approvals(classification.level, values["quorum_critical"]),
        created_at=now,
        approved_at=None if waits else now,
        expires_at=now + expiry if expiry else None,
        external_id=external_id,
        callback_url=callback_url,
        callback_state=callback_state,
    )
    if held:
        action.escalate_at = escalation_time(created_at=now, expires_at=action.expires_at)
        # Reviewers are told through the row itself, unless a standing rule decides it first.
        action.notice_due = not rules
    created = {
        "action_type": action_type,
        "skill_id": skill_id,
        "parameters": parameters,
        "security_level": classification.level,
        "reasons": classification.reasons,
        "payload_hash": action.payload_hash,
        **({"external_id": external_id} if external_id else {}),
        # Where its decision will be told, as the callbacks' own entries name it: the origin
        # only (a path may hold a token; the detail page shows the whole URL).
        **({"callback_to": normalize_url(callback_url).origin} if callback_url else {}),
    }
    groups = review_groups(action_type=action_type, skill_id=skill_id) if held else ()
    action.edit_list = []  # new, so never edited: showing it needs no query for its edits
    if (
        held
        and not rules
        and not groups
        and not signals.action_held.has_listeners(Action)
        and events.sent_after_commit()
    ):
        # The common held submit writes its row and its audit entry and nothing else: one statement,
        # which outside a transaction commits by itself (unlike the transaction below, it takes no
        # savepoint inside one: a caller that goes on after an error rolls its transaction back).
        statement = insert_statement(action)
        if statement is not None:
            with events.announced_together():
                audit_append_with(
                    change=statement,
                    actor=user.get_username(),
                    event="action.created",
                    action_id=action.id,
                    data=created,
                )
                inserted(action)
                action.assigned_group_list = []
                events.action_created(action_id=action.id, requester_id=user.pk)
                events.action_changed(action_id=action.id, status=Status.PENDING, new=True)
            return action
    with transaction.atomic():
        insert_new(action)  # what save() writes, without compiling its INSERT on every submit
        if held:
            action_assign(action=action, groups=groups)
        if not rules:
            # The rows and tasks first, the audit chain last: its head stays locked only from the
            # appends to the commit, which is what every submit waits for.
            if held:
                signals.action_held.send(sender=Action, action_id=action.id)
            else:
                _approval_by_policy(action, classification.level, now)
                _announce_settled(action, DECIDED)
                _announce_approved(action)
        audit_append(actor=user.get_username(), event="action.created", action_id=action.id, data=created)
        events.action_created(action_id=action.id, requester_id=user.pk)
        if rules and _decide_by_rule(action, rules, classification.level, now):
            return action
        if held:
            events.action_changed(action_id=action.id, status=Status.PENDING, new=True)
            if rules:  # none of the rules that looked likely decided it after all
                Action.objects.filter(id=action.id).update(notice_due=True)
                action.notice_due = True
                signals.action_held.send(sender=Action, action_id=action.id)
            return action
        if rules:  # the rule meant to decide it was disabled meanwhile
            _approval_by_policy(action, classification.level, now)
            _approve_by_policy(action, classification.level, now)
            return action
        audit_append(
            actor=SYSTEM_ACTOR,
            event="action.approved",
            action_id=action.id,
            data={"from": Status.PENDING, "to": Status.APPROVED, "by_policy": classification.level},
        )
        events.action_changed(action_id=action.id, status=Status.APPROVED, new=True)
    return action


def _decide_by_rule(action: Action, rules: list[CompiledRule], level: str, now: datetime) -> bool:
    """Let the first rule still as compiled (deny rules come first) decide the new pending action.

    A rule edited, disabled or expired by another process since this one compiled it is not
    used: the rules are looked up again, fresh, before any rule after it may decide (a stale
    deny must not let an allow win). False when none decides after all.
    """
    for attempt in range(2):
        for rule in rules:
            note = rule_hit_record(
                rule_id=rule.id, updated_at=rule.updated_at, effect=rule.effect, action_id=action.id, now=now
            )
            if note is not None:
                _apply_rule(action, rule, note, now)
                return True
            if attempt == 0:
                break
        rules = rules_deciding(
            action_type=action.action_type,
            skill_id=action.skill_id,
            parameters=action.parameters,
            level=level,
            now=now,
            requester_id=action.requested_by_id,
            fresh=True,
        )
    return False


def _apply_rule(action: Action, rule: CompiledRule, note: str, now: datetime) -> None:
    approved = rule.effect == "allow"
    reason = note or f"{rule.effect} rule #{rule.id}"
    Approval.objects.create(
        action=action,
        user=None,
        rule_id=rule.id,
        decision=Decision.APPROVE if approved else Decision.REJECT,
        reason=reason,
        payload_hash=action.payload_hash,
        at=now,
    )
    _transition(
        action,
        source=Status.PENDING,
        target=Status.APPROVED if approved else Status.REJECTED,
        actor=f"rule:{rule.id}",
        event="action.approved" if approved else "action.rejected",
        data={"rule_id": rule.id, "reason": reason, "payload_hash": action.payload_hash},
        **({"approved_at": now} if approved else {}),
    )


def _approval_by_policy(action: Action, level: str, now: datetime) -> None:
    Approval.objects.create(
        action=action,
        user=None,
        decision=Decision.APPROVE,
        reason=f"{level} risk: approved by policy",
        payload_hash=action.payload_hash,
        at=now,
    )


def _approve_by_policy(action: Action, level: str, now: datetime) -> None:
    _transition(
        action,
        source=Status.PENDING,
        target=Status.APPROVED,
        actor=SYSTEM_ACTOR,
        event="action.approved",
        data={"by_policy": level},
        approved_at=now,
    )


@dataclass(frozen=True)
class DecisionOutcome:
    action: Action
    status: str
    approvals: int
    approvals_required: int


def _check_decidable(action: Action, user: AbstractBaseUser, *, approving: bool) -> None:
    """Whether `user` may decide (or edit, which is not approving) `action`; a domain error if not."""
    if not is_reviewer(user):
        raise NotAReviewer("only reviewers may decide on actions")
    if not may_review(user=user, action=action):
        raise NotAssigned(NOT_ASSIGNED)
    if action.requested_by_id == user.pk:
        raise SelfApprovalForbidden("you cannot decide on an action you requested")
    if action.status != Status.PENDING:
        raise ActionNotPending(f"action is {action.status}, not pending")
    if approving:
        editor_approval_refuse(action=action, user=user)


def _expire_locked(action: Action, now: datetime) -> bool:
    return _transition(
        action,
        source=Status.PENDING,
        target=Status.EXPIRED,
        actor=SYSTEM_ACTOR,
        event="action.expired",
        data={"security_level": action.security_level, "expires_at": action.expires_at.isoformat()},
        where={"expires_at__lte": now},
    )


def action_decide(
    *,
    action_id: UUID,
    user: AbstractBaseUser,
    approved: bool,
    reason: str = "",
    payload_hash: str | None = None,
    via_link: dict[str, Any] | None = None,
) -> DecisionOutcome:
    """Record `user`'s decision. Raises a domain error (403/409) instead of deciding wrongly.

    A decision that arrives after the expiry time expires the action instead (fail closed).
    `via_link` describes the one-tap link it came through, recorded on the decision's audit entry.
    """
    reason = (reason or "").strip()
    with transaction.atomic():
        action = Action.objects.select_for_update().get(id=action_id)
        _check_decidable(action, user, approving=False)  # an editor's approval: refused with the read below
        live = _live_decisions(action, user, approving=approved)
        now = timezone.now()
        expired = action.expires_at is not None and action.expires_at <= now
        if expired:
            _expire_locked(action, now)
        else:
            outcome = _record_decision(
                action,
                user,
                live,
                approved=approved,
                reason=reason,
                seen_hash=payload_hash,
                now=now,
                via_link=via_link,
            )
    if expired:
        raise ActionExpired("action expired before a decision was made; it will not run")
    return outcome


_EDITED = "edited"


def _live_decisions(action: Action, user: AbstractBaseUser, *, approving: bool) -> list[tuple[int | None, str]]:
    """The action's live decisions, `(user_id, decision)`; EditedByYou first when `user`, approving,
    ever edited it. One query for both, read under the action's row lock, which every edit and
    decision takes (so neither can change between this read and the decision). Written out in SQL:
    the ORM's union cost a bulk decision a fifth of its time to compile, once per action."""
    action_id = Action._meta.pk.get_db_prep_value(action.id, connection)
    with connection.cursor() as cursor:
        if approving:
            cursor.execute(_LIVE_OR_EDITED_SQL, [action_id, _EDITED, action_id, user.pk])
        else:
            cursor.execute(_LIVE_SQL, [action_id])
        rows = cursor.fetchall()
    if any(decision == _EDITED for _, decision in rows):
        raise EditedByYou(EDITED_BY_YOU)
    return rows


_LIVE_SQL = "SELECT user_id, decision FROM approvals_approval WHERE action_id = %s AND voided_at IS NULL"
_LIVE_OR_EDITED_SQL = _LIVE_SQL + (  # noqa: S608 - constants only
    " UNION ALL SELECT user_id, %s FROM approvals_actionedit WHERE action_id = %s AND user_id = %s"
)


def _record_decision(
    action: Action,
    user: AbstractBaseUser,
    live: list[tuple[int | None, str]],
    *,
    approved: bool,
    reason: str,
    seen_hash: str | None,
    now: datetime,
    via_link: dict[str, Any] | None = None,
) -> DecisionOutcome:
    if seen_hash is not None and seen_hash != action.payload_hash:
        raise PayloadChanged("the action changed since you saw it; review it again")
    # One read of the live decisions answers both "already decided?" and "how many approvals?".
    if any(user_id == user.pk for user_id, _ in live):
        raise AlreadyDecided("you already decided on this action")
    Approval.objects.create(
        action=action,
        user=user,
        decision=Decision.APPROVE if approved else Decision.REJECT,
        reason=reason,
        payload_hash=action.payload_hash,
        at=now,
    )
    actor = user.get_username()
    via = {"via_link": via_link} if via_link else {}
    if not approved:
        _transition(
            action,
            source=Status.PENDING,
            target=Status.REJECTED,
            actor=actor,
            event="action.rejected",
            data={"reason": reason, "payload_hash": action.payload_hash, **via},
        )
        return DecisionOutcome(action, Status.REJECTED, 0, action.approvals_required)
    count = 1 + sum(decision == Decision.APPROVE for _, decision in live)
    progress = {"approvals": count, "approvals_required": action.approvals_required, "reason": reason, **via}
    if count >= action.approvals_required:
        _transition(
            action,
            source=Status.PENDING,
            target=Status.APPROVED,
            actor=actor,
            event="action.approved",
            data={**progress, "payload_hash": action.payload_hash},
            approved_at=now,
        )
    else:
        audit_append(actor=actor, event="action.approval_added", action_id=action.id, data=progress)
        events.action_changed(action_id=action.id, status=Status.PENDING)
    return DecisionOutcome(action, action.status, count, action.approvals_required)


def action_cancel(*, action_id: UUID, user: AbstractBaseUser, reason: str = "") -> Action:
    """Withdraw a pending action on its requester's behalf (an agent that stopped waiting): it leaves
    every queue and can no longer be decided. 403 for anyone else, 409 once it is not pending."""
    reason = (reason or "").strip()
    with transaction.atomic():
        action = Action.objects.select_for_update().get(id=action_id)
        if action.requested_by_id != user.pk:
            raise NotRequester("only its requester may cancel an action")
        cancelled = _transition(
            action,
            source=Status.PENDING,
            target=Status.CANCELLED,
            actor=user.get_username(),
            event="action.cancelled",
            data={"reason": reason} if reason else {},
            completed_at=timezone.now(),
        )
        if not cancelled:
            raise ActionNotPending(f"action is {action.status}, not pending: it can no longer be cancelled")
    return action


def action_report_outcome(
    *, action_id: UUID, user: AbstractBaseUser, ok: bool, output: str = "", error: str = ""
) -> Action:
    """Record what happened when the requester ran its approved decide-only action (a tool call):
    completed with `output`, or failed with `error`. Once only; 403 for anyone but the requester,
    409 for an action ActionHub runs itself or one that is not approved (not yet, or already reported)."""
    with transaction.atomic():
        action = Action.objects.select_for_update().get(id=action_id)
        if action.requested_by_id != user.pk:
            raise NotRequester("only its requester may report an action's outcome")
        if action.action_type not in decide_only_names():
            raise RunByActionHub(f"{action.action_type} actions are run by ActionHub, which records their outcome")
        if action.status != Status.APPROVED:
            already = action.status in (Status.COMPLETED, Status.FAILED)
            detail = "its outcome was already reported" if already else "it was not approved"
            raise ActionNotPending(f"action is {action.status}: {detail}")
        error = error.strip() or ("" if ok else "the requester reported a failure without saying why")
        _transition(
            action,
            source=Status.APPROVED,
            target=Status.COMPLETED if ok else Status.FAILED,
            actor=user.get_username(),
            event="action.completed" if ok else "action.failed",
            data={"reported": True, **({"output": output} if ok else {"error": error})},
            result={"output": output} if ok else None,
            error="" if ok else error,
            completed_at=timezone.now(),
        )
    return action


def action_edit(*, action_id: UUID, user: AbstractBaseUser, parameters: Any, payload_hash: str | None = None) -> Action:
    """Replace a pending action's parameters: re-classified, earlier approvals voided, diff audited.

    `payload_hash`, when given, is the version the reviewer edited; a newer one refuses the edit.
    """
    with transaction.atomic():
        action = Action.objects.select_for_update().get(id=action_id)
        _check_decidable(action, user, approving=False)
        if payload_hash is not None and payload_hash != action.payload_hash:
            raise PayloadChanged("the action changed since you opened it; review the new version first")
        now = timezone.now()
        expired = action.expires_at is not None and action.expires_at <= now
        if expired:
            _expire_locked(action, now)
        else:
            parameters = validate_parameters(
                action_type=action.action_type, parameters=parameters, skill_id=action.skill_id
            )
            _apply_edit(action, user, parameters, now)
    if expired:
        raise ActionExpired("action expired before it was edited; it will not run")
    action.refresh_from_db()
    return action


def _apply_edit(action: Action, user: AbstractBaseUser, parameters: dict[str, Any], now: datetime) -> None:
    new_hash = payload_hash(action_type=action.action_type, skill_id=action.skill_id, parameters=parameters)
    if new_hash == action.payload_hash:
        raise InvalidParameters("the new parameters are the same as the current ones")
    classification = classify(action_type=action.action_type, parameters=parameters, skill_id=action.skill_id)
    values = runtime_values("expiry_high", "expiry_critical", "quorum_critical")
    expiry = expiry_for(classification.level, values)
    expires_at = action.expires_at
    if expiry is not None and (expires_at is None or now + expiry < expires_at):
        expires_at = now + expiry
    voided = Approval.objects.filter(action=action, voided_at__isnull=True).update(voided_at=now)
    diff = parameters_diff(action.parameters, parameters)
    ActionEdit.objects.create(
        action=action,
        user=user,
        at=now,
        diff=diff,
        payload_hash_before=action.payload_hash,
        payload_hash_after=new_hash,
        approvals_voided=voided,
    )
    Action.objects.filter(id=action.id, status=Status.PENDING).update(
        parameters=parameters,
        payload_hash=new_hash,
        security_level=classification.level,
        classification_reasons=classification.reasons,
        approvals_required=_required_approvals(classification.level, values["quorum_critical"]),
        expires_at=expires_at,
        escalate_at=escalation_time(created_at=action.created_at, expires_at=expires_at),
        **({"notice_due": True} if classification.level in HELD_LEVELS else {}),
    )
    actor = user.get_username()
    audit_append(
        actor=actor,
        event="action.edited",
        action_id=action.id,
        data={
            "diff": diff,
            "security_level": {"old": action.security_level, "new": classification.level},
            "reasons": classification.reasons,
            "payload_hash": {"old": action.payload_hash, "new": new_hash},
            "approvals_voided": voided,
        },
    )
    events.action_changed(action_id=action.id, status=Status.PENDING)
    if classification.level in HELD_LEVELS:  # earlier approvals are void: reviewers must look again
        signals.action_held.send(sender=Action, action_id=action.id)
    if classification.level not in HELD_LEVELS:
        Approval.objects.create(
            action=action,
            user=None,
            decision=Decision.APPROVE,
            reason=f"{classification.level} risk after edit: approved by policy",
            payload_hash=new_hash,
            at=now,
        )
        _transition(
            action,
            source=Status.PENDING,
            target=Status.APPROVED,
            actor=SYSTEM_ACTOR,
            event="action.approved",
            data={"by_policy": classification.level, "after_edit_by": actor},
            approved_at=now,
        )


@dataclass(frozen=True)
class EditPreview:
    diff: dict[str, Any]
    security_level: str
    reasons: list[str]
    held: bool
    approvals_voided: int


def action_edit_preview(*, action: Action, parameters: Any) -> EditPreview:
    """What an edit would do, without doing it: the diff, the new classification, approvals voided."""
    parameters = validate_parameters(action_type=action.action_type, parameters=parameters, skill_id=action.skill_id)
    new_hash = payload_hash(action_type=action.action_type, skill_id=action.skill_id, parameters=parameters)
    if new_hash == action.payload_hash:
        raise InvalidParameters("the new parameters are the same as the current ones")
    classification = classify(action_type=action.action_type, parameters=parameters, skill_id=action.skill_id)
    return EditPreview(
        diff=parameters_diff(action.parameters, parameters),
        security_level=classification.level,
        reasons=classification.reasons,
        held=classification.level in HELD_LEVELS,
        approvals_voided=Approval.objects.filter(action=action, voided_at__isnull=True).count(),
    )


def parameters_diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Keys added, removed and changed between two parameter objects."""
    return {
        "added": {key: new[key] for key in new.keys() - old.keys()},
        "removed": {key: old[key] for key in old.keys() - new.keys()},
        "changed": {key: {"old": old[key], "new": new[key]} for key in old.keys() & new.keys() if old[key] != new[key]},
    }


def action_expire(*, action_id: UUID, now: datetime | None = None) -> bool:
    """Expire one pending action whose time is up; False if it was decided or is not due."""
    now = now or timezone.now()
    with transaction.atomic():
        action = Action.objects.select_for_update().get(id=action_id)
        if action.status != Status.PENDING or action.expires_at is None:
            return False
        return _expire_locked(action, now)


def actions_expire_due(*, now: datetime | None = None, limit: int = 500) -> int:
    now = now or timezone.now()
    due = Action.objects.filter(status=Status.PENDING, expires_at__lte=now).values_list("id", flat=True)[:limit]
    return sum(action_expire(action_id=action_id, now=now) for action_id in list(due))


def held_notices_take(*, limit: int = 50) -> list[UUID]:
    """The held actions whose reviewers are still to be told, oldest first, taken off that list.

    Call it inside the transaction that queues their telling: if that rolls back they are still
    due, so a crash in between loses none and tells none twice. Rows another worker is taking are
    skipped, not waited for; the compare-and-set keeps it exact where rows cannot be locked (SQLite).
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("held_notices_take must run inside the transaction that queues the notices")
    due = (
        Action.objects.filter(notice_due=True)
        .order_by("created_at")
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)[:limit]
    )
    return [
        action_id
        for action_id in list(due)
        if Action.objects.filter(id=action_id, notice_due=True).update(notice_due=False)
    ]


# Execution bookkeeping, called by the executor.


def is_idempotent(action: Action) -> bool:
    """Whether running the action twice has the same effect as once (safe to retry)."""
    kind = find_kind(action.action_type)
    return kind is not None and kind.idempotent(action.parameters or {})


def _lease_until(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.ACTIONHUB_LEASE_SECONDS)


def action_start(*, action_id: UUID, worker_id: str) -> Action | None:
    """Claim an approved action for this worker; None if another worker has it, it is not approved,
    or its kind is decide-only (its requester runs it)."""
    now = timezone.now()
    action = Action.objects.select_related("requested_by").filter(id=action_id, status=Status.APPROVED).first()
    if action is None or action.action_type in decide_only_names():
        return None
    with transaction.atomic():
        started = _transition(
            action,
            source=Status.APPROVED,
            target=Status.EXECUTING,
            actor=SYSTEM_ACTOR,
            event="action.started",
            data={"worker": worker_id},
            # The attempt read above is the one claimed: a release in between changes no attempt.
            where={"attempt": action.attempt},
            attempt=action.attempt + 1,
            worker_id=worker_id,
            started_at=now,
            lease_expires_at=_lease_until(now),
        )
    return action if started else None


def action_heartbeat(*, action_id: UUID, worker_id: str, attempt: int) -> bool:
    """Extend the lease; False means this worker lost the action and must not record a result."""
    return bool(
        Action.objects.filter(id=action_id, status=Status.EXECUTING, worker_id=worker_id, attempt=attempt).update(
            lease_expires_at=_lease_until(timezone.now())
        )
    )


def action_finish(*, action: Action, result: Any = None, error: str | None = None, error_detail: str = "") -> bool:
    """Record the outcome of this worker's attempt: completed with `result`, or failed with `error`
    (a sentence people read; its technical cause, `error_detail`, goes to the audit entry only).

    False when the attempt no longer owns the action (its lease ran out and it was recovered).
    """
    failed = error is not None
    with transaction.atomic():
        return _transition(
            action,
            source=Status.EXECUTING,
            target=Status.FAILED if failed else Status.COMPLETED,
            actor=SYSTEM_ACTOR,
            event="action.failed" if failed else "action.completed",
            data={
                "attempt": action.attempt,
                **({"error": error} if failed else {"result": result}),
                **({"error_detail": error_detail} if failed and error_detail else {}),
            },
            where={"worker_id": action.worker_id, "attempt": action.attempt},
            result=None if failed else result,
            error=error or "",
            completed_at=timezone.now(),
            lease_expires_at=None,
        )


def action_recover(*, action: Action, reason: str, now: datetime | None = None) -> str | None:
    """Recover an executing action whose worker is gone; returns the new status or None if it moved on.

    Idempotent kinds go back to approved for another attempt (bounded by ACTIONHUB_MAX_ATTEMPTS);
    anything else fails with error `interrupted` and is flagged for review, so it never runs twice.
    """
    now = now or timezone.now()
    where = {"worker_id": action.worker_id, "attempt": action.attempt}
    with transaction.atomic():
        if is_idempotent(action) and action.attempt < settings.ACTIONHUB_MAX_ATTEMPTS:
            released = _transition(
                action,
                source=Status.EXECUTING,
                target=Status.APPROVED,
                actor=SYSTEM_ACTOR,
                event="action.released",
                data={"attempt": action.attempt, "worker": action.worker_id, "reason": reason},
                where=where,
                worker_id="",
                lease_expires_at=None,
            )
            return Status.APPROVED if released else None
        failed = _transition(
            action,
            source=Status.EXECUTING,
            target=Status.FAILED,
            actor=SYSTEM_ACTOR,
            event="action.failed",
            data={"attempt": action.attempt, "worker": action.worker_id, "error": INTERRUPTED, "reason": reason},
            where=where,
            error=INTERRUPTED,
            needs_review=True,
            completed_at=now,
            lease_expires_at=None,
        )
        return Status.FAILED if failed else None
