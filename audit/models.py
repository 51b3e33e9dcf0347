"""The tamper-evident audit chain: append-only entries linked by hashes."""

from __future__ import annotations

from django.db import models

from audit.fields import CanonicalJSONField


class AuditEntry(models.Model):
    """One event. `hash` = sha256(prev_hash + canonical JSON of the other fields)."""

    seq = models.BigIntegerField(primary_key=True)
    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    event = models.CharField(max_length=64)
    action_id = models.UUIDField(null=True, blank=True)
    data = CanonicalJSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(fields=["action_id", "seq"], name="audit_action_seq"),
            models.Index(fields=["actor", "seq"], name="audit_actor_seq"),
            models.Index(fields=["event", "seq"], name="audit_event_seq"),
            # Covering for date-range pages: their seqs come from the index alone.
            models.Index(fields=["at", "seq"], name="audit_at_seq"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.event} by {self.actor}"


class AuditHead(models.Model):
    """The chain's single head row; locking it serializes appends on every database."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64)
    # The hash before the last append, so one UPDATE … RETURNING yields both links.
    prev_hash = models.CharField(max_length=64, default="")

    def __str__(self) -> str:
        return f"head at {self.seq}"


class AuditCheckpoint(models.Model):
    """An anchor of (seq, hash) written by `verify_audit --checkpoint`; detects truncation.

    Copy checkpoints off the machine (the command prints them) for a truly external anchor.
    """

    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-seq"]

    def __str__(self) -> str:
        return f"checkpoint {self.seq}:{self.hash}"


class AuditVerification(models.Model):
    """The chain's last verified state (one row), so the history page checks only newer entries.

    `full_at` is when every entry was last re-hashed from the genesis; entries up to `seq` are
    re-checked from scratch again once that is older than ACTIONHUB_AUDIT_FULL_VERIFY_EVERY.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    ok = models.BooleanField()
    seq = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    broken_seq = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200, blank=True, default="")
    checked_at = models.DateTimeField()
    full_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"verified up to {self.seq}" if self.ok else f"broken at {self.broken_seq}"
