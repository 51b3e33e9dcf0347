"""Cross-process broadcasts for the database channel layer (see realtime/layers.py)."""

from __future__ import annotations

from django.db import models


class Broadcast(models.Model):
    """One group_send (or send to a channel of another process); every web process reads it once.

    Rows live a couple of minutes: they are a relay, not a history.
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(db_index=True)
    target = models.CharField(max_length=200)
    payload = models.TextField()

    def __str__(self) -> str:
        return f"{self.id} → {self.target}"
