"""The LLM gateway: the one module that talks to LLM servers, over Ollama's or the OpenAI wire."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

WIRES = ("ollama", "openai")


class LLMError(Exception):
    """A readable, user-facing sentence: never a traceback or a secret."""


class LLMUnavailable(LLMError):
    """Could not connect, timed out, or the connection broke."""


class LLMBadResponse(LLMError):
    """The server answered, but with an error status or something we cannot read."""


@dataclass(frozen=True)
class ChatResult:
    text: str
    model: str


def _public_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit(parts._replace(netloc=netloc))


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
        if api == "openai" and base.endswith("/v1"):
            base = base[: -len("/v1")]
        self.base_url = base
        self.shown_url = _public_url(base)
        self.api = api
        self.retries = max(0, retries)
        headers = {"Authorization": f"Bearer {api_key}"} if api_key and api == "openai" else {}
        self.http = httpx.Client(timeout=httpx.Timeout(timeout, connect=connect_timeout), headers=headers)

    @classmethod
    def from_settings(cls) -> LLMClient:
        from django.conf import settings

        return cls(
            base_url=settings.ACTIONHUB_LLM_URL,
            api=settings.ACTIONHUB_LLM_API,
            api_key=settings.ACTIONHUB_LLM_API_KEY,
            timeout=settings.ACTIONHUB_LLM_TIMEOUT,
            connect_timeout=settings.ACTIONHUB_LLM_CONNECT_TIMEOUT,
            retries=settings.ACTIONHUB_LLM_RETRIES,
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> LLMClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # Transport

    def _unreachable(self, exc: Exception) -> LLMUnavailable:
        if isinstance(exc, httpx.TimeoutException):
            return LLMUnavailable(f"LLM server at {self.shown_url} timed out ({type(exc).__name__})")
        reason = "connection refused" if isinstance(exc, httpx.ConnectError) else type(exc).__name__
        return LLMUnavailable(f"LLM server at {self.shown_url} is unreachable: {reason}")

    def _open(self, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
        """Send a request and return the response with its body still unread.

        Connection failures are retried (bounded, with backoff) since nothing reached the model yet.
        """
        request = self.http.build_request(method, f"{self.base_url}{path}", json=body)
        for attempt in range(self.retries + 1):
            try:
                response = self.http.send(request, stream=True)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
                if attempt == self.retries:
                    raise self._unreachable(exc) from exc
                time.sleep(0.2 * 2**attempt)
                continue
            except httpx.HTTPError as exc:
                raise self._unreachable(exc) from exc
            if response.status_code >= 400:
                raise self._status_error(response)
            return response
        raise AssertionError("unreachable")

    def _status_error(self, response: httpx.Response) -> LLMBadResponse:
        try:
            response.read()
            text = response.text
        except httpx.HTTPError:
            text = ""
        finally:
            response.close()
        try:
            payload = json.loads(text)
        except ValueError:
            payload = None
        message = text[:200]
        if isinstance(payload, dict):
            error = payload.get("error")
            message = str(error.get("message", "") if isinstance(error, dict) else error or "")
        if response.status_code in (401, 403):
            return LLMBadResponse(
                f"LLM server at {self.shown_url} refused the credentials (HTTP {response.status_code}); "
                "check ACTIONHUB_LLM_API_KEY"
            )
        if response.status_code == 404 and "model" in message.lower():
            return LLMBadResponse(f"LLM server at {self.shown_url}: {message}")
        detail = f": {message[:200]}" if message else ""
        return LLMBadResponse(f"LLM server at {self.shown_url} answered HTTP {response.status_code}{detail}")

    def _json(self, method: str, path: str) -> Any:
        response = self._open(method, path)
        try:
            response.read()
            return response.json()
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        except ValueError as exc:
            raise LLMBadResponse(f"LLM server at {self.shown_url} sent a malformed response (not JSON)") from exc
        finally:
            response.close()

    # API

    def list_models(self) -> list[str]:
        if self.api == "ollama":
            payload = self._json("GET", "/api/tags")
            items, key = (payload.get("models") if isinstance(payload, dict) else None), "name"
        else:
            payload = self._json("GET", "/v1/models")
            items, key = (payload.get("data") if isinstance(payload, dict) else None), "id"
        if not isinstance(items, list) or not all(isinstance(item, dict) and key in item for item in items):
            raise LLMBadResponse(f"LLM server at {self.shown_url} sent a malformed model list")
        return [str(item[key]) for item in items]

    def chat_stream(self, *, model: str, messages: list[dict[str, str]]) -> Iterator[str]:
        """Yield the reply's text deltas as they arrive."""
        body = {"model": model, "messages": messages, "stream": True}
        path = "/api/chat" if self.api == "ollama" else "/v1/chat/completions"
        response = self._open("POST", path, body)
        parse = self._ollama_deltas if self.api == "ollama" else self._openai_deltas
        try:
            yield from parse(response)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        finally:
            response.close()

    def chat(
        self, *, model: str, messages: list[dict[str, str]], on_token: Callable[[str], None] | None = None
    ) -> ChatResult:
        parts = []
        for delta in self.chat_stream(model=model, messages=messages):
            parts.append(delta)
            if on_token is not None:
                on_token(delta)
        return ChatResult(text="".join(parts), model=model)

    # Wires

    def _malformed(self, what: str) -> LLMBadResponse:
        return LLMBadResponse(f"LLM server at {self.shown_url} sent a malformed response: {what}")

    def _ollama_deltas(self, response: httpx.Response) -> Iterator[str]:
        for line in response.iter_lines():
            if not line.strip():
                continue
            try:
                chunk = json.loads(line)
            except ValueError as exc:
                raise self._malformed("a stream line is not JSON") from exc
            if not isinstance(chunk, dict):
                raise self._malformed("a stream line is not an object")
            if chunk.get("error"):
                raise LLMBadResponse(f"LLM server at {self.shown_url} reported an error: {chunk['error']}")
            content = (chunk.get("message") or {}).get("content")
            if content:
                yield content
            if chunk.get("done"):
                return
        raise self._malformed("the stream ended early (no done marker)")

    def _openai_deltas(self, response: httpx.Response) -> Iterator[str]:
        for line in response.iter_lines():
            if not line or line.startswith(":"):
                continue
            if not line.startswith("data:"):
                raise self._malformed("expected server-sent events")
            data = line[len("data:") :].strip()
            if data == "[DONE]":
                return
            try:
                chunk = json.loads(data)
            except ValueError as exc:
                raise self._malformed("an event is not JSON") from exc
            if isinstance(chunk, dict) and chunk.get("error"):
                error = chunk["error"]
                message = error.get("message") if isinstance(error, dict) else error
                raise LLMBadResponse(f"LLM server at {self.shown_url} reported an error: {message}")
            try:
                content = chunk["choices"][0].get("delta", {}).get("content") if chunk["choices"] else None
            except (KeyError, TypeError, AttributeError) as exc:
                raise self._malformed("an event has no choices") from exc
            if content:
                yield content
        raise self._malformed("the stream ended early (no [DONE])")
