"""The callback outbox: one row per event an action's callback_url is told of, written in the
transaction that decided or finished the action, and sent (and retried) from there."""

from __future__ import annotations

import uuid

from django.db import models

from approvals.models import Action


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class CallbackDelivery(models.Model):
    # The auto id orders one action's deliveries: decided is written before finished, and sent first.
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="callback_deliveries")
    event = models.CharField(max_length=40)
    url = models.CharField(max_length=2000)
    # Rendered at event time, so every attempt sends the same bytes, and they say what was true then.
    body = models.TextField()
    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    # When the next attempt is due; while one runs, when it counts as lost (see services.CLAIM_MARGIN).
    next_attempt_at = models.DateTimeField()
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="callback_due_idx")]
        verbose_name_plural = "callback deliveries"

    def __str__(self) -> str:
        return f"{self.event} for {self.action_id} ({self.status})"
