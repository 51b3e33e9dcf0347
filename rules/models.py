"""Standing rules and the version counter that tells every process when its compiled copy is stale."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Effect(models.TextChoices):
    ALLOW = "allow"
    DENY = "deny"


class Rule(models.Model):
    """Decides actions of one (action_type, skill_id) whose parameters match every matcher.

    `matchers` is a list of `{"parameter", "kind", "value"}` with kind `exact`, `glob` (path
    fields) or `url_prefix` (api_call url), validated by rules.matching before it is saved.
    """

    action_type = models.CharField(max_length=32)
    skill_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001 - null means "no skill"
    matchers = models.JSONField()
    effect = models.CharField(max_length=8, choices=Effect.choices)
    note = models.TextField(blank=True, default="")
    expires_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rules_created")
    # The creator and everyone who edited it: an allow rule never decides an action one of them requested.
    authors = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="rules_authored")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="rules_disabled", null=True, blank=True
    )
    # Set when a worker's maintenance noticed the expiry and audited it; matching checks expires_at itself.
    expired_at = models.DateTimeField(null=True, blank=True)
    hit_count = models.PositiveIntegerField(default=0)
    last_hit_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["action_type", "skill_id"], name="rule_type_skill"),
            models.Index(
                fields=["expires_at"],
                name="rule_live_expiry",
                condition=Q(disabled_at__isnull=True, expired_at__isnull=True),
            ),
        ]

    def __str__(self) -> str:
        return f"rule:{self.id} {self.effect} {self.action_type}"

    @property
    def actor(self) -> str:
        """How the audit history names this rule when it decides."""
        return f"rule:{self.id}"


class RuleSetVersion(models.Model):
    """One row whose version changes with every change to any rule, in the same transaction.

    Each process compares it with the version of its compiled rules before evaluating, so a
    rule created, edited or disabled in one process is seen by all of them on their next submit.
    The version is a random token, not a counter: a database restored from a backup (or a test
    rolled back) can never present an old number again with different rules behind it.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    version = models.CharField(max_length=32)

    def __str__(self) -> str:
        return f"rules {self.version}"
