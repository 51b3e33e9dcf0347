"""A live ActionHub for browser tests: its own SQLite database, the web server `serve` runs, a worker.

The database is migrated once per test session into a template and copied per site, so each
site starts clean in well under a second. `channel_layer="redis"` points every process at Redis.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.management.commands.serve import uvicorn_options

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery-staple"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

SEED = """
import django, json, sys
django.setup()
from django.contrib.auth.models import Group
from tests.factories import make_user, make_token
users = json.loads(sys.argv[1])
tokens = {}
for name, groups in users.items():
    user = make_user(name, *groups)
    tokens[name] = make_token(user, name="e2e")
print(json.dumps(tokens))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def base_env(var_dir: Path, redis_url: str | None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "PYTEST_CURRENT_TEST"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tests.settings",
        DJANGO_DEBUG="0",
        ACTIONHUB_VAR_DIR=str(var_dir),
        DATABASE_URL=f"sqlite:///{var_dir / 'actionhub.sqlite3'}",
        ACTIONHUB_LOG_LEVEL="WARNING",
        ACTIONHUB_LEASE_SECONDS="2",
        ACTIONHUB_MAINTENANCE_INTERVAL="0.2",
    )
    if redis_url:
        env["REDIS_URL"] = redis_url
    env.update(extra or {})
    return env


def migrate_template(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=base_env(directory, None),
        check=True,
    )
    return directory / "actionhub.sqlite3"


@dataclass
class Site:
    var_dir: Path
    redis_url: str | None
    users: dict[str, list[str]]
    port: int = field(default_factory=free_port)
    tokens: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)
    # More environment for every process of the site, e.g. ACTIONHUB_LLM_URL of a loopback LLM server.
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, template: Path) -> Site:
        shutil.copy(template, self.var_dir / "actionhub.sqlite3")
        env = base_env(self.var_dir, self.redis_url, self.env)
        seeded = subprocess.run(
            [sys.executable, "-c", SEED, json.dumps(self.users)], cwd=ROOT, env=env, capture_output=True, text=True
        )
        if seeded.returncode != 0:
            raise RuntimeError(seeded.stderr)
        self.tokens = json.loads(seeded.stdout)
        worker = [sys.executable, "manage.py", "run_worker", "--interval", "0.05"]
        self.processes.append(self._spawn(worker))
        self.start_web()
        return self

    def _spawn(self, command: list[str]) -> subprocess.Popen:
        log = open(self.var_dir / "site.log", "a")  # noqa: SIM115 - the child keeps it open
        env = base_env(self.var_dir, self.redis_url, self.env)
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def start_web(self) -> None:
        web = [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(self.port), *uvicorn_options()]
        self.web = self._spawn([*web, "actionhub.asgi:application"])
        self.processes.append(self.web)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/api/status", timeout=1)
                return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        raise RuntimeError(f"the site did not start:\n{self.log()}")

    def stop_web(self) -> None:
        self.web.terminate()
        self.web.wait(timeout=15)

    def run(self, code: str) -> str:
        """Run Python against the site's database (Django set up), as another process would."""
        script = "import django\ndjango.setup()\n" + code
        env = base_env(self.var_dir, self.redis_url, self.env)
        done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return done.stdout

    def log(self) -> str:
        path = self.var_dir / "site.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()

    def api(self, user: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        request = urllib.request.Request(
            f"{self.url}/api{path}",
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.tokens[user]}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
