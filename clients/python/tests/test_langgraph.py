"""The LangGraph adapter in real graphs with a checkpointer, against the live ActionHub: an Agent Inbox
`HumanInterrupt` node, and LangChain's `HumanInTheLoopMiddleware` (batched and per call)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any, TypedDict

import pytest
from actionhub_client import AsyncClient, BadRequest, Client
from actionhub_client.langgraph import UnanswerableInterrupt, aresolve, arun, resolve, run
from langchain.agents import create_agent
from langchain.agents.middleware import HumanInTheLoopMiddleware
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, ToolMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import StructuredTool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt
from livehub import pending_of
from pydantic import Field


def _name(prefix: str) -> str:
    """A tool name no other test's reviewer will pick up."""
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _config() -> dict[str, Any]:
    return {"configurable": {"thread_id": f"thread-{uuid.uuid4()}"}}


# An Agent Inbox graph: one node asks with interrupt([HumanInterrupt]) and acts on the response.
class InboxState(TypedDict, total=False):
    args: dict[str, Any]
    ran: list[dict[str, Any]]
    feedback: str


def _inbox_graph(tool: str, *, allow_edit: bool = True, allow_respond: bool = True, allow_ignore: bool = True):
    def review(state: InboxState) -> InboxState:
        request = {
            "action_request": {"action": tool, "args": state["args"]},
            "config": {
                "allow_accept": True,
                "allow_edit": allow_edit,
                "allow_respond": allow_respond,
                "allow_ignore": allow_ignore,
            },
            "description": "Please review the command before execution",
        }
        response = interrupt([request])[0]
        if response["type"] == "accept":
            return {"ran": [state["args"]]}
        if response["type"] == "edit":
            return {"ran": [response["args"]["args"]]}
        if response["type"] == "response":
            return {"ran": [], "feedback": response["args"]}
        return {"ran": [], "feedback": "ignored"}

    builder = StateGraph(InboxState)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    builder.add_edge("review", END)
    return builder.compile(checkpointer=InMemorySaver())


def _client(hub) -> Client:
    return Client(hub.url, hub.tokens["alice"])


def test_it_accepts_an_agent_inbox_interrupt_once_approved(hub, reviewer):
    tool = _name("run_command")
    graph, config = _inbox_graph(tool), _config()
    paused = graph.invoke({"args": {"command": "make clean"}}, config)
    assert paused["__interrupt__"] and "ran" not in paused

    reviewer(tool=tool, approve=True, reason="fine")
    with _client(hub) as client:
        command = resolve(graph, config, client=client, timeout=20)
        assert isinstance(command, Command)
        final = graph.invoke(command, config)
        assert final["ran"] == [{"command": "make clean"}]
        assert resolve(graph, config, client=client) is None

        # The request reached ActionHub as a tool call of this thread.
        thread = config["configurable"]["thread_id"]
    [asked] = _mine(hub, tool)
    assert asked["parameters"]["agent"] == "langgraph" and asked["parameters"]["session_id"] == thread
    assert asked["status"] == "approved"


def test_it_resumes_an_agent_inbox_interrupt_with_the_reviewers_edit(hub, reviewer):
    tool = _name("run_command")
    graph, config = _inbox_graph(tool), _config()
    reviewer(tool=tool, approve=True, edit={"input": {"command": "make clean-docs"}})
    with _client(hub) as client:
        final = run(graph, {"args": {"command": "make clean"}}, config, client=client, timeout=20)
    assert final["ran"] == [{"command": "make clean-docs"}]


def test_it_responds_with_the_reviewers_reason_when_rejected(hub, reviewer):
    tool = _name("run_command")
    graph, config = _inbox_graph(tool), _config()
    reviewer(tool=tool, approve=False, reason="not on a Friday")
    with _client(hub) as client:
        final = run(graph, {"args": {"command": "rm -rf build"}}, config, client=client, timeout=20)
    assert final["ran"] == [] and final["feedback"] == "denied by bob: not on a Friday"


def test_it_refuses_an_edited_approval_where_edits_are_not_allowed(hub, reviewer):
    tool = _name("run_command")
    graph, config = _inbox_graph(tool, allow_edit=False), _config()
    reviewer(tool=tool, approve=True, edit={"input": {"command": "make clean-docs"}})
    with _client(hub) as client:
        final = run(graph, {"args": {"command": "make clean"}}, config, client=client, timeout=20)
    # Neither the edited call (not allowed) nor the original (not what was approved) runs.
    assert final["ran"] == []
    assert final["feedback"].startswith("denied by bob: approved only with changed arguments")
    assert "make clean-docs" in final["feedback"]


def test_it_leaves_the_graph_paused_when_a_denial_cannot_be_said(hub, reviewer):
    tool = _name("run_command")
    graph, config = _inbox_graph(tool, allow_respond=False, allow_ignore=False), _config()
    graph.invoke({"args": {"command": "rm -rf build"}}, config)
    reviewer(tool=tool, approve=False, reason="no")
    with _client(hub) as client, pytest.raises(UnanswerableInterrupt, match="denied by bob: no"):
        resolve(graph, config, client=client, timeout=20)
    assert graph.get_state(config).interrupts


def test_it_cancels_the_request_when_nobody_decides_in_time(hub):
    tool = _name("run_command")
    graph, config = _inbox_graph(tool), _config()
    with _client(hub) as client:
        final = run(graph, {"args": {"command": "make deploy"}}, config, client=client, timeout=1)
    assert final["ran"] == [] and final["feedback"].startswith("denied by ActionHub:")
    assert pending_of(hub, tool=tool) is None


def test_it_answers_a_thread_resolved_again_with_the_same_decision(hub, reviewer):
    tool = _name("run_command")
    graph, config = _inbox_graph(tool), _config()
    graph.invoke({"args": {"command": "make clean"}}, config)
    reviewer(tool=tool, approve=False, reason="not now")
    with _client(hub) as client:
        first = resolve(graph, config, client=client, timeout=20)
        # A host that lost the answer before resuming asks again: no second request, same answer.
        again = resolve(graph, config, client=client, timeout=1)
    assert again.resume == first.resume
    assert [action["status"] for action in _mine(hub, tool)] == ["rejected"]


def test_it_asks_again_for_a_request_it_had_withdrawn(hub, reviewer):
    tool = _name("run_command")
    graph, config = _inbox_graph(tool), _config()
    graph.invoke({"args": {"command": "make clean"}}, config)
    with _client(hub) as client:
        gave_up = resolve(graph, config, client=client, timeout=0.5)
        [answer] = gave_up.resume.values()
        assert answer[0]["type"] == "response"
        # The host comes back to the same paused thread before resuming it.
        reviewer(tool=tool, approve=True)
        command = resolve(graph, config, client=client, timeout=20)
        final = graph.invoke(command, config)
    assert final["ran"] == [{"command": "make clean"}]
    assert sorted(action["status"] for action in _mine(hub, tool)) == ["approved", "cancelled"]


def _two_requests_graph(first: str, second: str):
    """One node asking about two calls at once."""

    def review(state: InboxState) -> InboxState:
        config = {"allow_accept": True, "allow_edit": True, "allow_respond": True, "allow_ignore": True}
        interrupt(
            [
                {"action_request": {"action": first, "args": {"command": "make clean"}}, "config": config},
                {"action_request": {"action": second, "args": {}}, "config": config},
            ]
        )
        return {"ran": []}

    builder = StateGraph(InboxState)
    builder.add_node("review", review)
    builder.add_edge(START, "review")
    builder.add_edge("review", END)
    return builder.compile(checkpointer=InMemorySaver())


def _mine(hub, tool: str) -> list[dict[str, Any]]:
    status, page = hub.api("alice", "GET", "/actions?mine=1&action_type=tool_call&limit=200")
    assert status == 200, page
    return [action for action in page["results"] if action["parameters"]["tool"] == tool]


def test_it_withdraws_the_requests_of_a_batch_it_cannot_finish(hub):
    # A tool name longer than ActionHub takes: the second submit is refused.
    first, second = _name("run_command"), "w" * 201
    graph, config = _two_requests_graph(first, second), _config()
    graph.invoke({"args": {}}, config)
    with _client(hub) as client, pytest.raises(BadRequest):
        resolve(graph, config, client=client, timeout=20)
    [asked] = _mine(hub, first)
    assert asked["status"] == "cancelled"
    assert graph.get_state(config).interrupts


def test_it_withdraws_the_requests_of_an_async_batch_it_cannot_finish(hub):
    # A tool name longer than ActionHub takes: the second submit is refused.
    first, second = _name("run_command"), "w" * 201
    graph, config = _two_requests_graph(first, second), _config()
    graph.invoke({"args": {}}, config)

    async def drive() -> None:
        async with AsyncClient(hub.url, hub.tokens["alice"]) as client:
            await aresolve(graph, config, client=client, timeout=20)

    with pytest.raises(BadRequest):
        asyncio.run(drive())
    assert [action["status"] for action in _mine(hub, first)] == ["cancelled"]


# LangChain's agent with HumanInTheLoopMiddleware, driven by a scripted chat model.
class ScriptedModel(BaseChatModel):
    """Calls `tool` with `args` on its first turn, then answers; `seen` keeps what it was sent."""

    tool: str
    args: dict[str, Any]
    seen: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:
        return self

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None, **kw: Any):
        self.seen.append(list(messages))
        if len(self.seen) == 1:
            call = {"name": self.tool, "args": self.args, "id": "call_1", "type": "tool_call"}
            message = AIMessage(content="", tool_calls=[call])
        else:
            message = AIMessage(content="done")
        return ChatResult(generations=[ChatGeneration(message=message)])


def _agent(tool: str, allowed: list[str], *, mode: str = "batched"):
    ran: list[dict[str, Any]] = []

    def delete_file(path: str) -> str:
        ran.append({"path": path})
        return f"deleted {path}"

    model = ScriptedModel(tool=tool, args={"path": "build/old.log"})
    agent = create_agent(
        model,
        tools=[StructuredTool.from_function(delete_file, name=tool, description="Delete a file.")],
        middleware=[HumanInTheLoopMiddleware(interrupt_on={tool: {"allowed_decisions": allowed}}, interrupt_mode=mode)],
        checkpointer=InMemorySaver(),
    )
    return agent, model, ran


def _tool_messages(final: dict[str, Any]) -> list[ToolMessage]:
    return [message for message in final["messages"] if isinstance(message, ToolMessage)]


START_MESSAGE = {"messages": [("user", "delete the old log")]}


def test_it_approves_a_hitl_request_and_the_tool_runs(hub, reviewer):
    tool = _name("delete_file")
    agent, _model, ran = _agent(tool, ["approve", "edit", "reject"])
    reviewer(tool=tool, approve=True)
    with _client(hub) as client:
        final = run(agent, START_MESSAGE, _config(), client=client, timeout=20)
    assert ran == [{"path": "build/old.log"}]
    assert _tool_messages(final)[0].content == "deleted build/old.log"
    assert final["messages"][-1].content == "done"


def test_it_sends_a_hitl_edit_with_the_reviewers_arguments(hub, reviewer):
    tool = _name("delete_file")
    agent, _model, ran = _agent(tool, ["approve", "edit", "reject"])
    reviewer(tool=tool, approve=True, edit={"input": {"path": "build/older.log"}})
    with _client(hub) as client:
        final = run(agent, START_MESSAGE, _config(), client=client, timeout=20)
    assert ran == [{"path": "build/older.log"}]
    assert "deleted build/older.log" in _tool_messages(final)[0].content


def test_it_rejects_a_hitl_request_and_the_model_reads_why(hub, reviewer):
    tool = _name("delete_file")
    agent, model, ran = _agent(tool, ["approve", "edit", "reject"])
    reviewer(tool=tool, approve=False, reason="keep the logs until Monday")
    with _client(hub) as client:
        run(agent, START_MESSAGE, _config(), client=client, timeout=20)
    assert ran == []
    answer = [message for message in model.seen[-1] if isinstance(message, ToolMessage)]
    assert len(answer) == 1 and "denied by bob: keep the logs until Monday" in answer[0].content


def test_it_rejects_an_edited_approval_when_the_hitl_config_allows_no_edit(hub, reviewer):
    tool = _name("delete_file")
    agent, _model, ran = _agent(tool, ["approve", "reject"])
    reviewer(tool=tool, approve=True, edit={"input": {"path": "build/older.log"}})
    with _client(hub) as client:
        final = run(agent, START_MESSAGE, _config(), client=client, timeout=20)
    assert ran == []
    assert "approved only with changed arguments" in _tool_messages(final)[0].content


def test_it_answers_per_call_approval_requests(hub, reviewer):
    tool = _name("delete_file")
    agent, _model, ran = _agent(tool, ["approve", "edit", "reject"], mode="per_call")
    reviewer(tool=tool, approve=True, edit={"input": {"path": "build/older.log"}})
    with _client(hub) as client:
        final = run(agent, START_MESSAGE, _config(), client=client, timeout=20)
    assert ran == [{"path": "build/older.log"}]
    assert final["messages"][-1].content == "done"


def test_it_rejects_a_per_call_edit_the_tool_does_not_allow(hub, reviewer):
    tool = _name("delete_file")
    agent, _model, ran = _agent(tool, ["approve", "reject"], mode="per_call")
    reviewer(tool=tool, approve=True, edit={"input": {"path": "build/older.log"}})
    with _client(hub) as client:
        final = run(agent, START_MESSAGE, _config(), client=client, timeout=20)
    assert ran == []
    assert "approved only with changed arguments" in _tool_messages(final)[0].content


def test_it_drives_an_async_graph(hub, reviewer):
    tool = _name("delete_file")
    agent, _model, ran = _agent(tool, ["approve", "edit", "reject"])
    reviewer(tool=tool, approve=True)

    async def drive() -> dict[str, Any]:
        async with AsyncClient(hub.url, hub.tokens["alice"]) as client:
            return await arun(agent, START_MESSAGE, _config(), client=client, timeout=20)

    final = asyncio.run(drive())
    assert ran == [{"path": "build/old.log"}] and final["messages"][-1].content == "done"
