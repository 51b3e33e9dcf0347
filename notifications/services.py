"""Telling reviewers that a HIGH/CRITICAL action waits for them: one email per reviewer, one post per webhook.

Each recipient and each webhook is delivered, retried with backoff and audited on its own, in
background tasks (notifications/tasks.py queues them from what these functions decide), so a
failing one neither repeats nor delays the others nor touches the action. Webhook posts go through
approvals/outbound.py, the app's one HTTP edge; the messages themselves are notifications/messages.py.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction

from approvals.assignment import action_reviewers
from approvals.models import Action, Status
from approvals.outbound import OutboundError, post_webhook
from approvals.runtime import runtime_get
from audit.services import SYSTEM_ACTOR, audit_append
from notifications.channels import EMAIL, ESCALATION, WEBHOOK
from notifications.messages import email_body, email_subject, escalation_body, escalation_subject, slack_body
from review.links import decision_links

logger = logging.getLogger(__name__)

SENT = "sent"
RETRYING = "retrying"
FAILED = "failed"
SKIPPED = "skipped"
MAX_BACKOFF = timedelta(hours=1)


class DeliveryError(Exception):
    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


# Who is told


def notification_fan_out(*, action_id: UUID) -> list[tuple[str, str]]:
    """The deliveries for a held action: one per reviewer with an address, one per configured webhook URL.
    A reviewer without an address is no recipient: nothing is attempted, or audited, for them.

    The URLs are read from the runtime config now, so a config_change of `webhook_urls` applies
    to the next held action; a delivery names a fingerprint of each URL, never the URL (a secret),
    and a reviewer's username, never an address. Returns `(channel, target)` pairs; [] once the
    action is no longer held.
    """
    action = Action.objects.select_related("requested_by").filter(id=action_id, status=Status.PENDING).first()
    if action is None:
        return []
    recipients = [(EMAIL, username) for username, _ in reviewer_recipients(action)]
    if not recipients:
        # Not an attempt, so not in the action's timeline: /status/ counts the reviewers nobody can reach.
        logger.warning("action %s: no reviewer other than the requester has an email address", action_id)
    urls = dict.fromkeys(runtime_get("webhook_urls") or [])
    return [*recipients, *((WEBHOOK, webhook_fingerprint(url)) for url in urls)]


def escalation_fan_out(*, action_id: UUID) -> list[tuple[str, str]]:
    """The deliveries for an escalated action: one email per member of the escalation group, each
    delivered, retried and audited like the others; members without an address are no recipients."""
    action = Action.objects.select_related("requested_by").filter(id=action_id).first()
    if action is None:
        return []
    recipients = [(ESCALATION, username) for username, _ in escalation_recipients(action)]
    if not recipients:
        group = settings.ACTIONHUB_ESCALATION_GROUP
        logger.warning(
            "action %s: nobody in the %r group other than the requester has an email address", action_id, group
        )
    return recipients


def notification_split(*, action_id: UUID, channel: str) -> list[tuple[str, str]]:
    """One delivery per recipient in place of an email delivery queued for all of them at once
    (as releases before per-recipient deliveries did); [] once the action is no longer held."""
    action = Action.objects.select_related("requested_by").filter(id=action_id).first()
    if action is None or action.status != Status.PENDING:
        return []
    if channel == EMAIL:
        return [(EMAIL, username) for username, _ in reviewer_recipients(action)]
    return escalation_fan_out(action_id=action_id)


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff after failed attempt number `attempt` (1-based), capped at an hour."""
    return min(settings.ACTIONHUB_NOTIFY_BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF)


def webhook_fingerprint(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def public_target(url: str) -> str:
    """Scheme and host (with an explicit port) of a URL: what may be logged and audited."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}"


# Delivery


def notification_deliver(*, action_id: UUID, channel: str, target: str, attempt: int) -> str:
    """Deliver to one recipient (`target` is a username) or one webhook once, and audit the outcome.

    Returns `sent`; `retrying` when it failed and the recipient is due another attempt after
    retry_delay(attempt) (notifications/tasks.py schedules it, for that recipient alone); `failed`;
    or `skipped` when there is nothing to tell any more (the action was decided or expired, the
    recipient lost their address or right to decide, or the webhook was removed from the config).
    """
    action = Action.objects.select_related("requested_by").filter(id=action_id).first()
    if action is None or action.status != Status.PENDING:
        return SKIPPED
    send: Callable[[Action], dict[str, Any]]
    if channel in (EMAIL, ESCALATION):
        candidates = reviewer_recipients(action) if channel == EMAIL else escalation_recipients(action)
        address = dict(candidates).get(target)
        if address is None:
            logger.info("action %s: %s is no longer a %s recipient; not notifying them", action_id, target, channel)
            return SKIPPED
        send, label = partial(_send_email, username=target, address=address, escalation=channel == ESCALATION), target
    else:
        url = _configured_webhook(target)
        if url is None:
            logger.info("action %s: webhook %s is no longer configured; not notifying it", action_id, target)
            return SKIPPED
        send, label = partial(_send_webhook, url=url), public_target(url)
    attempt_of = {"action_id": action_id, "channel": channel, "target": target, "label": label, "attempt": attempt}
    try:
        details = send(action)
    except DeliveryError as exc:
        return _record_failure(**attempt_of, error=str(exc), retry=exc.retry)
    except Exception as exc:  # a bug must not lose the notification silently either
        logger.exception("action %s: %s notification crashed", action_id, channel)
        return _record_failure(**attempt_of, error=f"internal error ({type(exc).__name__})", retry=True)
    _audit("notification.sent", action_id, {"channel": channel, "target": label, "attempt": attempt, **details})
    return SENT


def _record_failure(
    *, action_id: UUID, channel: str, target: str, label: str, attempt: int, error: str, retry: bool
) -> str:
    """Audit a failed attempt; RETRYING while attempts remain."""
    retry = retry and attempt <= settings.ACTIONHUB_NOTIFY_RETRIES
    data = {"channel": channel, "target": label, "attempt": attempt, "error": error, "will_retry": retry}
    _audit("notification.failed", action_id, data)
    logger.warning("action %s: %s to %s failed (attempt %d): %s", action_id, channel, label, attempt, error)
    return RETRYING if retry else FAILED


def _audit(event: str, action_id: UUID, data: dict[str, Any]) -> None:
    with transaction.atomic():
        audit_append(actor=SYSTEM_ACTOR, event=event, action_id=action_id, data=data)


def _configured_webhook(fingerprint: str) -> str | None:
    for url in runtime_get("webhook_urls") or []:
        if webhook_fingerprint(url) == fingerprint:
            return url
    return None


def reviewer_recipients(action: Action) -> list[tuple[str, str]]:
    """(username, email) of those who may decide the action and have an address, except the
    requester: superusers, and reviewers in its assigned groups (every reviewer when it has none)."""
    users = action_reviewers(action).exclude(email="").order_by("username")
    return list(users.values_list("username", "email"))


def escalation_recipients(action: Action) -> list[tuple[str, str]]:
    """(username, email) of active members of the escalation group with an address, except the requester."""
    users = (
        get_user_model()
        .objects.filter(groups__name=settings.ACTIONHUB_ESCALATION_GROUP, is_active=True)
        .exclude(pk=action.requested_by_id)
        .exclude(email="")
        .distinct()
        .order_by("username")
    )
    return list(users.values_list("username", "email"))


def _send_email(action: Action, *, username: str, address: str, escalation: bool) -> dict[str, Any]:
    """One message to one person; a reviewer's carries one-tap links signed for them alone."""
    if escalation:
        message = EmailMessage(subject=escalation_subject(action), body=escalation_body(action), to=[address])
    else:
        user_id = get_user_model().objects.get(username=username).pk
        links = decision_links(action=action, channel=EMAIL, user_id=user_id)
        body = email_body(action, links=links, recipient=username)
        message = EmailMessage(subject=email_subject(action), body=body, to=[address])
    try:
        with get_connection() as connection:
            connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError("SMTPRecipientsRefused: the server refused the address") from exc
    except (smtplib.SMTPException, OSError) as exc:
        # The audit names the recipient by username only; an SMTP answer may quote the address.
        raise DeliveryError(f"{type(exc).__name__}: {exc}".replace(address, "<address>")) from exc
    return {}


def _send_webhook(action: Action, *, url: str) -> dict[str, Any]:
    try:
        post_webhook(url=url, body=slack_body(action))
    except OutboundError as exc:
        raise DeliveryError(str(exc)) from exc
    return {}
