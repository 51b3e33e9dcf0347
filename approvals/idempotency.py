"""Idempotent submit: a retried POST with the same Idempotency-Key gets the action the first one
created, never a second action for a reviewer to approve twice.

The key's row is written in the action's own transaction and is unique per requester, so of any
number of concurrent requests with one key exactly one commits an action; the others fail on the
constraint (after the first commits) and answer its action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals.exceptions import IdempotencyKeyReused
from approvals.models import Action, IdempotencyKey
from approvals.services import action_create

REUSED = "this Idempotency-Key was already used with a different request body; use a new key for a new request"


@dataclass(frozen=True)
class Submitted:
    action: Action
    replayed: bool


def action_submit(
    *, user: AbstractBaseUser, idempotency_key: str | None, request_hash: str, **create: Any
) -> Submitted:
    """`action_create(user=user, **create)`, or the action an earlier request with this key created.

    `request_hash` fingerprints the request; the same key with another fingerprint is refused (422).
    """
    if idempotency_key is None:
        return Submitted(action_create(user=user, **create), replayed=False)
    earlier = _earlier(user, idempotency_key, request_hash)
    if earlier is not None:
        return Submitted(earlier, replayed=True)
    try:
        with transaction.atomic():
            action = action_create(user=user, **create)
            IdempotencyKey.objects.create(
                user=user, key=idempotency_key, request_hash=request_hash, action=action, created_at=timezone.now()
            )
    except IntegrityError:
        earlier = _earlier(user, idempotency_key, request_hash)
        if earlier is None:
            raise
        return Submitted(earlier, replayed=True)
    return Submitted(action, replayed=False)


def _earlier(user: AbstractBaseUser, key: str, request_hash: str) -> Action | None:
    """The action of a live key; a key past its time is removed, so it may be used again."""
    row = IdempotencyKey.objects.select_related("action").filter(user=user, key=key).first()
    if row is None:
        return None
    if row.created_at < timezone.now() - settings.ACTIONHUB_IDEMPOTENCY_TTL:
        IdempotencyKey.objects.filter(pk=row.pk, created_at=row.created_at).delete()
        return None
    if row.request_hash != request_hash:
        raise IdempotencyKeyReused(REUSED)
    return row.action


def idempotency_keys_prune(*, limit: int = 5000) -> int:
    cutoff = timezone.now() - settings.ACTIONHUB_IDEMPOTENCY_TTL
    stale = list(IdempotencyKey.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:limit])
    return IdempotencyKey.objects.filter(pk__in=stale).delete()[0] if stale else 0
