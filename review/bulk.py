"""Bulk decisions: many actions decided by one reviewer in one request, each on its own.

Every action goes through `action_decide` in its own transaction, so one refusal (own action,
an approval of an action this reviewer edited, changed since seen, already decided, expired, not
assigned, an approval that takes a second step not taken) never blocks or undoes the others, and
each decision gets its own audit entries. The queues hear about the whole batch once.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from approvals import events, exceptions
from approvals.assignment import assignments_prefetched, may_review
from approvals.models import Action, Status
from approvals.presentation import approval_needs_confirmation
from approvals.services import action_decide
from lib.roles import is_reviewer

BULK_LIMIT = 200

# Why an item was refused, as `code` in the results (the page words them per row).
OWN_ACTION = "own_action"
EDITED_BY_YOU = "edited_by_you"
CHANGED = "changed"
ALREADY_DECIDED = "already_decided"
EXPIRED = "expired"
NOT_ASSIGNED = "not_assigned"
NOT_FOUND = "not_found"
REASON_REQUIRED = "reason_required"
CONFIRMATION_REQUIRED = "confirmation_required"
REFUSED = "refused"

_CODES: list[tuple[type[exceptions.ActionError], str]] = [
    (exceptions.SelfApprovalForbidden, OWN_ACTION),
    (exceptions.EditedByYou, EDITED_BY_YOU),
    (exceptions.PayloadChanged, CHANGED),
    (exceptions.AlreadyDecided, ALREADY_DECIDED),
    (exceptions.ActionExpired, EXPIRED),
    (exceptions.NotAssigned, NOT_ASSIGNED),
]


@dataclass(frozen=True)
class BulkItem:
    action_id: UUID
    approved: bool
    reason: str = ""
    payload_hash: str | None = None


@dataclass(frozen=True)
class BulkResult:
    action_id: UUID
    # approved | rejected | pending (approval recorded, more needed) | refused
    status: str
    detail: str
    code: str = ""

    @property
    def refused(self) -> bool:
        return self.status == REFUSED


def bulk_check(items: list[BulkItem]) -> None:
    """Refuse the whole request, before deciding anything, when it is empty, too long or repeats an id."""
    if not items:
        raise exceptions.InvalidParameters("no decisions: select at least one action")
    if len(items) > BULK_LIMIT:
        raise exceptions.InvalidParameters(
            f"too many decisions: {len(items)} in one request, at most {BULK_LIMIT}; nothing was decided"
        )
    seen: set[UUID] = set()
    repeated = []
    for item in items:
        if item.action_id in seen:
            repeated.append(str(item.action_id))
        seen.add(item.action_id)
    if repeated:
        raise exceptions.InvalidParameters(
            f"each action may appear once; repeated: {', '.join(dict.fromkeys(repeated))}; nothing was decided",
            errors={"duplicates": list(dict.fromkeys(repeated))},
        )


def actions_decide_bulk(*, user: AbstractBaseUser, items: list[BulkItem], confirmed: bool) -> list[BulkResult]:
    """Decide each item on its own, in order; the results say per item what happened.

    Unless `confirmed` (the second step was taken, listing those rows), an approval of an
    irreversible, CRITICAL or known-to-fail action is refused for that row alone, as a page
    approval of one such action is.
    """
    bulk_check(items)
    if not is_reviewer(user):
        raise exceptions.NotAReviewer("only reviewers may decide on actions")
    with events.queue_changes_coalesced(), assignments_prefetched([item.action_id for item in items]):
        return [_decide_one(user, item, confirmed=confirmed) for item in items]


def second_step_actions(*, user: AbstractBaseUser, action_ids: list[UUID]) -> list[Action]:
    """Among `action_ids`, in that order, the actions `user` could approve now whose approval takes
    a second step: what the confirmation lists, and what an unconfirmed bulk approval refuses.
    Whatever would be refused anyway (own, edited by `user`, expired, not theirs to review) is left
    to that refusal."""
    now = timezone.now()
    actions = (
        Action.objects.select_related("requested_by")
        .filter(id__in=action_ids, status=Status.PENDING)
        .exclude(requested_by_id=user.pk)
        .exclude(edits__user_id=user.pk)
        .exclude(expires_at__lte=now)
    )
    found = {action.id: action for action in actions}
    return [
        found[action_id]
        for action_id in action_ids
        if action_id in found
        and may_review(user=user, action=found[action_id])
        and approval_needs_confirmation(found[action_id])
    ]


def _takes_second_step(user: AbstractBaseUser, item: BulkItem) -> bool:
    listed = second_step_actions(user=user, action_ids=[item.action_id])
    # A row that changed since it was seen is refused as changed, whatever it is now.
    return bool(listed) and item.payload_hash in (None, listed[0].payload_hash)


def _decide_one(user: AbstractBaseUser, item: BulkItem, *, confirmed: bool) -> BulkResult:
    reason = (item.reason or "").strip()
    if not item.approved and not reason:
        return BulkResult(item.action_id, REFUSED, "a rejection needs a reason; not rejected", REASON_REQUIRED)
    if item.approved and not confirmed and _takes_second_step(user, item):
        detail = "approving it takes a second step (it cannot be undone, is critical or is known to fail); not approved"
        return BulkResult(item.action_id, REFUSED, detail, CONFIRMATION_REQUIRED)
    try:
        outcome = action_decide(
            action_id=item.action_id,
            user=user,
            approved=item.approved,
            reason=reason,
            payload_hash=item.payload_hash,
        )
    except Action.DoesNotExist:
        return BulkResult(item.action_id, REFUSED, "no such action", NOT_FOUND)
    except exceptions.ActionNotPending:
        return _not_pending(item.action_id)
    except exceptions.ActionError as error:
        return BulkResult(item.action_id, REFUSED, _words(error), _code(error))
    if outcome.status == Status.REJECTED:
        return BulkResult(item.action_id, Status.REJECTED, "rejected; it will not run")
    if outcome.status == Status.PENDING:
        progress = f"{outcome.approvals} of {outcome.approvals_required}"
        detail = f"approval recorded ({progress}); it waits for another reviewer"
        return BulkResult(item.action_id, Status.PENDING, detail)
    return BulkResult(item.action_id, Status.APPROVED, "approved; it runs now")


def _code(error: exceptions.ActionError) -> str:
    return next((code for kind, code in _CODES if isinstance(error, kind)), REFUSED)


def _words(error: exceptions.ActionError) -> str:
    if isinstance(error, exceptions.SelfApprovalForbidden):
        return "your own action: another reviewer must decide it"
    if isinstance(error, exceptions.EditedByYou):
        return "you edited it: another reviewer must decide it"
    if isinstance(error, exceptions.PayloadChanged):
        return "changed since you saw it: review the new version"
    if isinstance(error, exceptions.ActionExpired):
        return "expired, nobody decided; it will not run"
    return error.detail


def _not_pending(action_id: UUID) -> BulkResult:
    """Someone (or the clock) got there first: say what the action is now."""
    status = Action.objects.filter(id=action_id).values_list("status", flat=True).first()
    if status == Status.EXPIRED:
        return BulkResult(action_id, REFUSED, "expired, nobody decided; it will not run", EXPIRED)
    return BulkResult(action_id, REFUSED, f"already decided: it is {status}", ALREADY_DECIDED)
