"""Settings for the test suite: production settings with a fixed, test-only secret and plain HTTP."""

from __future__ import annotations

import os
import tempfile
from urllib.parse import urlsplit, urlunsplit

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-used-anywhere-else-0123456789")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("DJANGO_SECURE_COOKIES", "0")
# Workspaces the sandbox writes into live outside the project, one directory per test run.
os.environ.setdefault("ACTIONHUB_WORKSPACES_DIR", tempfile.mkdtemp(prefix="actionhub-test-workspaces-"))

from actionhub.settings import *  # noqa: F403

# Connections opened by websocket consumers in worker threads close after each use, so the test
# database can be dropped at the end of the run.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405

# Parallel test workers (pytest-xdist) share one Redis server. Each keeps its cache in a database of
# its own, since every test starts by clearing the cache (FLUSHDB), which must not wipe another
# worker's rate-limit counters mid-test; and its channels under a prefix of its own (pub/sub channels
# ignore the database number). Sites a test starts inherit the worker's name through the
# environment and so use the same database and prefix.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER")
if _WORKER and REDIS_URL:  # noqa: F405
    _redis = urlsplit(REDIS_URL)  # noqa: F405
    _base = int(_redis.path.strip("/") or 0)
    _number = (_base + 1 + int(_WORKER.removeprefix("gw"))) % 16
    CACHES["default"]["LOCATION"] = urlunsplit(_redis._replace(path=f"/{_number}"))  # noqa: F405
    CACHES["default"]["KEY_PREFIX"] = _WORKER  # noqa: F405
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = f"asgi-{_WORKER}"  # noqa: F405
