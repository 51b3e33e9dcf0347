"""What can go wrong talking to ActionHub, as exceptions an agent can tell apart.

Every API refusal carries the server's own `detail` (and field `errors` for a 400), so the caller
can show it as it is. A caller that must fail closed catches `ActionHubError`: each of these means
"no approval".
"""

from __future__ import annotations

from typing import Any


class ActionHubError(Exception):
    """Anything that kept an answer from ActionHub: the caller must not act."""


class ConfigurationError(ActionHubError):
    """No URL or token: set ACTIONHUB_URL and ACTIONHUB_TOKEN (or ACTIONHUB_TOKEN_FILE)."""


class ConnectionFailed(ActionHubError):
    """ActionHub could not be reached, or did not answer in time."""


class APIError(ActionHubError):
    """ActionHub answered with an error status; `detail` is its explanation."""

    def __init__(self, status: int, detail: str, errors: Any = None) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail
        self.errors = errors


class BadRequest(APIError):
    """400 or 422: the request itself is wrong (field `errors` say where)."""


class AuthenticationFailed(APIError):
    """401: the token is missing, wrong or revoked."""


class PermissionDenied(APIError):
    """403: this user may not do that (e.g. decide on their own action)."""


class NotFound(APIError):
    """404: no such action, or not one this user may see."""


class Conflict(APIError):
    """409: the action is not in a state that allows it (e.g. cancelling a decided action)."""


class RateLimited(APIError):
    """429: too many requests; `retry_after` is how many seconds to wait."""

    def __init__(self, status: int, detail: str, errors: Any = None, *, retry_after: float = 1.0) -> None:
        super().__init__(status, detail, errors)
        self.retry_after = retry_after


class ServerError(APIError):
    """5xx: ActionHub, or a proxy in front of it, failed."""


class ActionDenied(ActionHubError):
    """Raised by `require_approval(raise_on_deny=True)`: the action was rejected, expired or cancelled."""

    def __init__(self, message: str, action: Any) -> None:
        super().__init__(message)
        self.message = message
        self.action = action


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequest,
    401: AuthenticationFailed,
    403: PermissionDenied,
    404: NotFound,
    409: Conflict,
    422: BadRequest,
}


def api_error(status: int, detail: str, errors: Any = None, *, retry_after: float | None = None) -> APIError:
    if status == 429:
        return RateLimited(status, detail, errors, retry_after=retry_after or 1.0)
    if status >= 500:
        return ServerError(status, detail, errors)
    return _BY_STATUS.get(status, APIError)(status, detail, errors)
