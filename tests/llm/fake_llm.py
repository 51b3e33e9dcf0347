"""A real HTTP server on loopback speaking both LLM wires (Ollama and OpenAI-compatible), for tests and dev.

Besides the streamed replies ActionHub asks for, the OpenAI wire answers `"stream": false` with one
chat.completion and serves `/v1/responses` (not streamed), and scripted `turns` let an agent
framework's own runner see the model call a tool, or a hosted MCP server ask to approve one.

Standalone: `python tests/llm/fake_llm.py --port 11434` serves until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast

MODES = ("ok", "garbage", "http_500", "truncated", "slow", "drop", "fail_midway")
GARBAGE = b"<html><body><h1>502 Bad Gateway</h1>or rather, good garbage</body></html>"


@dataclass(frozen=True)
class ToolCall:
    """A model turn that calls the tool `name` with `arguments` instead of answering in text."""

    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str = "call_1"


@dataclass(frozen=True)
class McpApproval:
    """A Responses API turn in which a hosted MCP server asks to approve its tool `name`."""

    server_label: str
    name: str
    arguments: dict[str, Any] = field(default_factory=dict)
    id: str = "mcpr_1"


Turn = str | ToolCall | McpApproval


class FakeLLMServer:
    """Tests may change `models`, `reply`, `turns`, `mode`, `delay` and `api_key` between requests.

    `turns` scripts the OpenAI wire: each request takes the first turn left, a text reply, a
    `ToolCall` or (Responses API only) an `McpApproval`; with none left it answers `reply`. The Ollama
    wire always answers `reply`.

    `requests` records each request as {"method", "path", "json", "headers", "peer"}; header names are
    lower-cased and `peer` is the client's (host, port), which tells connections apart. `sent` records
    (time.time(), text) for each streamed text delta as it leaves, for latency measurements. In
    `fail_midway` mode a chat streams half of the reply, then reports an error in the stream.
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.models = ["llama3.2", "qwen2.5:0.5b"]
        self.reply = "Hello from the fake LLM."
        self.turns: list[Turn] = []
        self._turns_lock = threading.Lock()
        self.mode = "ok"
        self.delay = 0.0
        self.api_key: str | None = None
        self.requests: list[dict[str, Any]] = []
        self.sent: list[tuple[float, str]] = []
        self._httpd = _HTTPServer((host, port), _Handler)
        self._httpd.llm = self
        self.url = f"http://{host}:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01})
        self._thread.daemon = True

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        # A typo in a test would otherwise quietly behave like "ok".
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
        self._mode = mode

    def start(self) -> FakeLLMServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def chunks(self, text: str | None = None) -> list[str]:
        """The reply (or `text`) cut into word-sized deltas that join back to exactly it."""
        return re.findall(r"[^ ]+ *| +", self.reply if text is None else text)

    def next_turn(self) -> Turn:
        with self._turns_lock:
            return self.turns.pop(0) if self.turns else self.reply


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    llm: FakeLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Clients hanging up mid-stream (timeouts, abandoned streams) are part of what tests exercise.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and chunked streaming, like real LLM servers
    disable_nagle_algorithm = True  # each streamed chunk leaves at once

    @property
    def llm(self) -> FakeLLMServer:
        return cast(_HTTPServer, self.server).llm

    @property
    def openai(self) -> bool:
        return self.path.startswith("/v1/")

    def log_message(self, *args: Any) -> None:
        pass  # tests read `requests` instead

    def do_GET(self) -> None:
        self._handle({"/api/tags": self._tags, "/v1/models": self._models})

    def do_POST(self) -> None:
        self._handle(
            {
                "/api/chat": self._ollama_chat,
                "/v1/chat/completions": self._openai_chat,
                "/v1/responses": self._responses,
            }
        )

    def _handle(self, routes: dict[str, Callable[[dict[str, Any]], None]]) -> None:
        body = self._read_json()
        llm = self.llm
        llm.requests.append(
            {
                "method": self.command,
                "path": self.path,
                "json": body,
                "headers": {name.lower(): value for name, value in self.headers.items()},
                "peer": self.client_address,
            }
        )
        if llm.mode == "drop":
            self.close_connection = True
            return
        if self.openai and llm.api_key and self.headers.get("Authorization") != f"Bearer {llm.api_key}":
            self._error(401, "Incorrect API key provided.")
        elif llm.mode == "http_500":
            self._error(500, "model runner crashed")
        elif llm.mode == "garbage":
            self._send(200, "text/html", GARBAGE)
        elif (route := routes.get(self.path)) is None:
            self._error(404, f"no route {self.command} {self.path}")
        else:
            route(body if isinstance(body, dict) else {})

    def _read_json(self) -> Any:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            return json.loads(raw) if raw else None
        except ValueError:
            return None

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, "application/json", json.dumps(payload).encode())

    def _error(self, status: int, message: str) -> None:
        if self.openai:
            self._send_json(status, {"error": {"message": message, "type": "invalid_request_error"}})
        else:
            self._send_json(status, {"error": message})

    def _tags(self, body: dict[str, Any]) -> None:
        models = [{"name": name, "model": name, "size": 1} for name in self.llm.models]
        self._send_json(200, {"models": models})

    def _models(self, body: dict[str, Any]) -> None:
        data = [{"id": name, "object": "model", "owned_by": "fake"} for name in self.llm.models]
        self._send_json(200, {"object": "list", "data": data})

    def _known_model(self, model: str) -> bool:
        if model in self.llm.models or f"{model}:latest" in self.llm.models:
            return True
        message = f"The model `{model}` does not exist" if self.openai else f"model '{model}' not found"
        self._error(404, message)
        return False

    def _ollama_chat(self, body: dict[str, Any]) -> None:
        model = str(body.get("model", ""))
        if not self._known_model(model):
            return
        lines: list[dict[str, Any]] = [
            {"model": model, "message": {"role": "assistant", "content": chunk}, "done": False}
            for chunk in self._chunks()
        ]
        if self.llm.mode == "fail_midway":
            lines.append({"error": "model runner stopped unexpectedly"})
        elif self.llm.mode != "truncated":
            last = {"role": "assistant", "content": ""}
            lines.append({"model": model, "message": last, "done": True, "done_reason": "stop"})
        texts = [line.get("message", {}).get("content", "") for line in lines]
        self._stream("application/x-ndjson", [json.dumps(line) + "\n" for line in lines], texts)

    def _openai_chat(self, body: dict[str, Any]) -> None:
        model = str(body.get("model", ""))
        if not self._known_model(model):
            return
        turn = self.llm.next_turn()
        if isinstance(turn, McpApproval):
            self._error(400, "hosted MCP approvals exist on the Responses API only")
            return
        if body.get("stream") is not True:
            self._openai_completion(model, turn)
            return

        def event(delta: dict[str, Any], finish_reason: str | None = None) -> str:
            choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
            return f"data: {json.dumps({'model': model, 'choices': [choice]})}\n\n"

        # A role-only first delta and an empty finishing one, as OpenAI sends them.
        if isinstance(turn, ToolCall):
            chunks: list[str] = []
            events = [event({"role": "assistant"}), event({"tool_calls": [{"index": 0, **_tool_call(turn)}]})]
        else:
            chunks = self._chunks(turn)
            events = [event({"role": "assistant"}), *(event({"content": chunk}) for chunk in chunks)]
        texts = ["", *chunks]
        if self.llm.mode == "fail_midway":
            events.append(f"data: {json.dumps({'error': {'message': 'model runner stopped unexpectedly'}})}\n\n")
        elif self.llm.mode != "truncated":
            events += [event({}, "tool_calls" if isinstance(turn, ToolCall) else "stop"), "data: [DONE]\n\n"]
        self._stream("text/event-stream", events, texts)

    def _openai_completion(self, model: str, turn: str | ToolCall) -> None:
        """One chat.completion, as OpenAI answers a request that does not ask to stream."""
        if isinstance(turn, ToolCall):
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [_tool_call(turn)]}
            finish_reason = "tool_calls"
        else:
            message, finish_reason = {"role": "assistant", "content": turn}, "stop"
        completion = {
            "id": f"chatcmpl-fake-{len(self.llm.requests)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        self._send_json(200, completion)

    def _responses(self, body: dict[str, Any]) -> None:
        """One Responses API response, as OpenAI answers a request that does not ask to stream."""
        model = str(body.get("model", ""))
        if not self._known_model(model):
            return
        if body.get("stream") is True:
            self._error(400, "this server does not stream the Responses API")
            return
        turn = self.llm.next_turn()
        number = len(self.llm.requests)
        if isinstance(turn, ToolCall):
            item: dict[str, Any] = {
                "type": "function_call",
                "id": f"fc_{number}",
                "call_id": turn.id,
                "name": turn.name,
                "arguments": json.dumps(turn.arguments),
                "status": "completed",
            }
        elif isinstance(turn, McpApproval):
            item = {
                "type": "mcp_approval_request",
                "id": turn.id,
                "server_label": turn.server_label,
                "name": turn.name,
                "arguments": json.dumps(turn.arguments),
            }
        else:
            text = {"type": "output_text", "text": turn, "annotations": []}
            item = {
                "type": "message",
                "id": f"msg_{number}",
                "role": "assistant",
                "status": "completed",
                "content": [text],
            }
        response = {
            "id": f"resp_{number}",
            "object": "response",
            "created_at": int(time.time()),
            "model": model,
            "status": "completed",
            "output": [item],
            "parallel_tool_calls": True,
            "tool_choice": "auto",
            "tools": [],
            "usage": {
                "input_tokens": 1,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 1,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 2,
            },
        }
        self._send_json(200, response)

    def _chunks(self, text: str | None = None) -> list[str]:
        chunks = self.llm.chunks(text)
        return chunks[: len(chunks) // 2] if self.llm.mode == "fail_midway" else chunks

    def _stream(self, content_type: str, pieces: list[str], texts: list[str]) -> None:
        """Send pieces as HTTP chunks, each flushed at once (after `delay` in slow mode).

        `texts[i]` is the reply text piece i carries, recorded in `sent` as it leaves."""
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        for index, piece in enumerate(pieces):
            if self.llm.mode == "slow":
                time.sleep(self.llm.delay)
            data = piece.encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
            if index < len(texts) and texts[index]:
                self.llm.sent.append((time.time(), texts[index]))
        self.wfile.write(b"0\r\n\r\n")


def _tool_call(turn: ToolCall) -> dict[str, Any]:
    return {"id": turn.id, "type": "function", "function": {"name": turn.name, "arguments": json.dumps(turn.arguments)}}


def main() -> None:
    parser = argparse.ArgumentParser(description="A stand-in LLM server speaking both LLM wires.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--reply", default="Hello from the fake LLM.")
    parser.add_argument("--mode", choices=MODES, default="ok")
    parser.add_argument("--delay", type=float, default=0.2, help="seconds before each chunk in slow mode")
    parser.add_argument("--api-key", help="require this bearer token on the OpenAI wire")
    args = parser.parse_args()
    with FakeLLMServer(host=args.host, port=args.port) as server, contextlib.suppress(KeyboardInterrupt):
        server.reply = args.reply
        server.mode = args.mode
        server.delay = args.delay
        server.api_key = args.api_key
        print(f"fake LLM server on {server.url} (models: {', '.join(server.models)})", flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
