"""One-tap decision links in notifications: signed, bound to one action version, one reviewer, one use.

A link only leads to a confirmation page; the decision is a POST from that page, by the logged-in
reviewer the link was sent to, through approvals.services.action_decide with the payload hash the
link was signed for. Its use is recorded in the decision's own transaction, so it decides once.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from approvals.authorship import editor_approval_refuse
from approvals.exceptions import (
    ActionExpired,
    ActionNotPending,
    AlreadyDecided,
    LinkExpired,
    LinkInvalid,
    LinkNotYours,
    LinkUsed,
    NotAReviewer,
    PayloadChanged,
    SelfApprovalForbidden,
)
from approvals.models import Action, Approval, Decision, Status
from approvals.selectors import action_get_for
from approvals.services import DecisionOutcome, action_decide, action_expire
from lib.roles import is_reviewer
from review.models import LinkUse

# Named for the app that first signed links, so links already sent stay valid.
SALT = "approvals.links.one-tap"
DECISIONS = (Decision.APPROVE, Decision.REJECT)


@dataclass(frozen=True)
class OneTapLink:
    action_id: UUID
    payload_hash: str
    decision: str
    nonce: str
    channel: str
    # None: a link posted to a shared channel, usable by any reviewer who may decide (once each).
    user_id: int | None

    @property
    def shared(self) -> bool:
        return self.user_id is None

    def audit_data(self) -> dict[str, Any]:
        bound_to = "any reviewer" if self.shared else "recipient"
        return {"nonce": self.nonce, "channel": self.channel, "bound_to": bound_to}


def link_sign(*, action: Action, decision: str, nonce: str, channel: str, user_id: int | None) -> str:
    payload = {"a": str(action.id), "h": action.payload_hash, "d": decision, "n": nonce, "c": channel, "u": user_id}
    return signing.dumps(payload, salt=SALT, compress=True)


def decision_links(*, action: Action, channel: str, user_id: int | None) -> dict[str, str]:
    """Absolute approve and reject links for one message; both share a nonce, so one use spends both."""
    nonce = secrets.token_urlsafe(12)
    return {
        decision: settings.ACTIONHUB_BASE_URL
        + reverse(
            "approvals:link",
            args=[link_sign(action=action, decision=decision, nonce=nonce, channel=channel, user_id=user_id)],
        )
        for decision in DECISIONS
    }


def link_load(token: str) -> OneTapLink:
    """The link `token` stands for; LinkInvalid if it was altered, LinkExpired past its max age."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=settings.ACTIONHUB_LINK_MAX_AGE)
    except signing.SignatureExpired as exc:
        raise LinkExpired("this link has expired; open the action from the queue instead") from exc
    except signing.BadSignature as exc:
        raise LinkInvalid("this link is not valid: it was changed or cut short; open the action from the queue") from (
            exc
        )
    try:
        user_id = payload["u"]
        link = OneTapLink(
            action_id=UUID(payload["a"]),
            payload_hash=str(payload["h"]),
            decision=str(payload["d"]),
            nonce=str(payload["n"]),
            channel=str(payload["c"]),
            user_id=None if user_id is None else int(user_id),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid("this link is not valid; open the action from the queue") from exc
    if link.decision not in DECISIONS:
        raise LinkInvalid("this link is not valid; open the action from the queue")
    return link


def link_check(*, link: OneTapLink, user: AbstractBaseUser) -> Action:
    """The action `user` may decide through `link`, or the domain error saying why not."""
    if not link.shared and link.user_id != user.pk:
        raise LinkNotYours("this link was sent to another reviewer; it works only for them")
    if not is_reviewer(user):
        raise NotAReviewer("only reviewers may decide on actions")
    if not Action.objects.filter(id=link.action_id).exists():
        raise LinkInvalid("the action this link names does not exist")
    # The same visibility rule as every page, so a shared channel's link opens nothing a reviewer may not see.
    action = action_get_for(action_id=link.action_id, user=user)
    if action is None:
        raise LinkNotYours("you may not see this action")
    if action.requested_by_id == user.pk:
        raise SelfApprovalForbidden("you requested this action, so another reviewer must decide it")
    if LinkUse.objects.filter(nonce=link.nonce, user=user).exists():
        raise LinkUsed("this link was already used; each link decides once")
    if action.status == Status.EXPIRED or (
        action.status == Status.PENDING and action.expires_at is not None and action.expires_at <= timezone.now()
    ):
        raise ActionExpired("this action expired: nobody decided in time, so it will not run")
    if action.status != Status.PENDING:
        raise ActionNotPending(f"this action was already decided: it is {action.status}")
    if link.decision == Decision.APPROVE:
        editor_approval_refuse(action=action, user=user)
    if action.payload_hash != link.payload_hash:
        raise PayloadChanged("this action changed after the link was sent; review the new version from the queue")
    if Approval.objects.filter(action=action, user=user, voided_at__isnull=True).exists():
        raise AlreadyDecided("you already decided on this action; it waits for other reviewers")
    return action


def link_decide(*, link: OneTapLink, user: AbstractBaseUser, reason: str = "") -> DecisionOutcome:
    """Decide as `user` through `link` (after they confirmed on its page); the link is spent with it."""
    action = link_check(link=link, user=user)
    try:
        with transaction.atomic():
            try:
                with transaction.atomic():
                    LinkUse.objects.create(
                        nonce=link.nonce,
                        action=action,
                        user=user,
                        decision=link.decision,
                        channel=link.channel,
                        used_at=timezone.now(),
                    )
            except IntegrityError as exc:
                raise LinkUsed("this link was already used; each link decides once") from exc
            return action_decide(
                action_id=action.id,
                user=user,
                approved=link.decision == Decision.APPROVE,
                reason=reason,
                payload_hash=link.payload_hash,
                via_link=link.audit_data(),
            )
    except ActionExpired:
        # The decision's rollback undid the expiry it found due; record it on its own.
        action_expire(action_id=action.id)
        raise
