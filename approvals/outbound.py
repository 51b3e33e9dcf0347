"""The only module in approvals that speaks HTTP: the requests agents ask for (api_call actions)
and the webhook posts that tell reviewers an action is held."""

from __future__ import annotations

import functools
import json
from typing import Any

import httpx
from django.conf import settings


class OutboundError(Exception):
    """A readable reason the request failed."""


@functools.cache
def _preview_client() -> httpx.Client:
    # Building a client costs ~0.1 s (its TLS context); this one only ever builds requests, never sends.
    return httpx.Client(follow_redirects=False)


def request_preview(*, method: str, url: str, headers: dict[str, str], body: Any) -> dict[str, Any]:
    """The request send_request would send, built the same way but not sent: method, URL, every
    header (the client's own included) and the body as on the wire."""
    try:
        request = _preview_client().build_request(method, url, headers=headers, json=body)
    except (httpx.InvalidURL, httpx.HTTPError, TypeError, ValueError) as exc:
        raise OutboundError(f"the request cannot be built: {exc}") from exc
    return {
        "method": request.method,
        "url": str(request.url),
        "headers": [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw],
        "body": request.content.decode("utf-8", "replace"),
    }


def send_request(*, method: str, url: str, headers: dict[str, str], body: Any) -> dict[str, Any]:
    """Send one request, never following redirects (they could leave the allowlist), with a
    timeout and a cap on the response size; returns status, headers and the (parsed) body."""
    limit = settings.ACTIONHUB_API_CALL_MAX_BYTES
    timeout = settings.ACTIONHUB_API_CALL_TIMEOUT
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            request = client.build_request(method, url, headers=headers, json=body)
            # The allowlist judged `url`; a client that rewrote it would send something unjudged.
            if str(request.url) != url:
                raise OutboundError(f"the HTTP client would send {request.url} instead of the URL checked")
            response = client.send(request, stream=True)
            try:
                content = bytearray()
                for chunk in response.iter_bytes():
                    content.extend(chunk)
                    if len(content) > limit:
                        raise OutboundError(f"response body exceeds the {limit}-byte limit")
            finally:
                response.close()
    except httpx.TimeoutException as exc:
        raise OutboundError(f"request timed out after {timeout:g}s") from exc
    except httpx.HTTPError as exc:
        raise OutboundError(f"request failed: {type(exc).__name__}: {exc}") from exc
    text = content.decode(response.encoding or "utf-8", errors="replace")
    parsed: Any = text
    if "json" in response.headers.get("content-type", ""):
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = text
    return {"status": response.status_code, "headers": dict(response.headers), "body": parsed}


def post_webhook(*, url: str, body: dict[str, Any]) -> None:
    """POST `body` as JSON; raises OutboundError unless the receiver answers 2xx in time.

    Redirects are not followed and the response body is never read. Errors never quote the
    URL: webhook URLs (Slack's among them) carry their secret in the path.
    """
    timeout = settings.ACTIONHUB_NOTIFY_TIMEOUT
    try:
        with (
            httpx.Client(timeout=timeout, follow_redirects=False) as client,
            client.stream("POST", url, json=body) as response,
        ):
            status = response.status_code
    except httpx.TimeoutException as exc:
        raise OutboundError(f"no answer within {timeout:g}s") from exc
    except httpx.HTTPError as exc:
        raise OutboundError(f"request failed ({type(exc).__name__})") from exc
    if not 200 <= status < 300:
        raise OutboundError(f"answered HTTP {status}")
