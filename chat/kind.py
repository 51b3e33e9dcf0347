"""chat: one message to the LLM, answered by a worker that streams the reply to the conversation."""

from __future__ import annotations

from typing import Any

from approvals.kinds.base import (
    ActionKind,
    Classification,
    Errors,
    HandlerError,
    Reversibility,
    check_keys,
    check_string,
    clip,
)
from approvals.models import Action, SecurityLevel, Status
from approvals.runtime import runtime_get
from chat.streaming import ReplyStream
from llm.client import LLMClient, LLMError, llm_unreachable_reason
from screening.screen import screen_text

CHAT = "chat"
HISTORY_TURNS = 20


def _history(action: Action) -> list[dict[str, str]]:
    conversation_id = action.parameters.get("conversation_id")
    if not conversation_id:
        return []
    earlier = (
        Action.objects.filter(
            action_type=CHAT,
            requested_by_id=action.requested_by_id,
            parameters__conversation_id=conversation_id,
            status=Status.COMPLETED,
            created_at__lt=action.created_at,
        )
        .order_by("-created_at")
        .values_list("parameters", "result")[:HISTORY_TURNS]
    )
    messages: list[dict[str, str]] = []
    for parameters, result in reversed(list(earlier)):
        messages.append({"role": "user", "content": parameters["message"]})
        messages.append({"role": "assistant", "content": (result or {}).get("response", "")})
    return messages


class ChatKind(ActionKind):
    name = CHAT
    label = "Chat"

    def schema(self, *, skill_id: str | None = None) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "model": {"type": "string"},
                "conversation_id": {"type": "string"},
            },
            "required": ["message"],
            "additionalProperties": False,
        }

    def validate(self, parameters: dict[str, Any], errors: Errors, *, skill_id: str | None = None) -> None:
        check_keys(parameters, errors, required=("message",), optional=("model", "conversation_id"))
        check_string(parameters, "message", errors)
        check_string(parameters, "model", errors, max_length=200)
        check_string(parameters, "conversation_id", errors, max_length=100)

    def classify(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Classification:
        screened = screen_text(str(parameters.get("message", "")))
        if screened.flagged:
            return Classification(SecurityLevel.HIGH, [f"injection screen: {reason}" for reason in screened.reasons])
        return Classification(SecurityLevel.LOW, ["chat message"])

    def reversibility(self, parameters: dict[str, Any], *, skill_id: str | None = None) -> Reversibility:
        return Reversibility("reversible", "a chat only produces an answer")

    def idempotent(self, parameters: dict[str, Any]) -> bool:
        return True

    def summary(self, action: Action) -> str:
        return clip(f"“{(action.parameters or {}).get('message', '')}”")

    def known_failure(self, action: Action) -> str | None:
        return llm_unreachable_reason()

    def run(self, action: Action) -> dict[str, Any]:
        """Stream the reply to the conversation's page token by token; a stop request ends it early,
        and the action completes with the text so far and `stopped: true`."""
        model = action.parameters.get("model") or runtime_get("default_model")
        messages = [*_history(action), {"role": "user", "content": action.parameters["message"]}]
        stopped = False
        with ReplyStream(action=action) as stream:
            try:
                with LLMClient.from_settings() as client:
                    for delta in client.chat_stream(model=model, messages=messages):
                        stream.push(delta)
                        if stream.stopped.is_set():
                            stopped = True
                            break
            except LLMError as exc:
                raise HandlerError(str(exc)) from exc
        result: dict[str, Any] = {"response": stream.text, "model": model}
        if stopped:
            result["stopped"] = True
        return result
