"""Handlers run in-process against real HTTP servers on loopback."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
from django.core.management import call_command

from approvals.kinds.api_call import ApiCallKind, url_allowed
from approvals.kinds.base import HandlerError
from approvals.models import Action, Status
from tests.factories import make_action


@pytest.fixture
def upstream():
    seen: list[dict] = []
    lines: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def parse_request(self) -> bool:
            lines.append(self.raw_requestline.decode("latin-1").rstrip("\r\n"))
            return super().parse_request()

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            seen.append(
                {"path": self.path, "body": json.loads(self.rfile.read(length) or b"null"), "h": dict(self.headers)}
            )
            body = json.dumps({"created": True}).encode()
            self.send_response(201)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            body = b"x" * 5000
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.seen = seen
    server.lines = lines
    yield server
    server.shutdown()


def _api_action(alice, settings, upstream, **parameters) -> Action:
    settings.ACTIONHUB_API_ALLOWLIST = [upstream.url]
    return make_action(alice, {"action_type": "api_call", "parameters": parameters})


def test_it_sends_an_allowlisted_request_and_returns_the_response(alice, settings, upstream):
    action = _api_action(
        alice, settings, upstream, method="POST", url=f"{upstream.url}/items", headers={"X-Trace": "1"}, json={"a": 1}
    )
    result = ApiCallKind().run(action)
    assert result["status"] == 201
    assert result["body"] == {"created": True}
    assert upstream.seen == [{"path": "/v1/items", "body": {"a": 1}, "h": upstream.seen[0]["h"]}]
    assert upstream.seen[0]["h"]["X-Trace"] == "1"


def test_it_caps_the_response_size(alice, settings, upstream):
    action = _api_action(alice, settings, upstream, method="GET", url=f"{upstream.url}/big")
    settings.ACTIONHUB_API_CALL_MAX_BYTES = 1000
    with pytest.raises(HandlerError, match="exceeds the 1000-byte limit"):
        ApiCallKind().run(action)


def test_it_refuses_a_url_removed_from_the_allowlist_since_submission(alice, settings, upstream):
    action = _api_action(alice, settings, upstream, method="GET", url=f"{upstream.url}/x")
    settings.ACTIONHUB_API_ALLOWLIST = []
    with pytest.raises(HandlerError, match="ALLOWLIST"):
        ApiCallKind().run(action)


def test_it_sends_the_normal_form_of_the_url_it_stored_and_checked(alice, bob, settings, upstream, api_as):
    port = upstream.server_address[1]
    settings.ACTIONHUB_API_ALLOWLIST = [upstream.url]
    submitted = f"HTTP://127.0.0.1:{port}/v1/./a/%7Euser/../b/%2e/c?q=%41"
    created = api_as(alice).post(
        "/actions", {"action_type": "api_call", "parameters": {"method": "GET", "url": submitted}}
    )
    assert created.status_code == 201, created.content
    normal = f"http://127.0.0.1:{port}/v1/a/b/c?q=A"
    assert created.json()["parameters"]["url"] == normal
    action = Action.objects.get(id=created.json()["id"])
    assert action.parameters["url"] == normal
    assert ApiCallKind().run(action)["status"] == 200
    assert upstream.lines == ["GET /v1/a/b/c?q=A HTTP/1.1"]


@pytest.mark.parametrize("escape", ["/v1/../outside", "/v1/%2e%2e/outside", "/v1/.%2E/outside", "/v1/x/../../outside"])
def test_it_refuses_a_dot_segment_escape_from_the_allowlist(alice, settings, upstream, api_as, escape):
    port = upstream.server_address[1]
    settings.ACTIONHUB_API_ALLOWLIST = [upstream.url]
    url = f"http://127.0.0.1:{port}{escape}"
    response = api_as(alice).post("/actions", {"action_type": "api_call", "parameters": {"method": "GET", "url": url}})
    assert response.status_code == 400
    assert response.json()["errors"] == {"url": "is not under any ACTIONHUB_API_ALLOWLIST entry"}
    assert not Action.objects.exists()

    # One stored before URLs were normalised is judged on what would be sent, and never sent.
    action = _api_action(alice, settings, upstream, method="GET", url=f"{upstream.url}/x")
    Action.objects.filter(id=action.id).update(parameters={"method": "GET", "url": url})
    action.refresh_from_db()
    with pytest.raises(HandlerError, match="ALLOWLIST"):
        ApiCallKind().run(action)
    assert upstream.lines == []


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("https://api.example.com/v1/x", True),
        ("https://api.example.com/v1", True),
        ("https://api.example.com/v10/x", False),
        ("https://api.example.com.evil.test/v1/x", False),
        ("http://api.example.com/v1/x", False),
        ("https://api.example.com:8443/v1/x", False),
        ("https://user:pw@api.example.com/v1/x", False),
        ("ftp://api.example.com/v1/x", False),
    ],
)
def test_it_matches_the_allowlist_by_origin_and_path_segment(url, allowed):

    assert url_allowed(url, ["https://api.example.com/v1/"]) is allowed


def test_it_expires_due_actions_from_the_command(alice):
    from datetime import timedelta

    from django.utils import timezone

    action = make_action(alice)
    Action.objects.filter(id=action.id).update(expires_at=timezone.now() - timedelta(minutes=1))
    out = StringIO()
    call_command("expire_actions", "--dry-run", stdout=out)
    assert "1 pending action(s) would expire" in out.getvalue()
    assert Action.objects.get(id=action.id).status == Status.PENDING
    call_command("expire_actions", stdout=out)
    assert Action.objects.get(id=action.id).status == Status.EXPIRED


def test_it_issues_and_revokes_tokens_from_the_command(alice, api_as):
    out = StringIO()
    call_command("issue_token", "alice", "--name", "cli", stdout=out)
    token = out.getvalue().strip()
    from django.test import Client

    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/skills").status_code == 200
    call_command("revoke_token", "alice", "--name", "cli", stdout=out)
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/skills").status_code == 401
    from audit.models import AuditEntry

    assert {"auth.token_issued", "auth.token_revoked"} <= set(AuditEntry.objects.values_list("event", flat=True))


def test_it_prunes_finished_task_rows_older_than_a_day(alice, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from worker.maintenance import prune_finished_tasks

    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            make_action(alice, {"action_type": "file_operation", "parameters": {"operation": "list", "path": "."}})
    old, recent, ready = DBTaskResult.objects.order_by("enqueued_at")
    DBTaskResult.objects.filter(id=old.id).update(
        status=TaskResultStatus.SUCCESSFUL, finished_at=timezone.now() - timedelta(days=2)
    )
    DBTaskResult.objects.filter(id=recent.id).update(status=TaskResultStatus.FAILED, finished_at=timezone.now())
    assert prune_finished_tasks() == 1
    assert set(DBTaskResult.objects.values_list("id", flat=True)) == {recent.id, ready.id}


def test_it_sends_nothing_the_http_client_would_rewrite(upstream):
    from approvals.outbound import OutboundError, send_request

    with pytest.raises(OutboundError, match="instead of the URL checked"):
        send_request(method="GET", url=f"{upstream.url}/../outside", headers={}, body=None)
    assert upstream.lines == []
