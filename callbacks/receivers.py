"""Record a callback delivery when an action that names a callback_url is decided or finished."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.dispatch import receiver

from approvals.models import Action
from approvals.signals import action_settled
from callbacks.services import callback_record
from callbacks.tasks import enqueue_callbacks


@receiver(action_settled, sender=Action)
def record_callback(sender: type[Action], *, action: Action, event: str, **kwargs: Any) -> None:
    if callback_record(action=action, event=event) is None:
        return
    action_id = action.id
    transaction.on_commit(lambda: enqueue_callbacks(action_id=action_id))
