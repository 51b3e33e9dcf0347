"""Issuing, revoking and checking API tokens.

Checking goes through a per-process cache of the tokens already seen, held under the token set's
version (lib/versions.py): every revocation, issue and change to a user moves the version in its
own transaction, and every check reads it first, so no process answers from a stale copy.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from api.models import ApiToken, TokenSetVersion, new_token, token_digest
from audit.services import audit_append
from lib.versions import version_bump, version_read, version_register

LAST_USED_RESOLUTION = timedelta(minutes=1)
# Tokens a process remembers at most; past it the cache starts again (unknown tokens are never kept).
CACHE_SIZE = 4096
VERSION_TABLE = TokenSetVersion._meta.db_table
version_register(VERSION_TABLE)


@dataclass
class _Seen:
    token_id: int
    last_used_at: datetime | None
    user: AbstractBaseUser  # a pristine copy: each request gets its own copy of it


_seen: dict[str, _Seen] = {}
_seen_version = ""
_seen_lock = threading.Lock()


def tokens_changed() -> None:
    """Every process's cached tokens are stale once the caller's transaction commits."""
    version_bump(VERSION_TABLE)


class TokenError(Exception):
    pass


def token_issue(*, user: AbstractBaseUser, name: str, actor: str | None = None) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is never stored."""
    name = name.strip()
    if not name:
        raise TokenError("a token needs a name")
    if ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
        raise TokenError(f"{user.get_username()} already has a live token named {name!r}")
    secret = new_token()
    with transaction.atomic():
        token = ApiToken.objects.create(user=user, name=name, prefix=secret[:12], digest=token_digest(secret))
        tokens_changed()
        audit_append(
            actor=actor or user.get_username(),
            event="auth.token_issued",
            data={"user": user.get_username(), "name": name, "prefix": token.prefix},
        )
    return token, secret


def token_revoke(*, token: ApiToken, actor: str) -> None:
    with transaction.atomic():
        updated = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
        if not updated:
            raise TokenError("token is already revoked")
        tokens_changed()
        audit_append(
            actor=actor,
            event="auth.token_revoked",
            data={"user": token.user.get_username(), "name": token.name, "prefix": token.prefix},
        )


def token_authenticate(secret: str) -> AbstractBaseUser | None:
    """The active user owning a live token, or None: one primary-key read for a token this process
    has seen under the current version, the token and user read otherwise."""
    global _seen_version
    digest = token_digest(secret)
    version = version_read(VERSION_TABLE)
    with _seen_lock:
        if version != _seen_version or len(_seen) >= CACHE_SIZE:
            _seen.clear()
            _seen_version = version
        seen = _seen.get(digest)
    if seen is None:
        # Read after the version, so what is cached is at least as new as the version it is kept under.
        token = ApiToken.objects.select_related("user").filter(digest=digest, revoked_at__isnull=True).first()
        if token is None or not token.user.is_active:
            return None
        seen = _Seen(token_id=token.pk, last_used_at=token.last_used_at, user=copy.copy(token.user))
        with _seen_lock:
            if _seen_version == version:
                _seen[digest] = seen
    now = timezone.now()
    # Written at most once a minute per token, to keep authentication read-only on the hot path.
    if seen.last_used_at is None or now - seen.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=seen.token_id).update(last_used_at=now)
        seen.last_used_at = now
    return copy.copy(seen.user)
