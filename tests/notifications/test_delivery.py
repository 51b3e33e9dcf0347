"""Reviewers are told about held actions: email and Slack-compatible webhooks on a real loopback server."""

from __future__ import annotations

import json
import re
import smtplib
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends import locmem
from django.db import connection
from django_tasks import TaskResultStatus
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from approvals.models import Action, Status
from approvals.runtime import runtime_set
from approvals.services import action_decide, action_edit
from audit.models import AuditEntry
from notifications.messages import slack_body
from notifications.tasks import held_notices_send
from review.links import link_load
from tests.factories import make_action, make_user
from tests.workers import start_worker, stop, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

NOTIFICATION_TASKS = ("notifications.tasks.notify_action_held", "notifications.tasks.deliver_notification")
SECRET = "T0000/B0000/not-for-logs"
DELETE = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "notes/old.txt"}}


class FlakyBackend(locmem.EmailBackend):
    """The locmem backend, except that it refuses an address as often as `refuse` says."""

    refuse: dict[str, int] = {}
    calls: list[str] = []

    def send_messages(self, messages: Any) -> int:
        for message in messages:
            (address,) = message.to
            FlakyBackend.calls.append(address)
            if FlakyBackend.refuse.get(address, 0) > 0:
                FlakyBackend.refuse[address] -= 1
                raise smtplib.SMTPDataError(451, f"try again later, {address}")
        return super().send_messages(messages)


@pytest.fixture
def flaky_mail(settings) -> Iterator[type[FlakyBackend]]:
    settings.EMAIL_BACKEND = "tests.notifications.test_delivery.FlakyBackend"
    FlakyBackend.calls = []
    yield FlakyBackend
    FlakyBackend.refuse = {}


class WebhookReceiver:
    """A real HTTP server on loopback recording each POSTed JSON body.

    `answers` scripts the status of successive requests (then 200); `silent` never answers.
    """

    def __init__(self, *, answers: tuple[int, ...] = (), silent: bool = False) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.answers = list(answers)
        self.silent = silent
        self.released = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                outer.bodies.append(json.loads(self.rfile.read(length)))
                outer.paths.append(self.path)
                if outer.silent:
                    outer.released.wait(30)
                    return
                status = outer.answers.pop(0) if outer.answers else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.origin}/services/{SECRET}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    server = WebhookReceiver()
    yield server
    server.close()


@pytest.fixture
def reviewers(alice, bob, carol, dave):
    """Everyone has an address: alice requests, bob and carol review, dave only audits, root is superuser."""
    for user in (alice, bob, carol, dave):
        user.email = f"{user.username}@example.org"
        user.save()
    make_user("root", email="root@example.org", is_superuser=True)
    make_user("nomail", "reviewers")
    make_user("gone", "reviewers", email="gone@example.org", is_active=False)


@pytest.fixture
def fast_retries(settings):
    settings.ACTIONHUB_NOTIFY_BACKOFF = timedelta(seconds=0.05)
    settings.ACTIONHUB_NOTIFY_TIMEOUT = 0.5
    settings.ACTIONHUB_NOTIFY_RETRIES = 5
    settings.ACTIONHUB_BASE_URL = "https://actionhub.example.org"


def run_notification_tasks(*, timeout: float = 15.0) -> None:
    """Run queued notification tasks in this process the way a worker does, until none is left."""
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=False,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    held_notices_send()
    queued = DBTaskResult.objects.filter(task_path__in=NOTIFICATION_TASKS, status=TaskResultStatus.READY)
    deadline = time.monotonic() + timeout
    while queued.exists():
        assert time.monotonic() < deadline, "notification tasks still queued"
        task_result = queued.ready().first()
        if task_result is None:  # a retry waiting for its backoff
            time.sleep(0.01)
            continue
        task_result.claim(worker.worker_id)
        worker.run_task(task_result)
    assert not DBTaskResult.objects.filter(task_path__in=NOTIFICATION_TASKS, status=TaskResultStatus.FAILED).exists()


def _notifications(action_id: Any, channel: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    entries = AuditEntry.objects.filter(action_id=action_id, event__startswith="notification.").order_by("seq")
    return [(entry.event, entry.data) for entry in entries if channel is None or entry.data["channel"] == channel]


def _submit(api_as, user, spec: dict[str, Any]) -> dict[str, Any]:
    response = api_as(user).post("/actions", spec)
    assert response.status_code == 201, response.content
    return response.json()


def test_it_emails_each_reviewer_the_whole_held_action_with_their_own_links(api_as, alice, reviewers, fast_retries):
    parameters = {"operation": "write", "path": "reports/q3.md", "content": "line one\nline two: keep every word"}
    action = _submit(api_as, alice, {"action_type": "file_operation", "parameters": parameters})
    assert action["status"] == "pending"

    run_notification_tasks()

    assert sorted(message.to[0] for message in mail.outbox) == [
        "bob@example.org",
        "carol@example.org",
        "root@example.org",
    ]
    assert all(len(message.to) == 1 for message in mail.outbox)
    link = f"https://actionhub.example.org/approvals/{action['id']}/"
    one_tap = {}
    for message in mail.outbox:
        assert "HIGH file_operation from alice" in message.subject
        body = message.body
        assert link in body
        assert json.dumps(parameters, indent=2, ensure_ascii=False, sort_keys=True) in body
        for fact in ("file_operation", "HIGH", "alice", "file write changes data", "Expires:", "Approvals needed: 1"):
            assert fact in body
        assert "Reversibility:" in body and "partly reversible" in body
        links = re.findall(r"^(Approve|Reject): +(https://actionhub\.example\.org/approvals/link/\S+/)$", body, re.M)
        assert [decision for decision, _ in links] == ["Approve", "Reject"]
        one_tap[message.to[0]] = [url for _, url in links]
    everyone = [url for urls in one_tap.values() for url in urls]
    assert len(set(everyone)) == 6, "every reviewer gets links of their own"
    assert sorted(data["target"] for _, data in _notifications(action["id"])) == ["bob", "carol", "root"]
    assert all(
        event == "notification.sent" and data["channel"] == "email" and data["attempt"] == 1
        for event, data in _notifications(action["id"])
    )


def test_it_notifies_nobody_about_a_low_action(api_as, alice, reviewers, receiver, settings):
    settings.ACTIONHUB_WEBHOOK_URLS = [receiver.url]
    action = _submit(api_as, alice, {"action_type": "chat", "parameters": {"message": "hello"}})
    assert action["security_level"] == "low"

    run_notification_tasks()

    assert not DBTaskResult.objects.filter(task_path__in=NOTIFICATION_TASKS).exists()
    assert mail.outbox == []
    assert receiver.bodies == []
    assert _notifications(action["id"]) == []


def test_it_posts_a_slack_compatible_message_through_a_real_worker(api_as, alice, reviewers, receiver):
    other = WebhookReceiver()
    # Through the runtime config, as a config_change would set it, not the environment.
    runtime_set(key="webhook_urls", value=[receiver.url, other.url], actor="test")
    worker = start_worker(
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        ACTIONHUB_BASE_URL="https://actionhub.example.org/",
    )
    try:
        action = _submit(api_as, alice, DELETE)
        wait_for(lambda: len(_notifications(action["id"])) == 5)  # three reviewers, two webhooks
    finally:
        stop(worker)
        other.close()

    link = f"https://actionhub.example.org/approvals/{action['id']}/"
    assert receiver.paths == [f"/services/{SECRET}"]
    for body in (receiver.bodies[0], other.bodies[0]):
        assert link in body["text"]
        assert '"path": "notes/old.txt"' in body["text"]
        sections = [block for block in body["blocks"] if block["type"] == "section"]
        assert any('"operation": "delete"' in block.get("text", {}).get("text", "") for block in sections)
        (actions,) = [block for block in body["blocks"] if block["type"] == "actions"]
        assert actions["elements"][0]["url"] == link
        # A shared channel gets links any reviewer may use once, after logging in and confirming.
        assert [element["text"]["text"] for element in actions["elements"][1:]] == ["Approve…", "Reject…"]
        assert all("/approvals/link/" in element["url"] for element in actions["elements"][1:])
        assert "*Reversibility:* irreversible" in body["text"]
    sent = _notifications(action["id"], "webhook")
    assert sorted(data["target"] for _, data in sent) == sorted([receiver.origin, other.origin])
    assert {event for event, _ in sent} == {"notification.sent"}
    # Webhook URLs are secrets: neither the audit history nor the task queue holds them.
    assert not AuditEntry.objects.filter(data__icontains="not-for-logs").exists()
    assert not DBTaskResult.objects.filter(args_kwargs__icontains="not-for-logs").exists()
    assert Action.objects.get(id=action["id"]).status == Status.PENDING


def test_it_retries_a_failing_webhook_without_sending_the_email_again(alice, reviewers, fast_retries, settings, caplog):
    receiver = WebhookReceiver(answers=(500, 500))
    settings.ACTIONHUB_WEBHOOK_URLS = [receiver.url]
    try:
        action = make_action(alice, DELETE)
        run_notification_tasks()
    finally:
        receiver.close()

    assert len(receiver.bodies) == 3
    assert _without_links(receiver.bodies[0]) == _without_links(receiver.bodies[2])
    assert len(mail.outbox) == 3  # one per reviewer, sent once
    assert _notifications(action.id, "webhook") == [
        (
            "notification.failed",
            {
                "channel": "webhook",
                "target": receiver.origin,
                "attempt": 1,
                "error": "answered HTTP 500",
                "will_retry": True,
            },
        ),
        (
            "notification.failed",
            {
                "channel": "webhook",
                "target": receiver.origin,
                "attempt": 2,
                "error": "answered HTTP 500",
                "will_retry": True,
            },
        ),
        ("notification.sent", {"channel": "webhook", "target": receiver.origin, "attempt": 3}),
    ]
    assert [event for event, _ in _notifications(action.id, "email")] == ["notification.sent"] * 3
    assert f"webhook to {receiver.origin} failed (attempt 2)" in caplog.text
    assert "not-for-logs" not in caplog.text


def test_it_gives_up_on_a_silent_webhook_and_leaves_the_action_pending(alice, reviewers, fast_retries, settings):
    receiver = WebhookReceiver(silent=True)
    settings.ACTIONHUB_WEBHOOK_URLS = [receiver.url]
    settings.ACTIONHUB_NOTIFY_TIMEOUT = 0.3
    settings.ACTIONHUB_NOTIFY_RETRIES = 1
    try:
        action = make_action(alice, DELETE)
        run_notification_tasks()
    finally:
        receiver.close()

    assert len(receiver.bodies) == 2
    failures = _notifications(action.id, "webhook")
    assert [(event, data["attempt"], data["will_retry"]) for event, data in failures] == [
        ("notification.failed", 1, True),
        ("notification.failed", 2, False),
    ]
    assert failures[-1][1]["error"] == "no answer within 0.3s"
    assert Action.objects.get(id=action.id).status == Status.PENDING
    assert len(mail.outbox) == 3


def test_it_folds_only_an_enormous_value_and_says_so(alice, reviewers, receiver, fast_retries, settings):
    settings.ACTIONHUB_WEBHOOK_URLS = [receiver.url]
    long_but_whole = "w" * 3_900
    enormous = "".join(f"{i:05d}," for i in range(2_000))  # 12,000 characters
    kept = make_action(alice, {"action_type": "file_operation", "parameters": _write(long_but_whole)})
    folded = make_action(alice, {"action_type": "file_operation", "parameters": _write(enormous)})
    run_notification_tasks()

    emails = {action.id: next(m.body for m in mail.outbox if str(action.id) in m.body) for action in (kept, folded)}
    posts = {
        action.id: next(b["text"] for b in receiver.bodies if str(action.id) in b["text"]) for action in (kept, folded)
    }
    marker = f"{enormous[:4_000]}… 8,000 more characters, see the link"
    for text in (emails[kept.id], posts[kept.id]):
        assert long_but_whole in text
        assert "more characters" not in text
    for text in (emails[folded.id], posts[folded.id]):
        assert marker in text
        assert enormous[:4_001] not in text
        assert f"/approvals/{folded.id}/" in text


def test_it_keeps_a_huge_action_within_slack_limits(alice):
    action = make_action(alice, DELETE)
    huge = {"path": "notes/old.txt", "chunks": ["<&>" * 1_500] * 40}
    Action.objects.filter(id=action.id).update(parameters=huge)
    action = Action.objects.select_related("requested_by").get(id=action.id)

    body = slack_body(action)

    assert len(body["text"]) <= 40_000
    assert len(body["blocks"]) <= 50
    for block in body["blocks"]:
        assert len(block.get("text", {}).get("text", "")) <= 3_000
        assert all(len(field["text"]) <= 2_000 for field in block.get("fields", []))
    parameters = [
        block["text"]["text"] for block in body["blocks"] if block.get("text", {}).get("text", "")[:3] == "```"
    ]
    assert len(parameters) > 1
    assert "more characters, see the link" in parameters[-1]
    assert not any(re.search(r"&(?!amp;|lt;|gt;)", part) for part in parameters), "an escape was split"


HOSTILE = "x``` <!channel> <@U123> <http://evil|click> &amp; *bold* _it_ ~del~ `code`\n> quoted @here"
# HOSTILE outside code: escaped, marks as look-alikes, one line, bare mentions broken by a zero-width space.
HOSTILE_TEXT = (
    "x\u02cb\u02cb\u02cb &lt;!channel&gt; &lt;@\u200bU123&gt; &lt;http://evil|click&gt; &amp;amp; "
    "\u2217bold\u2217 \u02cdit\u02cd \u223cdel\u223c \u02cbcode\u02cb &gt; quoted @\u200bhere"
)
# HOSTILE as a JSON string inside the parameters' code block: escaped, no two backticks side by side.
HOSTILE_CODE = (
    '"x`\u200b`\u200b` &lt;!channel&gt; &lt;@U123&gt; &lt;http://evil|click&gt; &amp;amp; '
    '*bold* _it_ ~del~ `code`\\n&gt; quoted @here"'
)


def test_it_lets_nothing_untrusted_break_out_of_the_slack_markup(api_as, settings):
    settings.ACTIONHUB_BASE_URL = "https://actionhub.example.org"
    requester = make_user("<!here>_*evil*_")  # names can come from the admin or a directory, unvalidated
    submitted = _submit(
        api_as,
        requester,
        {"action_type": "skill_execution", "skill_id": HOSTILE, "parameters": {"script": HOSTILE}},
    )
    Action.objects.filter(id=submitted["id"]).update(classification_reasons=[HOSTILE])
    action = Action.objects.select_related("requested_by").get(id=submitted["id"])

    body = slack_body(action)

    text = body["text"]
    name = "&lt;!here&gt;\u02cd\u2217evil\u2217\u02cd"
    assert text.splitlines()[0] == (
        f"*HIGH skill\u02cdexecution from {name} is waiting for review*: "
        f"<https://actionhub.example.org/approvals/{action.id}/|review it>"
    )
    assert f"*Skill:* {HOSTILE_TEXT}" in text.splitlines()
    assert f"*Requested by:* {name}" in text.splitlines()
    assert f"• {HOSTILE_TEXT}" in text.splitlines()
    assert f'  "script": {HOSTILE_CODE}' in text.splitlines()
    # One code block (opened and closed by us), and every <…> is one of our own links.
    assert text.count("```") == 2
    assert all(link.startswith("https://actionhub.example.org/") for link in re.findall(r"<([^>]*)>", text))
    mrkdwn = [
        item
        for block in body["blocks"]
        for item in [block.get("text", {}), *block.get("fields", [])]
        if item.get("type") == "mrkdwn"
    ]
    assert mrkdwn and all(item["verbatim"] is True for item in mrkdwn)
    assert "<" not in "".join(item["text"] for item in mrkdwn)
    assert f"*Skill*\n{HOSTILE_TEXT}" in [item["text"] for item in mrkdwn]
    assert f"*Why it is held*\n• {HOSTILE_TEXT}" in [item["text"] for item in mrkdwn]
    (code,) = [item["text"] for item in mrkdwn if item["text"].startswith("```")]
    assert code.count("```") == 2 and f'  "script": {HOSTILE_CODE}' in code.splitlines()
    assert body["blocks"][0]["text"] == {
        "type": "plain_text",
        "text": "HIGH skill_execution from <!here>_*evil*_ is waiting for review",
    }


def test_it_tells_reviewers_again_when_an_edit_keeps_the_action_held(alice, bob, reviewers, fast_retries):
    action = make_action(alice, DELETE)
    run_notification_tasks()
    action_edit(action_id=action.id, user=bob, parameters={"operation": "delete", "path": "notes/older.txt"})
    run_notification_tasks()

    assert len(mail.outbox) == 6
    assert all('"path": "notes/older.txt"' in message.body for message in mail.outbox[3:])


def test_it_does_not_notify_about_an_action_decided_before_delivery(alice, bob, reviewers, fast_retries):
    action = make_action(alice, DELETE)
    action_decide(action_id=action.id, user=bob, approved=False, reason="no")
    run_notification_tasks()

    assert mail.outbox == []
    assert _notifications(action.id) == []


def _without_links(body: dict[str, Any]) -> str:
    """A webhook body with its one-tap links (signed anew on each attempt) blanked out."""
    return re.sub(r"/approvals/link/[^/|\"]+/", "/approvals/link/…/", json.dumps(body, sort_keys=True))


def _write(content: str) -> dict[str, str]:
    return {"operation": "write", "path": "notes/big.txt", "content": content}


def test_it_retries_only_the_reviewer_whose_email_failed(
    alice, bob, carol, reviewers, fast_retries, flaky_mail, caplog
):
    flaky_mail.refuse = {"carol@example.org": 2}
    action = make_action(alice, DELETE)
    run_notification_tasks()

    assert sorted(flaky_mail.calls) == [
        "bob@example.org",
        "carol@example.org",
        "carol@example.org",
        "carol@example.org",
        "root@example.org",
    ]
    assert sorted(message.to[0] for message in mail.outbox) == [
        "bob@example.org",
        "carol@example.org",
        "root@example.org",
    ]
    by_recipient: dict[str, list[tuple[str, int]]] = {}
    for event, data in _notifications(action.id, "email"):
        by_recipient.setdefault(data["target"], []).append((event, data["attempt"]))
        assert "@" not in json.dumps(data), "the audit names reviewers by username, never by address"
    assert by_recipient == {
        "bob": [("notification.sent", 1)],
        "root": [("notification.sent", 1)],
        "carol": [("notification.failed", 1), ("notification.failed", 2), ("notification.sent", 3)],
    }
    assert "carol@example.org" not in caplog.text
    # every message carries links bound to its own recipient
    for message in mail.outbox:
        owner = type(alice).objects.get(email=message.to[0])
        for url in re.findall(r"^(?:Approve|Reject): +\S+/approvals/link/(\S+)/$", message.body, re.M):
            assert link_load(url).user_id == owner.pk


def test_it_enqueues_a_delivery_per_reviewer_only_when_the_hold_commits(alice, reviewers, fast_retries):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        make_action(alice, DELETE)
        raise RuntimeError("rolled back")
    assert not DBTaskResult.objects.filter(task_path__in=NOTIFICATION_TASKS).exists()

    action = make_action(alice, DELETE)
    run_notification_tasks()
    deliveries = DBTaskResult.objects.filter(task_path="notifications.tasks.deliver_notification")
    assert sorted(result.args_kwargs["kwargs"]["target"] for result in deliveries) == ["bob", "carol", "root"]
    assert len(mail.outbox) == 3 and str(action.id) in mail.outbox[0].body


def test_it_keeps_the_notice_due_when_queueing_its_deliveries_fails(alice, reviewers, fast_retries, monkeypatch):
    from notifications import tasks

    action = make_action(alice, DELETE)
    real = tasks._enqueue_delivery
    calls = []

    def fail_on_the_second(**kwargs: Any) -> None:
        calls.append(kwargs["target"])
        if len(calls) == 2:
            raise RuntimeError("the database went away")
        real(**kwargs)

    monkeypatch.setattr(tasks, "_enqueue_delivery", fail_on_the_second)
    with pytest.raises(RuntimeError):
        held_notices_send()
    assert Action.objects.get(id=action.id).notice_due, "still due: the crash took it off the list with nothing queued"
    assert not DBTaskResult.objects.filter(task_path__in=NOTIFICATION_TASKS).exists()

    monkeypatch.setattr(tasks, "_enqueue_delivery", real)
    run_notification_tasks()
    assert sorted(message.to[0] for message in mail.outbox) == [
        "bob@example.org",
        "carol@example.org",
        "root@example.org",
    ]
    assert not Action.objects.get(id=action.id).notice_due
    assert held_notices_send() == 0, "told once"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_it_tells_the_reviewers_of_each_action_once_when_workers_look_at_the_same_time(alice, reviewers):
    actions = [make_action(alice, DELETE) for _ in range(30)]
    start = threading.Barrier(3)
    taken: list[int] = []

    def look() -> None:
        start.wait()
        try:
            while (count := held_notices_send(limit=4)) or Action.objects.filter(notice_due=True).exists():
                taken.append(count)
        finally:
            connection.close()

    threads = [threading.Thread(target=look) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sum(taken) == len(actions)
    deliveries = DBTaskResult.objects.filter(task_path="notifications.tasks.deliver_notification")
    per_action: dict[str, int] = {}
    for result in deliveries:
        action_id = result.args_kwargs["kwargs"]["action_id"]
        per_action[action_id] = per_action.get(action_id, 0) + 1
    assert per_action == {str(action.id): 3 for action in actions}


def test_it_takes_notices_only_inside_the_transaction_that_queues_them(alice):
    from approvals.services import held_notices_take

    make_action(alice, DELETE)
    with pytest.raises(RuntimeError, match="inside the transaction"):
        held_notices_take()
    assert Action.objects.filter(notice_due=True).count() == 1


def test_it_splits_an_email_delivery_queued_for_everyone_into_one_per_reviewer(
    alice, reviewers, fast_retries, settings
):
    settings.ACTIONHUB_WEBHOOK_URLS = []
    action = make_action(alice, DELETE)
    # As if queued by an earlier release: no notice on the row, one task for every reviewer.
    Action.objects.filter(id=action.id).update(notice_due=False)
    DBTaskResult.objects.all().delete()
    from notifications.tasks import deliver_notification

    deliver_notification.enqueue(action_id=str(action.id), channel="email", target="", attempt=1)
    run_notification_tasks()

    assert sorted(message.to[0] for message in mail.outbox) == [
        "bob@example.org",
        "carol@example.org",
        "root@example.org",
    ]
    assert sorted(data["target"] for _, data in _notifications(action.id)) == ["bob", "carol", "root"]


def test_it_still_runs_a_fan_out_task_queued_by_the_previous_release(alice, reviewers, fast_retries, settings):
    from notifications.tasks import notify_action_held

    settings.ACTIONHUB_WEBHOOK_URLS = []
    action = make_action(alice, DELETE)
    Action.objects.filter(id=action.id).update(notice_due=False)  # that release queued a task instead
    notify_action_held.enqueue(action_id=str(action.id))
    run_notification_tasks()

    assert sorted(data["target"] for _, data in _notifications(action.id)) == ["bob", "carol", "root"]
    assert len(mail.outbox) == 3


def test_it_emails_only_reviewers_with_an_address_and_audits_only_real_attempts(alice, bob, carol, fast_retries):
    bob.email = "bob@example.org"
    bob.save()
    make_user("nomail", "reviewers")
    action = make_action(alice, DELETE)

    run_notification_tasks()

    assert [message.to for message in mail.outbox] == [["bob@example.org"]]
    assert _notifications(action.id) == [("notification.sent", {"channel": "email", "target": "bob", "attempt": 1})]


def test_it_writes_no_failed_notification_when_no_reviewer_has_an_address(alice, bob, carol, fast_retries, caplog):
    action = make_action(alice, DELETE)
    assert action.status == Status.PENDING

    with caplog.at_level("WARNING", logger="notifications.services"):
        run_notification_tasks()

    assert mail.outbox == []
    assert _notifications(action.id) == []
    events = list(AuditEntry.objects.filter(action_id=action.id).values_list("event", flat=True))
    assert events == ["action.created"]
    assert "no reviewer other than the requester has an email address" in caplog.text
