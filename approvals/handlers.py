"""What each action type does when it runs. A handler returns the result or raises HandlerError."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction

from approvals.models import Action, ActionType, Status
from approvals.outbound import OutboundError, send_request
from approvals.parameters import normalize_config_value, url_allowed
from approvals.runtime import runtime_get, runtime_key_written, runtime_set
from audit.services import audit_append
from lib.urlnorm import InvalidURL, normalize_url
from llm.client import LLMClient, LLMError


class HandlerError(Exception):
    """A readable reason the action failed; stored as the action's error."""


def _chat_history(action: Action) -> list[dict[str, str]]:
    conversation_id = action.parameters.get("conversation_id")
    if not conversation_id:
        return []
    earlier = (
        Action.objects.filter(
            action_type=ActionType.CHAT,
            requested_by_id=action.requested_by_id,
            parameters__conversation_id=conversation_id,
            status=Status.COMPLETED,
            created_at__lt=action.created_at,
        )
        .order_by("-created_at")
        .values_list("parameters", "result")[:20]
    )
    messages: list[dict[str, str]] = []
    for parameters, result in reversed(list(earlier)):
        messages.append({"role": "user", "content": parameters["message"]})
        messages.append({"role": "assistant", "content": (result or {}).get("response", "")})
    return messages


def run_chat(action: Action) -> dict[str, Any]:
    """Stream the reply to the conversation's page token by token; a stop request ends it early,
    and the action completes with the text so far and `stopped: true`."""
    from chat.streaming import ReplyStream

    model = action.parameters.get("model") or runtime_get("default_model")
    messages = [*_chat_history(action), {"role": "user", "content": action.parameters["message"]}]
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


def _require_model(model: str) -> None:
    try:
        with LLMClient.from_settings() as client:
            available = client.list_models()
    except LLMError as exc:
        raise HandlerError(str(exc)) from exc
    if model not in available and f"{model}:latest" not in available:
        shown = ", ".join(available[:20]) or "none"
        raise HandlerError(f"model {model!r} is not available on the LLM server (available: {shown})")


def _set_runtime(action: Action, value: Any) -> Any:
    """Set the runtime setting the policy classified this action by, and no other."""
    key = runtime_key_written(action_type=action.action_type, parameters=action.parameters)
    if key is None:
        raise HandlerError(f"{action.action_type} changes no runtime setting")
    actor = action.requested_by.get_username()
    with transaction.atomic():
        old = runtime_set(key=key, value=value, actor=actor)
        audit_append(
            actor=actor,
            event="config.changed",
            action_id=action.id,
            data={"key": key, "old": old, "new": value},
        )
    return old


def run_model_switch(action: Action) -> dict[str, Any]:
    model = action.parameters["model"]
    _require_model(model)
    _set_runtime(action, model)
    return {"model": model}


def run_config_change(action: Action) -> dict[str, Any]:
    key = action.parameters["key"]
    try:
        new = normalize_config_value(key, action.parameters["value"])
    except ValueError as exc:
        raise HandlerError(f"invalid value for {key}: {exc}") from exc
    if key == "default_model":
        _require_model(new)
    old = _set_runtime(action, new)
    return {"key": key, "old": old, "new": new}


def run_api_call(action: Action) -> dict[str, Any]:
    params = action.parameters
    try:
        url = normalize_url(params["url"]).text
    except InvalidURL as exc:
        raise HandlerError(f"url {exc}") from exc
    # Checked again at run time, on exactly the URL sent: the allowlist may have shrunk since.
    if not url_allowed(url, settings.ACTIONHUB_API_ALLOWLIST):
        raise HandlerError("url is not under any ACTIONHUB_API_ALLOWLIST entry")
    try:
        return send_request(
            method=params["method"], url=url, headers=params.get("headers") or {}, body=params.get("json")
        )
    except OutboundError as exc:
        raise HandlerError(str(exc)) from exc


def run_skill(action: Action) -> dict[str, Any]:
    from skills.runner import run_skill_action

    return run_skill_action(action)


HANDLERS: dict[str, Callable[[Action], dict[str, Any]]] = {
    ActionType.CHAT: run_chat,
    ActionType.MODEL_SWITCH: run_model_switch,
    ActionType.CONFIG_CHANGE: run_config_change,
    ActionType.API_CALL: run_api_call,
    ActionType.SKILL_EXECUTION: run_skill,
    ActionType.FILE_OPERATION: run_skill,
}


def run_handler(action: Action) -> dict[str, Any]:
    handler = HANDLERS.get(action.action_type)
    if handler is None:
        raise HandlerError(f"no handler for action type {action.action_type!r}")
    return handler(action)
