"""`make run`: first-run admin, then the web server and executor workers, supervised."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

ASGI_APP = "actionhub.asgi:application"
UVICORN_OPTIONS = ["--lifespan", "off", "--no-access-log", "--timeout-graceful-shutdown", "5"]


def uvicorn_options() -> list[str]:
    """uvicorn believes X-Forwarded-For from loopback by default; only a configured proxy may set it."""
    if settings.BEHIND_PROXY:
        proxy = ["--proxy-headers", "--forwarded-allow-ips", ",".join(settings.TRUSTED_PROXIES)]
    else:
        proxy = ["--no-proxy-headers"]
    return [*UVICORN_OPTIONS, *proxy]


RESTART_BACKOFF = 2.0
WILDCARD_HOSTS = ("0.0.0.0", "::", "")  # noqa: S104 - names them, binds nothing


def served_base_url(host: str, port: int) -> str:
    """The address this server answers on, for links in emails: a wildcard bind is named by the
    machine's own name, an IPv6 address goes in brackets."""
    if host in WILDCARD_HOSTS:
        host = socket.getfqdn()
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def child_environment(*, host: str, port: int, environ: dict[str, str]) -> dict[str, str]:
    """The web server's and workers' environment: ACTIONHUB_BASE_URL follows --host and --port
    unless it is set (behind a proxy it names the public address)."""
    if environ.get("ACTIONHUB_BASE_URL"):
        return dict(environ)
    return {**environ, "ACTIONHUB_BASE_URL": served_base_url(host, port)}


class Command(BaseCommand):
    help = "Create the first admin if there are no users, then run web + workers until Ctrl-C."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=int(os.environ.get("ACTIONHUB_WORKERS", "2")))

    def handle(self, *args: Any, host: str, port: int, workers: int, **options: Any) -> None:
        self._bootstrap_admin(host, port)
        python = sys.executable
        # uvicorn rather than daphne: a change reaches 100 open queues ~20-50 ms sooner (bench/ws_fanout.py).
        web = [
            python,
            "-m",
            "uvicorn",
            "--host",
            host,
            "--port",
            str(port),
            *uvicorn_options(),
            "actionhub.asgi:application",
        ]
        worker = [python, "manage.py", "run_worker"]
        env = child_environment(host=host, port=port, environ=dict(os.environ))
        self.stdout.write(f"  links in notifications point at {env['ACTIONHUB_BASE_URL']}/ (ACTIONHUB_BASE_URL)")
        procs: dict[str, tuple[list[str], subprocess.Popen]] = {"web": (web, subprocess.Popen(web, env=env))}
        for index in range(workers):
            procs[f"worker-{index + 1}"] = (worker, subprocess.Popen(worker, env=env))
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        while not stopping:
            time.sleep(0.5)
            for name, (command, proc) in list(procs.items()):
                if proc.poll() is None or stopping:
                    continue
                if name == "web":
                    self.stderr.write(f"web server exited with {proc.returncode}; stopping")
                    stopping = True
                    break
                self.stderr.write(f"{name} exited with {proc.returncode}; restarting in {RESTART_BACKOFF:g}s")
                time.sleep(RESTART_BACKOFF)
                procs[name] = (command, subprocess.Popen(command, env=env))
        self.stdout.write("stopping web and workers…")
        for _, proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + settings.ACTIONHUB_WORKER_GRACE + 5
        for _, proc in procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()

    def _bootstrap_admin(self, host: str, port: int) -> None:
        url = f"http://{host}:{port}"
        if get_user_model().objects.exists():
            self.stdout.write(f"ActionHub on {url}/ (approval queue {url}/approvals/, API {url}/api/docs)")
            self.stdout.write("  log in with your account; add reviewers with: create_user NAME --role reviewers")
            return
        call_command("bootstrap_admin", url=url, stdout=self.stdout, stderr=self.stderr)
        self.stdout.write(f"  the approval queue is {url}/approvals/")
