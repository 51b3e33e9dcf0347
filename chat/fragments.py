"""What a message looks like in each state of its action, rendered the same for pages and sockets."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib.auth.models import AbstractBaseUser
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from approvals.models import Decision, Status
from chat.markdown import render_markdown
from chat.models import Message
from chat.selectors import message_get_for
from chat.streaming import utf16_length

STATES = {
    Status.PENDING: "held",
    Status.APPROVED: "queued",
    Status.EXECUTING: "streaming",
    Status.COMPLETED: "done",
    Status.FAILED: "failed",
    Status.REJECTED: "rejected",
    Status.EXPIRED: "expired",
    Status.CANCELLED: "cancelled",
}
SCREEN_PREFIX = "injection screen: "


def message_view(message: Message) -> dict[str, Any]:
    action = message.action
    result = action.result if isinstance(action.result, dict) else {}
    state = STATES[action.status]
    decisions = getattr(action, "decisions", None)
    if decisions is None:
        decisions = list(action.approvals.filter(voided_at__isnull=True, user__isnull=False).select_related("user"))
    rejection = next((d for d in decisions if d.decision == Decision.REJECT), None)
    reply = result.get("response", "") if state == "done" else message.reply
    return {
        "message": message,
        "action": action,
        "state": state,
        "text": action.parameters.get("message", ""),
        "model": result.get("model") or action.parameters.get("model") or "",
        "reasons": [reason.removeprefix(SCREEN_PREFIX) for reason in action.classification_reasons]
        if action.security_level in ("high", "critical")
        else [],
        "reply": reply,
        "reply_length": utf16_length(reply),
        "reply_html": mark_safe(render_markdown(reply)) if state == "done" else "",  # noqa: S308 - sanitised by nh3
        "stopped": bool(result.get("stopped")) or (state == "failed" and message.stop_requested_at is not None),
        "stop_requested": message.stop_requested_at is not None,
        "rejected_by": rejection.user.get_username() if rejection else "",
        "rejection_reason": rejection.reason if rejection else "",
        "error": action.error,
        "approvers": [d.user.get_username() for d in decisions if d.decision == Decision.APPROVE],
    }


def message_html(message: Message, *, oob: bool = False) -> str:
    return render_to_string("chat/conversation.html#message", {"m": message_view(message), "oob": oob})


def message_fragment(*, action_id: UUID | str, user: AbstractBaseUser, conversation_id: UUID | str) -> str:
    """The message's current state as an out-of-band swap, or '' unless it is `user`'s, in that conversation."""
    message = message_get_for(action_id=action_id, user=user)
    if message is None or str(message.conversation_id) != str(conversation_id):
        return ""
    return message_html(message, oob=True)
