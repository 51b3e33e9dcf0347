"""Issuing, revoking and checking API tokens."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from api.models import ApiToken, new_token, token_digest
from audit.services import audit_append

LAST_USED_RESOLUTION = timedelta(minutes=1)


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
        audit_append(
            actor=actor,
            event="auth.token_revoked",
            data={"user": token.user.get_username(), "name": token.name, "prefix": token.prefix},
        )


def token_authenticate(secret: str) -> AbstractBaseUser | None:
    """The active user owning a live token, or None."""
    token = ApiToken.objects.select_related("user").filter(digest=token_digest(secret), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    # Written at most once a minute per token, to keep authentication read-only on the hot path.
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
