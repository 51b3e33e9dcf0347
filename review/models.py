"""What the review workflow keeps of its own: used one-tap links and each person's page settings.

Both tables were created by the approvals app and keep their names (see migrations/0001_initial.py).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from approvals.models import Action, Decision


class LinkUse(models.Model):
    """A one-tap decision link that decided: its nonce never decides again for the same reviewer.

    Written in the transaction of the decision it made, so a link is used exactly when it decided.
    A personal link names one reviewer, so it decides once at all; a shared channel's link once per reviewer.
    """

    nonce = models.CharField(max_length=32)
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="link_uses")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="link_uses")
    decision = models.CharField(max_length=8, choices=Decision.choices)
    channel = models.CharField(max_length=16)
    used_at = models.DateTimeField()

    class Meta:
        db_table = "approvals_linkuse"
        constraints = [models.UniqueConstraint(fields=["nonce", "user"], name="link_used_once_per_reviewer")]

    def __str__(self) -> str:
        return f"link {self.nonce} used by {self.user_id} on {self.action_id}"


class ReviewerPreference(models.Model):
    """A person's page settings, kept on the server so they follow them: the live queue's alert
    sound (reviewers) and the time zone every page shows times in (anyone signed in)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="reviewer_preference"
    )
    alert_sound = models.BooleanField(default=False)
    # An IANA zone name (lib.moments.zone_names); UTC until they choose one.
    time_zone = models.CharField(max_length=64, default="UTC")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "approvals_reviewerpreference"

    def __str__(self) -> str:
        return f"preferences of {self.user_id}"
