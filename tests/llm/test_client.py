"""The LLM gateway against a real HTTP server on loopback speaking both wires (httpx is not patched)."""

from __future__ import annotations

import socket
import time

import pytest

from llm.client import ChatResult, LLMBadResponse, LLMClient, LLMUnavailable
from tests.llm.fake_llm import FakeLLMServer

WIRES = ["ollama", "openai"]
HI = [{"role": "user", "content": "hi"}]
SECRET = "sk-test-0123456789abcdef"


def _client(
    server: FakeLLMServer, api: str, *, api_key: str | None = None, timeout: float = 5.0, retries: int = 0
) -> LLMClient:
    return LLMClient(base_url=server.url, api=api, api_key=api_key, timeout=timeout, retries=retries)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.parametrize("api", WIRES)
def test_it_lists_models(fake_llm, api):
    fake_llm.models = ["llama3.2:latest", "gpt-x"]
    with _client(fake_llm, api) as client:
        assert client.list_models() == ["llama3.2:latest", "gpt-x"]


@pytest.mark.parametrize("api", WIRES)
def test_it_returns_the_whole_reply_and_hands_each_delta_to_on_token(fake_llm, api):
    tokens: list[str] = []
    with _client(fake_llm, api) as client:
        result = client.chat(model="llama3.2", messages=HI, on_token=tokens.append)
    assert result == ChatResult(text="Hello from the fake LLM.", model="llama3.2")
    assert tokens == ["Hello ", "from ", "the ", "fake ", "LLM."]
    assert fake_llm.requests[-1]["json"] == {"model": "llama3.2", "messages": HI, "stream": True}


@pytest.mark.parametrize("api", WIRES)
def test_it_returns_an_empty_reply(fake_llm, api):
    fake_llm.reply = ""
    with _client(fake_llm, api) as client:
        assert client.chat(model="llama3.2", messages=HI).text == ""


@pytest.mark.parametrize("api", WIRES)
def test_it_yields_each_delta_as_soon_as_it_arrives(fake_llm, api):
    fake_llm.mode, fake_llm.delay = "slow", 0.05
    with _client(fake_llm, api) as client:
        start = time.monotonic()
        stream = client.chat_stream(model="llama3.2", messages=HI)
        first, first_at = next(stream), time.monotonic() - start
        rest, done_at = list(stream), time.monotonic() - start
    assert [first, *rest] == fake_llm.chunks()
    assert first_at < done_at - 3 * fake_llm.delay, "the first delta must not wait for the rest"


@pytest.mark.parametrize("api", WIRES)
def test_it_keeps_its_connection_alive_between_requests(fake_llm, api):
    with _client(fake_llm, api) as client:
        client.list_models()
        client.list_models()
    assert len({request["peer"] for request in fake_llm.requests}) == 1


@pytest.mark.parametrize("api", WIRES)
def test_it_sends_the_api_key_as_a_bearer_token(fake_llm, api):
    fake_llm.api_key = SECRET
    with _client(fake_llm, api, api_key=SECRET) as client:
        client.chat(model="llama3.2", messages=HI)
    assert fake_llm.requests[-1]["headers"]["authorization"] == f"Bearer {SECRET}"


@pytest.mark.parametrize("api_key", [None, "sk-wrong-0123456789"])
def test_it_reports_a_refused_api_key_without_revealing_it(fake_llm, api_key):
    fake_llm.api_key = SECRET
    with _client(fake_llm, "openai", api_key=api_key) as client, pytest.raises(LLMBadResponse) as err:
        client.chat(model="llama3.2", messages=HI)
    assert str(err.value) == (
        f"LLM server at {fake_llm.url} refused the request (HTTP 401); check ACTIONHUB_LLM_API_KEY"
    )


def test_it_accepts_an_openai_base_url_ending_in_v1(fake_llm):
    with LLMClient(base_url=f"{fake_llm.url}/v1/", api="openai") as client:
        assert client.list_models() == fake_llm.models
    assert fake_llm.requests[-1]["path"] == "/v1/models"


def test_it_gives_up_on_an_unreachable_server_after_bounded_retries():
    url = f"http://127.0.0.1:{_closed_port()}"
    start = time.monotonic()
    with LLMClient(base_url=url, api="ollama", retries=2) as client, pytest.raises(LLMUnavailable) as err:
        client.list_models()
    elapsed = time.monotonic() - start
    assert str(err.value) == f"LLM server at {url} is unreachable: connection refused"
    assert 0.2 + 0.4 <= elapsed < 1.5, "two retries after short backoffs, then give up"


@pytest.mark.parametrize("api", WIRES)
def test_it_retries_a_dropped_connection_a_bounded_number_of_times(fake_llm, api):
    fake_llm.mode = "drop"
    with _client(fake_llm, api, retries=2) as client, pytest.raises(LLMUnavailable) as err:
        client.chat(model="llama3.2", messages=HI)
    assert "dropped the connection" in str(err.value)
    assert len(fake_llm.requests) == 3


def test_it_does_not_retry_an_http_error_status(fake_llm):
    fake_llm.mode = "http_500"
    with _client(fake_llm, "ollama", retries=2) as client, pytest.raises(LLMBadResponse):
        client.chat(model="llama3.2", messages=HI)
    assert len(fake_llm.requests) == 1


@pytest.mark.parametrize("api", WIRES)
@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("garbage", "sent a malformed response: "),
        ("http_500", "answered HTTP 500: model runner crashed"),
        ("truncated", "sent a malformed response: the stream ended early"),
    ],
)
def test_it_reports_a_misbehaving_server_without_revealing_the_key(fake_llm, api, mode, message):
    fake_llm.mode, fake_llm.api_key = mode, SECRET
    with _client(fake_llm, api, api_key=SECRET) as client, pytest.raises(LLMBadResponse) as err:
        client.chat(model="llama3.2", messages=HI)
    assert str(err.value).startswith(f"LLM server at {fake_llm.url} {message}")
    assert SECRET not in str(err.value)


@pytest.mark.parametrize("api", WIRES)
def test_it_reports_a_garbage_model_list(fake_llm, api):
    fake_llm.mode = "garbage"
    with _client(fake_llm, api) as client, pytest.raises(LLMBadResponse, match="malformed response"):
        client.list_models()


@pytest.mark.parametrize("api", WIRES)
def test_it_reports_an_unknown_model(fake_llm, api):
    with _client(fake_llm, api) as client, pytest.raises(LLMBadResponse) as err:
        client.chat(model="gpt-17", messages=HI)
    assert str(err.value) == f"model 'gpt-17' not found on the LLM server at {fake_llm.url}"


@pytest.mark.parametrize("api", WIRES)
def test_it_reports_a_stalled_stream_as_timed_out(fake_llm, api):
    fake_llm.mode, fake_llm.delay = "slow", 1.0
    start = time.monotonic()
    with _client(fake_llm, api, timeout=0.2, retries=2) as client, pytest.raises(LLMUnavailable) as err:
        client.chat(model="llama3.2", messages=HI)
    assert str(err.value) == f"LLM server at {fake_llm.url} timed out: nothing received for 0.2 s"
    assert time.monotonic() - start < 0.8, "a read timeout is not retried"


def test_it_hides_credentials_in_the_url():
    url = f"http://admin:hunter2@127.0.0.1:{_closed_port()}"
    with LLMClient(base_url=url, api="ollama", retries=0) as client, pytest.raises(LLMUnavailable) as err:
        client.list_models()
    assert "hunter2" not in str(err.value)
    assert "http://127.0.0.1:" in str(err.value)


def test_it_reports_a_url_without_a_scheme():
    with LLMClient(base_url="127.0.0.1:11434", api="ollama") as client, pytest.raises(LLMUnavailable) as err:
        client.list_models()
    assert "LLM server URL 127.0.0.1:11434 is not usable" in str(err.value)


def test_it_rejects_an_unknown_wire():
    with pytest.raises(ValueError, match="api must be one of ollama, openai"):
        LLMClient(base_url="http://127.0.0.1:11434", api="grpc")


def test_it_builds_itself_from_settings(settings, fake_llm):
    settings.ACTIONHUB_LLM_URL = fake_llm.url
    settings.ACTIONHUB_LLM_API = "openai"
    settings.ACTIONHUB_LLM_API_KEY = SECRET
    with LLMClient.from_settings() as client:
        assert client.list_models() == fake_llm.models
    assert fake_llm.requests[-1]["headers"]["authorization"] == f"Bearer {SECRET}"
