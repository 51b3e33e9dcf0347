"""What reviewers read: the email to each reviewer, the escalation email and the Slack-compatible post.

Each carries the whole action, so a reviewer can judge it from the notification itself. The bodies
are templates/notifications/*.txt: plain text with autoescape off (values reach Slack already
escaped by slack_text and slack_code), and exact to the byte, so a final newline is part of the message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from approvals.assignment import assigned_names
from approvals.models import Action
from approvals.presentation import duration_words
from approvals.reversibility import action_reversibility
from lib.roles import REVIEWERS
from notifications.channels import WEBHOOK
from review.links import decision_links

# A value longer than this is folded with a marker; shorter ones are always shown whole.
VALUE_LIMIT = 4_000
# Tried in turn when the parameters as a whole do not fit a channel's budget.
FOLD_LIMITS = (VALUE_LIMIT, 1_000, 200)
EMAIL_PARAMETERS_BUDGET = 200_000
# Slack cuts a message's `text` at 40,000 characters and refuses section text over 3,000.
SLACK_PARAMETERS_BUDGET = 20_000
SLACK_SECTION_LIMIT = 2_990
_SLACK_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Slack has no escape for its formatting marks. Outside code they become look-alikes (and
# whitespace one space, so no line of ours can be made to start a quote); inside a code block only
# a run of backticks could end it, so a zero-width space goes between any two.
_SLACK_LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_SLACK_TEXT = {**_SLACK_ESCAPES, **_SLACK_LOOKALIKES, "\n": " ", "\r": " ", "\t": " "}
ZERO_WIDTH_SPACE = "\u200b"
_BACKTICK_PAIR = re.compile("`(?=`)")
_BARE_MENTION = re.compile(r"@(?=\w)")


def deep_link(action: Action) -> str:
    return f"{settings.ACTIONHUB_BASE_URL}/approvals/{action.id}/"


def fold(value: Any, limit: int = VALUE_LIMIT) -> Any:
    """`value` with every string longer than `limit` shortened to `limit` plus a visible marker."""
    if isinstance(value, str) and len(value) > limit:
        return f"{value[:limit]}… {len(value) - limit:,} more characters, see the link"
    if isinstance(value, dict):
        return {key: fold(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        return [fold(item, limit) for item in value]
    return value


def render_parameters(parameters: Any, *, budget: int, escape: Callable[[str], str] = str) -> str:
    """Pretty JSON of the parameters, escaped for the channel and at most `budget` characters.

    Keys are sorted so the message reads the same on every database (jsonb does not keep order).

    Values are folded only beyond VALUE_LIMIT, then harder while the whole does not fit; if even
    that is too long, whole lines are kept and the rest is replaced by a marker, never cut silently.
    """
    text = ""
    for limit in FOLD_LIMITS:
        text = escape(json.dumps(fold(parameters, limit), indent=2, ensure_ascii=False, sort_keys=True))
        if len(text) <= budget:
            return text
    cut = text.rfind("\n", 0, budget - 100)
    cut = cut if cut > 0 else budget - 100
    return f"{text[:cut]}\n… {len(text) - cut:,} more characters, see the link"


def _when(moment: datetime | None) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC") if moment else "never"


def _facts(action: Action) -> list[tuple[str, str]]:
    reversibility = action_reversibility(action)
    return [
        ("Type", action.action_type),
        ("Skill", action.skill_id or "none"),
        ("Risk level", action.security_level.upper()),
        ("Reversibility", f"{reversibility.label} ({reversibility.reason})"),
        ("Requested by", action.requested_by.get_username()),
        ("Requested at", _when(action.created_at)),
        ("Expires", _when(action.expires_at)),
        ("Approvals needed", str(action.approvals_required)),
        ("Action", str(action.id)),
    ]


def _reasons(action: Action) -> list[str]:
    return [str(reason) for reason in fold(list(action.classification_reasons or []))] or ["(none recorded)"]


def _headline(action: Action) -> str:
    context = {
        "level": action.security_level.upper(),
        "action_type": action.action_type,
        "requester": action.requested_by.get_username(),
    }
    return render_to_string("notifications/headline.txt", context)


def email_subject(action: Action) -> str:
    return render_to_string("notifications/email_subject.txt", {"headline": _headline(action)})


def email_body(action: Action, *, links: dict[str, str] | None = None, recipient: str = "") -> str:
    facts = _facts(action)
    context = {
        "headline": _headline(action),
        "link": deep_link(action),
        "facts": facts,
        "width": max(len(label) for label, _ in facts) + 2,
        "reasons": _reasons(action),
        "parameters": render_parameters(action.parameters, budget=EMAIL_PARAMETERS_BUDGET),
        "links": links,
        "recipient": recipient,
        "link_hours": f"{settings.ACTIONHUB_LINK_MAX_AGE.total_seconds() / 3600:g}",
    }
    return render_to_string("notifications/email_body.txt", context)


def escalation_subject(action: Action) -> str:
    return render_to_string("notifications/escalation_subject.txt", {"headline": _headline(action)})


def escalation_body(action: Action) -> str:
    context = {
        "waited": duration_words((action.escalated_at or timezone.now()) - action.created_at),
        "assigned": ", ".join(assigned_names(action)) or REVIEWERS,
        "expires": _when(action.expires_at),
        "quoted_group": repr(settings.ACTIONHUB_ESCALATION_GROUP),
        "email_body": email_body(action),
    }
    return render_to_string("notifications/escalation_body.txt", context)


def slack_escape(text: str) -> str:
    """`&`, `<` and `>` as Slack requires, so no `<!channel>`, `<@U123>` or `<url|label>` comes through."""
    return "".join(_SLACK_ESCAPES.get(char, char) for char in text)


def slack_text(text: str) -> str:
    """Untrusted text for mrkdwn outside code: escaped, formatting marks neutralised, on one line,
    and `@here`-style words broken so no receiver that links bare names pings anyone."""
    return _BARE_MENTION.sub("@" + ZERO_WIDTH_SPACE, "".join(_SLACK_TEXT.get(char, char) for char in text))


def slack_code(text: str) -> str:
    """Untrusted text for the inside of a ``` block: escaped, and no backtick next to another."""
    return _BACKTICK_PAIR.sub("`" + ZERO_WIDTH_SPACE, slack_escape(text))


def slack_body(action: Action) -> dict[str, Any]:
    """Slack-compatible JSON: the whole message in `text` (what receivers without blocks show),
    and the same as blocks with buttons to the deep link and the one-tap pages.

    A channel is read by many people, so its one-tap links name no reviewer: any reviewer who may
    decide can use them once, after logging in and confirming on the page. A leaked link decides
    nothing without a reviewer's session, and a POST from the confirmation page.
    """
    link = deep_link(action)
    one_tap = decision_links(action=action, channel=WEBHOOK, user_id=None)
    headline = _headline(action)
    facts = [(label, slack_text(value)) for label, value in _facts(action)]
    reasons = "\n".join(f"• {slack_text(reason)}" for reason in _reasons(action))
    parameters = render_parameters(action.parameters, budget=SLACK_PARAMETERS_BUDGET, escape=slack_code)
    text = render_to_string(
        "notifications/slack_text.txt",
        {
            "headline": slack_text(headline),
            "link": link,
            "facts": facts,
            "reasons": reasons,
            "parameters": parameters,
            "links": one_tap,
        },
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": headline[:150]}},
        {"type": "section", "fields": [_mrkdwn(f"*{label}*\n{value}") for label, value in facts]},
        *({"type": "section", "text": _mrkdwn(part)} for part in split_for_slack(f"*Why it is held*\n{reasons}")),
        {"type": "section", "text": _mrkdwn("*Parameters*")},
        *(
            {"type": "section", "text": _mrkdwn(f"```\n{part}\n```")}
            for part in split_for_slack(parameters, SLACK_SECTION_LIMIT - 8)
        ),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "text": {"type": "plain_text", "text": "Review in ActionHub"},
                    "url": link,
                    "style": "primary",
                },
                {"type": "button", "text": {"type": "plain_text", "text": "Approve…"}, "url": one_tap["approve"]},
                {"type": "button", "text": {"type": "plain_text", "text": "Reject…"}, "url": one_tap["reject"]},
            ],
        },
    ]
    return {"text": text, "blocks": blocks}


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack links only what the text marks as a link, never a bare URL or #channel in a value.
    return {"type": "mrkdwn", "text": text, "verbatim": True}


def split_for_slack(text: str, limit: int = SLACK_SECTION_LIMIT) -> list[str]:
    """Already-escaped `text` in pieces of at most `limit` characters, between lines where possible.

    A line longer than `limit` continues in the next piece; no escape sequence is split.
    """
    pieces: list[str] = []
    current: str | None = None
    for line in text.split("\n"):
        candidate = line if current is None else f"{current}\n{line}"
        if len(candidate) <= limit:
            current = candidate
            continue
        if current is not None:
            pieces.append(current)
        while len(line) > limit:
            cut = limit
            entity = line.rfind("&", cut - 4, cut)
            if entity != -1 and ";" not in line[entity:cut]:
                cut = entity
            pieces.append(line[:cut])
            line = line[cut:]
        current = line
    if current is not None:
        pieces.append(current)
    return pieces
