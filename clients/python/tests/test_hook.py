"""`actionhub hook` as each agent runs it: a subprocess fed the agent's documented hook JSON on stdin,
against the live ActionHub, answering in the agent's own output format."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from typing import Any

import pytest
from livehub import pending_of

HOOK = [sys.executable, "-m", "actionhub_client.cli", "hook"]


def _env(hub, *, user: str = "alice", url: str | None = None, token: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ACTIONHUB_")}
    env["ACTIONHUB_URL"] = url or hub.url
    env["ACTIONHUB_TOKEN"] = token or hub.tokens[user]
    return env


def start_hook(hub, agent: str, payload: dict[str, Any], *args: str, **env: Any) -> subprocess.Popen:
    process = subprocess.Popen(
        [*HOOK, "--agent", agent, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(hub, **env),
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(payload))
    process.stdin.close()
    return process


def finish(process: subprocess.Popen, timeout: float = 30) -> tuple[dict[str, Any] | None, int, str]:
    """(the JSON the hook printed, or None for no output; its exit code; its stderr)."""
    assert process.stdout is not None and process.stderr is not None
    process.wait(timeout=timeout)
    out, err = process.stdout.read(), process.stderr.read()
    return (json.loads(out) if out.strip() else None), process.returncode, err


def run_hook(hub, agent: str, payload: dict[str, Any], *args: str, **env: Any) -> tuple[dict | None, int, str]:
    return finish(start_hook(hub, agent, payload, *args, **env))


def wait_pending(hub, **match: str) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        action = pending_of(hub, **match)
        if action is not None:
            return action
        time.sleep(0.05)
    raise AssertionError(f"no pending action for {match}")


def mine(hub, external_id: str) -> list[dict[str, Any]]:
    status, page = hub.api("alice", "GET", f"/actions?mine=1&external_id={external_id}")
    assert status == 200, page
    return page["results"]


def _id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:20]}"


# The agents' documented hook inputs (Claude Code hooks reference; openai/codex hooks schema files;
# geminicli.com hooks reference; Cursor hooks reference), one call each.
def claude_pre_tool_use(command: str, *, tool_use_id: str, session: str = "claude-session-1") -> dict[str, Any]:
    return {
        "session_id": session,
        "transcript_path": f"/home/alice/.claude/projects/app/{session}.jsonl",
        "cwd": "/home/alice/app",
        "permission_mode": "default",
        "hook_event_name": "PreToolUse",
        "tool_name": "Bash",
        "tool_input": {"command": command, "description": "Clean up the build output"},
        "tool_use_id": tool_use_id,
    }


def claude_permission_request(tool_name: str, tool_input: dict[str, Any]) -> dict[str, Any]:
    return {
        "session_id": "claude-session-2",
        "transcript_path": "/home/alice/.claude/projects/app/claude-session-2.jsonl",
        "cwd": "/home/alice/app",
        "permission_mode": "default",
        "hook_event_name": "PermissionRequest",
        "tool_name": tool_name,
        "tool_input": tool_input,
        "permission_suggestions": [
            {
                "type": "addRules",
                "rules": [{"toolName": tool_name}],
                "behavior": "allow",
                "destination": "localSettings",
            }
        ],
    }


def codex_input(event: str, command: str, *, call: str) -> dict[str, Any]:
    payload = {
        "session_id": "019a-codex-thread",
        "turn_id": f"turn-{call}",
        "transcript_path": None,
        "cwd": "/home/alice/app",
        "hook_event_name": event,
        "model": "gpt-5.1-codex",
        "permission_mode": "default",
        "tool_name": "Bash",
        "tool_input": {"command": command},
    }
    if event == "PreToolUse":
        payload["tool_use_id"] = call
    else:
        payload["tool_input"]["description"] = "Publish the release"
    return payload


def gemini_before_tool(command: str, *, stamp: str) -> dict[str, Any]:
    return {
        "session_id": "gemini-session-1",
        "transcript_path": "/home/alice/.gemini/tmp/app/chats/session-1.json",
        "cwd": "/home/alice/app",
        "hook_event_name": "BeforeTool",
        "timestamp": stamp,
        "tool_name": "run_shell_command",
        "tool_input": {"command": command, "description": "Deploy", "dir_path": "/home/alice/app"},
    }


def cursor_common(event: str, generation: str) -> dict[str, Any]:
    return {
        "conversation_id": "cursor-conversation-1",
        "generation_id": generation,
        "model": "default",
        "hook_event_name": event,
        "cursor_version": "3.9.16",
        "workspace_roots": ["/home/alice/app"],
        "user_email": "alice@example.com",
        "transcript_path": None,
    }


def test_it_holds_a_claude_code_rm_rf_until_a_reviewer_rejects_it_and_tells_claude_why(hub, reviewer):
    tool_use_id = _id("toolu_")
    process = start_hook(hub, "claude-code", claude_pre_tool_use("rm -rf build", tool_use_id=tool_use_id))

    held = wait_pending(hub, external_id=tool_use_id)
    assert held["security_level"] == "critical" and held["approvals_required"] == 2
    assert held["parameters"] == {
        "tool": "Bash",
        "input": {"command": "rm -rf build", "description": "Clean up the build output"},
        "agent": "claude-code",
        "session_id": "claude-session-1",
        "cwd": "/home/alice/app",
    }
    assert process.poll() is None, "the hook answered before anyone decided"
    reviewer(external_id=tool_use_id, approve=False, reason="not on the shared box")

    answer, code, stderr = finish(process)
    assert code == 0
    assert answer == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "denied by bob: not on the shared box",
        }
    }
    assert hub.tokens["alice"] not in stderr
    # It waited within Claude Code's default hook timeout of 600 s.
    assert re.search(r"waiting for a reviewer \(action [-0-9a-f]+, up to 58\d s\)", stderr), stderr


def test_it_allows_a_critical_call_only_once_both_reviewers_approved(hub, reviewer):
    tool_use_id = _id("toolu_")
    process = start_hook(hub, "claude-code", claude_pre_tool_use("rm -rf dist", tool_use_id=tool_use_id))
    reviewer(external_id=tool_use_id, approve=True, reason="dist is generated", reviewers=("bob", "carol"))

    answer, code, _ = finish(process)
    assert code == 0
    assert answer["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert answer["hookSpecificOutput"]["permissionDecisionReason"].startswith(
        "approved by bob, carol: dist is generated"
    )
    assert "updatedInput" not in answer["hookSpecificOutput"]


def test_it_gives_claude_code_the_reviewers_edited_input(hub, reviewer):
    tool_use_id = _id("toolu_")
    process = start_hook(hub, "claude-code", claude_pre_tool_use("git push origin main", tool_use_id=tool_use_id))
    edited = {"command": "git push origin release", "description": "Clean up the build output"}
    reviewer(external_id=tool_use_id, approve=True, reason="release branch only", edit={"input": edited})

    answer, code, _ = finish(process)
    assert code == 0
    assert answer == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "allow",
            "permissionDecisionReason": "approved by bob: release branch only (edited)",
            "updatedInput": edited,
        }
    }


def test_it_allows_a_low_call_at_once(hub):
    payload = claude_pre_tool_use("git status", tool_use_id=_id("toolu_"))
    started = time.monotonic()
    answer, code, _ = run_hook(hub, "claude-code", payload)
    assert code == 0 and time.monotonic() - started < 10
    assert answer["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert answer["hookSpecificOutput"]["permissionDecisionReason"] == "low risk: approved by policy"


def test_it_answers_a_claude_code_permission_request(hub, reviewer):
    tool = f"mcp__deploy__{_id('release_')}"
    process = start_hook(hub, "claude-code", claude_permission_request(tool, {"service": "web"}))
    reviewer(tool=tool, approve=True)

    answer, code, _ = finish(process)
    assert code == 0
    assert answer == {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}}

    rejected = f"mcp__deploy__{_id('release_')}"
    process = start_hook(hub, "claude-code", claude_permission_request(rejected, {"service": "db"}))
    reviewer(tool=rejected, approve=False, reason="db is frozen")
    answer, _, _ = finish(process)
    assert answer["hookSpecificOutput"]["decision"] == {"behavior": "deny", "message": "denied by bob: db is frozen"}


def test_it_denies_and_withdraws_the_action_when_no_reviewer_decides_in_time(hub):
    tool_use_id = _id("toolu_")
    started = time.monotonic()
    answer, code, _ = run_hook(
        hub, "claude-code", claude_pre_tool_use("make deploy", tool_use_id=tool_use_id), "--timeout", "3"
    )

    assert code == 0 and time.monotonic() - started < 12
    output = answer["hookSpecificOutput"]
    assert output["permissionDecision"] == "deny"
    assert (
        output["permissionDecisionReason"]
        == "denied by ActionHub: no reviewer decided within 3 s, so the request was withdrawn"
    )
    [action] = mine(hub, tool_use_id)
    assert action["status"] == "cancelled"


def test_it_leaves_the_decision_to_the_person_at_the_agent_when_asked(hub):
    tool_use_id = _id("toolu_")
    payload = claude_pre_tool_use("make deploy", tool_use_id=tool_use_id)
    answer, code, _ = run_hook(hub, "claude-code", payload, "--timeout", "3", "--on-timeout", "ask")

    assert code == 0
    assert answer["hookSpecificOutput"]["permissionDecision"] == "ask"
    assert "no reviewer decided within 3 s" in answer["hookSpecificOutput"]["permissionDecisionReason"]
    [action] = mine(hub, tool_use_id)
    assert action["status"] == "cancelled"

    # Codex's PreToolUse cannot ask: the same timeout is a deny there.
    answer, _, _ = run_hook(
        hub,
        "codex",
        codex_input("PreToolUse", "make deploy", call=_id("call_")),
        "--timeout",
        "3",
        "--on-timeout",
        "ask",
    )
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"


def test_it_denies_when_actionhub_is_unreachable(hub):
    payload = claude_pre_tool_use("git status", tool_use_id=_id("toolu_"))
    answer, code, stderr = run_hook(hub, "claude-code", payload, url="http://127.0.0.1:9")
    assert code == 0
    output = answer["hookSpecificOutput"]
    assert output["permissionDecision"] == "deny"
    assert output["permissionDecisionReason"].startswith("denied: could not reach ActionHub")
    assert "could not reach ActionHub" in stderr


def test_it_denies_in_time_when_actionhub_accepts_but_never_answers(hub):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        started = time.monotonic()
        payload = claude_pre_tool_use("git status", tool_use_id=_id("toolu_"))
        answer, code, _ = run_hook(hub, "claude-code", payload, "--timeout", "3", url=url)
    assert code == 0 and time.monotonic() - started < 12
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert answer["hookSpecificOutput"]["permissionDecisionReason"] == "denied: ActionHub did not answer within 3 s"


def test_it_withdraws_the_action_when_the_agent_stops_the_hook(hub):
    tool_use_id = _id("toolu_")
    process = start_hook(hub, "claude-code", claude_pre_tool_use("make deploy", tool_use_id=tool_use_id))
    wait_pending(hub, external_id=tool_use_id)
    process.send_signal(signal.SIGTERM)

    answer, code, _ = finish(process)
    assert code == 0
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
    [action] = mine(hub, tool_use_id)
    assert action["status"] == "cancelled"


def test_it_denies_with_a_refused_token_and_never_prints_it(hub):
    token = "ah_not-a-real-token-" + uuid.uuid4().hex
    answer, code, stderr = run_hook(hub, "gemini", gemini_before_tool("ls", stamp="2026-12-07T15:00:00Z"), token=token)
    assert code == 0
    assert answer["decision"] == "deny"
    # A POST with a token nobody issued is refused (403, as the session's CSRF check answers it).
    assert answer["reason"].startswith("denied: ActionHub refused")
    assert token not in json.dumps(answer) and token not in stderr


def test_it_denies_input_it_cannot_read(hub):
    process = subprocess.Popen(
        [*HOOK, "--agent", "claude-code"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(hub),
    )
    out, _ = process.communicate("{not json", timeout=30)
    answer = json.loads(out)
    assert answer["hookSpecificOutput"]["permissionDecision"] == "deny"
    assert "not JSON" in answer["hookSpecificOutput"]["permissionDecisionReason"]

    answer, _, _ = run_hook(hub, "cursor", {**cursor_common("preToolUse", "g-1"), "tool_input": {}})
    assert answer["permission"] == "deny" and "tool_name" in answer["user_message"]


def test_it_makes_one_action_however_often_the_hook_runs_on_a_call(hub, reviewer):
    tool_use_id = _id("toolu_")
    payload = claude_pre_tool_use("git push origin main", tool_use_id=tool_use_id)
    first = start_hook(hub, "claude-code", payload)
    wait_pending(hub, external_id=tool_use_id)
    again = start_hook(hub, "claude-code", payload)
    time.sleep(1)
    reviewer(external_id=tool_use_id, approve=True)

    for process in (first, again):
        answer, _, _ = finish(process)
        assert answer["hookSpecificOutput"]["permissionDecision"] == "allow"
    assert len(mine(hub, tool_use_id)) == 1
    # Run once more after the decision: the same action answers at once.
    answer, _, _ = run_hook(hub, "claude-code", payload, "--timeout", "5")
    assert answer["hookSpecificOutput"]["permissionDecisionReason"] == "approved by bob"
    assert len(mine(hub, tool_use_id)) == 1


def test_it_blocks_codex_pre_tool_use_with_the_reason_and_prints_nothing_to_allow(hub, reviewer):
    call = _id("call_")
    process = start_hook(hub, "codex", codex_input("PreToolUse", "git push origin main", call=call))
    held = wait_pending(hub, external_id=call)
    assert held["parameters"]["agent"] == "codex" and held["parameters"]["session_id"] == "019a-codex-thread"
    reviewer(external_id=call, approve=False, reason="use the release script")
    answer, code, _ = finish(process)
    assert code == 0
    assert answer == {
        "hookSpecificOutput": {
            "hookEventName": "PreToolUse",
            "permissionDecision": "deny",
            "permissionDecisionReason": "denied by bob: use the release script",
        }
    }

    call = _id("call_")
    process = start_hook(hub, "codex", codex_input("PreToolUse", "git push origin main", call=call))
    reviewer(external_id=call, approve=True)
    answer, code, _ = finish(process)
    assert answer is None and code == 0


def test_it_denies_codex_an_edited_call_it_cannot_take_and_says_what_was_approved(hub, reviewer):
    call = _id("call_")
    process = start_hook(hub, "codex", codex_input("PreToolUse", "git push origin main", call=call))
    reviewer(external_id=call, approve=True, edit={"input": {"command": "git push origin release"}})
    answer, _, _ = finish(process)
    output = answer["hookSpecificOutput"]
    assert output["permissionDecision"] == "deny"
    assert '{"command": "git push origin release"}' in output["permissionDecisionReason"]


def test_it_answers_a_codex_permission_request_with_behavior_only(hub, reviewer):
    command = f"./release.sh {_id('v')}"
    process = start_hook(hub, "codex", codex_input("PermissionRequest", command, call=_id("c")))
    held = wait_pending(hub, command=command)
    assert held["parameters"]["tool"] == "Bash" and held["external_id"] == ""
    reviewer(command=command, approve=True)
    answer, code, _ = finish(process)
    assert code == 0
    assert answer == {"hookSpecificOutput": {"hookEventName": "PermissionRequest", "decision": {"behavior": "allow"}}}


def test_it_sends_gemini_shell_commands_as_bash_and_answers_in_gemini_terms(hub, reviewer):
    stamp = f"2026-12-07T15:{uuid.uuid4().int % 60:02d}:00.{uuid.uuid4().hex[:6]}Z"
    command = f"rm -rf node_modules/{_id('cache-')}"
    process = start_hook(hub, "gemini", gemini_before_tool(command, stamp=stamp))
    held = wait_pending(hub, command=command)
    assert held["security_level"] == "critical" and held["parameters"]["agent"] == "gemini"
    assert held["parameters"]["tool"] == "Bash"
    reviewer(command=command, approve=False, reason="reinstalling takes an hour")
    answer, code, stderr = finish(process)
    assert code == 0
    assert answer == {"decision": "deny", "reason": "denied by bob: reinstalling takes an hour"}
    assert re.search(r"up to 5\d s\)", stderr), stderr  # within Gemini CLI's default of 60 s

    command = f"git push origin {_id('topic-')}"
    process = start_hook(hub, "gemini", gemini_before_tool(command, stamp=stamp))
    edited = {"command": "git push origin release", "description": "Deploy", "dir_path": "/home/alice/app"}
    reviewer(command=command, approve=True, edit={"input": edited})
    answer, _, _ = finish(process)
    assert answer == {"decision": "allow", "hookSpecificOutput": {"tool_input": edited}}


def test_it_answers_cursor_shell_and_tool_hooks(hub, reviewer):
    command = f"rm -rf .venv-{_id('')}"
    shell = {**cursor_common("beforeShellExecution", _id("gen-")), "command": command, "cwd": "", "sandbox": False}
    process = start_hook(hub, "cursor", shell)
    held = wait_pending(hub, command=command)
    assert held["parameters"]["tool"] == "Bash" and held["parameters"]["input"] == {"command": command}
    assert held["parameters"]["cwd"] == "/home/alice/app" and held["parameters"]["agent"] == "cursor"
    reviewer(command=command, approve=False, reason="keep the venv")
    answer, code, _ = finish(process)
    assert code == 0
    assert answer == {
        "permission": "deny",
        "user_message": "denied by bob: keep the venv",
        "agent_message": "denied by bob: keep the venv",
    }

    tool_use_id = str(uuid.uuid4())
    pre_tool_use = {
        **cursor_common("preToolUse", _id("gen-")),
        "tool_name": "Shell",
        "tool_input": {"command": "git push origin main", "cwd": "", "timeout": 30000},
        "tool_use_id": tool_use_id,
        "cwd": "",
    }
    process = start_hook(hub, "cursor", pre_tool_use)
    edited = {"command": "git push origin release", "cwd": "", "timeout": 30000}
    reviewer(external_id=tool_use_id, approve=True, edit={"input": edited})
    answer, _, _ = finish(process)
    assert answer == {"permission": "allow", "updated_input": edited}


def test_it_asks_in_cursor_when_an_mcp_call_times_out(hub):
    tool = _id("query_")
    mcp = {
        **cursor_common("beforeMCPExecution", _id("gen-")),
        "tool_name": tool,
        "tool_input": json.dumps({"query": "DELETE FROM users"}),
        "command": "npx mcp-server-postgres",
    }
    answer, code, _ = run_hook(hub, "cursor", mcp, "--timeout", "3", "--on-timeout", "ask")
    assert code == 0
    assert answer["permission"] == "ask"
    assert "no reviewer decided within 3 s" in answer["user_message"]
    status, page = hub.api("alice", "GET", "/actions?mine=1&status=cancelled&limit=200")
    assert status == 200
    [action] = [action for action in page["results"] if action["parameters"]["tool"] == f"MCP:{tool}"]
    assert action["parameters"]["input"] == {"query": "DELETE FROM users"}


@pytest.mark.parametrize("agent", ["claude-code", "codex", "gemini", "cursor"])
def test_it_prints_nothing_but_the_answer_on_stdout(hub, agent):
    process = subprocess.run(
        [*HOOK, "--agent", agent], input="[]", capture_output=True, text=True, env=_env(hub), timeout=30
    )
    assert process.returncode == 0
    json.loads(process.stdout)
    assert process.stdout.count("\n") == 1
    assert "actionhub:" in process.stderr


# After the tool ran: the post-tool events report the outcome.


def test_it_reports_claude_codes_post_tool_use_as_completed(hub, reviewer):
    tool_use_id = _id("toolu_")
    pre = claude_pre_tool_use("git push origin main", tool_use_id=tool_use_id)
    process = start_hook(hub, "claude-code", pre)
    reviewer(external_id=tool_use_id, approve=True)
    assert finish(process)[0]["hookSpecificOutput"]["permissionDecision"] == "allow"

    response = {"stdout": "Everything up-to-date", "stderr": "", "interrupted": False, "isImage": False}
    post = {**pre, "hook_event_name": "PostToolUse", "tool_response": response}
    answer, code, stderr = run_hook(hub, "claude-code", post)
    assert (answer, code) == (None, 0), stderr
    [action] = mine(hub, tool_use_id)
    assert action["status"] == "completed", stderr
    assert "Everything up-to-date" in action["result"]["output"]

    # A second report of the same call changes nothing and never blocks the agent.
    assert run_hook(hub, "claude-code", post)[:2] == (None, 0)
    assert mine(hub, tool_use_id)[0]["status"] == "completed"


def test_it_reports_a_claude_code_tool_failure_as_failed(hub):
    tool_use_id = _id("toolu_")
    pre = claude_pre_tool_use("git status", tool_use_id=tool_use_id)
    assert run_hook(hub, "claude-code", pre)[0]["hookSpecificOutput"]["permissionDecision"] == "allow"
    failure = {**pre, "hook_event_name": "PostToolUseFailure", "error": "fatal: not a git repository"}
    assert run_hook(hub, "claude-code", failure)[:2] == (None, 0)
    [action] = mine(hub, tool_use_id)
    assert action["status"] == "failed" and "not a git repository" in action["error"]


def test_it_reads_codexs_exit_code_from_its_post_tool_use(hub):
    call = _id("call_")
    pre = codex_input("PreToolUse", "ls -la", call=call)
    assert run_hook(hub, "codex", pre)[:2] == (None, 0)
    post = {
        **pre,
        "hook_event_name": "PostToolUse",
        "tool_response": "Exit code: 2\nWall time: 0.1 seconds\nOutput:\nls: x",
    }
    assert run_hook(hub, "codex", post)[:2] == (None, 0)
    [action] = mine(hub, call)
    assert action["status"] == "failed" and action["error"].startswith("Exit code: 2")


def test_it_finds_geminis_call_again_by_what_it_was(hub):
    command = f"ls {_id('dir-')}"
    pre = gemini_before_tool(command, stamp="2026-12-07T15:00:00.000Z")
    assert run_hook(hub, "gemini", pre)[0] == {"decision": "allow"}
    post = {
        **pre,
        "hook_event_name": "AfterTool",
        "timestamp": "2026-12-07T15:00:01.000Z",
        "tool_response": {"llmContent": "a.txt", "returnDisplay": "a.txt"},
    }
    assert run_hook(hub, "gemini", post)[:2] == (None, 0)
    [action] = [
        a
        for a in hub.api("alice", "GET", "/actions?mine=1&limit=20")[1]["results"]
        if a["parameters"]["input"].get("command") == command
    ]
    assert action["status"] == "completed"


def test_it_reports_nothing_and_never_blocks_when_the_call_is_unknown_or_actionhub_is_down(hub):
    post = {
        **claude_pre_tool_use("ls", tool_use_id=_id("toolu_")),
        "hook_event_name": "PostToolUse",
        "tool_response": {},
    }
    answer, code, stderr = run_hook(hub, "claude-code", post)
    assert (answer, code) == (None, 0) and "no approved call" in stderr
    answer, code, stderr = run_hook(hub, "claude-code", post, url="http://127.0.0.1:9")
    assert (answer, code) == (None, 0) and "could not report" in stderr
