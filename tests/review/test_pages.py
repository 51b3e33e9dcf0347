"""The reviewer pages through the HTTP client: roles, the queue, decisions, edits, login lockout."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from approvals.models import Action, Approval, Status
from audit.models import AuditEntry
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, PASSWORD, make_action, make_user

HTMX = {"HTTP_HX_REQUEST": "true"}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def decide(client: Client, action: Action, decision: str, reason: str = "", payload_hash: str | None = None, **extra):
    # Every decision here is the final one: the second step of an approval is tested on its own.
    data = {
        "decision": decision,
        "reason": reason,
        "payload_hash": payload_hash or action.payload_hash,
        "confirm": "on",
    }
    return client.post(f"/approvals/{action.id}/decide/", data, **extra)


def test_it_sends_anonymous_visitors_to_the_login_page(db):
    for path in ("/approvals/", "/", "/approvals/00000000-0000-0000-0000-000000000000/"):
        response = Client().get(path)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_it_refuses_the_queue_to_users_without_the_reviewer_role(alice, dave):
    for user in (alice, dave):
        response = logged_in(user).get("/approvals/")
        assert response.status_code == 403
        assert b"reviewers group" in response.content


def test_it_lists_pending_actions_soonest_to_expire_first_with_counts(alice, bob, settings):
    high = make_action(alice, HIGH_ACTION)
    critical = make_action(alice, CRITICAL_ACTION)  # expires in 1h, before the HIGH one (24h)
    make_action(alice, {"action_type": "file_operation", "parameters": {"operation": "list", "path": "x"}})  # medium
    response = logged_in(bob).get("/approvals/")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index(f"action-{critical.id}") < html.index(f"action-{high.id}")
    assert "1 critical" in html and "1 high" in html
    assert "delete notes/old.txt in workspace default" in html
    assert "0/2" in html and "0/1" in html


def test_it_filters_the_queue_by_level_and_type(alice, bob):
    high = make_action(alice, HIGH_ACTION)
    critical = make_action(alice, CRITICAL_ACTION)
    html = logged_in(bob).get("/approvals/", {"level": "high"}).content.decode()
    assert f"action-{high.id}" in html and f"action-{critical.id}" not in html
    html = logged_in(bob).get("/approvals/", {"type": "config_change"}).content.decode()
    assert f"action-{critical.id}" in html and f"action-{high.id}" not in html


def test_it_answers_a_bad_filter_with_a_form_error(bob):
    response = logged_in(bob).get("/approvals/", {"level": "extreme"})
    assert response.status_code == 400
    assert b"Select a valid choice" in response.content
    response = logged_in(bob).get("/approvals/", {"after": "not-a-cursor"})
    assert response.status_code == 400
    assert b"page link is not valid" in response.content


def test_it_pages_the_queue_with_load_more(alice, bob, monkeypatch):
    monkeypatch.setattr("review.views.QUEUE_PAGE", 3)
    paths = [f"f{i}.txt" for i in range(7)]
    actions = [make_action(alice, HIGH_ACTION, parameters={"operation": "delete", "path": path}) for path in paths]
    client = logged_in(bob)
    seen: list[str] = []
    html = client.get("/approvals/").content.decode()
    while True:
        seen += [str(a.id) for a in actions if f'id="action-{a.id}"' in html and str(a.id) not in seen]
        if 'id="load-more"' not in html:
            break
        next_url = html.split('id="load-more"', 1)[1].split('hx-get="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
        html = client.get(next_url, **HTMX).content.decode()
        assert "<html" not in html  # htmx gets only the next rows
    assert sorted(seen) == sorted(str(a.id) for a in actions)


def test_it_shows_the_whole_action_on_its_detail_page(alice, bob):
    long_script = "print('x')\n" * 500
    action = make_action(
        alice, {"action_type": "skill_execution", "skill_id": "python", "parameters": {"script": long_script}}
    )
    html = logged_in(bob).get(f"/approvals/{action.id}/").content.decode()
    shown = html.split('<pre class="json"', 1)[1].split("</pre>", 1)[0]
    assert shown.count("print(&#x27;x&#x27;)") == 500  # never truncated
    assert action.payload_hash in html
    assert "action.created" in html  # the audit timeline
    assert "0/1 approvals" in html


def test_it_shows_the_requester_why_they_cannot_decide(alice, bob):
    reviewer_alice = make_user("erin", "reviewers")
    action = make_action(reviewer_alice, HIGH_ACTION)
    html = logged_in(reviewer_alice).get(f"/approvals/{action.id}/").content.decode()
    assert "You requested this action, so another reviewer must decide it." in html
    assert 'name="decision"' not in html
    response = decide(logged_in(reviewer_alice), action, "approve")
    assert response.status_code == 403
    assert b"cannot decide on an action you requested" in response.content
    assert Action.objects.get(id=action.id).status == Status.PENDING


def test_it_hides_other_peoples_actions_from_plain_users(alice):
    other = make_user("frank")
    action = make_action(alice, HIGH_ACTION)
    assert logged_in(other).get(f"/approvals/{action.id}/").status_code == 404
    assert logged_in(alice).get(f"/approvals/{action.id}/").status_code == 200


def test_it_approves_from_the_detail_page_and_redirects_with_a_message(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    response = decide(logged_in(bob), action, "approve")
    assert response.status_code == 302
    assert Action.objects.get(id=action.id).status == Status.APPROVED
    page = logged_in(bob).get(response["Location"])
    assert page.status_code == 200


def test_it_records_quorum_progress_for_critical_actions(alice, bob, carol):
    action = make_action(alice, CRITICAL_ACTION)
    response = decide(logged_in(bob), action, "approve", **HTMX)
    assert response.status_code == 200
    assert b"1 of 2" in response.content
    assert b"You approved this action; it needs 1 more approval" in response.content
    response = decide(logged_in(carol), action, "approve", **HTMX)
    assert b"Approved: it runs now." in response.content
    assert Action.objects.get(id=action.id).status == Status.APPROVED


def test_it_refuses_a_reject_without_a_reason(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    response = decide(logged_in(bob), action, "reject", reason="   ", **HTMX)
    assert response.status_code == 400
    assert b"say why you reject it" in response.content
    assert Action.objects.get(id=action.id).status == Status.PENDING
    assert not Approval.objects.filter(action=action).exists()


def test_it_rejects_with_a_reason(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    response = decide(logged_in(bob), action, "reject", reason="wrong folder", **HTMX)
    assert response.status_code == 200
    assert Action.objects.get(id=action.id).status == Status.REJECTED
    assert AuditEntry.objects.filter(action_id=action.id, event="action.rejected", actor="bob").exists()
    page = logged_in(alice).get(f"/approvals/{action.id}/").content.decode()
    assert "bob rejected: “wrong folder”" in page


def test_it_says_plainly_when_someone_else_decided_first(alice, bob, carol):
    action = make_action(alice, HIGH_ACTION)
    decide(logged_in(carol), action, "approve")
    response = decide(logged_in(bob), action, "approve", **HTMX)
    assert response.status_code == 409
    text = response.content.decode()
    assert "carol decided first" in text
    assert "Approved by carol" in text


def test_it_refuses_a_decision_on_a_changed_action(alice, bob, carol):
    action = make_action(alice, HIGH_ACTION)
    seen_hash = action.payload_hash
    edit = {"parameters": json.dumps({"operation": "delete", "path": "notes/other.txt"}), "payload_hash": seen_hash}
    assert logged_in(carol).post(f"/approvals/{action.id}/edit/", {**edit, "confirm": "on"}).status_code == 302
    client = logged_in(bob)
    response = decide(client, action, "approve", payload_hash=seen_hash, **HTMX)
    assert response["HX-Refresh"] == "true"  # the whole page reloads with the new parameters
    assert Action.objects.get(id=action.id).status == Status.PENDING
    page = client.get(f"/approvals/{action.id}/").content.decode()
    assert "changed since you opened it" in page and "notes/other.txt" in page
    response = decide(client, action, "approve", payload_hash=seen_hash)  # without JavaScript
    assert response.status_code == 409
    assert b"changed since you opened it" in response.content


def test_it_previews_an_edit_before_saving_it(alice, bob, carol):
    action = make_action(alice, CRITICAL_ACTION)
    decide(logged_in(bob), action, "approve")
    client = logged_in(carol)
    data = {"parameters": json.dumps({"key": "quorum_critical", "value": 3}), "payload_hash": action.payload_hash}
    preview = client.post(f"/approvals/{action.id}/edit/", data, **HTMX)
    assert preview.status_code == 200
    html = preview.content.decode()
    assert "quorum_critical" in html and "Save the edit" in html
    assert "1 earlier approval will no longer count" in html
    assert Action.objects.get(id=action.id).parameters["value"] == 2  # nothing saved yet
    saved = client.post(f"/approvals/{action.id}/edit/", {**data, "confirm": "on"}, **HTMX)
    assert saved.status_code == 200
    assert saved["HX-Redirect"] == f"/approvals/{action.id}/"
    action.refresh_from_db()
    assert action.parameters["value"] == 3
    assert not Approval.objects.filter(action=action, voided_at__isnull=True).exists()
    assert AuditEntry.objects.filter(action_id=action.id, event="action.edited", actor="carol").exists()


def edit_and_follow(client: Client, action: Action, parameters: dict) -> str:
    """Save an edit without JavaScript and read the page it leads to."""
    data = {"parameters": json.dumps(parameters), "payload_hash": action.payload_hash}
    preview = client.post(f"/approvals/{action.id}/edit/", data, **HTMX).content.decode()
    saved = client.post(f"/approvals/{action.id}/edit/", {**data, "confirm": "on"}, follow=True)
    assert saved.status_code == 200
    return preview + saved.content.decode()


def test_it_says_earlier_approvals_no_longer_count_only_when_an_edit_voided_some(alice, bob, carol):
    action = make_action(alice, CRITICAL_ACTION)
    editor = edit_and_follow(logged_in(carol), action, {"key": "quorum_critical", "value": 3})
    requester = logged_in(alice).get(f"/approvals/{action.id}/").content.decode()
    assert "Saved. The action is now critical risk; as its editor" in editor
    assert "carol edited your action" in requester
    for page in (editor, requester):
        assert "no longer count" not in page and "none had been given" not in page

    decide(logged_in(bob), Action.objects.get(id=action.id), "approve")
    editor = edit_and_follow(logged_in(carol), Action.objects.get(id=action.id), {"key": "quorum_critical", "value": 4})
    requester = logged_in(alice).get(f"/approvals/{action.id}/").content.decode()
    assert "1 earlier approval will no longer count" in editor  # the preview
    assert "Saved. The action is now critical risk; 1 earlier approval no longer counts; as its editor" in editor
    assert "1 approval given before the edits no longer counts." in requester


def test_it_warns_that_an_edit_to_a_lower_level_runs_at_once(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    data = {"parameters": json.dumps({"operation": "list", "path": "notes"}), "payload_hash": action.payload_hash}
    html = logged_in(bob).post(f"/approvals/{action.id}/edit/", data, **HTMX).content.decode()
    assert "Policy approves medium actions, so saving runs it at once." in html


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "must be a JSON object"),
        (json.dumps({"operation": "explode", "path": "x"}), "operation"),
        ('{"operation": "delete", "path": "\\ud800.txt"}', "\\ud800 is a lone surrogate"),
        ('{"operation": "delete", "path": "x.txt", "n": NaN}', "NaN is not a JSON number"),
    ],
)
def test_it_refuses_bad_edits_with_a_form_error(alice, bob, parameters, message):
    action = make_action(alice, HIGH_ACTION)
    data = {"parameters": parameters, "payload_hash": action.payload_hash, "confirm": "on"}
    response = logged_in(bob).post(f"/approvals/{action.id}/edit/", data, **HTMX)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert Action.objects.get(id=action.id).payload_hash == action.payload_hash


def test_it_refuses_a_decision_post_without_csrf_token(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    client = Client(enforce_csrf_checks=True)
    client.force_login(bob)
    response = decide(client, action, "approve")
    assert response.status_code == 403
    assert b"This form has expired" in response.content
    assert Action.objects.get(id=action.id).status == Status.PENDING


def test_it_locks_a_username_after_repeated_failed_logins(bob, settings):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/accounts/login/", {"username": "bob", "password": "wrong"})
        assert response.status_code in (200, 429)
    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed log-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_it_logs_in_and_out_through_the_pages(bob):
    client = Client()
    response = client.post("/accounts/login/", {"username": "bob", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").url == "/approvals/"
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/approvals/").status_code == 302


def test_it_shows_the_current_value_beside_a_config_change(alice, bob):
    action = make_action(alice, {"action_type": "config_change", "parameters": {"key": "expiry_high", "value": "12h"}})
    html = logged_in(bob).get(f"/approvals/{action.id}/").content.decode()
    now = html.split("Value now", 1)[1].split("</pre>", 1)[0]
    assert now.strip().endswith("1d") and "86400" not in now  # the unit a person reads, not stored seconds


def test_it_sends_a_strict_content_security_policy(bob):
    policy = logged_in(bob).get("/approvals/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy and "connect-src 'self'" in policy
