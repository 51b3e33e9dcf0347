"""Telling a submitter's callback_url that its action was decided or finished.

`callback_record` writes the outbox row inside the transaction that settled the action, with the
body rendered then; `callbacks_deliver` sends an action's rows in the order they were written, one
signed attempt each, audited, and says when a failed one is due again (callbacks/tasks.py queues
it). Every attempt is signed afresh, so a receiver can refuse old signatures; the delivery id stays
the same across attempts, so a receiver can drop a repeat.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import datetime, timedelta
from uuid import UUID

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from approvals.models import Action
from approvals.representation import action_payload
from audit.services import SYSTEM_ACTOR, audit_append
from callbacks.models import CallbackDelivery, DeliveryStatus
from callbacks.transport import TransportError, callback_post
from lib.urlnorm import InvalidURL, normalize_url, url_allowed

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "ActionHub-Signature"
DELIVERY_HEADER = "ActionHub-Delivery"
# An attempt holds its delivery for the request's timeout and this long; after that it counts as
# lost (its worker died) and the maintenance sweep sends it again.
CLAIM_MARGIN = timedelta(seconds=30)


def callback_record(*, action: Action, event: str) -> CallbackDelivery | None:
    """The outbox row for `event` when the action names a callback_url; must run inside the
    transaction that settled it, so the row commits or rolls back with the change."""
    if not action.callback_url:
        return None
    now = timezone.now()
    return CallbackDelivery.objects.create(
        action=action,
        event=event,
        url=action.callback_url,
        body=callback_body(action=action, event=event),
        next_attempt_at=now,
        created_at=now,
    )


def callback_body(*, action: Action, event: str) -> str:
    """`{event, action, state}`, the action as GET /api/actions/{id} shows it."""
    body = {"event": event, "action": action_payload(action), "state": action.callback_state}
    return json.dumps(body, cls=DjangoJSONEncoder, separators=(",", ":"), ensure_ascii=False)


def callback_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, Stripe's scheme."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def retry_delay(attempt: int) -> timedelta:
    """The wait after failed attempt number `attempt` (1-based): exponential from the base delay."""
    return settings.ACTIONHUB_CALLBACK_BACKOFF * 2 ** (attempt - 1)


def callbacks_deliver(*, action_id: UUID) -> datetime | None:
    """Send the action's due deliveries, oldest first, one attempt each; a later one never overtakes
    an earlier one still pending. Returns when the attempt that failed is due again, or None when
    nothing is left to schedule here (all sent or given up, or the next is scheduled or running)."""
    while True:
        delivery = CallbackDelivery.objects.filter(action_id=action_id, status=DeliveryStatus.PENDING).first()
        if delivery is None or not _claim(delivery):
            return None
        retry_at = _attempt(delivery)
        if retry_at is not None:
            return retry_at


def _claim(delivery: CallbackDelivery) -> bool:
    """Compare-and-set this attempt, so two workers never send the same attempt twice."""
    now = timezone.now()
    hold = timedelta(seconds=settings.ACTIONHUB_CALLBACK_TIMEOUT) + CLAIM_MARGIN
    claimed = CallbackDelivery.objects.filter(
        id=delivery.id, status=DeliveryStatus.PENDING, attempts=delivery.attempts, next_attempt_at__lte=now
    ).update(attempts=delivery.attempts + 1, next_attempt_at=now + hold)
    delivery.attempts += 1
    return bool(claimed)


def _attempt(delivery: CallbackDelivery) -> datetime | None:
    secret = settings.ACTIONHUB_CALLBACK_SECRET
    if not secret:
        return _failed(delivery, error="ACTIONHUB_CALLBACK_SECRET is not configured", retry=False)
    # Checked again on the URL sent: the allowlist may have shrunk since the action was submitted.
    if not url_allowed(delivery.url, settings.ACTIONHUB_CALLBACK_ALLOWLIST):
        return _failed(delivery, error="not under any ACTIONHUB_CALLBACK_ALLOWLIST entry", retry=False)
    body = delivery.body.encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"ActionHub/{settings.ACTIONHUB_VERSION} (callbacks)",
        DELIVERY_HEADER: str(delivery.delivery_id),
        SIGNATURE_HEADER: callback_signature(secret=secret, timestamp=int(time.time()), body=body),
    }
    try:
        status = callback_post(url=delivery.url, body=body, headers=headers)
    except TransportError as exc:
        return _failed(delivery, error=str(exc))
    except Exception as exc:  # a bug must not lose the callback silently either
        logger.exception("callback %s crashed", delivery.delivery_id)
        return _failed(delivery, error=f"internal error ({type(exc).__name__})")
    if not 200 <= status < 300:
        return _failed(delivery, error=f"HTTP {status}", status_code=status)
    now = timezone.now()
    with transaction.atomic():
        CallbackDelivery.objects.filter(id=delivery.id).update(
            status=DeliveryStatus.DELIVERED, delivered_at=now, last_status_code=status, last_error=""
        )
        _audit("callback.delivered", delivery, {"status_code": status})
    return None


def _failed(
    delivery: CallbackDelivery, *, error: str, status_code: int | None = None, retry: bool = True
) -> datetime | None:
    retry = retry and delivery.attempts < settings.ACTIONHUB_CALLBACK_ATTEMPTS
    retry_at = timezone.now() + retry_delay(delivery.attempts) if retry else None
    fields = {"last_status_code": status_code, "last_error": error}
    fields |= {"next_attempt_at": retry_at} if retry_at else {"status": DeliveryStatus.FAILED}
    with transaction.atomic():
        CallbackDelivery.objects.filter(id=delivery.id).update(**fields)
        data = {"error": error, "will_retry": retry, **({"status_code": status_code} if status_code else {})}
        _audit("callback.failed", delivery, data)
    logger.warning(
        "callback %s for action %s to %s failed (attempt %d): %s",
        delivery.delivery_id,
        delivery.action_id,
        _origin(delivery.url),
        delivery.attempts,
        error,
    )
    return retry_at


def _audit(event: str, delivery: CallbackDelivery, data: dict[str, object]) -> None:
    """One entry per attempt; never the body, the URL's path (it may hold a token) or the signature."""
    audit_append(
        actor=SYSTEM_ACTOR,
        event=event,
        action_id=delivery.action_id,
        data={
            "delivery_id": str(delivery.delivery_id),
            "event": delivery.event,
            "target": _origin(delivery.url),
            "attempt": delivery.attempts,
            **data,
        },
    )


def _origin(url: str) -> str:
    try:
        return normalize_url(url).origin
    except InvalidURL:
        return "?"
