"""Shared fixtures: the cast (alice requests, bob and carol review, dave audits) and API clients."""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from audit import triggers
from tests.factories import make_token, make_user

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, reason: str) -> None:
    """Skip locally when a service is missing; under CI a missing service is a failure."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this service: {reason}")
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    from django.conf import settings

    # Password hashing at production strength costs ~0.3 s per user; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _uses_db(request: pytest.FixtureRequest) -> bool:
    names = set(request.fixturenames)
    return bool(request.node.get_closest_marker("django_db") or names & {"db", "transactional_db", "live_server"})


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    names = set(request.fixturenames)
    return bool((marker and marker.kwargs.get("transaction")) or names & {"transactional_db", "live_server"})


@pytest.fixture(autouse=True)
def _append_only_audit(request: pytest.FixtureRequest):
    """Keep the append-only triggers in place during every test.

    SQLite flushes tables with DELETE between transactional tests, which the triggers
    would refuse, so they are dropped just before that flush and re-created per test.
    """
    if not _uses_db(request):
        yield
        return
    request.getfixturevalue("_django_db_helper")
    triggers.install(connection)
    yield
    if _is_transactional(request) and connection.vendor == "sqlite":
        triggers.uninstall(connection)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """The test database, and before it is dropped the connections async views' shared threads keep."""
    yield
    from lib.asyncdb import db_threads_close

    db_threads_close()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache, and the budget slices this process took beside it;
    each test starts with none."""
    from django.core.cache import cache

    from lib import ratelimit

    cache.clear()
    ratelimit._slices.clear()


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob", "reviewers")


@pytest.fixture
def carol(db):
    return make_user("carol", "reviewers")


@pytest.fixture
def dave(db):
    return make_user("dave", "auditors")


class ApiClient:
    """A JSON client for /api/ authenticated with a bearer token."""

    def __init__(self, token: str) -> None:
        self.client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")

    def get(self, path: str, **params: Any):
        return self.client.get(f"/api{path}", params)

    def post(self, path: str, body: Any = None, **kwargs: Any):
        data = body if isinstance(body, (str, bytes)) else json.dumps(body if body is not None else {})
        return self.client.post(f"/api{path}", data=data, content_type="application/json", **kwargs)


@pytest.fixture
def api_as(db) -> Callable[[Any], ApiClient]:
    def build(user) -> ApiClient:
        return ApiClient(make_token(user, name=f"test-{secrets.token_hex(4)}"))

    return build
