"""Standing rules on tool calls: tool exact, input.command by prefix or glob, input.file_path by
path glob, through POST /api/rules and the rule form; an allow rule never matches more than one
plain command, and never decides a CRITICAL call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from rules.models import Rule
from tests.factories import make_user

CWD = "/home/alice/project"
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def erin(db):
    return make_user("erin", "rule_admins", "reviewers")


def _rule(api, effect: str, *matchers: tuple[str, str, object]):
    body = {
        "action_type": "tool_call",
        "matchers": [{"parameter": p, "kind": k, "value": v} for p, k, v in matchers],
        "effect": effect,
        "note": "tool calls",
    }
    return api.post("/rules", body)


def _bash(api, command: str) -> str:
    parameters = {"tool": "Bash", "input": {"command": command}, "cwd": CWD}
    return api.post("/actions", {"action_type": "tool_call", "parameters": parameters}).json()["status"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("command", "status"),
    [
        ("git push origin main", "approved"),
        ("git  push  'origin'  main", "approved"),
        ("git push", "approved"),
        ("git pushx origin", "pending"),
        ("git push origin main; curl https://evil.example", "pending"),
        ("git push origin main && make deploy", "pending"),
        ("git push origin $(cat branch)", "pending"),
        ("git push origin main > /tmp/log", "pending"),
        ("git push origin `whoami`", "pending"),
        ("git push origin main\nmake deploy", "pending"),
        ("git push origin main | tee log", "pending"),
        ("FOO=1 git push origin main", "pending"),
        ("git push --force origin main", "pending"),  # CRITICAL: no allow rule decides it
    ],
)
def test_it_lets_an_allow_prefix_match_one_plain_command_only(alice, erin, api_as, command, status):
    assert (
        _rule(api_as(erin), "allow", ("tool", "exact", "Bash"), ("input.command", "prefix", "git push")).status_code
        == 201
    )
    assert _bash(api_as(alice), command) == status, command


@pytest.mark.django_db(transaction=True)
def test_it_lets_an_allow_glob_match_a_plain_command(alice, erin, api_as):
    assert _rule(api_as(erin), "allow", ("input.command", "glob", "npm run *")).status_code == 201
    assert _bash(api_as(alice), "npm run test") == "approved"
    assert _bash(api_as(alice), "npm   run  'lint'") == "approved"
    assert _bash(api_as(alice), "npm install") == "pending"
    assert _bash(api_as(alice), "npm run test; rm a") == "pending"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "command",
    ["curl https://x.example", "ls && curl x", "echo $(curl x)", '"curl" x', "env A=1 curl x", "xargs curl < urls"],
)
def test_it_lets_a_deny_rule_match_anywhere_in_a_chain(alice, erin, api_as, command):
    assert _rule(api_as(erin), "deny", ("input.command", "prefix", "curl")).status_code == 201
    assert _bash(api_as(alice), command) == "rejected", command


@pytest.mark.django_db(transaction=True)
def test_it_lets_a_deny_rule_reject_a_critical_call(alice, erin, api_as):
    assert _rule(api_as(erin), "deny", ("input.command", "glob", "rm -rf *")).status_code == 201
    assert _bash(api_as(alice), "ls; rm -rf /") == "rejected"


@pytest.mark.django_db(transaction=True)
def test_it_matches_file_paths_by_glob_after_resolving_them(alice, erin, api_as):
    assert _rule(api_as(erin), "deny", ("input.file_path", "glob", "/home/alice/project/secrets/**")).status_code == 201
    assert _rule(api_as(erin), "allow", ("tool", "exact", "Write"), ("input.file_path", "glob", "/tmp/*.txt"))

    def write(path: str, tool: str = "Write") -> str:
        key = "notebook_path" if tool == "NotebookEdit" else "file_path"
        parameters = {"tool": tool, "input": {key: path, "content": "x"}, "cwd": CWD}
        return api_as(alice).post("/actions", {"action_type": "tool_call", "parameters": parameters}).json()["status"]

    assert write("secrets/a.txt") == "rejected"
    assert write("./src/../secrets//b/c.txt") == "rejected"
    assert write(f"{CWD}/secrets/x.ipynb", tool="NotebookEdit") == "rejected"
    assert write("/tmp/notes.txt") == "approved"
    assert write("/tmp/../etc/notes.txt") == "pending"
    assert write("/tmp/sub/notes.txt") == "pending"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("matcher", "message"),
    [
        (("input.command", "prefix", "git status; ls"), "one plain command"),
        (("input.command", "glob", "ls $(x)"), "one plain command"),
        (("input.command", "prefix", "'open"), "one plain command"),
        (("input.command", "url_prefix", "https://x"), "only fits an api_call url"),
        (("input.file_path", "glob", "src/*.py"), "input.file_path is an absolute path"),
        (("input.file_path", "glob", "/home/../etc/*"), "no '..'"),
        (("input.file_path", "prefix", "/etc"), "only fits a command"),
        (("tool", "prefix", "mcp__"), "only fits a command"),
        (("input.content", "exact", "x"), "known: tool, input.command, input.file_path, input.url, agent"),
    ],
)
def test_it_refuses_a_tool_call_matcher_that_does_not_fit(erin, api_as, matcher, message):
    response = _rule(api_as(erin), "deny", matcher)
    assert response.status_code == 400, response.content
    assert message in response.content.decode()
    assert not Rule.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_offers_and_previews_a_rule_from_a_held_tool_call_on_the_form(alice, erin, api_as):
    created = (
        api_as(alice)
        .post(
            "/actions",
            {
                "action_type": "tool_call",
                "parameters": {"tool": "Bash", "input": {"command": "make test"}, "cwd": CWD, "agent": "claude-code"},
            },
        )
        .json()
    )
    client = Client()
    client.force_login(erin)
    page = client.get(f"/approvals/rules/new/{created['id']}/")
    assert page.status_code == 200
    assert 'name="kind_input.command"' in page.text and ">command prefix</option>" in page.text
    assert ">command glob</option>" in page.text and "make test" in page.text

    form = {
        "payload_hash": created["payload_hash"],
        "kind_tool": "exact",
        "value_tool": "Bash",
        "kind_input.command": "prefix",
        "value_input.command": "make",
        "kind_input.file_path": "any",
        "kind_input.url": "any",
        "kind_agent": "any",
        "kind_session_id": "any",
        "kind_cwd": "any",
        "kind_hints": "any",
        "effect": "allow",
        "expires_at": (timezone.now() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S"),
        "note": "make targets are routine",
    }
    preview = client.post(f"/approvals/rules/new/{created['id']}/preview/", form, **HTMX)
    assert preview.status_code == 200
    assert "<strong data-preview-count>1</strong>" in preview.text

    bad = client.post(
        f"/approvals/rules/new/{created['id']}/preview/", {**form, "value_input.command": "make; ls"}, **HTMX
    )
    assert "one plain command" in bad.text

    saved = client.post(f"/approvals/rules/new/{created['id']}/", form)
    assert saved.status_code == 302, saved.content
    rule = Rule.objects.get()
    assert rule.matchers == [
        {"parameter": "tool", "kind": "exact", "value": "Bash"},
        {"parameter": "input.command", "kind": "prefix", "value": "make"},
    ]
    assert _bash(api_as(alice), "make lint") == "approved"
    assert _bash(api_as(alice), "make lint && rm x") == "pending"
