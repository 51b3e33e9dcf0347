"""An auditor reads, filters and exports the audit history in a real browser; others are refused."""

from __future__ import annotations

import csv
import json

from tests.e2e.conftest import REVIEWERS, log_in

HIGH = {"action_type": "file_operation", "parameters": {"operation": "delete", "path": "reports/q3-draft.md"}}
CRITICAL = {"action_type": "config_change", "parameters": {"key": "quorum_critical", "value": 2}}
USERS = {"alice": [], "bob": REVIEWERS, "dave": ["auditors"]}


def shown_seqs(page) -> list[int]:
    return [
        int(seq) for seq in page.locator("#audit-list > li.entry").evaluate_all("els => els.map(e => e.dataset.seq)")
    ]


def test_it_lets_an_auditor_filter_the_history_and_export_what_the_page_shows(browser, start_site, tmp_path):
    site = start_site(users=USERS)
    for spec in (HIGH, CRITICAL, HIGH):
        status, _ = site.api("alice", "POST", "/actions", spec)
        assert status == 201
    status, high = site.api("alice", "POST", "/actions", HIGH)
    status, _ = site.api("bob", "POST", f"/actions/{high['id']}/approve", {"approved": False, "reason": "not now"})
    assert status == 200

    dave = log_in(browser, site, "dave", "/audit/")
    dave.wait_for_selector("#live-state.ok")
    assert "Chain verified up to seq" in dave.locator("#chain-state").inner_text()
    assert dave.locator(".chart svg[role=img] title").count() >= 1
    assert dave.get_by_role("link", name="Audit").get_attribute("aria-current") == "page"

    # A new entry arrives live, at the top
    status, late = site.api("alice", "POST", "/actions", HIGH)
    dave.locator(f"#audit-list > li.entry:first-child a[href='/audit/actions/{late['id']}/']").wait_for()

    # Filter to high-risk rejections; the page shows exactly those
    dave.select_option("#id_level", "high")
    dave.fill("#id_event", "action.rejected")
    dave.click("form.audit-filters button[type=submit]")
    dave.wait_for_url("**/audit/?*level=high*")
    dave.wait_for_selector("#live-state.ok")
    seqs = shown_seqs(dave)
    assert len(seqs) == 1
    assert "not now" in dave.locator("#audit-list").inner_text()

    with dave.expect_download() as download_info:
        dave.click("a[data-export=csv]")
    download = download_info.value
    assert download.suggested_filename.startswith("audit-") and download.suggested_filename.endswith(".csv")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["seq"]) for row in rows] == seqs
    assert all(row["event"] == "action.rejected" for row in rows)

    with dave.expect_download() as download_info:
        dave.click("a[data-export=jsonl]")
    path = tmp_path / "export.jsonl"
    download_info.value.save_as(path)
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["seq"] for line in lines] == seqs and lines[0]["data"]["reason"] == "not now"

    # The timeline of that action, reachable from its entry, oldest first
    dave.locator("#audit-list > li.entry a", has_text="timeline").first.click()
    dave.wait_for_url(f"**/audit/actions/{high['id']}/")
    events = dave.locator(".audit-list code.event").all_inner_texts()
    assert events == ["action.created", "action.rejected"]
    assert dave.console_errors == []


def test_it_refuses_the_history_and_its_exports_to_a_non_auditor(browser, start_site):
    site = start_site(users=USERS)
    bob = log_in(browser, site, "bob")
    assert bob.get_by_role("link", name="Audit").count() == 0
    response = bob.goto(f"{site.url}/audit/")
    assert response.status == 403
    assert "auditors group" in bob.content()
    for kind in ("csv", "jsonl"):
        assert bob.request.get(f"{site.url}/audit/export.{kind}").status == 403


APPEND_FIFTY = """
from audit.services import audit_append
for n in range(49):
    audit_append(actor="bot", event="test.filler", data={"n": n, "note": "filler " * 20})
audit_append(actor="bob", event="action.rejected", data={"reason": "because " * 400, "paths": ["a.txt"] * 30})
"""


def test_it_shows_one_line_per_entry_that_unfolds_in_place_to_the_full_data(browser, start_site):
    site = start_site(users=USERS)
    site.run(APPEND_FIFTY)
    dave = log_in(browser, site, "dave", "/audit/")
    dave.wait_for_selector("#live-state.ok")
    entries = dave.locator("#audit-list > li.entry")
    assert entries.count() == 50
    height = dave.evaluate("document.documentElement.scrollHeight")
    assert height < 3000, height  # one line each, not each entry's data
    line = entries.first.locator("summary").bounding_box()["height"]
    assert line < 30, line

    newest = entries.first
    data = newest.locator("pre.entry-data")
    assert not data.is_visible()
    where = "el => el.getBoundingClientRect().top + window.scrollY"
    top = newest.evaluate(where)
    newest.locator("summary").focus()
    dave.keyboard.press("Enter")
    assert data.is_visible() and newest.evaluate(where) == top  # in place
    shown = json.loads(data.inner_text())
    assert shown == {"reason": ("because " * 400), "paths": ["a.txt"] * 30}  # every character of it
    box = data.evaluate("el => [el.scrollHeight, el.clientHeight, el.scrollWidth, el.clientWidth]")
    assert box[0] <= box[1] and box[2] <= box[3], box  # nothing cut or hidden behind a scrollbar
    assert entries.nth(1).locator("summary").bounding_box()["y"] > data.bounding_box()["y"]

    # The same on a phone: the opened entry fits the screen's width
    dave.set_viewport_size({"width": 390, "height": 844})
    assert dave.evaluate("document.documentElement.scrollWidth") <= 390
    assert dave.console_errors == []
