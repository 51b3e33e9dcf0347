"""The only module in callbacks that speaks HTTP: one signed POST, never following a redirect."""

from __future__ import annotations

import httpx
from django.conf import settings


class TransportError(Exception):
    """The request got no HTTP answer; str() is the error class (what may be audited), never the URL."""


def callback_post(*, url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST `body` to `url` and return the status code; the response body is never read.

    A redirect is answered, not followed: it could lead off the allowlist, so it counts as a failure
    upstream like any other status outside 2xx.
    """
    timeout = settings.ACTIONHUB_CALLBACK_TIMEOUT
    try:
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            request = client.build_request("POST", url, content=body, headers=headers)
            # The allowlist judged `url`; a client that rewrote it would send something unjudged.
            if str(request.url) != url:
                raise TransportError("URLRewritten")
            response = client.send(request, stream=True)
            response.close()
    except httpx.HTTPError as exc:
        raise TransportError(type(exc).__name__) from exc
    return response.status_code
