"""The rule form: one matcher row per parameter the rule may match, effect, expiry and note.

The form only shapes input; rules.services.rule_validate decides what is valid, and its errors
come back onto the fields here.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils import timezone

from api import strict_json
from lib.pagination import PageLinkField
from rules.matching import EXACT, GLOB, PREFIX, URL_PREFIX, Field
from rules.models import Effect
from rules.services import DEFAULT_EXPIRY, MAX_NOTE

ANY = "any"
KIND_LABELS = {
    ANY: "any value",
    EXACT: "exactly",
    GLOB: "path glob",
    URL_PREFIX: "URL prefix",
    PREFIX: "command prefix",
}
LONG_VALUE = 80


def _shown(field: Field, kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind != EXACT or (field.is_text and isinstance(value, str)):
        return str(value)
    return json.dumps(value, ensure_ascii=False)


def _kind_label(field: Field, kind: str) -> str:
    return "command glob" if kind == GLOB and field.is_command else KIND_LABELS[kind]


class RuleForm(forms.Form):
    effect = forms.ChoiceField(
        choices=[
            (Effect.ALLOW, "Allow: approve matching HIGH actions"),
            (Effect.DENY, "Deny: reject matching actions"),
        ],
        widget=forms.RadioSelect,
        initial=Effect.ALLOW,
    )
    expires_at = forms.DateTimeField(
        label="Expires (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local", "step": "1"}, format="%Y-%m-%dT%H:%M:%S"),
        help_text="At most 90 days from now.",
    )
    note = forms.CharField(
        required=False,
        max_length=MAX_NOTE,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why this rule exists; a deny rule gives it as the reason.",
    )

    def __init__(self, *args: Any, fields: dict[str, Field], matchers: dict[str, dict[str, Any]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.matcher_fields = fields
        if "expires_at" not in self.initial:
            self.initial["expires_at"] = (timezone.now() + DEFAULT_EXPIRY).replace(second=0, microsecond=0)
        for name, field in fields.items():
            current = matchers.get(name, {"kind": ANY, "value": None})
            self.fields[f"kind_{name}"] = forms.ChoiceField(
                label=name,
                choices=[(kind, _kind_label(field, kind)) for kind in (ANY, *field.kinds)],
                initial=current["kind"],
            )
            shown = _shown(field, current["kind"], current["value"])
            widget = forms.Textarea(attrs={"rows": 4 if len(shown) > LONG_VALUE else 1, "spellcheck": "false"})
            self.fields[f"value_{name}"] = forms.CharField(
                label=f"{name} value", required=False, initial=shown, widget=widget, strip=False
            )

    def matcher_rows(self) -> list[tuple[forms.BoundField, forms.BoundField]]:
        return [(self[f"kind_{name}"], self[f"value_{name}"]) for name in self.matcher_fields]

    def rule_fields(self) -> dict[str, Any]:
        """Arguments for rule_validate and the rule services; call after is_valid()."""
        matchers: list[dict[str, Any]] = []
        for name, field in self.matcher_fields.items():
            kind = self.cleaned_data[f"kind_{name}"]
            if kind == ANY:
                continue
            raw = self.cleaned_data[f"value_{name}"]
            value: Any = raw
            if kind == EXACT and not field.is_text:
                try:
                    value = strict_json.loads(raw)
                except strict_json.InvalidJson as exc:
                    self.add_error(f"value_{name}", str(exc))
                    continue
                except ValueError:
                    self.add_error(f"value_{name}", 'write this value as JSON (quote text: "like this")')
                    continue
            matchers.append({"parameter": name, "kind": kind, "value": value})
        return {
            "matchers": matchers,
            "effect": self.cleaned_data["effect"],
            "expires_at": self.cleaned_data["expires_at"],
            "note": self.cleaned_data["note"],
        }

    def add_rule_errors(self, errors: dict[str, str]) -> None:
        """Put rule_validate's errors on the fields they concern."""
        for key, message in errors.items():
            name = key.removeprefix("matcher.")
            if key.startswith("matcher.") and f"value_{name}" in self.fields:
                self.add_error(f"value_{name}", message)
            elif key in ("effect", "expires_at", "note"):
                self.add_error(key, message)
            else:
                self.add_error(None, message)


class RuleListForm(forms.Form):
    """The rule list's page link: `before` is the id the previous page ended on."""

    before = PageLinkField(required=False)
