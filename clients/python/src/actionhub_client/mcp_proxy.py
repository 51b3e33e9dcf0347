"""`actionhub mcp-proxy`: an MCP server in front of another one that holds each tool call for a reviewer.

It lists the upstream's tools unchanged, asks ActionHub about every `tools/call` (a tool_call named
`mcp__<name>__<tool>`, the tool's annotations as hints), forwards an approved call with the decided
arguments and returns the upstream's result as it is. Anything else, ActionHub unreachable included,
is an `isError` result that tells the model why: the call never reaches the upstream unapproved.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import TYPE_CHECKING, Any

from actionhub_client.client import AsyncClient
from actionhub_client.errors import ActionHubError, BadRequest, NotFound
from actionhub_client.models import Action

if TYPE_CHECKING:
    import mcp_types as types
    from mcp.client.session import ClientSession
    from mcp.server.context import ServerRequestContext

HELP = "serve an MCP server's tools over stdio, each call held in ActionHub until a reviewer approves it"
AWAIT_TOOL = "actionhub_await"
# One actionhub_await call returns before the 60 s many MCP clients allow a request.
AWAIT_SECONDS = 45.0
# How often a held call tells the client it is still waiting (clients that honour progress reset their timeout).
PROGRESS_SECONDS = 5.0
# How long withdrawing an abandoned call may hold up the client's cancellation.
CANCEL_SECONDS = 10.0
HINTS = {
    "read_only_hint": "readOnlyHint",
    "destructive_hint": "destructiveHint",
    "idempotent_hint": "idempotentHint",
    "open_world_hint": "openWorldHint",
}
# What ActionHub accepts as a reported output or error.
MAX_OUTCOME = 100_000
# The proxy's own credentials stay with the proxy.
PRIVATE_ENV = ("ACTIONHUB_TOKEN", "ACTIONHUB_TOKEN_FILE")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--name", help="the server's name in tool names, mcp__NAME__TOOL (default: the upstream's serverInfo name)"
    )
    parser.add_argument("--upstream-url", metavar="URL", help="a streamable HTTP MCP server to proxy instead")
    parser.add_argument(
        "--return-pending",
        action="store_true",
        help=f"answer a held call at once with its action id; the model waits with the {AWAIT_TOOL} tool",
    )
    parser.add_argument("upstream", nargs="*", metavar="-- COMMAND", help="the stdio MCP server to run and proxy")


def run(args: argparse.Namespace) -> int:
    if bool(args.upstream) == bool(args.upstream_url):
        print("actionhub mcp-proxy: give an upstream, either -- COMMAND [ARGS…] or --upstream-url URL", file=sys.stderr)
        return 2
    try:
        import anyio
        import mcp  # noqa: F401
    except ImportError:
        print(
            "actionhub mcp-proxy needs the mcp extra: pip install 'actionhub-client[mcp]' "
            "(from an ActionHub checkout: pip install './clients/python[mcp]')",
            file=sys.stderr,
        )
        return 2
    try:
        hub = AsyncClient(args.url, args.token)
    except ActionHubError as error:
        print(f"actionhub mcp-proxy: {error}", file=sys.stderr)
        return 2
    # The SDK's own HTTP client (httpx2) carries the streamable HTTP transport.
    from httpx2 import HTTPError as UpstreamHTTPError
    from mcp.shared.exceptions import MCPError

    try:
        anyio.run(_serve, args, hub)
    except Exception as error:
        cause = _sole_cause(error)
        if not isinstance(cause, (OSError, MCPError, UpstreamHTTPError)):
            raise
        print(f"actionhub mcp-proxy: the upstream MCP server failed: {cause}", file=sys.stderr)
        return 1
    return 0


def _sole_cause(error: BaseException) -> BaseException:
    """The one error inside the task groups' exception groups, if it is one."""
    while isinstance(inner := getattr(error, "exceptions", None), tuple) and len(inner) == 1:
        error = inner[0]
    return error


def server_name(name: str) -> str:
    """A name fit for `mcp__<name>__<tool>`: letters, digits, `-` and `_`."""
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_") or "upstream"


def hints_of(tool: types.Tool) -> dict[str, bool]:
    annotations = tool.annotations
    if annotations is None:
        return {}
    return {hint: value for field, hint in HINTS.items() if isinstance(value := getattr(annotations, field), bool)}


def upstream_env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in PRIVATE_ENV}


def refusal(text: str) -> types.CallToolResult:
    """What the model reads when the call did not run."""
    import mcp_types as types

    return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=True)


def _result_text(result: types.CallToolResult) -> str:
    texts = [block.text for block in result.content if getattr(block, "type", None) == "text"]
    return "\n".join(texts)[:MAX_OUTCOME]


@asynccontextmanager
async def _upstream(args: argparse.Namespace) -> AsyncIterator[tuple[ClientSession, types.InitializeResult]]:
    from mcp.client.session import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client
    from mcp.client.streamable_http import streamable_http_client

    if args.upstream_url:
        transport = streamable_http_client(args.upstream_url)
    else:
        command, *rest = args.upstream
        transport = stdio_client(StdioServerParameters(command=command, args=rest, env=upstream_env()))
    async with transport as (read, write), ClientSession(read, write) as session:
        yield session, await session.initialize()


async def _serve(args: argparse.Namespace, hub: AsyncClient) -> None:
    from mcp.server.lowlevel import Server
    from mcp.server.stdio import stdio_server

    async with hub, _upstream(args) as (session, hello):
        proxy = Proxy(
            hub,
            session,
            name=server_name(args.name or hello.server_info.name),
            return_pending=args.return_pending,
        )
        info = hello.server_info
        server: Server[Any] = Server(
            info.name,
            version=info.version,
            title=info.title,
            instructions=_instructions(hello.instructions, return_pending=args.return_pending),
            on_list_tools=proxy.list_tools,
            on_call_tool=proxy.call_tool,
        )
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())


class Proxy:
    """The handlers of the proxy's MCP server: tools/list passes through, tools/call is held."""

    def __init__(self, hub: AsyncClient, upstream: ClientSession, *, name: str, return_pending: bool) -> None:
        self.hub, self.upstream, self.name, self.return_pending = hub, upstream, name, return_pending
        self.tools: dict[str, types.Tool] = {}
        # Groups one run's calls in ActionHub, as an agent's session does.
        self.session_id = uuid.uuid4().hex
        # Approved calls being forwarded by actionhub_await, so a repeated await never runs one twice.
        self.forwarding: set[str] = set()

    def tool_name(self, tool: str) -> str:
        return f"mcp__{self.name}__{tool}"

    async def list_tools(
        self, ctx: ServerRequestContext[Any], params: types.PaginatedRequestParams | None
    ) -> types.ListToolsResult:
        result = await self._list_upstream_tools(params)
        if self.return_pending and result.next_cursor is None:
            result.tools = [*result.tools, _await_tool()]
        return result

    async def call_tool(self, ctx: ServerRequestContext[Any], params: types.CallToolRequestParams) -> Any:
        if self.return_pending and params.name == AWAIT_TOOL:
            return await self.await_call(ctx, str((params.arguments or {}).get("action_id", "")))
        tool = await self._tool(params.name)
        try:
            action = await self.hub.submit_tool_call(
                self.tool_name(tool.name),
                params.arguments or {},
                agent=_client_name(ctx),
                session_id=self.session_id,
                hints=hints_of(tool),
            )
        except ActionHubError as error:
            return refusal(f"Not run: ActionHub could not be asked for approval ({error}).")
        if action.pending and self.return_pending:
            return refusal(_pending_text(action))
        if action.pending:
            action = await self._wait(ctx, action, timeout=None)
            if isinstance(action, str):
                return refusal(action)
        return await self.forward(action)

    async def await_call(self, ctx: ServerRequestContext[Any], action_id: str) -> Any:
        try:
            action = await self.hub.get(action_id) if action_id else None
        except (NotFound, BadRequest):
            action = None
        except ActionHubError as error:
            return refusal(f"Not run: ActionHub could not be asked about {action_id} ({error}).")
        if action is None or not str(action.parameters.get("tool", "")).startswith(self.tool_name("")):
            return refusal(f"No call of this server is held as {action_id!r}: pass the action_id a held call gave.")
        if action.pending:
            action = await self._wait(ctx, action, timeout=AWAIT_SECONDS)
            if isinstance(action, str):
                return refusal(action)
        if action.pending:
            return refusal(f"Still waiting for a reviewer. {_await_instructions(action)}")
        if action.finished and not action.denied:
            return refusal(f"Already run: action {action.id} is {action.status}; it is not run again.")
        if action.id in self.forwarding:
            return refusal(f"Already running: action {action.id} is being forwarded by another call.")
        self.forwarding.add(action.id)
        try:
            return await self.forward(action)
        finally:
            self.forwarding.discard(action.id)

    async def forward(self, action: Action) -> Any:
        """Run the decided call upstream (when approved) and report how it went."""
        import mcp_types as types
        from mcp.shared.exceptions import MCPError

        if not action.approved:
            return refusal(action.denial())
        tool = str(action.parameters["tool"]).removeprefix(self.tool_name(""))
        request = types.CallToolRequest(
            params=types.CallToolRequestParams(name=tool, arguments=action.parameters.get("input") or {})
        )
        try:
            result = await self.upstream.send_request(request, types.CallToolResult)
        except MCPError as error:
            await self._report(action, ok=False, text=f"{error.error.code}: {error.error.message}")
            raise
        await self._report(action, ok=not result.is_error, text=_result_text(result))
        return result

    async def _list_upstream_tools(self, params: types.PaginatedRequestParams | None) -> types.ListToolsResult:
        result = await self.upstream.list_tools(params=params)
        self.tools.update((tool.name, tool) for tool in result.tools)
        return result

    async def _tool(self, name: str) -> types.Tool:
        """The upstream's tool of that name, whose annotations become the call's hints."""
        from mcp.shared.exceptions import MCPError
        from mcp_types import INVALID_PARAMS

        if name not in self.tools:
            await self._list_upstream_tools(None)
        if name not in self.tools:
            raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}")
        return self.tools[name]

    async def _wait(self, ctx: ServerRequestContext[Any], action: Action, *, timeout: float | None) -> Action | str:
        """The action once decided (or after `timeout`), telling the client meanwhile; a text if that failed.

        A client that cancels the request withdraws the action, so nobody approves a call nobody waits for."""
        import anyio

        decided: Action | str = action
        message = f"waiting for approval in ActionHub (action {action.id})"

        async def wait() -> None:
            nonlocal decided
            try:
                decided = await self.hub.wait(action.id, timeout=timeout, cancel_on_timeout=False)
            except ActionHubError as error:
                decided = f"Not run: ActionHub stopped answering while the call waited for approval ({error})."
                with suppress(ActionHubError):
                    await self.hub.cancel(action.id, reason="the proxy lost touch with ActionHub")
            tasks.cancel_scope.cancel()

        started = time.monotonic()
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(wait)
                while True:
                    await ctx.session.report_progress(round(time.monotonic() - started, 1), None, message)
                    await anyio.sleep(PROGRESS_SECONDS)
        except anyio.get_cancelled_exc_class():
            with (
                anyio.CancelScope(shield=True, deadline=anyio.current_time() + CANCEL_SECONDS),
                suppress(ActionHubError),
            ):
                await self.hub.cancel(action.id, reason="the MCP client cancelled the call")
            raise
        return decided

    async def _report(self, action: Action, *, ok: bool, text: str) -> None:
        # The upstream's answer reaches the model even when the report cannot.
        try:
            await self.hub.outcome(action.id, ok=ok, output=text if ok else "", error="" if ok else text or "isError")
        except ActionHubError as error:
            print(f"actionhub mcp-proxy: could not report the outcome of {action.id}: {error}", file=sys.stderr)


def _instructions(upstream: str | None, *, return_pending: bool) -> str:
    """The upstream's instructions, and what a held call means for the model."""
    held = (
        f"A held call answers at once with an action id: wait for it with the {AWAIT_TOOL} tool."
        if return_pending
        else "A call may take a while to answer."
    )
    note = (
        "Each tool call of this server waits for a human reviewer's approval in ActionHub. "
        f"{held} A refused call returns an error result with the reviewer's reason: "
        "do not retry it unchanged."
    )
    return f"{upstream}\n\n{note}" if upstream else note


def _client_name(ctx: ServerRequestContext[Any]) -> str:
    hello = ctx.session.client_params
    return hello.client_info.name if hello is not None else "mcp"


def _await_instructions(action: Action) -> str:
    return (
        f'Call the {AWAIT_TOOL} tool with {{"action_id": "{action.id}"}} to wait for the decision; '
        "it runs the call once approved and returns its result."
    )


def _pending_text(action: Action) -> str:
    return f"Held for approval in ActionHub as action {action.id}; not run yet. {_await_instructions(action)}"


def _await_tool() -> types.Tool:
    import mcp_types as types

    return types.Tool(
        name=AWAIT_TOOL,
        description=(
            "Wait for a reviewer's decision on a tool call ActionHub holds. Returns within a minute: "
            "the held call's own result once approved, the reviewer's reason if refused, "
            "or 'still waiting' (then call it again)."
        ),
        input_schema={
            "type": "object",
            "properties": {"action_id": {"type": "string", "description": "the action id the held call returned"}},
            "required": ["action_id"],
        },
    )


__all__ = ["HELP", "add_arguments", "run"]
