"""API authentication: a bearer token, or the browser session with CSRF."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import get_user
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja.security import HttpBearer, SessionAuth

from api.services import token_authenticate
from lib.asyncdb import db_run

UNAUTHENTICATED = "authentication required: send 'Authorization: Bearer <token>' or log in"
REFUSED_CREDENTIALS = "that API token is not valid: it is unknown or revoked, or its user is inactive"


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


def sends_bearer(request: HttpRequest) -> bool:
    return request.headers.get("Authorization", "").partition(" ")[0].lower() == "bearer"


class SessionWithCsrf(SessionAuth):
    """The browser session; ninja enforces the CSRF token on unsafe methods.

    A request that sends a bearer token is judged by its token alone: a wrong one is a 401, never
    a CSRF refusal meant for browsers."""

    def __call__(self, request: HttpRequest) -> Any:
        return None if sends_bearer(request) else super().__call__(request)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = request.user
        return user if user.is_authenticated and user.is_active else None


AUTH = [BearerToken(), SessionWithCsrf()]


class AsyncBearerToken(BearerToken):
    """The bearer token for async operations: the lookup runs on the shared database threads."""

    async def __call__(self, request: HttpRequest) -> Any:
        scheme, _, token = request.headers.get(self.header, "").partition(" ")
        if scheme.lower() != self.openapi_scheme or not token:
            return None
        user = await db_run(token_authenticate, token)
        if user is not None:
            request.user = user
        return user


class AsyncSessionWithCsrf(SessionWithCsrf):
    """The browser session for async operations: the session and user are read on the shared
    database threads, not on a thread of the request's own."""

    async def __call__(self, request: HttpRequest) -> Any:
        if sends_bearer(request) or self._get_key(request) is None:  # also the CSRF check on unsafe methods
            return None
        user = await db_run(get_user, request)
        if not (user.is_authenticated and user.is_active):
            return None
        request.user = user
        return user


ASYNC_AUTH = [AsyncBearerToken(), AsyncSessionWithCsrf()]


def docs_login_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The OpenAPI document and docs page: for a session or a bearer token, like every endpoint.

    A code generator holding a token gets the schema; any other client without a login gets a 401
    in JSON, and only a browser asking for a page is sent to the login form.
    """

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not (user.is_authenticated and user.is_active):
            scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
            user = token_authenticate(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
            if user is None:
                if "Authorization" not in request.headers and "text/html" in request.headers.get("Accept", ""):
                    return redirect_to_login(request.get_full_path())
                response = JsonResponse({"detail": UNAUTHENTICATED}, status=401)
                response["WWW-Authenticate"] = "Bearer"
                return response
            request.user = user
        return view(request, *args, **kwargs)

    return wrapped
