"""The actions audit entries name, as the audit pages show them, told by the app that owns actions.

An entry stores an action id and nothing more of it. The pages also show each action's risk level
(and filter by it), the action at the head of its timeline, and beside the history what else the
owner reports (the chart of actions per day). That app registers its `Subjects` when it starts
(its AppConfig.ready), so audit imports no workflow module and the arrow points into audit.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Protocol
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Exists


class Subjects(Protocol):
    def level_choices(self) -> list[tuple[str, str]]:
        """The risk levels an action may have, as (value, label)."""

    def with_level(self, level: str) -> Exists:
        """True for an audit entry (the outer row, by its `action_id`) whose action has `level`."""

    def levels(self, action_ids: list[UUID | str]) -> dict[str, str]:
        """The risk level of each action that still exists, by action id text."""

    def action_context(self, action_id: UUID) -> dict[str, Any] | None:
        """The timeline page's `action`, its one-line `summary` and its `kind_label`; None once the action is gone."""

    def history_context(self, *, since: date | None, until: date | None, security_level: str | None) -> dict[str, Any]:
        """What the history page shows above its entries for these filters (`chart`)."""


_registered: list[Subjects] = []


def register(subjects: Subjects) -> None:
    _registered[:] = [subjects]


def subjects() -> Subjects:
    if not _registered:
        raise ImproperlyConfigured("no installed app registered the actions audit entries name (audit.subjects)")
    return _registered[0]
