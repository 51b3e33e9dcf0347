"""The worker's side of a chat: the reply streams to the conversation as it arrives from a real
loopback LLM server (both wires), stops on request, and fails truthfully."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from approvals.models import Action, Status
from audit.models import AuditEntry
from chat import events
from chat.models import Message
from chat.services import conversation_create, message_send, message_stop
from worker.executor import run_action

pytestmark = pytest.mark.django_db(transaction=True)

LONG_REPLY = " ".join(f"word{number}" for number in range(200))


def _send(alice, text: str = "Say hello", **extra) -> Message:
    conversation = conversation_create(user=alice, title=text)
    return message_send(conversation=conversation, user=alice, text=text, **extra)


@pytest.fixture
def published(monkeypatch) -> list[dict]:
    """Every token message the worker publishes (the consumer tests follow them over the layer)."""
    sent: list[dict] = []
    original = events.tokens_message

    def record(**kwargs):
        sent.append(original(**kwargs))
        return sent[-1]

    monkeypatch.setattr(events, "tokens_message", record)
    return sent


def _tokens(published: list[dict], message: Message) -> list[dict]:
    return [payload for payload in published if payload["action_id"] == str(message.action_id)]


@pytest.mark.parametrize("api", ["ollama", "openai"])
def test_it_streams_the_reply_into_the_conversation(alice, llm, settings, api, published):
    settings.ACTIONHUB_LLM_API = api
    llm.reply = "Hello **there**, café ☕ and 😀 emoji."
    message = _send(alice)
    assert run_action(action_id=message.action_id, worker_id="test-worker") == Status.COMPLETED
    action = Action.objects.get(id=message.action_id)
    assert action.result == {"response": llm.reply, "model": "llama3.2"}
    assert Message.objects.get(id=message.id).reply == llm.reply
    tokens = _tokens(published, message)
    assert "".join(token["text"] for token in tokens) == llm.reply
    # Offsets count UTF-16 units, as the browser's String.length does (the emoji counts two).
    offset = 0
    for token in tokens:
        assert token["offset"] == offset and token["action_id"] == str(action.id)
        offset += len(token["text"].encode("utf-16-le")) // 2
    assert offset == len(llm.reply) + 1
    assert llm.requests[-1]["json"]["messages"][-1] == {"role": "user", "content": "Say hello"}


def test_it_sends_the_earlier_exchanges_of_the_conversation(alice, llm):
    first = _send(alice, "My name is Alice.")
    run_action(action_id=first.action_id, worker_id="w")
    second = message_send(conversation=first.conversation, user=alice, text="What is my name?")
    run_action(action_id=second.action_id, worker_id="w")
    assert llm.requests[-1]["json"]["messages"] == [
        {"role": "user", "content": "My name is Alice."},
        {"role": "assistant", "content": llm.reply},
        {"role": "user", "content": "What is my name?"},
    ]


def test_it_stops_promptly_and_keeps_the_partial_reply(alice, llm):
    llm.reply, llm.mode, llm.delay = LONG_REPLY, "slow", 0.02
    message = _send(alice, "Write a long poem")
    outcome: list[str] = []

    def work() -> None:
        try:
            outcome.append(run_action(action_id=message.action_id, worker_id="w"))
        finally:
            connections.close_all()  # this thread's own connection, so the test database can be dropped

    worker = threading.Thread(target=work)
    worker.start()
    deadline = time.monotonic() + 10
    while not Message.objects.get(id=message.id).reply and time.monotonic() < deadline:
        time.sleep(0.02)
    message_stop(message=message, user=alice)
    asked = time.monotonic()
    worker.join(timeout=10)
    assert time.monotonic() - asked < 1.0  # noticed within a few polls, not at the end of the reply
    assert outcome == [Status.COMPLETED]
    action = Action.objects.get(id=message.action_id)
    partial = action.result["response"]
    assert action.result["stopped"] is True
    assert partial and LONG_REPLY.startswith(partial) and len(partial) < len(LONG_REPLY)
    assert Message.objects.get(id=message.id).reply == partial
    events = list(AuditEntry.objects.filter(action_id=action.id).order_by("seq").values_list("event", "actor"))
    assert ("chat.stop_requested", "alice") in events
    assert events[-1] == ("action.completed", "system")


def test_it_fails_with_the_reason_when_the_llm_server_is_down(alice, settings):
    settings.ACTIONHUB_LLM_URL = "http://127.0.0.1:9"
    settings.ACTIONHUB_LLM_RETRIES = 0
    message = _send(alice)
    assert run_action(action_id=message.action_id, worker_id="w") == Status.FAILED
    action = Action.objects.get(id=message.action_id)
    assert action.result is None
    assert action.error == "LLM server at http://127.0.0.1:9 is unreachable: connection refused"
    assert Message.objects.get(id=message.id).reply == ""


@pytest.mark.parametrize("api", ["ollama", "openai"])
def test_it_fails_midway_keeping_what_arrived_but_never_completes(alice, llm, settings, api):
    settings.ACTIONHUB_LLM_API = api
    llm.reply, llm.mode = LONG_REPLY, "fail_midway"
    message = _send(alice)
    assert run_action(action_id=message.action_id, worker_id="w") == Status.FAILED
    action = Action.objects.get(id=message.action_id)
    assert "reported an error: model runner stopped unexpectedly" in action.error
    assert action.result is None
    partial = Message.objects.get(id=message.id).reply
    assert partial and LONG_REPLY.startswith(partial)


def test_it_runs_an_api_chat_without_a_conversation(alice, llm, published):
    from tests.factories import make_action

    action = make_action(alice, {"action_type": "chat", "parameters": {"message": "hi"}})
    assert run_action(action_id=action.id, worker_id="w") == Status.COMPLETED
    assert Action.objects.get(id=action.id).result["response"] == llm.reply
    assert not published
