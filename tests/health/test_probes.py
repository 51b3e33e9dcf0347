"""/health/live and /health/ready: what a container's probe and a load balancer ask."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.test import Client

from health import probes


@pytest.fixture(autouse=True)
def _migrations_unknown(monkeypatch):
    monkeypatch.setattr(probes, "_migrations_applied", False)


def test_it_answers_liveness_without_a_login_or_a_known_host(db, settings):
    settings.ALLOWED_HOSTS = ["actionhub.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    response = Client(HTTP_HOST="10.0.0.7:8000").get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "alive"}
    assert response["Cache-Control"] == "no-store"


def test_it_is_ready_when_database_channel_layer_and_migrations_are(db, settings):
    settings.ALLOWED_HOSTS = ["actionhub.example.org"]
    settings.SECURE_SSL_REDIRECT = True
    response = Client(HTTP_HOST="10.0.0.7:8000").get("/health/ready")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "channel_layer": "ok"},
    }


def test_it_is_not_ready_while_a_migration_is_unapplied(db):
    MigrationRecorder(connection).migration_qs.filter(app="approvals").order_by("-id").first().delete()
    response = Client().get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["migrations"] == "1 migrations not applied (run the image's migrate)"
    assert body["checks"]["database"] == "ok"


def test_it_is_not_ready_when_the_database_does_not_answer(db, monkeypatch):
    def broken(*args, **kwargs):
        from django.db import OperationalError

        raise OperationalError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken)
    response = Client().get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "unavailable: OperationalError"
    assert response.json()["checks"]["migrations"] == "database unavailable"


def test_it_is_not_ready_when_the_channel_layer_does_not_relay(db, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:9/0"]},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        response = Client().get("/health/ready")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"].startswith("no round trip through the channel layer")


def test_it_leaves_other_methods_and_paths_to_the_site(db):
    assert Client().post("/health/ready").status_code != 200
    assert Client().get("/health/ready/").status_code == 404
