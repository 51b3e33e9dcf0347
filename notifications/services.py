"""Telling reviewers that a HIGH/CRITICAL action waits for them: one email per reviewer, one post per webhook.

Each recipient and each webhook is delivered, retried with backoff and audited on its own, in
background tasks, so a failing one neither repeats nor delays the others nor touches the action.
Webhook posts go through approvals/outbound.py, the app's one HTTP edge.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import smtplib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from approvals.assignment import action_reviewers, assigned_names
from approvals.links import decision_links
from approvals.models import Action, Status
from approvals.outbound import OutboundError, post_webhook
from approvals.presentation import duration_words
from approvals.reversibility import action_reversibility
from approvals.runtime import runtime_get
from audit.services import SYSTEM_ACTOR, audit_append
from lib.roles import REVIEWERS

logger = logging.getLogger(__name__)

EMAIL = "email"
WEBHOOK = "webhook"
ESCALATION = "escalation"  # one email to the escalation group, once an action has waited too long
# A value longer than this is folded with a marker; shorter ones are always shown whole.
VALUE_LIMIT = 4_000
# Tried in turn when the parameters as a whole do not fit a channel's budget.
FOLD_LIMITS = (VALUE_LIMIT, 1_000, 200)
EMAIL_PARAMETERS_BUDGET = 200_000
# Slack cuts a message's `text` at 40,000 characters and refuses section text over 3,000.
SLACK_PARAMETERS_BUDGET = 20_000
SLACK_SECTION_LIMIT = 2_990
MAX_BACKOFF = timedelta(hours=1)
_NO_REVIEWER = "no reviewer other than the requester has an email address"
_SLACK_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}
# Slack has no escape for its formatting marks. Outside code they become look-alikes (and
# whitespace one space, so no line of ours can be made to start a quote); inside a code block only
# a run of backticks could end it, so a zero-width space goes between any two.
_SLACK_LOOKALIKES = {"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb"}
_SLACK_TEXT = {**_SLACK_ESCAPES, **_SLACK_LOOKALIKES, "\n": " ", "\r": " ", "\t": " "}
ZERO_WIDTH_SPACE = "\u200b"
_BACKTICK_PAIR = re.compile("`(?=`)")
_BARE_MENTION = re.compile(r"@(?=\w)")


class DeliveryError(Exception):
    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry


# Scheduling


def enqueue_held_notification(*, action_id: UUID) -> None:
    """Called on commit when an action is held; the task fans out to every channel."""
    from worker.tasks import notify_action_held
    from worker.wakeup import wake_workers

    notify_action_held.enqueue(action_id=str(action_id))
    wake_workers()


def notification_fan_out(*, action_id: UUID) -> list[str]:
    """Enqueue one delivery per reviewer with an address and one per configured webhook URL.

    The URLs are read from the runtime config now, so a config_change of `webhook_urls` applies
    to the next held action; tasks carry a fingerprint of each URL, never the URL (a secret), and
    a reviewer's username, never an address. All deliveries are enqueued in one transaction, so
    a crash halfway leaves none queued and the fan-out's own retry does not send twice.
    Returns the `channel:target` of each delivery.
    """
    action = Action.objects.select_related("requested_by").filter(id=action_id, status=Status.PENDING).first()
    if action is None:
        return []
    recipients = [(EMAIL, username) for username, _ in reviewer_recipients(action)]
    if not recipients:
        logger.warning("action %s: no reviewer other than the requester has an email address", action_id)
        _audit(
            "notification.failed",
            action_id,
            {"channel": EMAIL, "target": REVIEWERS, "attempt": 1, "error": _NO_REVIEWER, "will_retry": False},
        )
    urls = dict.fromkeys(runtime_get("webhook_urls") or [])
    return _enqueue_all(action_id, [*recipients, *((WEBHOOK, webhook_fingerprint(url)) for url in urls)])


def enqueue_escalation_notification(*, action_id: UUID) -> None:
    """Called on commit when an action is escalated: one email per member of the escalation group,
    each delivered, retried and audited like the others."""
    from worker.wakeup import wake_workers

    action = Action.objects.select_related("requested_by").filter(id=action_id).first()
    if action is None:
        return
    recipients = [(ESCALATION, username) for username, _ in escalation_recipients(action)]
    if not recipients:
        group = settings.ACTIONHUB_ESCALATION_GROUP
        error = f"nobody in the {group!r} group other than the requester has an email address"
        logger.warning("action %s: %s", action_id, error)
        _audit(
            "notification.failed",
            action_id,
            {"channel": ESCALATION, "target": group, "attempt": 1, "error": error, "will_retry": False},
        )
        return
    _enqueue_all(action_id, recipients)
    wake_workers()


def _enqueue_all(action_id: UUID, targets: list[tuple[str, str]]) -> list[str]:
    with transaction.atomic():
        for channel, target in targets:
            _enqueue_delivery(action_id=action_id, channel=channel, target=target, attempt=1)
    return [f"{channel}:{target}" for channel, target in targets]


def _enqueue_delivery(
    *, action_id: UUID, channel: str, target: str, attempt: int, run_after: datetime | None = None
) -> None:
    from worker.tasks import deliver_notification

    task = deliver_notification.using(run_after=run_after) if run_after else deliver_notification
    task.enqueue(action_id=str(action_id), channel=channel, target=target, attempt=attempt)


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff after failed attempt number `attempt` (1-based), capped at an hour."""
    return min(settings.ACTIONHUB_NOTIFY_BACKOFF * 2 ** (attempt - 1), MAX_BACKOFF)


def webhook_fingerprint(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def public_target(url: str) -> str:
    """Scheme and host (with an explicit port) of a URL: what may be logged and audited."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}"


# Delivery


def notification_deliver(*, action_id: UUID, channel: str, target: str, attempt: int) -> str:
    """Deliver to one recipient (`target` is a username) or one webhook once; on failure audit it
    and schedule the next attempt for that recipient alone.

    Returns `sent`, `retrying`, `failed`, or `skipped` when there is nothing to tell any more
    (the action was decided or expired, the recipient lost their address or right to decide, or
    the webhook was removed from the config).
    """
    action = Action.objects.select_related("requested_by").filter(id=action_id).first()
    if action is None or action.status != Status.PENDING:
        return "skipped"
    send: Callable[[Action], dict[str, Any]]
    if channel in (EMAIL, ESCALATION) and not target:
        # Queued before deliveries were per recipient: split it now, so each is retried alone.
        if channel == EMAIL:
            _enqueue_all(action_id, [(EMAIL, username) for username, _ in reviewer_recipients(action)])
        else:
            enqueue_escalation_notification(action_id=action_id)
        return "skipped"
    if channel in (EMAIL, ESCALATION):
        candidates = reviewer_recipients(action) if channel == EMAIL else escalation_recipients(action)
        address = dict(candidates).get(target)
        if address is None:
            logger.info("action %s: %s is no longer a %s recipient; not notifying them", action_id, target, channel)
            return "skipped"
        send, label = partial(_send_email, username=target, address=address, escalation=channel == ESCALATION), target
    else:
        url = _configured_webhook(target)
        if url is None:
            logger.info("action %s: webhook %s is no longer configured; not notifying it", action_id, target)
            return "skipped"
        send, label = partial(_send_webhook, url=url), public_target(url)
    attempt_of = {"action_id": action_id, "channel": channel, "target": target, "label": label, "attempt": attempt}
    try:
        details = send(action)
    except DeliveryError as exc:
        return _record_failure(**attempt_of, error=str(exc), retry=exc.retry)
    except Exception as exc:  # a bug must not lose the notification silently either
        logger.exception("action %s: %s notification crashed", action_id, channel)
        return _record_failure(**attempt_of, error=f"internal error ({type(exc).__name__})", retry=True)
    _audit("notification.sent", action_id, {"channel": channel, "target": label, "attempt": attempt, **details})
    return "sent"


def _record_failure(
    *, action_id: UUID, channel: str, target: str, label: str, attempt: int, error: str, retry: bool
) -> str:
    """Audit a failed attempt and, while attempts remain, schedule the next one after a backoff."""
    retry = retry and attempt <= settings.ACTIONHUB_NOTIFY_RETRIES
    data = {"channel": channel, "target": label, "attempt": attempt, "error": error, "will_retry": retry}
    _audit("notification.failed", action_id, data)
    logger.warning("action %s: %s to %s failed (attempt %d): %s", action_id, channel, label, attempt, error)
    if not retry:
        return "failed"
    run_after = timezone.now() + retry_delay(attempt)
    _enqueue_delivery(action_id=action_id, channel=channel, target=target, attempt=attempt + 1, run_after=run_after)
    return "retrying"


def _audit(event: str, action_id: UUID, data: dict[str, Any]) -> None:
    with transaction.atomic():
        audit_append(actor=SYSTEM_ACTOR, event=event, action_id=action_id, data=data)


def _configured_webhook(fingerprint: str) -> str | None:
    for url in runtime_get("webhook_urls") or []:
        if webhook_fingerprint(url) == fingerprint:
            return url
    return None


def reviewer_recipients(action: Action) -> list[tuple[str, str]]:
    """(username, email) of those who may decide the action and have an address, except the
    requester: superusers, and reviewers in its assigned groups (every reviewer when it has none)."""
    users = action_reviewers(action).exclude(email="").order_by("username")
    return list(users.values_list("username", "email"))


def escalation_recipients(action: Action) -> list[tuple[str, str]]:
    """(username, email) of active members of the escalation group with an address, except the requester."""
    users = (
        get_user_model()
        .objects.filter(groups__name=settings.ACTIONHUB_ESCALATION_GROUP, is_active=True)
        .exclude(pk=action.requested_by_id)
        .exclude(email="")
        .distinct()
        .order_by("username")
    )
    return list(users.values_list("username", "email"))


def _send_email(action: Action, *, username: str, address: str, escalation: bool) -> dict[str, Any]:
    """One message to one person; a reviewer's carries one-tap links signed for them alone."""
    if escalation:
        message = EmailMessage(subject=escalation_subject(action), body=escalation_body(action), to=[address])
    else:
        user_id = get_user_model().objects.get(username=username).pk
        links = decision_links(action=action, channel=EMAIL, user_id=user_id)
        body = email_body(action, links=links, recipient=username)
        message = EmailMessage(subject=email_subject(action), body=body, to=[address])
    try:
        with get_connection() as connection:
            connection.send_messages([message])
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError("SMTPRecipientsRefused: the server refused the address") from exc
    except (smtplib.SMTPException, OSError) as exc:
        # The audit names the recipient by username only; an SMTP answer may quote the address.
        raise DeliveryError(f"{type(exc).__name__}: {exc}".replace(address, "<address>")) from exc
    return {}


def _send_webhook(action: Action, *, url: str) -> dict[str, Any]:
    try:
        post_webhook(url=url, body=slack_body(action))
    except OutboundError as exc:
        raise DeliveryError(str(exc)) from exc
    return {}


# The message: the whole action, so a reviewer can judge it from the notification itself.


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
    return (
        f"{action.security_level.upper()} {action.action_type} from {action.requested_by.get_username()} "
        "is waiting for review"
    )


def email_subject(action: Action) -> str:
    return f"[ActionHub] {_headline(action)}"


def _link_validity() -> str:
    hours = settings.ACTIONHUB_LINK_MAX_AGE.total_seconds() / 3600
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


def email_body(action: Action, *, links: dict[str, str] | None = None, recipient: str = "") -> str:
    link = deep_link(action)
    facts_list = _facts(action)
    width = max(len(label) for label, _ in facts_list) + 2
    facts = "\n".join(f"{label + ':':<{width}}{value}" for label, value in facts_list)
    reasons = "\n".join(f"- {reason}" for reason in _reasons(action))
    parameters = render_parameters(action.parameters, budget=EMAIL_PARAMETERS_BUDGET)
    one_tap = ""
    if links:
        one_tap = (
            f"Decide from here: each link opens a page showing the whole action, where you confirm "
            f"(logged in as {recipient}). The links work once, only for you, for this version of the "
            f"action, for {_link_validity()} at most.\n"
            f"Approve: {links['approve']}\nReject:  {links['reject']}\n\n"
        )
    return (
        f"{_headline(action)}.\n\nReview it: {link}\n\n{facts}\n\n"
        f"Why it is held:\n{reasons}\n\nParameters:\n{parameters}\n\n{one_tap}Review it: {link}\n"
    )


def escalation_subject(action: Action) -> str:
    return f"[ActionHub] Escalated: {_headline(action)}"


def escalation_body(action: Action) -> str:
    waited = duration_words((action.escalated_at or timezone.now()) - action.created_at)
    assigned = ", ".join(assigned_names(action)) or REVIEWERS
    return (
        f"Escalated: nobody has decided this action in {waited} (assigned to {assigned}); "
        f"it expires {_when(action.expires_at)} and then will not run.\n"
        f"You get this because you are in the {settings.ACTIONHUB_ESCALATION_GROUP!r} group.\n\n" + email_body(action)
    )


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
    headline = slack_text(_headline(action))
    facts = [(label, slack_text(value)) for label, value in _facts(action)]
    reasons = "\n".join(f"• {slack_text(reason)}" for reason in _reasons(action))
    parameters = render_parameters(action.parameters, budget=SLACK_PARAMETERS_BUDGET, escape=slack_code)
    text = "\n".join(
        [
            f"*{headline}*: <{link}|review it>",
            *(f"*{label}:* {value}" for label, value in facts),
            f"*Why it is held:*\n{reasons}",
            f"*Parameters:*\n```\n{parameters}\n```",
            f"Review it: {link}",
            f"Decide (you confirm on the page, logged in as a reviewer): <{one_tap['approve']}|approve…> "
            f"· <{one_tap['reject']}|reject…>",
        ]
    )
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _headline(action)[:150]}},
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
