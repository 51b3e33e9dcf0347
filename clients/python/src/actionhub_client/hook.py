"""`actionhub hook --agent AGENT`: a coding agent's pre-tool hook that asks ActionHub first.

It reads the agent's hook JSON on stdin, submits the call as a `tool_call`, waits for a decision
within the agent's hook timeout and prints the agent's own answer on stdout (diagnostics go to
stderr). Whatever keeps an approval from arriving (ActionHub unreachable, a refused token, input it
cannot read, no decision in time, a crash) is a deny, so silence never runs a tool.

Run on the agent's post-tool event as well, it reports how the approved call went (`completed` or
`failed`), where the event says so; it never blocks the agent there.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import signal
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from actionhub_client.client import Client
from actionhub_client.errors import ActionHubError, AuthenticationFailed, ConfigurationError, ConnectionFailed
from actionhub_client.models import Action

HELP = "answer a coding agent's pre-tool hook (JSON on stdin) with ActionHub's decision"

MAX_KEY = 255
# Of the agent's hook timeout, what the hook keeps back to withdraw the action and answer.
MAX_RESERVE = 2.0
MAX_REQUEST_TIMEOUT = 30.0
# What the server keeps of a reported output or error.
MAX_REPORT = 100_000
REPORT_TIMEOUT = 20.0


class BadInput(Exception):
    """The hook input is not what the agent documents."""


@dataclass(frozen=True)
class Request:
    """One tool call as the agent asked about it, in ActionHub's terms."""

    event: str
    tool: str
    input: dict[str, Any]
    session_id: str = ""
    cwd: str = ""
    # The agent's own id for this call (its tool-use id); where it has none, its turn, generation
    # or timestamp with a digest of the call.
    call_id: str = ""
    external_id: str = ""


@dataclass(frozen=True)
class Outcome:
    """What a post-tool event says about a call that ran: `ok` None when it does not say."""

    external_id: str
    session_id: str
    ok: bool | None
    text: str


@dataclass(frozen=True)
class Verdict:
    decision: str  # allow, deny or ask
    reason: str
    updated_input: dict[str, Any] | None = None


def _object(data: dict[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise BadInput(f"{key} must be a JSON object")
    return value


def _text(data: dict[str, Any], key: str, *, required: bool = False) -> str:
    value = data.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value):
        raise BadInput(f"{key} must be a non-empty string" if required else f"{key} must be a string")
    return value


def _digest(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Agent(ABC):
    """How one agent asks (its hook input) and how it must be answered (its hook output)."""

    name: str
    label: str
    # A little under the agent's documented default hook timeout, so the hook answers before it is killed.
    default_timeout: float
    default_event: str
    events: tuple[str, ...]
    # Events whose answer can ask the person at the agent instead of deciding.
    ask_events: tuple[str, ...] = ()
    # Events whose answer can replace the tool's input with a reviewer's edited version.
    edit_events: tuple[str, ...] = ()
    shell_tools: frozenset[str] = field(default_factory=frozenset)
    # Events after the tool ran, whose input says how it went.
    post_events: tuple[str, ...] = ()

    def event(self, data: dict[str, Any]) -> str:
        event = _text(data, "hook_event_name") or self.default_event
        if event not in (*self.events, *self.post_events):
            known = ", ".join((*self.events, *self.post_events))
            raise BadInput(f"{self.label} hook event {event!r} is not one this hook answers ({known})")
        return event

    def outcome(self, event: str, data: dict[str, Any]) -> Outcome:
        """How the call went, from a post-tool event's input."""
        raise BadInput(f"{self.label} reports no outcome")

    def read(self, event: str, data: dict[str, Any]) -> Request:
        tool = _text(data, "tool_name", required=True)
        return Request(
            event=event,
            tool="Bash" if tool in self.shell_tools else tool,
            input=_object(data, "tool_input"),
            session_id=_text(data, "session_id"),
            cwd=_text(data, "cwd"),
            call_id=_text(data, "tool_use_id"),
            external_id=_text(data, "tool_use_id"),
        )

    def edit_problem(self, original: dict[str, Any], edited: dict[str, Any]) -> str:
        """Why the agent cannot run this edited input as it is ("" if it can)."""
        return ""

    @abstractmethod
    def answer(self, event: str, verdict: Verdict) -> dict[str, Any] | None:
        """The agent's own output for this verdict; None prints nothing, which leaves the call to
        the agent's own rules."""


def _as_text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return text[:MAX_REPORT]


class ClaudeCode(Agent):
    def outcome(self, event: str, data: dict[str, Any]) -> Outcome:
        call = _text(data, "tool_use_id", required=True)
        session = _text(data, "session_id")
        if event == "PostToolUseFailure":
            error = _text(data, "error") or "the tool failed"
            if data.get("is_interrupt") is True:
                error = f"interrupted: {error}"
            return Outcome(call, session, ok=False, text=error[:MAX_REPORT])
        response = data.get("tool_response")
        failed = isinstance(response, dict) and any(response.get(flag) is True for flag in ("interrupted", "is_error"))
        return Outcome(call, session, ok=not failed, text=_as_text(response))

    def answer(self, event: str, verdict: Verdict) -> dict[str, Any] | None:
        if event == "PermissionRequest":
            if verdict.decision == "ask":
                return None  # no decision: Claude Code shows its own permission dialog
            decision: dict[str, Any] = {"behavior": verdict.decision}
            if verdict.decision == "deny":
                decision["message"] = verdict.reason
            elif verdict.updated_input is not None:
                decision["updatedInput"] = verdict.updated_input
            return {"hookSpecificOutput": {"hookEventName": event, "decision": decision}}
        output: dict[str, Any] = {
            "hookEventName": event,
            "permissionDecision": verdict.decision,
            "permissionDecisionReason": verdict.reason,
        }
        if verdict.updated_input is not None:
            output["updatedInput"] = verdict.updated_input
        return {"hookSpecificOutput": output}


# How Codex's tool_response starts: "Exit code: 0\nWall time: …\nOutput:\n…".
_CODEX_EXIT = re.compile(r"^Exit code: (-?\d+)")


class Codex(Agent):
    def outcome(self, event: str, data: dict[str, Any]) -> Outcome:
        call = _text(data, "tool_use_id", required=True)
        response = data.get("tool_response")
        match = _CODEX_EXIT.match(response) if isinstance(response, str) else None
        ok = None if match is None else int(match.group(1)) == 0
        return Outcome(call, _text(data, "session_id"), ok=ok, text=_as_text(response))

    def read(self, event: str, data: dict[str, Any]) -> Request:
        request = super().read(event, data)
        if request.call_id:
            return request
        # A PermissionRequest has no tool-use id: the turn and the call identify it.
        turn = _text(data, "turn_id")
        call_id = f"{turn}/{_digest(request.tool, request.input)}" if turn else ""
        return replace(request, call_id=call_id)

    def answer(self, event: str, verdict: Verdict) -> dict[str, Any] | None:
        if event == "PermissionRequest":
            if verdict.decision == "ask":
                return None  # no decision: Codex asks as it normally would
            # Codex fails closed on any field it does not support here (updatedInput among them).
            decision: dict[str, Any] = {"behavior": verdict.decision}
            if verdict.decision == "deny":
                decision["message"] = verdict.reason
            return {"hookSpecificOutput": {"hookEventName": event, "decision": decision}}
        if verdict.decision == "allow":
            return None  # PreToolUse only blocks; printing nothing lets the call go on
        output = {"hookEventName": event, "permissionDecision": "deny", "permissionDecisionReason": verdict.reason}
        return {"hookSpecificOutput": output}


class GeminiCli(Agent):
    def read(self, event: str, data: dict[str, Any]) -> Request:
        request = super().read(event, data)
        # BeforeTool carries no call id; the session and this run's timestamp identify the call.
        stamp = _text(data, "timestamp")
        call = _digest(request.tool, request.input)
        # AfterTool finds the call again by what it was, the one thing both events share.
        return replace(request, call_id=f"{stamp}/{call}" if stamp else "", external_id=f"gemini:{call}")

    def outcome(self, event: str, data: dict[str, Any]) -> Outcome:
        request = super().read(event, data)
        response = data.get("tool_response")
        error = response.get("error") if isinstance(response, dict) else None
        external_id = f"gemini:{_digest(request.tool, request.input)}"
        if error:
            return Outcome(external_id, request.session_id, ok=False, text=_as_text(error))
        return Outcome(external_id, request.session_id, ok=True, text=_as_text(response))

    def edit_problem(self, original: dict[str, Any], edited: dict[str, Any]) -> str:
        # hookSpecificOutput.tool_input is merged over the model's arguments: it cannot remove one.
        removed = sorted(set(original) - set(edited))
        return f"the edit removes {', '.join(removed)}, which Gemini CLI cannot drop from a call" if removed else ""

    def answer(self, event: str, verdict: Verdict) -> dict[str, Any] | None:
        if verdict.decision != "allow":
            return {"decision": "deny", "reason": verdict.reason}
        if verdict.updated_input is None:
            return {"decision": "allow"}
        return {"decision": "allow", "hookSpecificOutput": {"tool_input": verdict.updated_input}}


class Cursor(Agent):
    def read(self, event: str, data: dict[str, Any]) -> Request:
        # Cursor sends an empty cwd for the workspace itself.
        roots = data.get("workspace_roots")
        root = roots[0] if isinstance(roots, list) and roots and isinstance(roots[0], str) else ""
        cwd = _text(data, "cwd") or root
        session = _text(data, "conversation_id") or _text(data, "session_id")
        if event == "preToolUse":
            return replace(super().read(event, data), cwd=cwd, session_id=session)
        if event == "beforeShellExecution":
            tool, tool_input = "Bash", {"command": _text(data, "command", required=True)}
        else:
            tool, tool_input = f"MCP:{_text(data, 'tool_name', required=True)}", self.mcp_arguments(data)
        # The granular events carry no call id; the generation and the call identify it.
        generation = _text(data, "generation_id")
        return Request(
            event=event,
            tool=tool,
            input=tool_input,
            session_id=session,
            cwd=cwd,
            call_id=f"{generation}/{_digest(tool, tool_input)}" if generation else "",
        )

    @staticmethod
    def mcp_arguments(data: dict[str, Any]) -> dict[str, Any]:
        raw = data.get("tool_input")
        if isinstance(raw, dict):
            return raw
        if not isinstance(raw, str):
            raise BadInput("tool_input must be the MCP tool's JSON arguments")
        try:
            arguments = json.loads(raw) if raw.strip() else {}
        except ValueError as error:
            raise BadInput(f"tool_input is not JSON: {error}") from error
        return arguments if isinstance(arguments, dict) else {"arguments": arguments}

    def answer(self, event: str, verdict: Verdict) -> dict[str, Any] | None:
        if verdict.decision == "allow":
            output: dict[str, Any] = {"permission": "allow"}
            if verdict.updated_input is not None:
                output["updated_input"] = verdict.updated_input
            return output
        return {"permission": verdict.decision, "user_message": verdict.reason, "agent_message": verdict.reason}


AGENTS: dict[str, Agent] = {
    # Claude Code's command hooks time out after 600 s by default.
    "claude-code": ClaudeCode(
        name="claude-code",
        label="Claude Code",
        default_timeout=590,
        default_event="PreToolUse",
        events=("PreToolUse", "PermissionRequest"),
        ask_events=("PreToolUse", "PermissionRequest"),
        edit_events=("PreToolUse", "PermissionRequest"),
        post_events=("PostToolUse", "PostToolUseFailure"),
    ),
    # Codex: 600 s unless the hook sets "timeout". PreToolUse can only block; PermissionRequest
    # answers allow or deny, and no answer falls back to Codex's own approval prompt.
    "codex": Codex(
        name="codex",
        label="Codex",
        default_timeout=590,
        default_event="PreToolUse",
        events=("PreToolUse", "PermissionRequest"),
        ask_events=("PermissionRequest",),
        post_events=("PostToolUse",),
    ),
    # Gemini CLI: 60,000 ms unless the hook sets "timeout".
    "gemini": GeminiCli(
        name="gemini",
        label="Gemini CLI",
        default_timeout=55,
        default_event="BeforeTool",
        events=("BeforeTool",),
        edit_events=("BeforeTool",),
        shell_tools=frozenset({"run_shell_command"}),
        post_events=("AfterTool",),
    ),
    # Cursor documents no default hook timeout, so the hook assumes a short one; set "timeout".
    # preToolUse accepts "ask" without enforcing it, so only the granular events ask.
    "cursor": Cursor(
        name="cursor",
        label="Cursor",
        default_timeout=55,
        default_event="preToolUse",
        events=("preToolUse", "beforeShellExecution", "beforeMCPExecution"),
        ask_events=("beforeShellExecution", "beforeMCPExecution"),
        edit_events=("preToolUse",),
        shell_tools=frozenset({"Shell"}),
    ),
}


def idempotency_key(agent: Agent, request: Request) -> str | None:
    """The same key for every run of the hook on one call, so a re-run never makes a second action.
    None when the agent identifies neither the session nor the call: each run is then its own action."""
    if not (request.session_id and request.call_id):
        return None
    key = f"{agent.name}/{request.session_id}/{request.call_id}"
    if len(key) <= MAX_KEY and key.isascii() and key.isprintable():
        return key
    return f"{agent.name}/{hashlib.sha256(key.encode()).hexdigest()}"


class OutOfTime(Exception):
    """The agent's hook timeout is about to run out."""


def _out_of_time(signum: int, frame: Any) -> None:
    raise OutOfTime


def _interrupted(signum: int, frame: Any) -> None:
    # The agent gave up on the hook: unwind through Client.wait, which withdraws the pending action.
    raise KeyboardInterrupt


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise OutOfTime after `seconds`, whatever the hook is blocked on (where the platform has SIGALRM)."""
    if not hasattr(signal, "setitimer"):
        yield
        return
    previous = signal.signal(signal.SIGALRM, _out_of_time)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.01))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Hook:
    def __init__(self, agent: Agent, args: argparse.Namespace) -> None:
        self.agent = agent
        self.args = args
        self.budget = float(args.timeout if args.timeout is not None else agent.default_timeout)
        self.started = time.monotonic()
        self.action: Action | None = None

    def remaining(self) -> float:
        return self.budget - (time.monotonic() - self.started)

    def out_of_time(self, request: Request) -> Verdict:
        waited = f"no reviewer decided within {self.budget:g} s"
        if self.args.on_timeout == "ask" and request.event in self.agent.ask_events:
            return Verdict("ask", f"{waited} in ActionHub (the request was withdrawn); decide here")
        return Verdict("deny", f"denied by ActionHub: {waited}, so the request was withdrawn")

    def decide(self, request: Request) -> Verdict:
        reserve = min(MAX_RESERVE, self.budget / 4)
        with _deadline(self.remaining() - reserve / 2):
            try:
                request_timeout = min(MAX_REQUEST_TIMEOUT, max(1.0, self.budget / 2))
                # One quick retry: the agent waits on every call, so a server that is down denies at once.
                client = Client(self.args.url, self.args.token, timeout=request_timeout, retries=1)
            except ConfigurationError as error:
                return Verdict("deny", f"denied: ActionHub is not configured for this hook ({error})")
            with client:
                try:
                    return self.ask_actionhub(client, request, reserve)
                except OutOfTime:
                    if self.action is None:
                        return Verdict("deny", f"denied: ActionHub did not answer within {self.budget:g} s")
                    if self.action.pending:
                        self.withdraw(client)
                    return self.out_of_time(request)
                except AuthenticationFailed as error:
                    return Verdict("deny", f"denied: ActionHub refused this hook's token ({error.detail})")
                except ConnectionFailed as error:
                    return Verdict("deny", f"denied: {error}")
                except ActionHubError as error:
                    return Verdict("deny", f"denied: ActionHub refused the request ({error})")

    def ask_actionhub(self, client: Client, request: Request, reserve: float) -> Verdict:
        self.action = client.submit_tool_call(
            request.tool,
            request.input,
            agent=self.agent.name,
            session_id=request.session_id or None,
            cwd=request.cwd if request.cwd.startswith("/") else None,
            external_id=request.external_id or None,
            idempotency_key=idempotency_key(self.agent, request),
        )
        if not self.action.pending:
            return self.verdict(request, self.action, waited=False)
        print(
            f"actionhub: {request.tool} is {self.action.security_level}, waiting for a reviewer "
            f"(action {self.action.id}, up to {max(0.0, self.remaining() - reserve):.0f} s)",
            file=sys.stderr,
        )
        self.action = client.wait(self.action.id, timeout=max(0.0, self.remaining() - reserve))
        return self.verdict(request, self.action, waited=True)

    def withdraw(self, client: Client) -> None:
        assert self.action is not None
        with _deadline(min(MAX_RESERVE, self.budget / 4)):
            try:
                client.cancel(self.action.id, reason=f"its hook timed out after {self.budget:g} s")
            except (ActionHubError, OutOfTime):
                print(f"actionhub: could not withdraw action {self.action.id}", file=sys.stderr)

    def verdict(self, request: Request, action: Action, *, waited: bool) -> Verdict:
        if action.pending or (waited and action.status == "cancelled"):
            return self.out_of_time(request)
        if not action.approved:
            return Verdict("deny", action.denial())
        if action.decision.by == ("system",):
            reason = action.decision.reason or "approved by policy"  # e.g. "low risk: approved by policy"
        else:
            who = ", ".join(action.decision.by) or "ActionHub"
            reason = f"approved by {who}" + (f": {action.decision.reason}" if action.decision.reason else "")
        decided_tool = action.parameters.get("tool")
        decided_input = action.parameters.get("input")
        if decided_tool != request.tool or not isinstance(decided_input, dict):
            return Verdict(
                "deny", f"denied: the reviewer changed the tool to {decided_tool}, which this hook cannot run"
            )
        if decided_input == request.input:
            return Verdict("allow", reason)
        problem = self.agent.edit_problem(request.input, decided_input)
        if request.event not in self.agent.edit_events or problem:
            why = problem or f"{self.agent.label} cannot run an edited call from this hook"
            edited = json.dumps(decided_input, sort_keys=True)
            return Verdict(
                "deny",
                f"not run as asked: {reason}, but only as edited to {edited}; {why}, so make the edited call instead",
            )
        return Verdict("allow", f"{reason} (edited)", updated_input=decided_input)


def _seconds(value: str) -> float:
    seconds = float(value)
    if not seconds > 0:
        raise argparse.ArgumentTypeError("must be more than 0 seconds")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--agent", required=True, choices=sorted(AGENTS), help="whose hook input to read and answer")
    parser.add_argument(
        "--timeout",
        type=_seconds,
        metavar="SECONDS",
        help="answer within this many seconds: keep it under the agent's hook timeout "
        "(default: claude-code and codex 590, gemini and cursor 55)",
    )
    parser.add_argument(
        "--on-timeout",
        choices=("deny", "ask"),
        default="deny",
        help="when no reviewer decided in time: deny (default), or leave the decision to the person at the agent "
        "where it can ask (Claude Code; Codex PermissionRequest; Cursor beforeShellExecution, beforeMCPExecution)",
    )


def _read_input() -> dict[str, Any]:
    try:
        data = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise BadInput(f"the hook input is not JSON: {error}") from error
    if not isinstance(data, dict):
        raise BadInput("the hook input is not a JSON object")
    return data


def report(args: argparse.Namespace, outcome: Outcome) -> None:
    """Report how an approved call went. The oldest approved, unreported call with this id (and
    session) is the one that ran; a call ActionHub never saw, or one already reported, is left alone."""
    if outcome.ok is None:
        print("actionhub: the agent's event does not say whether the call worked; nothing reported", file=sys.stderr)
        return
    with Client(args.url, args.token, timeout=REPORT_TIMEOUT, retries=1) as client:
        approved = client.actions(action_type="tool_call", status="approved", external_id=outcome.external_id)
        ran = [a for a in approved if not outcome.session_id or a.parameters.get("session_id") == outcome.session_id]
        if not ran:
            print(f"actionhub: no approved call {outcome.external_id} waits for its outcome", file=sys.stderr)
            return
        action = ran[-1]
        if outcome.ok:
            client.outcome(action.id, ok=True, output=outcome.text)
        else:
            client.outcome(action.id, ok=False, error=outcome.text or "the tool failed")
        print(f"actionhub: reported action {action.id} {'completed' if outcome.ok else 'failed'}", file=sys.stderr)


def _report_quietly(agent: Agent, args: argparse.Namespace, event: str, data: dict[str, Any]) -> int:
    """A post-tool event never blocks the agent: whatever goes wrong is said on stderr only."""
    try:
        with _deadline(min(REPORT_TIMEOUT, float(args.timeout or agent.default_timeout))):
            report(args, agent.outcome(event, data))
    except (BadInput, ActionHubError, OutOfTime) as error:
        print(f"actionhub: could not report the outcome: {error or error.__class__.__name__}", file=sys.stderr)
    return 0


def _emit(answer: dict[str, Any] | None) -> int:
    if answer is not None:
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    # Every agent reads a decision from stdout at exit 0 (Claude Code ignores the JSON at 2, and
    # Cursor shows it raw), so a deny is said there and never by the exit status.
    return 0


def run(args: argparse.Namespace) -> int:
    agent = AGENTS[args.agent]
    event = agent.default_event
    previous = signal.signal(signal.SIGTERM, _interrupted)
    try:
        data = _read_input()
        event = agent.event(data)
        if event in agent.post_events:
            return _report_quietly(agent, args, event, data)
        request = agent.read(event, data)
        verdict = Hook(agent, args).decide(request)
    except BadInput as error:
        verdict = Verdict("deny", f"denied: this hook could not read {agent.label}'s input ({error})")
    except KeyboardInterrupt:
        verdict = Verdict("deny", "denied: the hook was stopped before a reviewer decided")
    except Exception as error:  # a crash must not read as "no objection" to the agent
        print(f"actionhub: {error.__class__.__name__}: {error}", file=sys.stderr)
        verdict = Verdict("deny", f"denied: the ActionHub hook failed ({error.__class__.__name__})")
    finally:
        signal.signal(signal.SIGTERM, previous)
    if verdict.decision == "deny":
        print(f"actionhub: {verdict.reason}", file=sys.stderr)
    return _emit(agent.answer(event, verdict))
