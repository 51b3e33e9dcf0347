"""API authentication: a bearer token, or the browser session with CSRF."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user
from django.http import HttpRequest
from ninja.security import HttpBearer, SessionAuth

from api.services import token_authenticate
from lib.asyncdb import db_run


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = token_authenticate(token)
        if user is not None:
            request.user = user
        return user


class SessionWithCsrf(SessionAuth):
    """The browser session; ninja enforces the CSRF token on unsafe methods."""

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
        if self._get_key(request) is None:  # also the CSRF check on unsafe methods
            return None
        user = await db_run(get_user, request)
        if not (user.is_authenticated and user.is_active):
            return None
        request.user = user
        return user


ASYNC_AUTH = [AsyncBearerToken(), AsyncSessionWithCsrf()]
