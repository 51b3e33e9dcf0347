"""Rule pages through the HTTP client: allow similar with its preview, the list, edit, disable."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from approvals.models import Action, Status
from audit.models import AuditEntry
from rules.models import Rule
from rules.services import rule_create
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, make_action, make_user

HTMX = {"HTTP_HX_REQUEST": "true"}


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def erin(db):
    """A reviewer who may also write rules."""
    return make_user("erin", "reviewers", "rule_admins")


def delete(path: str) -> dict:
    return {"action_type": "file_operation", "parameters": {"operation": "delete", "path": path}}


def rule_form(action: Action, **overrides: str) -> dict[str, str]:
    """What the prefilled form posts for `action`, with some fields changed."""
    data = {
        "payload_hash": action.payload_hash,
        "kind_operation": "exact",
        "value_operation": action.parameters["operation"],
        "kind_path": "glob",
        "value_path": "notes/*.txt",
        "kind_content": "any",
        "value_content": "",
        "kind_workspace": "exact",
        "value_workspace": "default",
        "effect": "allow",
        "expires_at": (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S"),
        "note": "routine clean-up",
    }
    return {**data, **overrides}


def test_it_offers_allow_similar_to_rule_admins_who_may_decide(alice, bob, erin):
    action = make_action(alice, HIGH_ACTION)
    assert "Approve and allow similar" in logged_in(erin).get(f"/approvals/{action.id}/").content.decode()
    assert "Approve and allow similar" not in logged_in(bob).get(f"/approvals/{action.id}/").content.decode()
    assert ">Rules</a>" in logged_in(erin).get("/approvals/").content.decode()
    assert ">Rules</a>" in logged_in(bob).get("/approvals/").content.decode()  # reviewers may read them


def test_it_prefills_the_form_from_the_action_and_previews_it(alice, erin):
    action = make_action(alice, delete("notes/2026/old.txt"))
    response = logged_in(erin).get(f"/approvals/rules/new/{action.id}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="value_path"' in html and "notes/2026/*.txt</textarea>" in html
    assert re.search(r'<option value="glob" selected>path glob</option>', html)
    assert re.search(r'name="value_operation"[^>]*>\s*delete</textarea>', html)
    assert re.search(r'name="value_workspace"[^>]*>\s*default</textarea>', html)
    assert "<strong data-preview-count>1</strong> action would have been approved" in html


def test_it_previews_exactly_what_the_rule_then_decides(alice, erin):
    paths = ["notes/a.txt", "notes/b.txt", "notes/sub/c.txt", "notes/d.md", "other/e.txt"]
    actions = [make_action(alice, delete(path)) for path in paths]
    make_action(alice, {"action_type": "file_operation", "parameters": {"operation": "read", "path": "notes/f.txt"}})
    old = make_action(alice, delete("notes/old.txt"))
    Action.objects.filter(id=old.id).update(created_at=timezone.now() - timedelta(days=31))  # outside the window
    client = logged_in(erin)

    preview = client.post(f"/approvals/rules/new/{actions[0].id}/preview/", rule_form(actions[0]), **HTMX)
    html = preview.content.decode()
    assert "<strong data-preview-count>2</strong> actions would have been approved" in html
    previewed = {action.parameters["path"] for action in actions if str(action.id) in html}
    assert previewed == {"notes/a.txt", "notes/b.txt"}

    saved = client.post(f"/approvals/rules/new/{actions[0].id}/", rule_form(actions[0]))
    assert saved.status_code == 302
    assert Rule.objects.count() == 1
    assert Action.objects.get(id=actions[0].id).status == Status.APPROVED
    assert str(old.id) not in html
    decided = {path for path in paths if make_action(alice, delete(path)).status == Status.APPROVED}
    assert decided == previewed


def test_it_previews_a_narrower_rule_live_as_fields_change(alice, erin):
    first = make_action(alice, delete("notes/a.txt"))
    make_action(alice, delete("notes/b.txt"))
    data = rule_form(first, kind_path="exact", value_path="notes/a.txt")
    html = logged_in(erin).post(f"/approvals/rules/new/{first.id}/preview/", data, **HTMX).content.decode()
    assert "<strong data-preview-count>1</strong>" in html
    bad = rule_form(first, kind_path="glob", value_path="/etc/*")
    html = logged_in(erin).post(f"/approvals/rules/new/{first.id}/preview/", bad, **HTMX).content.decode()
    assert "Not a valid rule yet" in html and "relative to the workspace" in html


def test_it_approves_as_the_reviewer_and_creates_the_rule_together(alice, erin):
    action = make_action(alice, HIGH_ACTION)
    client = logged_in(erin)
    response = client.post(f"/approvals/rules/new/{action.id}/", rule_form(action))
    assert response.status_code == 302 and response["Location"] == f"/approvals/{action.id}/"
    approved = AuditEntry.objects.get(action_id=action.id, event="action.approved")
    assert approved.actor == "erin" and approved.data["payload_hash"] == action.payload_hash
    created = AuditEntry.objects.get(event="rule.created")
    assert created.actor == "erin" and created.action_id == action.id
    page = client.get(f"/approvals/{action.id}/").content.decode()
    assert f"rule #{Rule.objects.get().id} now allows similar actions" in page


@pytest.mark.parametrize(
    ("change", "field_error"),
    [
        ({"kind_operation": "any", "kind_path": "any", "kind_workspace": "any"}, "at least one matcher"),
        ({"kind_path": "url_prefix"}, "Select a valid choice"),
        ({"kind_operation": "exact", "value_operation": "shred"}, "not a valid value"),
        ({"expires_at": "2020-01-01T00:00:00"}, "must be in the future"),
        ({"expires_at": (timezone.now() + timedelta(days=95)).strftime("%Y-%m-%dT%H:%M:%S")}, "at most 90 days"),
    ],
)
def test_it_saves_nothing_and_shows_why_for_a_bad_rule(alice, erin, change, field_error):
    action = make_action(alice, HIGH_ACTION)
    response = logged_in(erin).post(f"/approvals/rules/new/{action.id}/", rule_form(action, **change))
    assert response.status_code == 400
    assert field_error in response.content.decode()
    assert Rule.objects.count() == 0
    assert Action.objects.get(id=action.id).status == Status.PENDING


def test_it_saves_nothing_when_the_action_changed_since_the_form_was_opened(alice, erin):
    action = make_action(alice, HIGH_ACTION)
    response = logged_in(erin).post(f"/approvals/rules/new/{action.id}/", rule_form(action, payload_hash="0" * 64))
    assert response.status_code == 409
    assert "changed since you saw it" in response.content.decode()
    assert Rule.objects.count() == 0 and Action.objects.get(id=action.id).status == Status.PENDING


def test_it_refuses_the_rule_pages_to_users_outside_rule_admins(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    client = logged_in(bob)
    assert client.get(f"/approvals/rules/new/{action.id}/").status_code == 403
    assert client.post(f"/approvals/rules/new/{action.id}/", rule_form(action)).status_code == 403
    assert Rule.objects.count() == 0 and Action.objects.get(id=action.id).status == Status.PENDING
    assert client.get("/approvals/rules/").status_code == 200  # reviewers may read the list
    assert logged_in(alice).get("/approvals/rules/").status_code == 403


def test_it_says_why_a_rule_admin_cannot_allow_similar_on_their_own_action(erin):
    action = make_action(erin, HIGH_ACTION)
    response = logged_in(erin).get(f"/approvals/rules/new/{action.id}/")
    assert response.status_code == 409
    assert "another reviewer must decide it" in response.content.decode()


def test_it_lists_rules_and_disables_one_with_a_post(alice, erin):
    action = make_action(alice, CRITICAL_ACTION)
    logged_in(erin).post(
        f"/approvals/rules/new/{action.id}/",
        {
            "payload_hash": action.payload_hash,
            "kind_key": "exact",
            "value_key": "quorum_critical",
            "kind_value": "exact",
            "value_value": "2",
            "effect": "deny",
            "expires_at": (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S"),
            "note": "quorum stays at 2",
        },
    )
    rule = Rule.objects.get()
    assert rule.matchers[1] == {"parameter": "value", "kind": "exact", "value": 2}
    assert make_action(alice, CRITICAL_ACTION).status == Status.REJECTED
    html = logged_in(erin).get("/approvals/rules/").content.decode()
    assert f'id="rule-{rule.id}"' in html and "value is 2" in html and "quorum stays at 2" in html
    assert re.search(r'<td class="num">1</td>', html)
    assert Client(enforce_csrf_checks=True).post(f"/approvals/rules/{rule.id}/disable/").status_code in (302, 403)
    response = logged_in(erin).post(f"/approvals/rules/{rule.id}/disable/")
    assert response.status_code == 302
    assert Rule.objects.get().disabled_at is not None
    assert "disabled" in logged_in(erin).get("/approvals/rules/").content.decode()
    assert make_action(alice, CRITICAL_ACTION).status == Status.PENDING


@pytest.mark.parametrize(
    ("value", "message"),
    [('"\\ud800"', "\\ud800 is a lone surrogate"), ("NaN", "NaN is not a JSON number"), ("1e999", "too large")],
)
def test_it_refuses_an_exact_value_that_is_not_json_with_a_form_error(alice, erin, value, message):
    action = make_action(alice, CRITICAL_ACTION)
    form = {
        "payload_hash": action.payload_hash,
        "kind_key": "exact",
        "value_key": "quorum_critical",
        "kind_value": "exact",
        "value_value": value,
        "effect": "deny",
        "expires_at": (timezone.now() + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S"),
    }
    client = logged_in(erin)
    # The live preview answers while the reviewer types, with the error in place of the matches.
    for url, status in (
        (f"/approvals/rules/new/{action.id}/preview/", 200),
        (f"/approvals/rules/new/{action.id}/", 400),
    ):
        response = client.post(url, form, **HTMX)
        assert response.status_code == status, (url, response.status_code)
        assert message in response.content.decode()
    assert not Rule.objects.exists()
    assert Action.objects.get(id=action.id).status == Status.PENDING


def test_it_refuses_a_disable_without_the_csrf_token(erin):
    rule = Rule.objects.create(
        action_type="chat",
        matchers=[{"parameter": "model", "kind": "exact", "value": "x"}],
        effect="deny",
        expires_at=timezone.now() + timedelta(days=1),
        created_by=erin,
        created_at=timezone.now(),
        updated_at=timezone.now(),
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(erin)
    assert client.post(f"/approvals/rules/{rule.id}/disable/").status_code == 403
    assert Rule.objects.get().disabled_at is None


def test_it_edits_a_rule_and_audits_the_diff(alice, erin):
    action = make_action(alice, HIGH_ACTION)
    logged_in(erin).post(f"/approvals/rules/new/{action.id}/", rule_form(action))
    rule = Rule.objects.get()
    page = logged_in(erin).get(f"/approvals/rules/{rule.id}/edit/")
    assert page.status_code == 200 and "notes/*.txt</textarea>" in page.content.decode()
    data = rule_form(action, value_path="notes/keep/*.txt", note="narrower")
    data["expires_at"] = timezone.localtime(rule.expires_at).strftime("%Y-%m-%dT%H:%M:%S")
    response = logged_in(erin).post(f"/approvals/rules/{rule.id}/edit/", data)
    assert response.status_code == 302
    edited = AuditEntry.objects.get(event="rule.edited")
    assert edited.actor == "erin"
    assert set(edited.data["diff"]) == {"matchers", "note"}
    assert edited.data["diff"]["note"] == {"old": "routine clean-up", "new": "narrower"}
    assert make_action(alice, HIGH_ACTION).status == Status.PENDING
    assert make_action(alice, delete("notes/keep/x.txt")).status == Status.APPROVED
    bob = make_user("bob", "reviewers")
    assert logged_in(bob).post(f"/approvals/rules/{rule.id}/edit/", data).status_code == 403


def test_it_names_the_rule_that_decided_on_the_action_page(alice, bob, erin):
    rule = rule_create(
        user=erin,
        action_type="file_operation",
        skill_id=None,
        matchers=[{"parameter": "path", "kind": "glob", "value": "notes/*"}],
        effect="deny",
        expires_at=None,
        note="notes are archived",
    )
    action = make_action(alice, HIGH_ACTION)
    html = logged_in(bob).get(f"/approvals/{action.id}/").content.decode()
    assert f"Rejected by rule:{rule.id}: “notes are archived”." in html
    assert f"<strong>rule.matched</strong> by rule:{rule.id}" in html


@pytest.mark.parametrize("kind", ["url_prefix", "exact"])
def test_it_shows_a_form_error_for_a_url_with_a_malformed_port(alice, erin, settings, kind):
    settings.ACTIONHUB_API_ALLOWLIST = ["https://api.example.org/v1"]
    settings.ACTIONHUB_POLICY_OVERRIDES = {"api_call": "high"}
    action = make_action(
        alice, {"action_type": "api_call", "parameters": {"method": "DELETE", "url": "https://api.example.org/v1/x"}}
    )
    data = {
        "payload_hash": action.payload_hash,
        "kind_method": "exact",
        "value_method": "DELETE",
        "kind_url": kind,
        "value_url": "https://api.example.org:+443/v1",
        "kind_headers": "any",
        "value_headers": "",
        "kind_json": "any",
        "value_json": "",
        "effect": "allow",
        "expires_at": (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S"),
        "note": "",
    }
    client = logged_in(erin)
    preview = client.post(f"/approvals/rules/new/{action.id}/preview/", data, **HTMX)
    assert preview.status_code == 200
    assert "port must be a number from 1 to 65535" in preview.content.decode()
    response = client.post(f"/approvals/rules/new/{action.id}/", data)
    assert response.status_code == 400
    assert "port must be a number from 1 to 65535" in response.content.decode()
    assert Rule.objects.count() == 0
    assert Action.objects.get(id=action.id).status == Status.PENDING


@pytest.mark.parametrize(
    "before, error",
    [
        ("²", "this page link is not valid; start from the first page"),
        ("abc", "this page link is not valid; start from the first page"),
        ("99999999999999999999999", "less than or equal to 9223372036854775807"),
        ("0", "greater than or equal to 1"),
    ],
)
def test_it_answers_a_rule_list_page_link_it_did_not_write_with_a_form_error(bob, before, error):
    response = logged_in(bob).get("/approvals/rules/", {"before": before})
    assert response.status_code == 400
    assert error in response.content.decode()


def test_it_pages_the_rule_list_newest_first_with_older_rules_links(erin, monkeypatch):
    monkeypatch.setattr("rules.views.LIST_PAGE", 2)
    rules = [
        rule_create(
            user=erin,
            action_type="file_operation",
            skill_id=None,
            matchers=[{"parameter": "path", "kind": "glob", "value": f"notes/{n}/*.txt"}],
            effect="allow",
            expires_at=None,
            note=str(n),
        )
        for n in range(5)
    ]
    seen, query = [], {}
    while True:
        html = logged_in(erin).get("/approvals/rules/", query).content.decode()
        seen.append([int(rule_id) for rule_id in re.findall(r'<tr id="rule-(\d+)"', html)])
        older = re.search(r'href="\?before=(\d+)">Older rules', html)
        if older is None:
            break
        query = {"before": older.group(1)}
    assert seen == [[rules[4].id, rules[3].id], [rules[2].id, rules[1].id], [rules[0].id]]


def test_it_offers_allow_similar_only_where_an_allow_rule_could_decide(alice, erin):
    critical = make_action(alice, CRITICAL_ACTION)
    high = make_action(alice, HIGH_ACTION)
    client = logged_in(erin)
    assert "Approve and allow similar" not in client.get(f"/approvals/{critical.id}/").content.decode()
    assert "Approve and allow similar" in client.get(f"/approvals/{high.id}/").content.decode()


def test_it_shows_the_rule_list_read_only_to_reviewers_without_naming_buttons_they_lack(alice, bob, erin, dave):
    action = make_action(alice, HIGH_ACTION)
    rule_create(
        user=erin,
        action_type="file_operation",
        skill_id=None,
        matchers=[{"parameter": "path", "kind": "glob", "value": "notes/*.txt"}],
        effect="deny",
        expires_at=timezone.now() + timedelta(days=1),
        note="",
    )
    for reader in (bob, dave):
        page = logged_in(reader).get("/approvals/rules/").content.decode()
        assert "notes/*.txt" in page
        assert "Approve and allow similar" not in page
        assert "Edit</a>" not in page and "Disable</button>" not in page
        assert "this list is for reading" in page
        assert ">Rules</a>" in logged_in(reader).get(f"/approvals/{action.id}/").content.decode()
    admin_page = logged_in(erin).get("/approvals/rules/").content.decode()
    assert "Approve and allow similar" in admin_page and "Disable</button>" in admin_page
    assert ">Rules</a>" not in logged_in(alice).get(f"/approvals/{action.id}/").content.decode()
