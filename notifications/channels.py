"""The channels a notification goes out on, as named in queued deliveries and audit entries."""

from __future__ import annotations

EMAIL = "email"
WEBHOOK = "webhook"
ESCALATION = "escalation"  # one email to the escalation group, once an action has waited too long
