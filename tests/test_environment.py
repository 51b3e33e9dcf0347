"""The services the suite runs against. Under CI each must be present: a missing one fails."""

from __future__ import annotations

import os
import shutil

from django.conf import settings
from django.db import connection

from tests.conftest import require


def test_it_runs_on_postgres_when_configured(db):
    require(connection.vendor == "postgresql", "DATABASE_URL does not point at PostgreSQL")
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


def test_it_reaches_redis_for_cache_and_channels(db):
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL is not set")
    from django.core.cache import cache

    assert settings.CACHES["default"]["BACKEND"].endswith("RedisCache")
    cache.set("actionhub:probe", 41)
    assert cache.incr("actionhub:probe") == 42


def test_it_reaches_the_docker_engine(db):
    from skills.sandbox import docker_status

    status = docker_status()
    require(status["available"], "no Docker engine answers")
    assert status["version"]


def test_it_has_chromium_for_browser_tests():
    require(shutil.which("chromium") is not None, "Debian's chromium is not installed")
