"""The gateway against a real HTTP server on loopback speaking both wires (no patched httpx)."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from llm.client import LLMBadResponse, LLMClient, LLMUnavailable

WIRES = ["ollama", "openai"]


def _client(server, api: str, **kwargs) -> LLMClient:
    kwargs.setdefault("timeout", 5)
    kwargs.setdefault("retries", 0)
    return LLMClient(base_url=server.url, api=api, **kwargs)


@pytest.mark.parametrize("api", WIRES)
def test_it_lists_models(fake_llm, api):
    with _client(fake_llm, api) as client:
        assert client.list_models() == ["llama3.2", "qwen2.5:0.5b"]


@pytest.mark.parametrize("api", WIRES)
def test_it_streams_a_chat_reply_delta_by_delta(fake_llm, api):
    tokens: list[str] = []
    with _client(fake_llm, api) as client:
        result = client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}], on_token=tokens.append)
    assert result.text == "Hello from the fake LLM."
    assert result.model == "llama3.2"
    assert tokens == ["Hello ", "from ", "the ", "fake ", "LLM."]
    sent = fake_llm.requests[-1]["json"]
    assert sent == {"model": "llama3.2", "messages": [{"role": "user", "content": "hi"}], "stream": True}


@pytest.mark.parametrize("api", WIRES)
def test_it_yields_the_first_delta_before_the_reply_is_finished(fake_llm, api):
    fake_llm.mode, fake_llm.delay = "slow", 0.2
    with _client(fake_llm, api) as client:
        start = time.monotonic()
        stream = client.chat_stream(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
        first = next(stream)
        first_at = time.monotonic() - start
        rest = list(stream)
    assert first == "Hello "
    assert len(rest) == 4
    assert first_at < 0.2 * 4, "the first delta must not wait for the whole reply"


def test_it_sends_the_api_key_as_a_bearer_token(fake_llm):
    fake_llm.api_key = "sk-test-secret"
    with _client(fake_llm, "openai", api_key="sk-test-secret") as client:
        assert client.list_models()
    assert fake_llm.requests[-1]["headers"]["Authorization"] == "Bearer sk-test-secret"
    with _client(fake_llm, "openai", api_key="sk-wrong-secret") as client, pytest.raises(LLMBadResponse) as err:
        client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
    assert "HTTP 401" in str(err.value)
    assert "sk-wrong-secret" not in str(err.value)


def test_it_accepts_a_base_url_ending_in_v1(fake_llm):
    with LLMClient(base_url=fake_llm.url + "/v1", api="openai") as client:
        assert client.list_models()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("api", WIRES)
def test_it_reports_an_unreachable_server_after_bounded_retries(api):
    client = LLMClient(base_url=f"http://127.0.0.1:{_closed_port()}", api=api, retries=2, timeout=2)
    start = time.monotonic()
    with client, pytest.raises(LLMUnavailable) as err:
        client.list_models()
    assert "unreachable" in str(err.value)
    assert time.monotonic() - start < 3, "two retries with short backoff, not an endless loop"


def test_it_retries_a_dropped_connection_then_gives_up(fake_llm):
    fake_llm.mode = "drop"
    with _client(fake_llm, "ollama", retries=2) as client, pytest.raises(LLMUnavailable):
        client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
    assert len(fake_llm.requests) == 3


@pytest.mark.parametrize("api", WIRES)
@pytest.mark.parametrize(
    ("mode", "fragment"),
    [("garbage", "malformed"), ("http_500", "HTTP 500: model runner crashed"), ("truncated", "ended early")],
)
def test_it_reports_a_misbehaving_server_clearly(fake_llm, api, mode, fragment):
    fake_llm.mode = mode
    with _client(fake_llm, api) as client, pytest.raises(LLMBadResponse) as err:
        client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
    assert fragment in str(err.value)
    assert fake_llm.url in str(err.value)


@pytest.mark.parametrize("api", WIRES)
def test_it_reports_an_unknown_model(fake_llm, api):
    with _client(fake_llm, api) as client, pytest.raises(LLMBadResponse) as err:
        client.chat(model="gpt-17", messages=[{"role": "user", "content": "hi"}])
    assert "gpt-17" in str(err.value)


def test_it_times_out_a_stalled_stream(fake_llm):
    fake_llm.mode, fake_llm.delay = "slow", 1.0
    with _client(fake_llm, "ollama", timeout=0.3) as client, pytest.raises(LLMUnavailable) as err:
        client.chat(model="llama3.2", messages=[{"role": "user", "content": "hi"}])
    assert "timed out" in str(err.value)


def test_it_reports_a_garbage_model_list(fake_llm):
    fake_llm.mode = "garbage"
    with _client(fake_llm, "openai") as client, pytest.raises(LLMBadResponse):
        client.list_models()


def test_it_rejects_an_unknown_wire():
    with pytest.raises(ValueError, match="api must be one of"):
        LLMClient(base_url="http://127.0.0.1:1", api="grpc")


def test_it_builds_from_settings(settings, fake_llm):
    settings.ACTIONHUB_LLM_URL = fake_llm.url
    settings.ACTIONHUB_LLM_API = "openai"
    with LLMClient.from_settings() as client:
        assert client.api == "openai"
        assert client.list_models() == fake_llm.models


def test_it_serves_concurrent_streams(fake_llm):
    results: list[str] = []

    def run() -> None:
        with _client(fake_llm, "ollama") as client:
            results.append(client.chat(model="llama3.2", messages=[{"role": "user", "content": "x"}]).text)

    threads = [threading.Thread(target=run) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [fake_llm.reply] * 5
