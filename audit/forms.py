"""The audit history's filter form: shared by the page, its exports and its live socket."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from audit.selectors import AuditFilters
from audit.subjects import subjects
from lib.pagination import PageLinkField

# The chart reaches a few weeks before and a day after the chosen days; these keep that arithmetic
# inside what dates can hold, with room to spare.
EARLIEST_DAY = date(1970, 1, 1)
LATEST_DAY = date(9998, 12, 31)
DAY_RANGE = f"pick a day from {EARLIEST_DAY} to {LATEST_DAY}"


class DayField(forms.DateField):
    """A day typed as YYYY-MM-DD, as every other date on these pages reads.

    A text input rather than type=date: browsers show a date input in the viewer's locale
    (mm/dd/yyyy in the US), which is the one format the rest of the history never uses.
    """

    format_hint = "YYYY-MM-DD"
    input_formats = ["%Y-%m-%d"]
    default_error_messages = {"invalid": "Enter the day as YYYY-MM-DD, e.g. 2026-02-10."}
    default_validators = [
        MinValueValidator(EARLIEST_DAY, DAY_RANGE),
        MaxValueValidator(LATEST_DAY, DAY_RANGE),
    ]

    def widget_attrs(self, widget: forms.Widget) -> dict[str, Any]:
        return super().widget_attrs(widget) | {
            "placeholder": self.format_hint,
            "pattern": r"\d{4}-\d{2}-\d{2}",
            "inputmode": "numeric",
            "autocomplete": "off",
            "size": "10",
        }


def _level_choices() -> list[tuple[str, str]]:
    return [("", "any"), *subjects().level_choices()]


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, strip=True)
    event = forms.CharField(required=False, max_length=64, strip=True)
    action = forms.UUIDField(
        required=False, error_messages={"invalid": "an action id is a UUID, as on the action's page"}
    )
    level = forms.ChoiceField(choices=_level_choices, required=False, label="Risk level")
    since = DayField(required=False, label="From")
    until = DayField(required=False, label="To")
    before = PageLinkField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in ("since", "until"):
            self.fields[name].widget.attrs["aria-describedby"] = f"{name}-format"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "the end date is before the start date")
        return cleaned

    def filters(self) -> AuditFilters:
        """The cleaned filters; `until` is a date shown inclusive, so the range ends the day after."""
        data = self.cleaned_data
        return AuditFilters(
            actor=data["actor"] or None,
            event=data["event"] or None,
            action_id=data["action"],
            security_level=data["level"] or None,
            since=_day_start(data["since"]),
            until=_day_start(data["until"] + timedelta(days=1)) if data["until"] else None,
        )

    def query(self, **changes: Any) -> str:
        """The filters as a query string (without the page cursor unless given)."""
        data = self.cleaned_data
        values = {
            name: "" if data.get(name) is None else str(data[name])
            for name in ("actor", "event", "action", "level", "since", "until")
        }
        values.update(changes)
        return urlencode({key: value for key, value in values.items() if value not in ("", None)})


def _day_start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time.min, tzinfo=UTC)
