"""The LLM gateway: the one module that talks to LLM servers, over the Ollama or OpenAI-compatible wire.

Every failure is an LLMError whose message is a readable sentence naming the server, never a secret."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from django.conf import settings
from django.core.cache import cache

logger = logging.getLogger(__name__)

WIRES = ("ollama", "openai")
MODEL_LISTS = {"ollama": ("/api/tags", "models", "name"), "openai": ("/v1/models", "data", "id")}
CHAT_PATHS = {"ollama": "/api/chat", "openai": "/v1/chat/completions"}
# Failures that happen before the server produced any part of a reply, so a retry cannot duplicate output.
RETRYABLE = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)
BACKOFF = 0.2  # seconds before the first retry, doubled for each further one
SNIPPET = 200  # characters of a server's own error message worth quoting
SSE_FIELDS = ("event", "id", "retry")  # standard server-sent-event fields that carry no text


class LLMError(Exception):
    """Base of the gateway's errors; str() is a readable, user-facing sentence."""


class LLMUnavailable(LLMError):
    """Could not connect, timed out, or the connection broke (after any retries)."""


class LLMBadResponse(LLMError):
    """The server answered, but with an error status or something that cannot be read."""


@dataclass(frozen=True)
class ChatResult:
    text: str
    model: str


def _public_url(url: str) -> str:
    """The URL without any user:password part, fit to show."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def _clip(text: str, limit: int = SNIPPET) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


def _reason(exc: Exception) -> str:
    """'[Errno 111] Connection refused' -> 'connection refused'."""
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(exc)).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else type(exc).__name__


def _error_text(payload: Any) -> str:
    """The message in either wire's error shape, {"error": "..."} or {"error": {"message": "..."}}."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    return str(error) if error else ""


def _server_message(body: str) -> str:
    try:
        message = _error_text(json.loads(body))
    except ValueError:
        message = ""
    return _clip(message or body)


class LLMClient:
    def __init__(
        self,
        *,
        base_url: str,
        api: str,
        api_key: str | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 5.0,
        retries: int = 2,
    ) -> None:
        if api not in WIRES:
            raise ValueError(f"api must be one of {', '.join(WIRES)}, not {api!r}")
        base = base_url.rstrip("/")
        # OpenAI-style URLs are often given with their /v1; the wire paths below add it themselves.
        self.base_url = base.removesuffix("/v1") if api == "openai" else base
        self.shown_url = _public_url(self.base_url)
        self.api = api
        self.retries = max(0, retries)
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        secrets = (api_key, urlsplit(base).password)
        # Shorter "keys" are placeholders (local servers often want any key at all); hiding them garbles text.
        self._secrets = [secret for secret in secrets if secret and len(secret) >= 8]
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(headers=headers, timeout=httpx.Timeout(timeout, connect=connect_timeout))

    @classmethod
    def from_settings(cls) -> LLMClient:
        return cls(
            base_url=settings.ACTIONHUB_LLM_URL,
            api=settings.ACTIONHUB_LLM_API,
            api_key=settings.ACTIONHUB_LLM_API_KEY,
            timeout=settings.ACTIONHUB_LLM_TIMEOUT,
            connect_timeout=settings.ACTIONHUB_LLM_CONNECT_TIMEOUT,
            retries=settings.ACTIONHUB_LLM_RETRIES,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # The API

    def list_models(self) -> list[str]:
        path, field, key = MODEL_LISTS[self.api]
        payload = self._get_json(path)
        try:
            names = [item[key] for item in payload[field]]
        except (KeyError, TypeError) as exc:
            raise self._malformed("no list of models") from exc
        if not all(isinstance(name, str) for name in names):
            raise self._malformed("a model without a name")
        return names

    def chat_stream(self, *, model: str, messages: list[dict[str, str]]) -> Iterator[str]:
        """Yield the reply's text deltas as they arrive; the request goes out on the first next()."""
        body = {"model": model, "messages": messages, "stream": True}
        response = self._open("POST", CHAT_PATHS[self.api], body=body, model=model)
        deltas = self._ollama_deltas if self.api == "ollama" else self._openai_deltas
        try:
            yield from deltas(response.iter_lines())
        except httpx.HTTPError as exc:
            # Never retried: part of the reply may already be out.
            raise self._transport_error(exc) from exc
        finally:
            response.close()

    def chat(
        self, *, model: str, messages: list[dict[str, str]], on_token: Callable[[str], None] | None = None
    ) -> ChatResult:
        parts: list[str] = []
        for delta in self.chat_stream(model=model, messages=messages):
            if on_token is not None:
                on_token(delta)
            parts.append(delta)
        return ChatResult(text="".join(parts), model=model)

    # Transport

    def _open(
        self, method: str, path: str, *, body: dict[str, Any] | None = None, model: str | None = None
    ) -> httpx.Response:
        """Send a request; return the successful response with its body unread, for the caller to close."""
        try:
            request = self._http.build_request(method, self.base_url + path, json=body)
            response = self._send(request)
        except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
            raise self._unavailable(f"LLM server URL {self.shown_url} is not usable: {_reason(exc)}") from exc
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        if response.is_error:
            raise self._status_error(response, model=model)
        return response

    def _send(self, request: httpx.Request) -> httpx.Response:
        for attempt in range(self.retries):
            try:
                return self._http.send(request, stream=True)
            except RETRYABLE as exc:
                pause = BACKOFF * 2**attempt
                logger.warning(
                    "LLM server at %s: %s; retrying in %.1f s",
                    self.shown_url,
                    self._redact(_reason(exc)),
                    pause,
                )
                time.sleep(pause)
        return self._http.send(request, stream=True)

    def _get_json(self, path: str) -> Any:
        response = self._open("GET", path)
        try:
            body = response.read()
        except httpx.HTTPError as exc:
            raise self._transport_error(exc) from exc
        finally:
            response.close()
        try:
            return json.loads(body)
        except ValueError as exc:
            raise self._malformed(f"expected JSON, got {_clip(body.decode(errors='replace'), 60)!r}") from exc

    def _read_error_body(self, response: httpx.Response) -> str:
        try:
            return response.read().decode(errors="replace")
        except httpx.HTTPError:
            return ""  # the status code alone still says what went wrong
        finally:
            response.close()

    # Errors

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def _unavailable(self, text: str) -> LLMUnavailable:
        return LLMUnavailable(self._redact(text))

    def _bad(self, text: str) -> LLMBadResponse:
        return LLMBadResponse(self._redact(text))

    def _malformed(self, what: str) -> LLMBadResponse:
        return self._bad(f"LLM server at {self.shown_url} sent a malformed response: {what}")

    def _transport_error(self, exc: httpx.HTTPError) -> LLMUnavailable:
        if isinstance(exc, httpx.ConnectTimeout):
            what = f"is unreachable: no connection within {self._connect_timeout:g} s"
        elif isinstance(exc, httpx.TimeoutException):
            what = f"timed out: nothing received for {self._timeout:g} s"
        elif isinstance(exc, httpx.ConnectError):
            what = f"is unreachable: {_reason(exc)}"
        else:
            what = f"dropped the connection: {_reason(exc)}"
        return self._unavailable(f"LLM server at {self.shown_url} {what}")

    def _status_error(self, response: httpx.Response, *, model: str | None) -> LLMBadResponse:
        status = response.status_code
        message = _server_message(self._read_error_body(response))
        if status in (401, 403):
            # The server's own text is left out: some echo a partly masked key back.
            hint = "check ACTIONHUB_LLM_API_KEY"
            return self._bad(f"LLM server at {self.shown_url} refused the request (HTTP {status}); {hint}")
        if status == 404 and model and model in message:
            return self._bad(f"model {model!r} not found on the LLM server at {self.shown_url}")
        detail = f": {message}" if message else ""
        return self._bad(f"LLM server at {self.shown_url} answered HTTP {status}{detail}")

    # The wires

    def _chunk(self, text: str) -> dict[str, Any]:
        """One streamed JSON object; a chunk that carries an error becomes that error."""
        try:
            chunk = json.loads(text)
        except ValueError:
            chunk = None
        if not isinstance(chunk, dict):
            raise self._malformed(f"expected a JSON object, got {_clip(text, 60)!r}")
        if error := _error_text(chunk):
            raise self._bad(f"LLM server at {self.shown_url} reported an error: {_clip(error)}")
        return chunk

    def _ollama_deltas(self, lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            if not line.strip():
                continue
            chunk = self._chunk(line)
            message = chunk.get("message")
            if not isinstance(message, dict) or not isinstance(message.get("content", ""), str):
                raise self._malformed("a stream line has no message")
            if message.get("content"):
                yield message["content"]
            if chunk.get("done"):
                return
        raise self._malformed("the stream ended early (no done marker)")

    def _openai_deltas(self, lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            # Blank lines separate events; lines starting with ':' are keep-alive comments.
            if not line or line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if field in SSE_FIELDS:
                continue
            if field != "data":
                raise self._malformed(f"expected server-sent events, got {_clip(line, 60)!r}")
            if value.strip() == "[DONE]":
                return
            if text := self._openai_text(self._chunk(value)):
                yield text
        raise self._malformed("the stream ended early (no [DONE])")

    def _openai_text(self, chunk: dict[str, Any]) -> str:
        """The delta's text; '' for role-only, finish and usage chunks."""
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not all(isinstance(choice, dict) for choice in choices):
            raise self._malformed("an event has no choices")
        delta = choices[0].get("delta") if choices else None
        text = delta.get("content") if isinstance(delta, dict) else None
        if text is not None and not isinstance(text, str):
            raise self._malformed("an event's content is not text")
        return text or ""


LLM_STATE_CACHE = "llm.unreachable"
LLM_STATE_SECONDS = 30
LLM_PROBE_TIMEOUT = 2.0


def llm_probe_client() -> LLMClient:
    """A client for asking whether the LLM server answers: short timeouts, no retries."""
    return LLMClient(
        base_url=settings.ACTIONHUB_LLM_URL,
        api=settings.ACTIONHUB_LLM_API,
        api_key=settings.ACTIONHUB_LLM_API_KEY,
        timeout=LLM_PROBE_TIMEOUT,
        connect_timeout=LLM_PROBE_TIMEOUT / 2,
        retries=0,
    )


def llm_unreachable_reason() -> str | None:
    """Why the LLM server cannot be used now, in one sentence; None when it answers. Asked at most
    every 30 s with a short timeout, so a page that shows it never waits long."""
    state = cache.get(LLM_STATE_CACHE)
    if state is None:
        try:
            with llm_probe_client() as client:
                client.list_models()
            state = {"reason": None}
        except LLMError:
            state = {"reason": f"The LLM server at {_public_url(settings.ACTIONHUB_LLM_URL)} does not answer."}
        cache.set(LLM_STATE_CACHE, state, LLM_STATE_SECONDS)
    return state["reason"]
