"""Template helpers for the approval pages."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html

from approvals.authorship import action_editors, diff_in_words
from approvals.models import Action
from approvals.presentation import action_kind_label, action_summary, approval_needs_confirmation, duration_words
from approvals.reversibility import Reversibility, action_reversibility
from approvals.runtime import config_value_text
from lib.jsontext import pretty_json

register = template.Library()


@register.filter
def summary(action: Action) -> str:
    return action_summary(action)


@register.filter
def kind_label(action: Action) -> str:
    return action_kind_label(action)


@register.filter
def config_old(config: dict[str, Any]) -> str:
    """The setting's current value, a duration in its unit (`12h`, not 43200)."""
    return _config_text(config["key"], config["old"])


@register.filter
def config_new(config: dict[str, Any]) -> str:
    """The value the change sets, as its requester wrote it."""
    return _config_text(config["key"], config["new"])


def _config_text(key: str, value: Any) -> str:
    shown = config_value_text(key, value)
    return shown if isinstance(shown, str) else pretty_json(shown)


@register.filter
def plain_value(value: Any) -> str:
    """A parameter value as a person reads it: text without JSON quotes, a number as a number,
    anything structured laid out in full (never clipped) inside <pre>."""
    if isinstance(value, str):
        return format_html('<pre class="value">{}</pre>', value) if "\n" in value else value
    if isinstance(value, (dict, list)):
        return format_html('<pre class="value">{}</pre>', pretty_json(value))
    return pretty_json(value)


@register.filter(name="pretty_json")
def pretty_json_filter(value: Any) -> str:
    return pretty_json(value)


@register.filter
def time_until(moment) -> str:
    return duration_words(moment - timezone.now()) if moment else ""


@register.filter
def time_since(moment) -> str:
    return duration_words(timezone.now() - moment) if moment else ""


@register.filter
def sentence(text: str) -> str:
    """A stored reason as a sentence: capital first letter, a full stop at the end."""
    text = str(text).strip()
    if not text:
        return ""
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


@register.filter
def needs_confirmation(action: Action) -> bool:
    """Whether approving it takes a second step (irreversible, CRITICAL or known to fail)."""
    return approval_needs_confirmation(action)


@register.filter
def reversibility(action: Action) -> Reversibility:
    return action_reversibility(action)


@register.filter
def diff_words(diff: dict[str, Any] | None) -> list[str]:
    """An edit's diff as `field: before → after` lines."""
    return diff_in_words(diff or {})


@register.filter
def editors(action: Action) -> list[str]:
    """Who edited the action, in the order of their first edit."""
    return action_editors(action)
