"""/audit/ through the HTTP client: roles, filters, keyset paging, timeline, chain banner, chart, exports."""

from __future__ import annotations

import csv
import io
import json
import re
from contextlib import contextmanager
from datetime import timedelta
from uuid import uuid4

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from approvals.models import Action, Status
from approvals.services import action_decide
from audit import services, triggers
from audit.export import neutralise
from audit.models import AuditEntry, AuditVerification
from audit.services import audit_append, audit_full_pass_step
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, MEDIUM_ACTION, make_action, make_user
from tests.workers import in_process_worker


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@contextmanager
def tampering():
    triggers.uninstall(connection)
    try:
        yield
    finally:
        triggers.install(connection)


def seqs_on(html: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'id="entry-(\d+)"', html)]


def csv_rows(response) -> list[dict[str, str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def jsonl_rows(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return [json.loads(line) for line in body.splitlines()]


def test_it_sends_anonymous_visitors_to_the_login_page(db):
    for path in ("/audit/", "/audit/export.csv", "/audit/export.jsonl", f"/audit/actions/{uuid4()}/"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_it_refuses_reviewers_and_requesters_who_are_not_auditors(alice, bob):
    for user in (alice, bob):
        client = logged_in(user)
        for path in ("/audit/", "/audit/export.csv", "/audit/export.jsonl"):
            response = client.get(path)
            assert response.status_code == 403, path
        assert b"auditors group" in client.get("/audit/").content


def test_it_opens_the_history_to_auditors_staff_and_superusers(dave, db):
    staff = make_user("erin", is_staff=True)
    root = make_user("root", is_superuser=True)
    for user in (dave, staff, root):
        response = logged_in(user).get("/audit/")
        assert response.status_code == 200
        assert b'href="/audit/"' in response.content  # the nav link


def test_it_hides_the_nav_link_from_non_auditors(bob):
    response = logged_in(bob).get("/approvals/")
    assert b'href="/audit/"' not in response.content


def test_it_lists_entries_newest_first_with_readable_data(alice, dave):
    action = make_action(alice, HIGH_ACTION)
    audit_append(
        actor="bob", event="test.note", action_id=action.id, data={"long": "x" * 5000, "nested": {"k": [1, 2]}}
    )
    response = logged_in(dave).get("/audit/")
    html = response.content.decode()
    seqs = seqs_on(html)
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == AuditEntry.objects.count()
    assert "x" * 5000 in html  # never cut
    assert "&quot;nested&quot;: {\n    &quot;k&quot;: [\n      1," in html  # pretty JSON
    assert f"/audit/actions/{action.id}/" in html and f"/approvals/{action.id}/" in html
    assert "test.note" in html and "badge-high" in html


def test_it_filters_by_actor_event_action_level_and_dates(alice, bob, dave):
    high = make_action(alice, HIGH_ACTION)
    medium = make_action(alice, MEDIUM_ACTION)
    action_decide(action_id=high.id, user=bob, approved=False, reason="no", payload_hash=high.payload_hash)
    client = logged_in(dave)

    def seqs(**params) -> set[int]:
        response = client.get("/audit/", params)
        assert response.status_code == 200
        return set(seqs_on(response.content.decode()))

    everything = AuditEntry.objects.all()
    assert seqs(actor="bob") == {e.seq for e in everything if e.actor == "bob"} != set()
    assert seqs(event="action.created") == {e.seq for e in everything if e.event == "action.created"}
    assert seqs(action=str(medium.id)) == {e.seq for e in everything if e.action_id == medium.id}
    assert seqs(level="high") == {e.seq for e in everything if e.action_id == high.id}
    assert seqs(level="medium") == {e.seq for e in everything if e.action_id == medium.id}
    today = timezone.now().date()
    assert seqs(since=str(today), until=str(today)) == {e.seq for e in everything}
    assert seqs(until=str(today - timedelta(days=1))) == set()
    assert seqs(since=str(today + timedelta(days=1))) == set()


@pytest.mark.parametrize(
    "params, field",
    [
        ({"action": "not-a-uuid"}, "action id is a UUID"),
        ({"level": "extreme"}, "Select a valid choice"),
        ({"since": "yesterday"}, "Enter the day as YYYY-MM-DD"),
        ({"since": "2026-02-10", "until": "2026-02-01"}, "end date is before the start date"),
        ({"before": "abc"}, "page link is not valid"),
        ({"before": "-5"}, "greater than or equal to 1"),
        ({"actor": "x" * 151}, "at most 150 characters"),
        ({"until": "9999-12-31"}, "pick a day from 1970-01-01 to 9998-12-31"),
        ({"since": "9999-12-31"}, "pick a day from 1970-01-01 to 9998-12-31"),
        ({"until": "0001-01-01"}, "pick a day from 1970-01-01 to 9998-12-31"),
        ({"since": "0001-01-01", "until": "0001-01-02"}, "pick a day from 1970-01-01 to 9998-12-31"),
    ],
)
def test_it_answers_bad_filters_with_form_errors(dave, params, field):
    for path in ("/audit/", "/audit/export.csv", "/audit/export.jsonl"):
        response = logged_in(dave).get(path, params)
        assert response.status_code == 400, path
        assert field in response.content.decode(), path
        assert "No entries match" not in response.content.decode() and "export.csv" not in response.content.decode()


def test_it_pages_by_seq_with_older_entries_links(dave, monkeypatch):
    monkeypatch.setattr("audit.views.PAGE_SIZE", 3)
    for n in range(8):
        audit_append(actor="bot", event="test.page", data={"n": n})
    client = logged_in(dave)
    first = client.get("/audit/", {"event": "test.page"}).content.decode()
    assert seqs_on(first) == [8, 7, 6]
    assert "before=6" in first and "event=test.page" in first
    # htmx asks for the next page: just the entries and the next link, no socket (not the first page)
    second = client.get("/audit/", {"event": "test.page", "before": 6}, HTTP_HX_REQUEST="true").content.decode()
    assert seqs_on(second) == [5, 4, 3] and "<h1>" not in second
    third = client.get("/audit/", {"event": "test.page", "before": 3}).content.decode()
    assert seqs_on(third) == [2, 1] and "before=" not in third and "ws-connect" not in third


def test_it_shows_one_actions_timeline_oldest_first_with_its_summary(alice, bob, dave):
    action = make_action(alice, HIGH_ACTION)
    make_action(alice, MEDIUM_ACTION)
    action_decide(action_id=action.id, user=bob, approved=False, reason="not today", payload_hash=action.payload_hash)
    response = logged_in(dave).get(f"/audit/actions/{action.id}/")
    html = response.content.decode()
    own = list(AuditEntry.objects.filter(action_id=action.id).order_by("seq").values_list("seq", flat=True))
    assert seqs_on(html) == own and len(own) >= 2
    assert "delete notes/old.txt in workspace default" in html and "rejected" in html
    assert logged_in(dave).get(f"/audit/actions/{uuid4()}/").status_code == 404
    assert logged_in(bob).get(f"/audit/actions/{action.id}/").status_code == 403


def full_pass(owner: str = "worker-1", **kwargs) -> str:
    """What a worker's maintenance rounds do until the due full pass is over."""
    while (outcome := audit_full_pass_step(owner=owner, **kwargs)) == "progress":
        pass
    return outcome


def appended(count: int) -> None:
    for n in range(count):
        audit_append(actor="bot", event="test.chain", data={"n": n})


def test_it_says_not_yet_verified_until_a_worker_runs_the_first_full_pass(dave):
    appended(3)
    client = logged_in(dave)
    html = client.get("/audit/").content.decode()
    assert "Chain not yet verified." in html and "verified up to" not in html
    assert full_pass() == "verified"
    assert "Chain verified up to seq 3</strong> (full pass finished at" in client.get("/audit/").content.decode()


def test_it_banners_a_verified_chain_and_checks_only_new_entries(dave):
    appended(3)
    full_pass()
    client = logged_in(dave)
    assert "Chain verified up to seq 3</strong>" in client.get("/audit/").content.decode()
    full_at = AuditVerification.objects.get().full_at
    audit_append(actor="bot", event="test.chain", data={"n": 3})
    assert "Chain verified up to seq 4</strong>" in client.get("/audit/").content.decode()
    assert AuditVerification.objects.get().full_at == full_at  # incremental, no full pass


def test_it_re_hashes_a_bounded_number_of_new_entries_per_request_and_says_so(dave, monkeypatch):
    appended(3)
    full_pass()
    monkeypatch.setattr(services, "PAGE_VERIFY_LIMIT", 2)
    appended(5)
    client = logged_in(dave)
    html = client.get("/audit/").content.decode()
    assert (
        "Chain verified up to seq 5</strong>" in html and "Entries after seq 5 (up to 8) are not checked yet." in html
    )
    assert "Chain verified up to seq 7</strong>" in client.get("/audit/").content.decode()


def test_it_keeps_the_page_fast_when_a_full_pass_is_due(dave, settings):
    appended(4)
    full_pass()
    full_at = AuditVerification.objects.get().full_at
    settings.ACTIONHUB_AUDIT_FULL_VERIFY_EVERY = timedelta(0)
    client = logged_in(dave)
    with CaptureQueriesContext(connection) as queries:
        html = client.get("/audit/").content.decode()
    # The request did not re-hash from the genesis: no read of the entries from seq 0 on.
    assert not [q for q in queries.captured_queries if "WHERE seq > 0 ORDER BY seq" in q["sql"]]
    assert "Chain verified up to seq 4</strong>" in html
    assert AuditVerification.objects.get().full_at == full_at


def test_it_banners_a_tampered_chain_with_the_first_broken_seq(dave):
    appended(5)
    with tampering(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET actor = 'mallory' WHERE seq = 3")
    assert full_pass() == "broken"
    html = logged_in(dave).get("/audit/").content.decode()
    assert "Chain broken at seq 3" in html and "does not match its hash" in html


def test_it_finds_tampering_after_the_verified_seq_incrementally(dave):
    appended(3)
    full_pass()
    client = logged_in(dave)
    client.get("/audit/")
    appended(2)
    with tampering(), connection.cursor() as cursor:
        cursor.execute("""UPDATE audit_auditentry SET data = '{"n":99}' WHERE seq = 5""")
    assert "Chain broken at seq 5" in client.get("/audit/").content.decode()


def test_it_re_hashes_the_verified_part_in_the_worker_once_the_full_check_is_old(dave, settings):
    appended(4)
    full_pass()
    client = logged_in(dave)
    assert "verified up to seq 4" in client.get("/audit/").content.decode()
    with tampering(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET event = 'test.forged' WHERE seq = 2")
    # Inside the verified part, with the hashes left alone: the incremental look cannot see it...
    assert "verified up to seq 4" in client.get("/audit/").content.decode()
    assert full_pass() == "idle"  # ...nor a worker while the last full pass is recent...
    settings.ACTIONHUB_AUDIT_FULL_VERIFY_EVERY = timedelta(0)
    assert "verified up to seq 4" in client.get("/audit/").content.decode()  # ...nor the page when it is due...
    assert full_pass() == "broken"  # ...the worker's next full pass does.
    assert "Chain broken at seq 2" in client.get("/audit/").content.decode()


def test_it_runs_the_full_pass_in_resumable_chunks_and_banners_its_progress(dave, settings):
    appended(5)
    full_pass()
    settings.ACTIONHUB_AUDIT_FULL_VERIFY_EVERY = timedelta(0)
    client = logged_in(dave)
    assert audit_full_pass_step(owner="worker-1", budget=0, chunk=2) == "progress"
    assert "Full pass in progress: up to seq 2." in client.get("/audit/").content.decode()
    # worker-1 dies; once its lease lapses another worker resumes at seq 2, not at the genesis.
    AuditVerification.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    with CaptureQueriesContext(connection) as queries:
        assert audit_full_pass_step(owner="worker-2", budget=0, chunk=2) == "progress"
    assert any("WHERE seq > 2 ORDER BY seq" in q["sql"] for q in queries.captured_queries)
    assert "Full pass in progress: up to seq 4." in client.get("/audit/").content.decode()
    assert full_pass(owner="worker-2", chunk=2) == "verified"
    state = AuditVerification.objects.get()
    assert state.pass_seq is None and state.seq == 5 and state.ok


def test_it_never_lets_two_workers_run_the_full_pass_at_once(dave):
    appended(5)
    assert audit_full_pass_step(owner="worker-1", budget=0, chunk=2) == "progress"
    assert audit_full_pass_step(owner="worker-2", budget=0, chunk=2) == "busy"
    assert AuditVerification.objects.get().pass_seq == 2  # worker-2 checked nothing
    assert full_pass(owner="worker-1", chunk=2) == "verified"


def test_it_finds_a_rewritten_verified_entry_at_once(dave):
    appended(3)
    full_pass()
    client = logged_in(dave)
    client.get("/audit/")
    with tampering(), connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditentry SET hash = %s WHERE seq = 3", ["f" * 64])
    assert "Chain broken at seq 3" in client.get("/audit/").content.decode()


def test_it_charts_actions_per_day_by_outcome(alice, bob, dave):
    rejected = make_action(alice, HIGH_ACTION)
    action_decide(action_id=rejected.id, user=bob, approved=False, reason="no", payload_hash=rejected.payload_hash)
    make_action(alice, HIGH_ACTION)
    make_action(alice, CRITICAL_ACTION)
    old = make_action(alice, HIGH_ACTION)
    Action.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=3), status=Status.EXPIRED)
    today = timezone.now().date()
    response = logged_in(dave).get("/audit/")
    chart = response.context["chart"]
    assert len(chart.bars) == 14 and chart.bars[-1].day == today
    assert chart.totals["pending"] == 2 and chart.totals["rejected"] == 1 and chart.totals["expired"] == 1
    assert chart.bars[-1].total == 3 and chart.bars[-4].total == 1
    html = response.content.decode()
    assert '<svg viewBox="0 0 720 240" role="img"' in html and '<title id="chart-title">' in html
    assert f'<th scope="row">{today:%Y-%m-%d}</th><td>0</td><td>0</td><td>1</td><td>0</td><td>0</td><td>2</td>' in html
    # The risk filter narrows the chart too, and the date range chooses its days.
    filtered = logged_in(dave).get("/audit/", {"level": "critical", "since": str(today - timedelta(days=2))})
    assert filtered.context["chart"].totals["pending"] == 1 and len(filtered.context["chart"].bars) == 3


def test_it_exports_the_filtered_set_as_csv_and_jsonl(alice, bob, dave):
    high = make_action(alice, HIGH_ACTION)
    make_action(alice, MEDIUM_ACTION)
    action_decide(
        action_id=high.id, user=bob, approved=False, reason='say "no", twice\nplease', payload_hash=high.payload_hash
    )
    client = logged_in(dave)
    wanted = list(AuditEntry.objects.filter(action_id=high.id).order_by("-seq"))
    response = client.get("/audit/export.csv", {"level": "high"})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == f'attachment; filename="audit-{timezone.now():%Y-%m-%d}.csv"'
    rows = csv_rows(response)
    assert [int(row["seq"]) for row in rows] == [entry.seq for entry in wanted]
    assert [json.loads(row["data"]) for row in rows] == [entry.data for entry in wanted]
    assert rows[0]["hash"] == wanted[0].hash and rows[0]["action_id"] == str(high.id)
    response = client.get("/audit/export.jsonl", {"level": "high"})
    assert response["Content-Disposition"].endswith('.jsonl"')
    lines = jsonl_rows(response)
    assert [line["seq"] for line in lines] == [entry.seq for entry in wanted]
    assert lines[0]["data"] == wanted[0].data and lines[0]["prev_hash"] == wanted[0].prev_hash
    # The exported rows re-hash to the chain (nothing lost in the export's formatting).
    from audit.verify import row_hash

    for line in lines:
        data = json.dumps(line["data"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        assert (
            row_hash(line["prev_hash"], line["seq"], line["at"], line["actor"], line["event"], line["action_id"], data)
            == line["hash"]
        )


def test_it_streams_exports_in_chunks_in_seq_order(dave, monkeypatch):
    monkeypatch.setattr("audit.selectors.EXPORT_CHUNK", 7)
    for n in range(30):
        audit_append(actor="bot", event="test.bulk", data={"n": n})
    response = logged_in(dave).get("/audit/export.jsonl", {"event": "test.bulk"})
    assert [line["data"]["n"] for line in jsonl_rows(response)] == list(range(29, -1, -1))


def test_it_neutralises_spreadsheet_formulas_in_csv(dave):
    audit_append(actor='=HYPERLINK("http://evil")', event="+cmd", data={"x": 1})
    audit_append(actor="@SUM(A1)", event="-2+3", data={"x": 2})
    rows = csv_rows(logged_in(dave).get("/audit/export.csv"))
    assert rows[0]["actor"] == "'@SUM(A1)" and rows[0]["event"] == "'-2+3"
    assert rows[1]["actor"] == '\'=HYPERLINK("http://evil")' and rows[1]["event"] == "'+cmd"
    assert neutralise("plain") == "plain" and neutralise("\tx") == "'\tx"
    # JSON Lines is data, not a spreadsheet: it keeps the exact values.
    lines = jsonl_rows(logged_in(dave).get("/audit/export.jsonl"))
    assert lines[0]["actor"] == "@SUM(A1)"


def test_it_runs_the_full_pass_from_the_executor_workers_maintenance(dave):
    appended(3)
    worker = in_process_worker("worker-1")
    worker.maintain()
    state = AuditVerification.objects.get()
    assert state.verified and state.ok and state.seq == 3 and state.lease_until is None
    assert "Chain verified up to seq 3</strong>" in logged_in(dave).get("/audit/").content.decode()


def test_it_shows_each_entry_as_one_line_that_unfolds_to_its_full_data(dave):
    reason = "because " * 600  # longer than any line or box on the page
    data = {"reason": reason.strip(), "changes": {"path": ["a.txt", "b.txt"], "depth": 3}}
    entry = audit_append(actor="bob", event="action.rejected", data=data)
    html = logged_in(dave).get("/audit/").content.decode()
    item = html[html.index(f'id="entry-{entry.seq}"') :]
    item = item[: item.index("</li>")]
    summary = item[item.index("<summary") : item.index("</summary>")]
    assert f'datetime="{entry.at.isoformat()}"' in summary and "bob" in summary and "action.rejected" in summary
    short = summary[summary.index('class="entry-summary"') :]
    assert "reason: because because" in short and "changes: {" in short and len(short) < 260
    assert item.index("</summary>") < item.index('<pre class="json entry-data"')  # folded under its line
    full = item[item.index("<pre") : item.index("</pre>")]
    assert full.endswith(escape(json.dumps(data, indent=2, sort_keys=True))) and "max-height" not in full


def test_it_takes_and_shows_the_filter_days_as_iso_dates(dave):
    client = logged_in(dave)
    html = client.get("/audit/", {"since": "2026-02-01", "until": "2026-02-10"}).content.decode()
    for name, day in (("since", "2026-02-01"), ("until", "2026-02-10")):
        field = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
        assert f'value="{day}"' in field and 'placeholder="YYYY-MM-DD"' in field and 'type="date"' not in field
        assert f'aria-describedby="{name}-format"' in field
    assert html.count(">YYYY-MM-DD<") == 2  # the labels say the format
    refused = client.get("/audit/", {"since": "02/01/2026"})
    assert refused.status_code == 400 and "Enter the day as YYYY-MM-DD" in refused.content.decode()


@pytest.mark.parametrize("days", [1, 14, 31, 92])
def test_it_labels_every_day_of_the_chart(dave, days):
    today = timezone.now().date()
    html = logged_in(dave).get("/audit/", {"since": str(today - timedelta(days=days - 1))}).content.decode()
    labels = re.findall(r'<text class="tick day"[^>]*>([^<]+)</text>', html)
    wanted = [f"{today - timedelta(days=back):%b} {(today - timedelta(days=back)).day}" for back in range(days)][::-1]
    assert labels == wanted
    rotated = [label for label in re.findall(r'<text class="tick day"[^>]*>', html) if "rotate(-90" in label]
    assert len(rotated) == (days if days > 16 else 0)  # turned upright when side by side they would touch


MOMENT = re.compile(r'<time datetime="([^"]+)" title="[^"]+">(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}) UTC</time>')


def test_it_shows_audit_times_in_the_sites_one_format_with_its_zone(alice, dave):
    action = make_action(alice, HIGH_ACTION)
    entries = list(AuditEntry.objects.filter(action_id=action.id))
    assert full_pass() == "verified"
    client = logged_in(dave)

    history = client.get("/audit/").content.decode()
    # every entry's line, and the verified banner
    times = dict(MOMENT.findall(history.split('id="audit-list"', 1)[1]))
    for entry in entries:
        assert times[entry.at.isoformat()] == f"{entry.at:%Y-%m-%d %H:%M:%S}"
    full_at = AuditVerification.objects.get().full_at
    assert f"(full pass finished at {MOMENT.search(history.split('full pass finished at', 1)[1]).group(0)})" in history
    assert MOMENT.search(history.split("full pass finished at", 1)[1]).group(1) == full_at.isoformat()

    timeline = client.get(f"/audit/actions/{action.id}/").content.decode()
    created = timeline.split("<dt>Created</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert MOMENT.fullmatch(created).group(1) == action.created_at.isoformat()
    assert {match[0] for match in MOMENT.findall(timeline)} >= {entry.at.isoformat() for entry in entries}
    assert " a.m." not in history + timeline and " p.m." not in history + timeline
