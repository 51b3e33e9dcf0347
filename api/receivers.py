"""A change to any token or user makes every process drop its cached tokens (api/services.py)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from api.models import ApiToken
from api.services import tokens_changed


@receiver([post_save, post_delete], sender=ApiToken)
@receiver([post_save, post_delete], sender=get_user_model())
def forget_cached_tokens(sender: Any, update_fields: Any = None, **kwargs: Any) -> None:
    if update_fields is not None and set(update_fields) <= {"last_login", "last_used_at"}:
        return  # what a login or a token's use records changes nothing a check answers
    tokens_changed()
