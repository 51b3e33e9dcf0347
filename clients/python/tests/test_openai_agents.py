"""The OpenAI Agents helper with the SDK's own Runner, its model a loopback OpenAI-compatible server
that calls a tool, against the live ActionHub; and the hosted-MCP approval callback."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from actionhub_client import AsyncClient
from actionhub_client.openai_agents import approval_handler, resolve, run
from agents import (
    Agent,
    HostedMCPTool,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    RunContextWrapper,
    Runner,
    function_tool,
)
from agents.tool import MCPToolApprovalRequest
from openai import AsyncOpenAI
from openai.types.responses.response_output_item import McpApprovalRequest

from tests.llm.fake_llm import FakeLLMServer, McpApproval, ToolCall

# Nothing leaves the machine: no traces are exported, and the model is the loopback server.
NO_TRACING = RunConfig(tracing_disabled=True)


@pytest.fixture
def llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    monkeypatch.setenv("OPENAI_AGENTS_DISABLE_TRACING", "1")
    with FakeLLMServer() as server:
        yield server


def _name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:8]}"


def _agent(llm: FakeLLMServer, tool: str, ran: list[str]) -> Agent[Any]:
    @function_tool(name_override=tool, needs_approval=True)
    def delete_file(path: str) -> str:
        """Delete a file."""
        ran.append(path)
        return f"deleted {path}"

    client = AsyncOpenAI(base_url=f"{llm.url}/v1", api_key="loopback", max_retries=0)
    model = OpenAIChatCompletionsModel(model="llama3.2", openai_client=client)
    return Agent(name="ops", instructions="Keep the disk tidy.", tools=[delete_file], model=model)


def _client(hub) -> AsyncClient:
    return AsyncClient(hub.url, hub.tokens["alice"])


def _tool_results(llm: FakeLLMServer) -> list[str]:
    """What the model was told each tool call returned, in its last request."""
    messages = llm.requests[-1]["json"]["messages"]
    return [message["content"] for message in messages if message["role"] == "tool"]


async def test_it_runs_an_approved_tool_and_the_model_gets_its_output(hub, reviewer, llm):
    tool, ran = _name("delete_file"), []
    llm.turns = [ToolCall(tool, {"path": "build/old.log"}), "Deleted the old log."]
    reviewer(tool=tool, approve=True, reason="fine")
    async with _client(hub) as client:
        result = await run(
            _agent(llm, tool, ran), "remove the old log", client=client, timeout=20, run_config=NO_TRACING
        )
    assert ran == ["build/old.log"]
    assert _tool_results(llm) == ["deleted build/old.log"]
    assert result.final_output == "Deleted the old log." and not result.interruptions

    status, page = hub.api("alice", "GET", "/actions?mine=1&external_id=call_1&limit=200")
    asked = [action for action in page["results"] if action["parameters"]["tool"] == tool]
    assert status == 200 and len(asked) == 1
    assert asked[0]["parameters"]["input"] == {"path": "build/old.log"}
    assert asked[0]["parameters"]["agent"] == "openai-agents" and asked[0]["status"] == "approved"


async def test_it_rejects_a_tool_call_and_the_model_reads_the_reason(hub, reviewer, llm):
    tool, ran = _name("delete_file"), []
    llm.turns = [ToolCall(tool, {"path": "build/old.log"}), "Understood, I left it."]
    reviewer(tool=tool, approve=False, reason="keep the logs until Monday")
    async with _client(hub) as client:
        result = await run(
            _agent(llm, tool, ran), "remove the old log", client=client, timeout=20, run_config=NO_TRACING
        )
    assert ran == []
    assert _tool_results(llm) == ["denied by bob: keep the logs until Monday"]
    assert result.final_output == "Understood, I left it."


async def test_it_rejects_an_edited_approval_rather_than_run_the_original_arguments(hub, reviewer, llm):
    tool, ran = _name("delete_file"), []
    llm.turns = [ToolCall(tool, {"path": "build/old.log"}), "I will ask again."]
    reviewer(tool=tool, approve=True, edit={"input": {"path": "build/older.log"}})
    async with _client(hub) as client:
        await run(_agent(llm, tool, ran), "remove the old log", client=client, timeout=20, run_config=NO_TRACING)
    assert ran == []
    [told] = _tool_results(llm)
    assert told.startswith("denied by bob: approved only with changed arguments")
    assert '"path": "build/older.log"' in told


async def test_it_resolves_a_paused_run_the_caller_drives(hub, reviewer, llm):
    tool, ran = _name("delete_file"), []
    llm.turns = [ToolCall(tool, {"path": "tmp/cache"}), "Done."]
    agent = _agent(llm, tool, ran)
    paused = await Runner.run(agent, "clear the cache", run_config=NO_TRACING)
    assert [item.name for item in paused.interruptions] == [tool] and ran == []

    reviewer(tool=tool, approve=True)
    async with _client(hub) as client:
        state = await resolve(paused, client=client, timeout=20)
    result = await Runner.run(agent, state, run_config=NO_TRACING)
    assert ran == ["tmp/cache"] and result.final_output == "Done."


async def test_it_resolves_a_streamed_run(hub, reviewer, llm):
    tool, ran = _name("delete_file"), []
    llm.turns = [ToolCall(tool, {"path": "tmp/cache"}), "Cleared."]
    agent = _agent(llm, tool, ran)
    streamed = Runner.run_streamed(agent, "clear the cache", run_config=NO_TRACING)
    async for _ in streamed.stream_events():
        pass
    assert [item.name for item in streamed.interruptions] == [tool]

    reviewer(tool=tool, approve=True)
    async with _client(hub) as client:
        state = await resolve(streamed, client=client, timeout=20)
    resumed = Runner.run_streamed(agent, state, run_config=NO_TRACING)
    async for _ in resumed.stream_events():
        pass
    assert ran == ["tmp/cache"] and resumed.final_output == "Cleared."
    assert llm.requests[-1]["json"]["stream"] is True


async def test_it_rejects_a_call_nobody_decided_in_time(hub, llm):
    tool, ran = _name("delete_file"), []
    llm.turns = [ToolCall(tool, {"path": "build/old.log"}), "Nobody answered."]
    async with _client(hub) as client:
        await run(_agent(llm, tool, ran), "remove the old log", client=client, timeout=1, run_config=NO_TRACING)
    assert ran == []
    assert _tool_results(llm) == ["denied by ActionHub: no reviewer decided within 1 s"]


def _mcp_request(tool: str, arguments: str) -> MCPToolApprovalRequest:
    data = McpApprovalRequest(
        id="mcpr_1", arguments=arguments, name=tool, server_label="github", type="mcp_approval_request"
    )
    return MCPToolApprovalRequest(ctx_wrapper=RunContextWrapper(context=None), data=data)


def _hosted_agent(llm: FakeLLMServer, client: AsyncClient) -> Agent[Any]:
    """An agent whose model's hosted MCP server (never contacted here) asks before each tool call."""
    openai = AsyncOpenAI(base_url=f"{llm.url}/v1", api_key="loopback", max_retries=0)
    hosted = HostedMCPTool(
        tool_config={
            "type": "mcp",
            "server_label": "github",
            "server_url": "http://127.0.0.1:9/mcp",
            "require_approval": "always",
        },
        on_approval_request=approval_handler(client=client, timeout=20),
    )
    model = OpenAIResponsesModel(model="llama3.2", openai_client=openai)
    return Agent(name="maintainer", tools=[hosted], model=model)


def _approval_responses(llm: FakeLLMServer) -> list[dict[str, Any]]:
    items = llm.requests[-1]["json"]["input"]
    return [item for item in items if isinstance(item, dict) and item.get("type") == "mcp_approval_response"]


async def test_it_approves_a_hosted_mcp_call_through_the_runner(hub, reviewer, llm):
    tool = _name("delete_repo")
    llm.turns = [McpApproval("github", tool, {"repo": "old-site"}), "Deleted old-site."]
    reviewer(tool=f"mcp__github__{tool}", approve=True)
    async with _client(hub) as client:
        result = await Runner.run(_hosted_agent(llm, client), "delete old-site", run_config=NO_TRACING)
    assert result.final_output == "Deleted old-site."
    [response] = _approval_responses(llm)
    assert response["approve"] is True and response["approval_request_id"] == "mcpr_1"


async def test_it_rejects_a_hosted_mcp_call_through_the_runner_with_the_reason(hub, reviewer, llm):
    tool = _name("delete_repo")
    llm.turns = [McpApproval("github", tool, {"repo": "old-site"}), "I left it."]
    reviewer(tool=f"mcp__github__{tool}", approve=False, reason="archive it instead")
    async with _client(hub) as client:
        await Runner.run(_hosted_agent(llm, client), "delete old-site", run_config=NO_TRACING)
    [response] = _approval_responses(llm)
    assert response["approve"] is False and response["reason"] == "denied by bob: archive it instead"


async def test_it_answers_a_hosted_mcp_approval_request(hub, reviewer):
    tool = _name("delete_repo")
    reviewer(tool=f"mcp__github__{tool}", approve=True)
    async with _client(hub) as client:
        answer = await approval_handler(client=client, timeout=20)(_mcp_request(tool, '{"repo": "old-site"}'))
    assert answer == {"approve": True}


async def test_it_refuses_a_hosted_mcp_call_with_the_reviewers_reason(hub, reviewer):
    tool = _name("delete_repo")
    reviewer(tool=f"mcp__github__{tool}", approve=False, reason="archive it instead")
    async with _client(hub) as client:
        answer = await approval_handler(client=client, timeout=20)(_mcp_request(tool, '{"repo": "old-site"}'))
    assert answer == {"approve": False, "reason": "denied by bob: archive it instead"}


async def test_it_refuses_a_hosted_mcp_call_when_actionhub_cannot_be_reached(monkeypatch):
    monkeypatch.setenv("ACTIONHUB_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ACTIONHUB_TOKEN", "no-such-token")
    answer = await approval_handler(timeout=5)(_mcp_request("delete_repo", "{}"))
    assert answer["approve"] is False and answer["reason"].startswith("denied by ActionHub: it could not be asked")
