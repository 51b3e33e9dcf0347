"""A live ActionHub for the client's tests: the real server (uvicorn + a worker) on its own SQLite
database, with alice (requester), bob and carol (reviewers)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from livehub import Reviewer

from tests.e2e.site import Site, migrate_template

USERS = {"alice": [], "bob": ["reviewers"], "carol": ["reviewers"], "mallory": []}


@pytest.fixture(scope="session")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    template = migrate_template(tmp_path_factory.mktemp("client-template"))
    var_dir = tmp_path_factory.mktemp("client-site")
    site = Site(var_dir=var_dir, redis_url=None, users=USERS).start(template)
    yield site
    site.stop()


@pytest.fixture
def env(hub: Site, monkeypatch: pytest.MonkeyPatch) -> Site:
    """ACTIONHUB_URL and ACTIONHUB_TOKEN set for alice, as an agent's environment would have them."""
    monkeypatch.setenv("ACTIONHUB_URL", hub.url)
    monkeypatch.setenv("ACTIONHUB_TOKEN", hub.tokens["alice"])
    monkeypatch.delenv("ACTIONHUB_TOKEN_FILE", raising=False)
    return hub


@pytest.fixture
def reviewer(hub: Site) -> Iterator[Callable[..., Reviewer]]:
    started: list[Reviewer] = []

    def start(**kwargs: Any) -> Reviewer:
        thread = Reviewer(hub, **kwargs)
        thread.start()
        started.append(thread)
        return thread

    yield start
    for thread in started:
        thread.join(timeout=25)
        assert thread.failure is None, thread.failure
