"""OpenAI Agents SDK: a run's tool approvals decided in ActionHub.

A tool with `needs_approval` pauses the run with `interruptions`; `resolve` sends each to ActionHub as
a tool call, waits for the decision and records it on the run's state (`state.approve(item)` or
`state.reject(item, rejection_message=<the reviewer's reason>)`), and `run` drives `Runner.run` until
no approval is pending:

    from agents import Agent, function_tool
    from actionhub_client.openai_agents import run

    @function_tool(needs_approval=True)
    def delete_file(path: str) -> str: ...

    result = await run(Agent(name="ops", tools=[delete_file]), "remove the old logs")

The SDK runs an approved call with the arguments the model gave; it has no way to change them. So an
approval the reviewer made after editing the arguments is a rejection whose message tells the model
what was approved instead (it may call the tool again with those), never a run of the original call.

Hosted MCP tools ask through a callback: `HostedMCPTool(tool_config=..., on_approval_request=
approval_handler())` answers `{"approve": True}` once approved, or `{"approve": False, "reason": ...}`
(also when ActionHub cannot be reached: it never approves by default).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from agents import Agent, Runner, RunResult, RunState, ToolApprovalItem
from agents.tool import MCPToolApprovalFunctionResult, MCPToolApprovalRequest

from actionhub_client._verdict import Call, adecide_all
from actionhub_client.client import AsyncClient
from actionhub_client.errors import ActionHubError

AGENT = "openai-agents"
UNAPPLIED = "which this agent cannot apply to the call"


def _input(arguments: Any) -> dict[str, Any]:
    """A tool call's arguments as the object a reviewer sees (raw text kept under `arguments`)."""
    if isinstance(arguments, dict):
        return arguments
    if isinstance(arguments, str):
        try:
            parsed = json.loads(arguments) if arguments.strip() else {}
        except ValueError:
            return {"arguments": arguments}
        return parsed if isinstance(parsed, dict) else {"arguments": arguments}
    return {} if arguments is None else {"arguments": str(arguments)}


def _tool_name(item: ToolApprovalItem) -> str:
    raw = item.raw_item
    server = raw.get("server_label") if isinstance(raw, dict) else getattr(raw, "server_label", None)
    name = item.qualified_name or item.name or "tool"
    return f"mcp__{server}__{name}" if server else name


def _call(name: str, arguments: Any, *, external_id: str | None, session_id: str | None) -> Call:
    args = _input(arguments)
    submission = {"tool": name, "input": args, "agent": AGENT, "session_id": session_id, "external_id": external_id}
    return Call(name, args, submission)


async def resolve(
    paused: RunResult | RunState,
    *,
    client: AsyncClient | None = None,
    timeout: float | None = None,
    session_id: str | None = None,
) -> RunState:
    """Decide every pending approval of a paused run through ActionHub; returns the state to pass to
    `Runner.run(agent, state)`. The requests are submitted, then waited on, together. `timeout` bounds each wait (None:
    until a reviewer decides); on timeout the request is cancelled and the call rejected."""
    state = paused if isinstance(paused, RunState) else paused.to_state()
    items = state.get_interruptions()
    if not items:
        return state
    calls = [_call(_tool_name(item), item.arguments, external_id=item.call_id, session_id=session_id) for item in items]
    own = client is None
    hub = client or AsyncClient()
    try:
        verdicts = await adecide_all(hub, calls, timeout=timeout, unapplied=UNAPPLIED)
    finally:
        if own:
            await hub.aclose()
    for item, decided in zip(items, verdicts, strict=True):
        if decided.kind == "approve":
            state.approve(item)
        else:
            state.reject(item, rejection_message=decided.message)
    return state


async def run(
    agent: Agent[Any],
    input: Any,
    *,
    client: AsyncClient | None = None,
    timeout: float | None = None,
    session_id: str | None = None,
    max_rounds: int = 100,
    **runner_kwargs: Any,
) -> RunResult:
    """`Runner.run(agent, input, **runner_kwargs)`, resumed with ActionHub's decisions for as long as
    it pauses for approval. `max_rounds` stops a run that asks forever (RuntimeError)."""
    own = client is None
    hub = client or AsyncClient()
    try:
        result = await Runner.run(agent, input, **runner_kwargs)
        for _ in range(max_rounds):
            if not result.interruptions:
                return result
            state = await resolve(result, client=hub, timeout=timeout, session_id=session_id)
            result = await Runner.run(agent, state, **runner_kwargs)
    finally:
        if own:
            await hub.aclose()
    raise RuntimeError(f"the run still asked for approval after {max_rounds} rounds")


def approval_handler(
    *,
    client: AsyncClient | None = None,
    timeout: float | None = None,
    session_id: str | None = None,
) -> Callable[[MCPToolApprovalRequest], Awaitable[MCPToolApprovalFunctionResult]]:
    """An `on_approval_request` for `HostedMCPTool`: each call the hosted server asks about becomes
    the tool call `mcp__<server_label>__<tool>` in ActionHub. Without `client`, one is made from
    ACTIONHUB_URL and ACTIONHUB_TOKEN for each request."""

    async def on_approval_request(request: MCPToolApprovalRequest) -> MCPToolApprovalFunctionResult:
        data = request.data
        call = _call(
            f"mcp__{data.server_label}__{data.name}", data.arguments, external_id=data.id, session_id=session_id
        )
        hub = client
        try:
            hub = hub or AsyncClient()
            [decided] = await adecide_all(hub, [call], timeout=timeout, unapplied=UNAPPLIED)
        except ActionHubError as error:
            return {"approve": False, "reason": f"denied by ActionHub: it could not be asked ({error})"}
        finally:
            if client is None and hub is not None:
                await hub.aclose()
        if decided.kind == "approve":
            return {"approve": True}
        return {"approve": False, "reason": decided.message}

    return on_approval_request


__all__ = ["approval_handler", "resolve", "run"]
