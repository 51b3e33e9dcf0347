"""What /api/status tells staff about the sandbox."""

from __future__ import annotations

from skills import sandbox
from tests.factories import make_user
from tests.workers import wait_for


def test_it_tells_staff_whether_the_image_is_there_and_how_warm_the_pool_is(db, api_as, docker_sandbox):
    staff = api_as(make_user("sam", is_staff=True))
    pool = sandbox.pool_start(size=1, profiles=[sandbox.Profile(memory="64m")])
    wait_for(lambda: pool.idle() == 1, timeout=30)
    docker = staff.get("/status").json()["docker"]
    assert docker["available"] is True
    assert docker["sandbox"] == "ok"
    assert docker["image"]["present"] is True
    assert docker["pool"]["warm_containers"] >= 1


def test_it_says_the_sandbox_is_unavailable_when_docker_does_not_answer(db, api_as, settings):
    settings.ACTIONHUB_DOCKER_HOST = "unix:///nonexistent/docker.sock"
    docker = api_as(make_user("sam", is_staff=True)).get("/status").json()["docker"]
    assert (docker["available"], docker["sandbox"]) == (False, "unavailable")


def test_it_tells_anonymous_visitors_nothing_about_docker(client):
    assert "docker" not in client.get("/api/status").json()
