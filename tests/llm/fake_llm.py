"""A real HTTP server on loopback that speaks both LLM wires (Ollama and OpenAI-compatible).

Tests set `mode`, `reply`, `models`, `delay` and `api_key` between requests; `requests`
records what arrived. Also a dev stand-in: `python tests/llm/fake_llm.py --port 11434`.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("ok", "garbage", "http_500", "truncated", "slow", "drop")


class FakeLLMServer:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.models = ["llama3.2", "qwen2.5:0.5b"]
        self.reply = "Hello from the fake LLM."
        self.mode = "ok"
        self.delay = 0.0
        self.api_key: str | None = None
        self.requests: list[dict[str, Any]] = []
        self.httpd = ThreadingHTTPServer((host, port), self._handler())
        self.httpd.daemon_threads = True
        self.url = f"http://{host}:{self.httpd.server_address[1]}"
        self._thread: threading.Thread | None = None

    def start(self) -> FakeLLMServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def chunks(self) -> list[str]:
        words = self.reply.split(" ")
        return [word + (" " if index < len(words) - 1 else "") for index, word in enumerate(words)]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def _body(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    return json.loads(raw) if raw else None
                except ValueError:
                    return None

            def _send_json(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _error(self, openai: bool, status: int, message: str) -> None:
                self._send_json(status, {"error": {"message": message}} if openai else {"error": message})

            def _start_stream(self, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Connection", "close")
                self.end_headers()
                self.close_connection = True

            def _write(self, text: str) -> None:
                if server.mode == "slow":
                    time.sleep(server.delay)
                self.wfile.write(text.encode())
                self.wfile.flush()

            def _handle(self, method: str) -> None:
                body = self._body() if method == "POST" else None
                server.requests.append({"path": self.path, "json": body, "headers": dict(self.headers)})
                openai = self.path.startswith("/v1/")
                if server.mode == "drop":
                    self.close_connection = True
                    self.connection.close()
                    return
                if openai and server.api_key and self.headers.get("Authorization") != f"Bearer {server.api_key}":
                    self._error(True, 401, "Incorrect API key provided")
                    return
                if server.mode == "http_500":
                    self._error(openai, 500, "model runner crashed")
                    return
                if server.mode == "garbage":
                    page = b"<html>Bad Gateway, or rather good garbage</html>"
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(page)))
                    self.end_headers()
                    self.wfile.write(page)
                    return
                routes = {
                    ("GET", "/api/tags"): self._tags,
                    ("GET", "/v1/models"): self._models,
                    ("POST", "/api/chat"): self._ollama_chat,
                    ("POST", "/v1/chat/completions"): self._openai_chat,
                }
                route = routes.get((method, self.path))
                if route is None:
                    self._error(openai, 404, f"no route {self.path}")
                    return
                route(body or {})

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def _tags(self, body: Any) -> None:
                self._send_json(200, {"models": [{"name": name, "size": 1} for name in server.models]})

            def _models(self, body: Any) -> None:
                self._send_json(
                    200, {"object": "list", "data": [{"id": name, "object": "model"} for name in server.models]}
                )

            def _known(self, openai: bool, model: str) -> bool:
                if model in server.models or f"{model}:latest" in server.models:
                    return True
                message = f"The model `{model}` does not exist" if openai else f"model '{model}' not found"
                self._error(openai, 404, message)
                return False

            def _ollama_chat(self, body: Any) -> None:
                model = body.get("model", "")
                if not self._known(False, model):
                    return
                self._start_stream("application/x-ndjson")
                for chunk in server.chunks():
                    message = {"role": "assistant", "content": chunk}
                    self._write(json.dumps({"model": model, "message": message, "done": False}) + "\n")
                if server.mode != "truncated":
                    self._write(
                        json.dumps({"model": model, "message": {"role": "assistant", "content": ""}, "done": True})
                        + "\n"
                    )

            def _openai_chat(self, body: Any) -> None:
                model = body.get("model", "")
                if not self._known(True, model):
                    return
                self._start_stream("text/event-stream")
                self._write("data: " + json.dumps({"choices": [{"index": 0, "delta": {"role": "assistant"}}]}) + "\n\n")
                for chunk in server.chunks():
                    event = {"model": model, "choices": [{"index": 0, "delta": {"content": chunk}}]}
                    self._write("data: " + json.dumps(event) + "\n\n")
                if server.mode != "truncated":
                    self._write("data: [DONE]\n\n")

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="A stand-in LLM server speaking the Ollama and OpenAI wires.")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--reply", default="Hello from the fake LLM.")
    args = parser.parse_args()
    server = FakeLLMServer(port=args.port)
    server.reply = args.reply
    print(f"fake LLM server on {server.url} (models: {', '.join(server.models)})", flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
