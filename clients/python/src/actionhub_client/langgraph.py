"""LangGraph: answer a graph's `interrupt()` approval requests from ActionHub's decisions.

A paused graph's interrupts become tool calls in ActionHub's queue; once a reviewer decides, the graph
resumes with the answer its own request shape expects:

- Agent Inbox `HumanInterrupt` (`{action_request: {action, args}, config: {allow_accept, allow_edit,
  allow_respond, allow_ignore}, description}`, alone or in a list): `{type: "accept"}`,
  `{type: "edit", args: {action, args}}`, or `{type: "response", args: "<why not>"}`
  (`{type: "ignore"}` when responding is not allowed);
- LangChain's `HumanInTheLoopMiddleware`, batched `HITLRequest` (`{action_requests: [{name, args}],
  review_configs: [{action_name, allowed_decisions}]}`): `{decisions: [{type: "approve"} |
  {type: "edit", edited_action: {name, args}} | {type: "reject", message}]}`; and per call
  (`{type: "tool_approval", name, args}`): one such decision.

What a request does not allow is never done in its place. An approval the reviewer made after
editing the arguments is sent as an edit only where edits are allowed; elsewhere it is a refusal
saying so (the edited call is not what the graph would run, and the original is not what the
reviewer approved). A reviewer who renamed the tool is refused the same way. A request that allows
no refusal at all raises `UnanswerableInterrupt` for a denial, and the graph stays paused.

    from langgraph.checkpoint.memory import InMemorySaver
    from actionhub_client.langgraph import run

    graph = builder.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "ticket-42"}}
    final = run(graph, {"messages": [("user", "clean up the build")]}, config)

`resolve(graph, config)` answers the interrupts a run left and returns the `Command(resume=...)` to
continue it, for hosts that drive the graph themselves. Each request is submitted once per thread and
interrupt (an Idempotency-Key from both), so a host that restarts and resolves again gets the same
decision rather than a second request; only a request it had withdrawn (it gave up waiting) is asked
again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from langgraph.types import Command, Interrupt

from actionhub_client._verdict import Call, Verdict, adecide_all, decide_all
from actionhub_client.client import AsyncClient, Client
from actionhub_client.errors import ActionHubError

AGENT = "langgraph"
HITL_DECISIONS = ("approve", "edit", "reject", "respond")


class UnanswerableInterrupt(ActionHubError):
    """The request allows no answer that says what ActionHub decided (e.g. a denial where neither
    respond nor ignore is allowed): the graph is left paused."""


class Shape(Protocol):
    """One interrupt value: the calls it asks about, and the resume value answering them."""

    calls: list[tuple[str, dict[str, Any]]]

    def answer(self, verdicts: list[Verdict]) -> Any: ...


class _AgentInbox:
    def __init__(self, value: Any) -> None:
        self.many = isinstance(value, list)
        self.requests = value if self.many else [value]
        self.calls = [
            (str(request["action_request"]["action"]), dict(request["action_request"].get("args") or {}))
            for request in self.requests
        ]

    def answer(self, verdicts: list[Verdict]) -> Any:
        responses = [
            _inbox_response(request.get("config") or {}, v) for request, v in zip(self.requests, verdicts, strict=True)
        ]
        return responses if self.many else responses[0]


def _inbox_response(config: dict[str, Any], v: Verdict) -> dict[str, Any]:
    allowed = {kind for kind in ("accept", "edit", "respond", "ignore") if config.get(f"allow_{kind}")}
    edit = {"type": "edit", "args": {"action": v.name, "args": v.args}}
    if v.kind == "approve":
        if "accept" in allowed:
            return {"type": "accept", "args": None}
        if "edit" in allowed:
            # The call as it stands, which is what an accept would have run.
            return edit
        v = Verdict("refuse", v.name, v.args, "denied by ActionHub: approved, but this request allows no accept")
    elif v.kind == "edit":
        if "edit" in allowed:
            return edit
        v = Verdict("refuse", v.name, v.args, v.message)
    if "respond" in allowed:
        return {"type": "response", "args": v.message}
    if "ignore" in allowed:
        return {"type": "ignore", "args": None}
    raise UnanswerableInterrupt(f"{v.name}: {v.message}, and the request allows neither respond nor ignore")


def _hitl_decision(allowed: Iterable[str], v: Verdict) -> dict[str, Any]:
    allowed = set(allowed)
    edit = {"type": "edit", "edited_action": {"name": v.name, "args": v.args}}
    if v.kind == "approve":
        if "approve" in allowed:
            return {"type": "approve"}
        if "edit" in allowed:
            return edit
        v = Verdict("refuse", v.name, v.args, "denied by ActionHub: approved, but this request allows no approve")
    elif v.kind == "edit":
        if "edit" in allowed:
            return edit
        v = Verdict("refuse", v.name, v.args, v.message)
    if "reject" in allowed:
        return {"type": "reject", "message": v.message}
    if "respond" in allowed:
        # `respond` stands in for the tool's result: say plainly that it did not run.
        return {"type": "respond", "message": f"{v.name} was not run: {v.message}"}
    raise UnanswerableInterrupt(f"{v.name}: {v.message}, and the request allows neither reject nor respond")


class _HITLRequest:
    def __init__(self, value: dict[str, Any]) -> None:
        self.calls = [(str(request["name"]), dict(request.get("args") or {})) for request in value["action_requests"]]
        configs = value.get("review_configs") or []
        by_name = {config.get("action_name"): config for config in configs}
        # The middleware lists one review config per requested call, in order; match by name otherwise.
        self.configs = configs if len(configs) == len(self.calls) else [by_name.get(name, {}) for name, _ in self.calls]

    def answer(self, verdicts: list[Verdict]) -> Any:
        return {
            "decisions": [
                _hitl_decision(config.get("allowed_decisions") or (), v)
                for config, v in zip(self.configs, verdicts, strict=True)
            ]
        }


class _ToolApproval:
    def __init__(self, value: dict[str, Any], response_schema: Any) -> None:
        self.calls = [(str(value["name"]), dict(value.get("args") or {}))]
        self.allowed = _allowed_decisions(response_schema)

    def answer(self, verdicts: list[Verdict]) -> Any:
        return _hitl_decision(self.allowed, verdicts[0])


def _allowed_decisions(schema: Any) -> set[str]:
    """The decision types a per-call interrupt's JSON Schema accepts (all of them without one: LangGraph
    still checks the answer against the schema it holds)."""
    if not isinstance(schema, dict):
        return set(HITL_DECISIONS)
    found: set[str] = set()
    pending: list[Any] = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            kind = (node.get("properties") or {}).get("type") if isinstance(node.get("properties"), dict) else None
            if isinstance(kind, dict):
                values = [kind["const"]] if "const" in kind else kind.get("enum") or []
                found.update(value for value in values if value in HITL_DECISIONS)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found or set(HITL_DECISIONS)


def shape_of(interrupt: Interrupt) -> Shape:
    """The request an interrupt carries; TypeError for a value that is not an approval request."""
    value = interrupt.value
    try:
        if isinstance(value, dict) and "action_requests" in value:
            return _HITLRequest(value)
        if isinstance(value, dict) and value.get("type") == "tool_approval":
            return _ToolApproval(value, getattr(interrupt, "response_schema", None))
        if (isinstance(value, dict) and "action_request" in value) or (
            isinstance(value, list)
            and value
            and all(isinstance(item, dict) and "action_request" in item for item in value)
        ):
            return _AgentInbox(value)
    except (KeyError, TypeError, AttributeError) as error:
        raise TypeError(f"interrupt {interrupt.id} is a malformed approval request: {error!r}") from error
    raise TypeError(
        f"interrupt {interrupt.id} is not an approval request (HumanInterrupt, HITLRequest or tool_approval): "
        f"{type(value).__name__}"
    )


def _thread_id(config: dict[str, Any]) -> str:
    thread_id = (config.get("configurable") or {}).get("thread_id")
    if not thread_id:
        raise ValueError("the config needs configurable.thread_id: a graph resumes only on its thread")
    return str(thread_id)


def _submission(thread_id: str, interrupt: Interrupt, index: int, name: str, args: dict[str, Any]) -> dict[str, Any]:
    thread = hashlib.sha256(thread_id.encode()).hexdigest()[:16]
    return {
        "tool": name,
        "input": args,
        "agent": AGENT,
        "session_id": thread_id[:200],
        "external_id": f"{interrupt.id}:{index}",
        "idempotency_key": f"{AGENT}:{thread}:{interrupt.id}:{index}",
    }


def _calls(thread_id: str, pending: Sequence[Interrupt], shapes: Sequence[Shape]) -> list[Call]:
    """Every call the interrupts ask about, in order."""
    return [
        Call(name, args, _submission(thread_id, interrupt, index, name, args))
        for interrupt, shape in zip(pending, shapes, strict=True)
        for index, (name, args) in enumerate(shape.calls)
    ]


def _command(pending: Sequence[Interrupt], shapes: Sequence[Shape], verdicts: Sequence[Verdict]) -> Command:
    """The resume value of each interrupt, keyed by its id, from the verdicts in `_calls` order."""
    resume = {}
    remaining = iter(verdicts)
    for interrupt, shape in zip(pending, shapes, strict=True):
        resume[interrupt.id] = shape.answer([next(remaining) for _ in shape.calls])
    return Command(resume=resume)


def _pending(graph: Any, config: dict[str, Any], interrupts: Sequence[Interrupt] | None) -> Sequence[Interrupt]:
    return graph.get_state(config).interrupts if interrupts is None else interrupts


def resolve(
    graph: Any,
    config: dict[str, Any],
    *,
    interrupts: Sequence[Interrupt] | None = None,
    client: Client | None = None,
    timeout: float | None = None,
) -> Command | None:
    """Ask ActionHub about each interrupt (default: those the thread is paused on), wait for the
    decisions and return the `Command(resume=...)` that answers them, or None if none is pending.

    `timeout` bounds each wait (None: until a reviewer decides); on timeout the request is cancelled
    and answered as denied."""
    thread_id = _thread_id(config)
    pending = _pending(graph, config, interrupts)
    if not pending:
        return None
    shapes = [shape_of(interrupt) for interrupt in pending]
    calls = _calls(thread_id, pending, shapes)
    own = client is None
    hub = client or Client()
    try:
        verdicts = decide_all(hub, calls, timeout=timeout)
    finally:
        if own:
            hub.close()
    return _command(pending, shapes, verdicts)


async def aresolve(
    graph: Any,
    config: dict[str, Any],
    *,
    interrupts: Sequence[Interrupt] | None = None,
    client: AsyncClient | None = None,
    timeout: float | None = None,
) -> Command | None:
    """`resolve` for asyncio: the requests are submitted together, then waited on together."""
    thread_id = _thread_id(config)
    pending = (await graph.aget_state(config)).interrupts if interrupts is None else interrupts
    if not pending:
        return None
    shapes = [shape_of(interrupt) for interrupt in pending]
    calls = _calls(thread_id, pending, shapes)
    own = client is None
    hub = client or AsyncClient()
    try:
        verdicts = await adecide_all(hub, calls, timeout=timeout)
    finally:
        if own:
            await hub.aclose()
    return _command(pending, shapes, verdicts)


def run(
    graph: Any,
    input: Any,
    config: dict[str, Any],
    *,
    client: Client | None = None,
    timeout: float | None = None,
    max_rounds: int = 100,
) -> Any:
    """`graph.invoke(input, config)`, then resume it with ActionHub's answers for as long as it
    pauses on approval requests; returns the final output. `max_rounds` stops a graph that asks
    forever (RuntimeError)."""
    own = client is None
    hub = client or Client()
    try:
        output = graph.invoke(input, config)
        for _ in range(max_rounds):
            command = resolve(graph, config, client=hub, timeout=timeout)
            if command is None:
                return output
            output = graph.invoke(command, config)
    finally:
        if own:
            hub.close()
    raise RuntimeError(f"the graph still asked for approval after {max_rounds} rounds")


async def arun(
    graph: Any,
    input: Any,
    config: dict[str, Any],
    *,
    client: AsyncClient | None = None,
    timeout: float | None = None,
    max_rounds: int = 100,
) -> Any:
    """`run` for asyncio (`graph.ainvoke`)."""
    own = client is None
    hub = client or AsyncClient()
    try:
        output = await graph.ainvoke(input, config)
        for _ in range(max_rounds):
            command = await aresolve(graph, config, client=hub, timeout=timeout)
            if command is None:
                return output
            output = await graph.ainvoke(command, config)
    finally:
        if own:
            await hub.aclose()
    raise RuntimeError(f"the graph still asked for approval after {max_rounds} rounds")


__all__ = ["Shape", "UnanswerableInterrupt", "aresolve", "arun", "resolve", "run", "shape_of"]
