"""The image's HEALTHCHECK: a web container is healthy when /health/ready answers 200, a worker when
its heartbeat (written to the database each second) is fresh, a one-shot command always."""

from __future__ import annotations

import os
import sys
import time
import urllib.request
from pathlib import Path

# As worker.models.WORKER_ALIVE_WITHIN: other workers reclaim the tasks of one silent this long.
WORKER_ALIVE_SECONDS = 15


def role() -> str:
    """What PID 1 (tini) runs: tini -- /app/deploy/entrypoint.sh ROLE ..."""
    argv = Path("/proc/1/cmdline").read_bytes().split(b"\0")
    for index, arg in enumerate(argv):
        if arg.endswith(b"entrypoint.sh"):
            return argv[index + 1].decode() if len(argv) > index + 1 and argv[index + 1] else "web"
    return ""


def web_ready() -> bool:
    port = os.environ.get("ACTIONHUB_WEB_PORT") or "8000"
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready", timeout=4) as response:
            return response.status == 200
    except OSError:
        return False


def worker_alive() -> bool:
    beat = Path(os.environ.get("ACTIONHUB_WORKER_HEARTBEAT_FILE") or "/tmp/actionhub-worker-heartbeat")  # noqa: S108
    try:
        return time.time() - beat.stat().st_mtime < WORKER_ALIVE_SECONDS
    except OSError:
        return False


def main() -> int:
    current = role()
    if current == "web":
        return 0 if web_ready() else 1
    if current == "worker":
        return 0 if worker_alive() else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
