"""Actions requested by agents, the reviewers' decisions on them, and runtime settings."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models


class SecurityLevel(models.TextChoices):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


class Status(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTING = "executing"
    COMPLETED = "completed"
    FAILED = "failed"
    # Withdrawn by its requester while pending (an agent that stopped waiting): never decided, never run.
    CANCELLED = "cancelled"


class Action(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # The name of an action kind (approvals.kinds.registry); the kinds come from settings, so the
    # column takes no choices and adding a kind needs no migration.
    action_type = models.CharField(max_length=32)
    skill_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001 - null means "no skill" in the API
    parameters = models.JSONField(default=dict)
    payload_hash = models.CharField(max_length=64)
    security_level = models.CharField(max_length=16, choices=SecurityLevel.choices)
    classification_reasons = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="actions")
    approvals_required = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    # Executor bookkeeping: which attempt runs, on which worker, until when its lease holds.
    attempt = models.PositiveSmallIntegerField(default=0)
    worker_id = models.CharField(max_length=64, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    needs_review = models.BooleanField(default=False)
    # Routing (approvals/assignment.py): the reviewer groups chosen when the action was held; none
    # means every reviewer. Escalation: when the wait becomes long, and when it was escalated.
    assigned_groups = models.ManyToManyField(Group, blank=True, related_name="assigned_actions")
    escalate_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    # The requester's own name for it (an agent's tool-use id), to find it again; not in the payload hash.
    external_id = models.CharField(max_length=255, blank=True, default="")
    # Where to POST signed `action.decided` / `action.finished` events, with the requester's opaque state.
    callback_url = models.CharField(max_length=2000, blank=True, default="")
    callback_state = models.JSONField(null=True, blank=True)
    # Reviewers are still to be told that it is held: set with the hold (or an edit that keeps it
    # held), cleared by the worker that queues their notifications, in that same transaction.
    notice_due = models.BooleanField(default=False, db_default=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # The workers' look for held actions still to be told: only those rows are in it.
            models.Index(fields=["created_at"], condition=models.Q(notice_due=True), name="action_notice_due"),
            # Keyset pagination of the pending queue: WHERE status='pending' ORDER BY created_at, id.
            models.Index(fields=["status", "created_at", "id"], name="action_status_created"),
            models.Index(fields=["status", "expires_at"], name="action_status_expires"),
            models.Index(fields=["status", "lease_expires_at"], name="action_status_lease"),
            models.Index(fields=["requested_by", "created_at"], name="action_requester_created"),
            models.Index(fields=["requested_by", "external_id"], name="action_requester_external"),
            models.Index(fields=["status", "escalate_at"], name="action_status_escalate"),
            # The audit page's actions-per-day chart: a date range, by level, counted by status.
            models.Index(fields=["created_at", "security_level", "status"], name="action_created_level_status"),
        ]

    def __str__(self) -> str:
        return f"{self.action_type} {self.id} ({self.status})"

    @property
    def requires_approval(self) -> bool:
        return self.security_level in (SecurityLevel.HIGH, SecurityLevel.CRITICAL)


class Decision(models.TextChoices):
    APPROVE = "approve"
    REJECT = "reject"


class Approval(models.Model):
    """One reviewer's decision on one action; voided when the action's parameters are edited."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="approvals")
    # Null user: the system approved a LOW/MEDIUM action by policy.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="decisions", null=True, blank=True
    )
    # Set when a standing rule decided at submit time; the decision is then the rule's, not the system's.
    rule = models.ForeignKey("rules.Rule", on_delete=models.PROTECT, related_name="decisions", null=True, blank=True)
    decision = models.CharField(max_length=8, choices=Decision.choices)
    reason = models.TextField(blank=True, default="")
    payload_hash = models.CharField(max_length=64)
    at = models.DateTimeField()
    voided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["at"]
        constraints = [
            models.UniqueConstraint(
                fields=["action", "user"], condition=models.Q(voided_at__isnull=True), name="one_live_decision_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.decision} by {decider_name(self)} on {self.action_id}"


def decider_name(approval: Approval) -> str:
    """Who decided: the reviewer's username, `rule:<id>` for a standing rule, or `system` (policy)."""
    if approval.user_id is not None:
        return approval.user.get_username()
    return f"rule:{approval.rule_id}" if approval.rule_id is not None else "system"


class ActionEdit(models.Model):
    """One reviewer's edit of an action's parameters, kept for good: from then on the action holds
    their change, so they are a co-author of every later version and may reject it, never approve it."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="edits")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="action_edits")
    at = models.DateTimeField()
    diff = models.JSONField()
    payload_hash_before = models.CharField(max_length=64)
    payload_hash_after = models.CharField(max_length=64)
    approvals_voided = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["action", "user"], name="action_edit_action_user")]

    def __str__(self) -> str:
        return f"edit of {self.action_id} by {self.user_id}"


class RoutingRule(models.Model):
    """Which reviewer groups review held actions of a type (and optionally one skill)."""

    action_type = models.CharField(max_length=32)
    skill_id = models.CharField(
        max_length=100, blank=True, default="", help_text="Empty: every action of this type, whatever its skill."
    )
    groups = models.ManyToManyField(Group, related_name="routing_rules", help_text="Reviewers in any of these decide.")
    note = models.CharField(max_length=200, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["action_type", "skill_id"]
        constraints = [models.UniqueConstraint(fields=["action_type", "skill_id"], name="one_route_per_type_skill")]

    def __str__(self) -> str:
        return f"{self.action_type}{f' · {self.skill_id}' if self.skill_id else ''}"


class RuntimeSetting(models.Model):
    """A setting changed at run time through a config_change or model_switch action."""

    key = models.CharField(max_length=64, primary_key=True)
    value = models.JSONField()
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.CharField(max_length=150, blank=True, default="")

    def __str__(self) -> str:
        return self.key


class IdempotencyKey(models.Model):
    """A requester's Idempotency-Key on a submit: a retry with the same key and body gets the action
    it created; the unique constraint makes concurrent retries create one. Kept for
    ACTIONHUB_IDEMPOTENCY_TTL, then pruned (the key may be used again)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys")
    key = models.CharField(max_length=255)
    # sha256 of the request body's canonical JSON: the same key with another body is refused.
    request_hash = models.CharField(max_length=64)
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="idempotency_keys")
    created_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="one_idempotency_key_per_user")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.key} ({self.user_id})"


class ConfigVersion(models.Model):
    """Changes with every change to a runtime setting or to routing (lib/versions.py), so each process
    reads both from its own copy and still sees a change on its next submit."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"config {self.version}"
