"""The staff status page over HTTP: who may see it, what it shows, and that a dead LLM server is named."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from health import checks
from skills import sandbox
from tests.conftest import require
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, make_action, make_user
from tests.llm.fake_llm import FakeLLMServer
from worker.models import WorkerHeartbeat

HTMX = {"HTTP_HX_REQUEST": "true"}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def sam(db):
    return make_user("sam", is_staff=True)


@pytest.fixture
def offline(settings):
    """No LLM server and no Docker engine: both checks fail at once instead of waiting."""
    settings.ACTIONHUB_LLM_URL = f"http://127.0.0.1:{closed_port()}"
    settings.ACTIONHUB_DOCKER_HOST = "unix:///nonexistent/docker.sock"


@pytest.fixture
def offline_docker(settings):
    settings.ACTIONHUB_DOCKER_HOST = "unix:///nonexistent/docker.sock"


@pytest.fixture
def fake_llm(settings):
    with FakeLLMServer() as server:
        settings.ACTIONHUB_LLM_URL = server.url
        settings.ACTIONHUB_LLM_API = "ollama"
        yield server


def test_it_sends_anonymous_visitors_to_the_login_page(db):
    response = Client().get("/status/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_refuses_the_page_to_users_who_are_not_staff(alice, bob, dave, offline):
    for user in (alice, bob, dave):
        response = logged_in(user).get("/status/")
        assert response.status_code == 403
        assert b"for staff" in response.content


def test_it_links_the_page_from_the_navigation_for_staff_only(sam, bob, offline):
    assert b'href="/status/"' in logged_in(sam).get("/status/").content
    assert b'href="/status/"' not in logged_in(bob).get("/approvals/").content


def test_it_shows_the_llm_server_and_the_active_model(sam, fake_llm, offline_docker):
    fake_llm.models = ["llama3.2", "qwen2.5:0.5b"]
    page = logged_in(sam).get("/status/").content.decode()
    assert "reachable" in page and "unreachable" not in page
    assert "<code>llama3.2</code>" in page
    assert "<code>qwen2.5:0.5b</code>" in page
    assert "not on the server" not in page


def test_it_says_when_the_active_model_is_missing_from_the_server(sam, fake_llm, offline_docker):
    fake_llm.models = ["mistral"]
    page = logged_in(sam).get("/status/").content.decode()
    assert "not on the server" in page


def test_it_shows_why_the_llm_server_is_unreachable_without_hanging(sam, offline, settings):
    started = timezone.now()
    response = logged_in(sam).get("/status/")
    elapsed = (timezone.now() - started).total_seconds()
    page = response.content.decode()
    assert response.status_code == 200
    assert "unreachable" in page
    assert settings.ACTIONHUB_LLM_URL in page
    assert 'role="alert"' in page
    assert elapsed < 5, "a dead dependency must not hang the page"


def test_it_lists_workers_and_marks_the_silent_ones_stale(sam, offline):
    now = timezone.now()
    WorkerHeartbeat.objects.create(worker_id="host-1-alive", pid=4242, started_at=now, last_seen=now)
    WorkerHeartbeat.objects.create(
        worker_id="host-2-gone", pid=4343, started_at=now - timedelta(hours=1), last_seen=now - timedelta(minutes=5)
    )
    page = logged_in(sam).get("/status/").content.decode()
    assert "1 alive" in page
    alive_row = page[page.index("host-1-alive") : page.index("</tr>", page.index("host-1-alive"))]
    gone_row = page[page.index("host-2-gone") : page.index("</tr>", page.index("host-2-gone"))]
    assert "4242" in alive_row and "stale" not in alive_row
    assert "4343" in gone_row and "stale" in gone_row


def test_it_counts_the_queue_by_level(sam, alice, offline):
    make_action(alice, HIGH_ACTION)
    make_action(alice, HIGH_ACTION)
    make_action(alice, CRITICAL_ACTION)
    page = logged_in(sam).get("/status/").content.decode()
    assert '<span class="badge badge-high">2 high</span>' in page
    assert '<span class="badge badge-critical">1 critical</span>' in page
    assert "Waiting for review</dt>\n        <dd>3" in page


def test_it_says_the_sandbox_is_unavailable_when_docker_does_not_answer(sam, offline):
    page = logged_in(sam).get("/status/").content.decode()
    assert "docker unavailable" in page


def test_it_shows_the_sandbox_image_when_docker_answers(sam, offline, settings):
    settings.ACTIONHUB_DOCKER_HOST = ""
    state = sandbox.docker_status()
    require(state["available"], "no Docker engine answers")
    page = logged_in(sam).get("/status/").content.decode()
    assert f"<code>{settings.ACTIONHUB_SANDBOX_IMAGE}</code>" in page
    assert ("present" if state["image"]["present"] else "missing") in page
    assert "warm container" in page


def test_it_answers_htmx_polls_with_the_panel_alone(sam, offline):
    response = logged_in(sam).get("/status/", **HTMX)
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section id="status-panel"')
    assert 'hx-trigger="every 5s"' in body
    assert "<html" not in body


def test_it_reloads_the_page_when_a_poll_is_no_longer_allowed(alice, offline):
    anonymous = Client().get("/status/", **HTMX)
    assert (anonymous.status_code, anonymous["HX-Refresh"]) == (200, "true")
    refused = logged_in(alice).get("/status/", **HTMX)
    assert (refused.status_code, refused["HX-Refresh"]) == (200, "true")


def test_it_keeps_the_api_status_shape_for_staff(sam, api_as, offline):
    payload = api_as(sam).get("/status").json()
    assert payload["llm"]["reachable"] is False and payload["llm"]["error"]
    assert set(payload["queue"]) >= {"pending_review", "approved_waiting", "executing", "tasks_ready"}
    assert payload["workers"] == {"alive": 0}
    assert payload["docker"]["available"] is False


def test_it_counts_tool_calls_awaiting_their_agents_report_apart_from_work_not_started(sam, alice, api_as, offline):
    make_action(alice, {"action_type": "tool_call", "parameters": {"tool": "Read", "input": {"file_path": "/srv/a"}}})
    make_action(alice, {"action_type": "file_operation", "parameters": {"operation": "list", "path": "notes"}})
    queue = api_as(sam).get("/status").json()["queue"]
    assert (queue["approved_waiting"], queue["awaiting_report"]) == (1, 1)
    page = Client()
    page.force_login(sam)
    assert "outcome not reported yet" in page.get("/status/").content.decode()


def test_it_counts_the_reviewers_notifications_cannot_reach(sam, bob, carol, offline):
    bob.email = "bob@example.org"
    bob.save()
    make_user("root", is_superuser=True)
    make_user("gone", "reviewers", is_active=False)
    make_user("erin", "escalation")

    page = logged_in(sam).get("/status/").content.decode()

    assert "2 of 3 reviewers cannot be reached" in page
    assert 'data-no-address="2"' in page
    assert "<code>carol</code>, <code>root</code>" in page
    assert "gone" not in page
    assert "1 member, 1 without an email address (<code>erin</code>)" in page


def test_it_says_every_reviewer_can_be_reached(sam, bob, offline):
    bob.email = "bob@example.org"
    bob.save()
    page = logged_in(sam).get("/status/").content.decode()
    assert "every reviewer has an email address" in page
    assert 'data-no-address="0"' in page


def test_it_names_what_the_sandbox_lacks_and_the_command_that_fixes_it(sam, alice, offline):
    page = logged_in(sam).get("/status/").content.decode()
    assert "missing Docker (the engine does not answer)" in page
    assert "<code>sudo apt-get install docker.io &amp;&amp; sudo make sandbox</code>" in page
    home = logged_in(sam).get("/").content.decode()
    assert "data-sandbox-fix" in home and "sudo make sandbox" in home
    assert "data-sandbox-fix" not in logged_in(alice).get("/").content.decode()


def test_it_names_a_missing_image_and_debootstrap(sam, settings, monkeypatch):
    monkeypatch.setattr(checks.shutil, "which", lambda name: None)
    hint = checks.sandbox_setup_hint({"available": True, "image": {"present": False}})
    assert hint == {"missing": "the sandbox image and debootstrap, which builds it", "fix": "sudo make sandbox"}
    assert checks.sandbox_setup_hint({"available": True, "image": {"present": True}}) is None
