"""Forms of the review pages: queue and My requests filters, decisions and edits."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from uuid import UUID

from django import forms

from api import strict_json
from approvals.exceptions import InvalidParameters
from approvals.kinds.registry import kind_choices
from approvals.models import Status
from approvals.selectors import QUEUE_LEVELS
from lib.moments import zone_names
from lib.pagination import PAGE_LINK_NOT_VALID, BadCursor, decode_cursor
from review.bulk import BulkItem, bulk_check

HASH_ERROR = "the payload hash must be the 64-character hash shown on the page"
_HASH = re.compile(r"[0-9a-f]{64}")


class QueueFilterForm(forms.Form):
    level = forms.ChoiceField(choices=[("", "all levels"), *((level, level) for level in QUEUE_LEVELS)], required=False)
    type = forms.ChoiceField(choices=lambda: [("", "all types"), *kind_choices()], required=False)
    assigned = forms.ChoiceField(choices=[("", "all I may decide"), ("me", "assigned to me")], required=False)
    after = forms.CharField(required=False, max_length=200)

    def clean_after(self) -> tuple[datetime, UUID] | None:
        try:
            return decode_cursor(self.cleaned_data["after"], kinds=(datetime, UUID))
        except BadCursor as exc:
            raise forms.ValidationError("this page link is not valid; start from the first page") from exc


class MineFilterForm(forms.Form):
    status = forms.ChoiceField(choices=[("", "any status"), *Status.choices], required=False)
    type = forms.ChoiceField(choices=lambda: [("", "all types"), *kind_choices()], required=False)
    before = forms.CharField(required=False, max_length=200)

    def clean_before(self) -> tuple[datetime, UUID] | None:
        try:
            return decode_cursor(self.cleaned_data["before"], kinds=(datetime, UUID))
        except BadCursor as exc:
            raise forms.ValidationError(PAGE_LINK_NOT_VALID) from exc


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))
    payload_hash = forms.RegexField(regex=r"^[0-9a-f]{64}$", error_messages={"invalid": HASH_ERROR})
    # Sent by the second step of an approval that takes one (irreversible, CRITICAL or known to fail).
    confirm = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("decision") == "reject" and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", "say why you reject it: the requester reads this reason")
        return cleaned


class BulkItemsField(forms.Field):
    """The selected queue rows: each `<action id>:<payload hash shown in the row>`."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[tuple[UUID, str]]:
        items = []
        for text in value or []:
            action_id, _, digest = str(text).partition(":")
            try:
                parsed = UUID(action_id)
            except ValueError as exc:
                raise forms.ValidationError(f"{text[:80]!r} is not a queue row") from exc
            if not _HASH.fullmatch(digest):
                raise forms.ValidationError(HASH_ERROR)
            items.append((parsed, digest))
        return items


class BulkDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("reject", "Reject")])
    reason = forms.CharField(required=False, max_length=2000)
    item = BulkItemsField(required=False)
    # Sent by the second step, which listed the selected rows whose approval takes one.
    confirm = forms.BooleanField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        approved = cleaned.get("decision") == "approve"
        reason = (cleaned.get("reason") or "").strip()
        if cleaned.get("decision") == "reject" and not reason:
            self.add_error("reason", "say why you reject them: the requesters read this reason")
        if "item" in cleaned:
            try:
                bulk_check(self.items(approved=approved, reason=reason, cleaned=cleaned))
            except InvalidParameters as error:
                self.add_error("item", error.detail)
        return cleaned

    def items(self, *, approved: bool, reason: str, cleaned: dict[str, Any] | None = None) -> list[BulkItem]:
        rows = (cleaned or self.cleaned_data)["item"]
        return [
            BulkItem(action_id=action_id, approved=approved, reason=reason, payload_hash=digest)
            for action_id, digest in rows
        ]


class BulkConfirmForm(forms.Form):
    """The rows selected for a bulk approval, to list those that take a second step."""

    reason = forms.CharField(required=False, max_length=2000)
    item = BulkItemsField(required=False)

    def clean_item(self) -> list[tuple[UUID, str]]:
        rows = self.cleaned_data["item"]
        try:
            bulk_check([BulkItem(action_id=action_id, approved=True) for action_id, _ in rows])
        except InvalidParameters as error:
            raise forms.ValidationError(error.detail) from error
        return rows


class EditForm(forms.Form):
    parameters = forms.CharField(widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}), max_length=1_000_000)
    payload_hash = forms.RegexField(regex=r"^[0-9a-f]{64}$", error_messages={"invalid": HASH_ERROR})
    confirm = forms.BooleanField(required=False)

    def clean_parameters(self) -> dict[str, Any]:
        try:
            value = strict_json.loads(self.cleaned_data["parameters"])
        except ValueError as exc:
            raise forms.ValidationError(f"not valid JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise forms.ValidationError('parameters must be a JSON object, like {"key": "value"}')
        return value


class LinkDecisionForm(forms.Form):
    """The confirmation of a one-tap link: the decision comes from the signed link, only a reason from here."""

    reason = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args: Any, decision: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.decision = decision

    def clean_reason(self) -> str:
        reason = (self.cleaned_data.get("reason") or "").strip()
        if self.decision == "reject" and not reason:
            raise forms.ValidationError("say why you reject it: the requester reads this reason")
        return reason


class AlertSoundForm(forms.Form):
    sound = forms.BooleanField(required=False)


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        label="Time zone",
        choices=lambda: [(name, name) for name in sorted(zone_names())],
        error_messages={
            "invalid_choice": "%(value)s is not a time zone this site knows: choose an IANA name such as Europe/Berlin",
            "required": "choose a time zone (UTC is the default)",
        },
    )
