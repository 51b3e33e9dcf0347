"""`actionhub mcp-proxy` in front of the published `mcp-server-time`, driven by the official MCP client
over stdio, against the live ActionHub: each call waits for a reviewer in the queue."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import pytest
from livehub import pending_of
from mcp import ClientSession, MCPError, StdioServerParameters, stdio_client

from tests.e2e.site import free_port

BIN = Path(sys.executable).parent
TIME_SERVER = [str(BIN / "mcp-server-time"), "--local-timezone", "UTC"]
NOW = "mcp__time__get_current_time"
CONVERT = "mcp__time__convert_time"


def _env(hub, token: str | None = None, url: str | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ACTIONHUB_")}
    return {**env, "ACTIONHUB_URL": url or hub.url, "ACTIONHUB_TOKEN": token or hub.tokens["alice"]}


@asynccontextmanager
async def _session(command: str, args: list[str], env: dict[str, str] | None = None) -> AsyncIterator[ClientSession]:
    with open(os.devnull, "w") as quiet:
        server = StdioServerParameters(command=command, args=args, env=env)
        async with stdio_client(server, errlog=quiet) as (read, write), ClientSession(read, write) as session:
            session.hello = await session.initialize()
            yield session


def _proxy(hub, *options: str, upstream: list[str] = TIME_SERVER, env: dict[str, str] | None = None):
    args = ["mcp-proxy", "--name", "time", *options]
    args += ["--", *upstream] if upstream else []
    return _session(str(BIN / "actionhub"), args, env or _env(hub))


def _text(result) -> str:
    return "\n".join(block.text for block in result.content if block.type == "text")


def _action(hub, action_id: str) -> dict:
    status, action = hub.api("alice", "GET", f"/actions/{action_id}")
    assert status == 200, action
    return action


def _wait_for_status(hub, action_id: str, status: str) -> dict:
    deadline = time.monotonic() + 10
    while (action := _action(hub, action_id))["status"] != status and time.monotonic() < deadline:
        time.sleep(0.05)
    return action


async def test_it_lists_the_upstreams_tools_unchanged(env):
    async with _session(TIME_SERVER[0], TIME_SERVER[1:]) as direct:
        upstream = await direct.list_tools()
    async with _proxy(env) as proxy:
        listed = await proxy.list_tools()
    assert [tool.name for tool in listed.tools] == ["get_current_time", "convert_time"]
    assert listed.model_dump() == upstream.model_dump()
    assert listed.tools[0].annotations.read_only_hint is True
    assert proxy.hello.server_info.name == direct.hello.server_info.name == "mcp-time"
    assert "waits for a human reviewer's approval in ActionHub" in proxy.hello.instructions


async def test_it_holds_a_call_until_a_reviewer_approves_and_returns_the_upstreams_answer(env, reviewer):
    async with _proxy(env) as proxy:
        thread = reviewer(tool=NOW, approve=True, reason="fine")
        result = await proxy.call_tool("get_current_time", {"timezone": "Europe/Paris"})
    assert not result.is_error, _text(result)
    assert result.structured_content["timezone"] == "Europe/Paris"
    assert '"timezone": "Europe/Paris"' in _text(result) or '"timezone":"Europe/Paris"' in _text(result)

    action = _wait_for_status(env, thread.decided["id"], "completed")
    assert action["status"] == "completed" and action["decision"]["by"] == ["bob"]
    assert action["parameters"]["tool"] == NOW and action["security_level"] == "high"
    assert action["parameters"]["hints"]["readOnlyHint"] is True
    assert action["parameters"]["hints"]["destructiveHint"] is False
    assert "Europe/Paris" in action["result"]["output"]


async def test_it_forwards_a_reviewers_edited_arguments_to_the_upstream(env, reviewer):
    async with _proxy(env) as proxy:
        reviewer(tool=NOW, approve=True, edit={"input": {"timezone": "Asia/Tokyo"}})
        result = await proxy.call_tool("get_current_time", {"timezone": "Europe/Paris"})
    assert not result.is_error, _text(result)
    assert result.structured_content["timezone"] == "Asia/Tokyo"


async def test_it_returns_the_reviewers_reason_as_an_error_result_when_rejected(env, reviewer):
    async with _proxy(env) as proxy:
        thread = reviewer(tool=CONVERT, approve=False, reason="no time travel today")
        result = await proxy.call_tool(
            "convert_time", {"source_timezone": "UTC", "time": "12:00", "target_timezone": "Asia/Tokyo"}
        )
    assert result.is_error
    assert _text(result) == "denied by bob: no time travel today"
    assert result.structured_content is None
    assert _action(env, thread.decided["id"])["status"] == "rejected"


async def test_it_holds_two_calls_side_by_side(env, reviewer):
    results = {}
    async with _proxy(env) as proxy:

        async def call(tool: str, arguments: dict) -> None:
            results[tool] = await proxy.call_tool(tool, arguments)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(call, "get_current_time", {"timezone": "Europe/Lisbon"})
            conversion = {"source_timezone": "UTC", "time": "09:30", "target_timezone": "UTC"}
            tasks.start_soon(call, "convert_time", conversion)
            with anyio.fail_after(15):
                while pending_of(env, tool=NOW) is None or pending_of(env, tool=CONVERT) is None:
                    await anyio.sleep(0.05)
            assert not results
            reviewer(tool=CONVERT, approve=True)
            reviewer(tool=NOW, approve=True)
    assert results["get_current_time"].structured_content["timezone"] == "Europe/Lisbon"
    assert results["convert_time"].structured_content["target"]["timezone"] == "UTC"


async def test_it_keeps_its_token_from_the_upstream(env):
    marker = f"marker-{uuid.uuid4()}"
    async with _proxy(env, env={**_env(env), "PROXY_TEST_MARKER": marker}) as proxy:
        await proxy.list_tools()
        environments = [_environ(pid) for pid in _pids() if marker in _environ(pid).get("PROXY_TEST_MARKER", "")]
    upstream = [environ for environ in environments if "ACTIONHUB_URL" in environ and "ACTIONHUB_TOKEN" not in environ]
    proxy_itself = [environ for environ in environments if "ACTIONHUB_TOKEN" in environ]
    assert len(upstream) == 1 and len(proxy_itself) == 1


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _environ(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)
    return dict(pairs)


async def test_it_returns_the_upstreams_error_result_and_reports_the_call_failed(env, reviewer):
    async with _proxy(env) as proxy:
        thread = reviewer(tool=NOW, approve=True)
        result = await proxy.call_tool("get_current_time", {"timezone": "Mars/Olympus_Mons"})
    assert result.is_error
    assert "Mars/Olympus_Mons" in _text(result)
    action = _wait_for_status(env, thread.decided["id"], "failed")
    assert action["status"] == "failed" and action["error"] == _text(result)


async def test_it_submits_nothing_for_a_tool_the_upstream_does_not_have(env):
    async with _proxy(env) as proxy:
        with pytest.raises(MCPError) as refused:
            await proxy.call_tool("set_time", {"time": "12:00"})
    assert refused.value.error.message == "Unknown tool: set_time"
    assert pending_of(env, tool="mcp__time__set_time") is None


async def test_it_sends_progress_while_the_call_is_held(env, reviewer):
    progress: list[tuple[float, str | None]] = []
    first = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, message))
        first.set()

    async with _proxy(env) as proxy, anyio.create_task_group() as tasks:
        results = []

        async def call() -> None:
            results.append(
                await proxy.call_tool("get_current_time", {"timezone": "UTC"}, progress_callback=on_progress)
            )

        tasks.start_soon(call)
        with anyio.fail_after(10):
            await first.wait()
        held = pending_of(env, tool=NOW)
        assert held is not None and held["id"] in progress[0][1]
        assert not results
        reviewer(tool=NOW, approve=True)
    assert not results[0].is_error
    assert progress[0][1] == f"waiting for approval in ActionHub (action {held['id']})"


async def test_it_cancels_the_pending_action_when_the_client_cancels_the_call(env):
    started = anyio.Event()

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        started.set()

    async with _proxy(env) as proxy:
        with anyio.move_on_after(10) as scope:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(proxy.call_tool, "get_current_time", {"timezone": "UTC"}, None, on_progress)
                await started.wait()
                held = pending_of(env, tool=NOW)
                tasks.cancel_scope.cancel()
        assert not scope.cancelled_caught
        action = _wait_for_status(env, held["id"], "cancelled")
    assert action["status"] == "cancelled"
    audited = env.run(
        "from audit.models import AuditEntry\n"
        f"print(AuditEntry.objects.get(action_id='{held['id']}', event='action.cancelled').data['reason'])"
    )
    assert audited.strip() == "the MCP client cancelled the call"


def test_it_cancels_a_held_call_when_the_client_goes_away(env):
    """A client that quits (its end of stdin closes) without cancelling leaves nothing to approve."""
    proxy = subprocess.Popen(
        [str(BIN / "actionhub"), "mcp-proxy", "--name", "time", "--", *TIME_SERVER],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    hello = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "quitter", "version": "1"}}
    call = {"name": "get_current_time", "arguments": {"timezone": "UTC"}, "_meta": {"progressToken": "p1"}}
    for message in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": hello},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call},
    ):
        proxy.stdin.write(json.dumps(message) + "\n")
    proxy.stdin.flush()
    while (line := json.loads(proxy.stdout.readline())).get("method") != "notifications/progress":
        assert "id" not in line or line["id"] == 1, line
    held = pending_of(env, tool=NOW)
    assert held is not None and held["id"] in line["params"]["message"]
    assert held["parameters"]["agent"] == "quitter"

    proxy.stdin.close()
    assert proxy.wait(timeout=20) == 0
    assert _action(env, held["id"])["status"] == "cancelled"


async def test_it_answers_at_once_with_the_action_id_and_waits_in_actionhub_await(env, reviewer):
    async with _proxy(env, "--return-pending") as proxy:
        listed = await proxy.list_tools()
        assert [tool.name for tool in listed.tools] == ["get_current_time", "convert_time", "actionhub_await"]

        held = await proxy.call_tool("get_current_time", {"timezone": "America/New_York"})
        assert held.is_error
        action = pending_of(env, tool=NOW)
        assert action is not None and f"as action {action['id']}" in _text(held)
        assert f'actionhub_await tool with {{"action_id": "{action["id"]}"}}' in _text(held)

        reviewer(tool=NOW, approve=True)
        result = await proxy.call_tool("actionhub_await", {"action_id": action["id"]})
        assert not result.is_error, _text(result)
        assert result.structured_content["timezone"] == "America/New_York"
        assert _wait_for_status(env, action["id"], "completed")["status"] == "completed"

        again = await proxy.call_tool("actionhub_await", {"action_id": action["id"]})
        assert again.is_error and "not run again" in _text(again)
        unknown = await proxy.call_tool("actionhub_await", {"action_id": "not-an-action"})
        assert unknown.is_error and "No call of this server is held" in _text(unknown)


async def test_it_refuses_every_call_when_actionhub_refuses_the_token(env):
    async with _proxy(env, env=_env(env, "not-a-token")) as proxy:
        assert len((await proxy.list_tools()).tools) == 2
        result = await proxy.call_tool("get_current_time", {"timezone": "UTC"})
    assert result.is_error
    # A POST whose bearer token is unknown is refused as 403 (session auth's CSRF check), a GET as 401.
    assert _text(result).startswith(
        (
            "Not run: ActionHub could not be asked for approval (401: ",
            "Not run: ActionHub could not be asked for approval (403: ",
        )
    )


async def test_it_refuses_every_call_when_actionhub_is_unreachable(env):
    async with _proxy(env, env=_env(env, url=f"http://127.0.0.1:{free_port()}")) as proxy:
        result = await proxy.call_tool("get_current_time", {"timezone": "UTC"})
    assert result.is_error
    assert _text(result).startswith("Not run: ActionHub could not be asked for approval (could not reach ActionHub")


def test_it_says_how_to_name_the_upstream_when_none_is_given(env):
    done = subprocess.run([str(BIN / "actionhub"), "mcp-proxy", "--name", "time"], capture_output=True, text=True)
    assert done.returncode == 2
    assert "give an upstream, either -- COMMAND [ARGS…] or --upstream-url URL" in done.stderr


def test_it_says_in_one_line_when_the_upstream_cannot_start(env):
    done = subprocess.run(
        [str(BIN / "actionhub"), "mcp-proxy", "--", "/nonexistent/mcp-server"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=30,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "actionhub mcp-proxy: the upstream MCP server failed: "
        "[Errno 2] No such file or directory: '/nonexistent/mcp-server'"
    ]


@pytest.fixture
def http_time_server():
    """The published time server's tools, served over the SDK's own streamable HTTP transport."""
    port = free_port()
    code = (
        "import anyio, sys\n"
        "from mcp_server_time.server import create_server\n"
        "anyio.run(lambda: create_server('UTC').run_streamable_http_async(port=int(sys.argv[1])))\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(timeout=10)


async def test_it_proxies_a_streamable_http_upstream(env, reviewer, http_time_server):
    async with _proxy(env, "--upstream-url", http_time_server, upstream=[]) as proxy:
        listed = await proxy.list_tools()
        assert [tool.name for tool in listed.tools] == ["get_current_time", "convert_time"]
        reviewer(tool=NOW, approve=True)
        result = await proxy.call_tool("get_current_time", {"timezone": "Europe/Berlin"})
    assert not result.is_error, _text(result)
    assert result.structured_content["timezone"] == "Europe/Berlin"
