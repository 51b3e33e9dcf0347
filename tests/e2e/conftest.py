"""Fixtures for browser tests: live sites and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import require
from tests.e2e.site import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Site, migrate_template

REVIEWERS = ["reviewers"]


@pytest.fixture(scope="session")
def sandbox_image() -> None:
    """Docker answers and the sandbox image is built (a failure under CI). Without them a file write
    is known to fail, so approving one takes the second step: tests that approve a reversible
    write in one step need the sandbox the site would run it in."""
    from skills.sandbox import docker_status

    status = docker_status()
    require(status["available"], "no Docker engine answers")
    require(status["image"]["present"], "sandbox image missing: run python manage.py build_sandbox_image")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrate_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def start_site(sqlite_template: Path, tmp_path: Path) -> Iterator[Callable[..., Site]]:
    sites: list[Site] = []

    def start(
        *, users: dict[str, list[str]], channel_layer: str = "database", env: dict[str, str] | None = None
    ) -> Site:
        redis_url = None
        if channel_layer == "redis":
            redis_url = os.environ.get("REDIS_URL")
            require(bool(redis_url), "REDIS_URL is not set")
        var_dir = tmp_path / f"site{len(sites)}"
        var_dir.mkdir()
        site = Site(var_dir=var_dir, redis_url=redis_url, users=users, env=env or {})
        sites.append(site)
        return site.start(sqlite_template)

    yield start
    for site in sites:
        site.stop()


@pytest.fixture(scope="module")
def browser():
    require(Path(CHROMIUM).exists(), f"{CHROMIUM} is not installed")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a dev dependency
        require(False, "playwright is not installed")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def log_in(browser, site: Site, username: str, path: str = "/approvals/"):
    """A fresh browser context (its own cookies) logged in as `username`, showing `path`."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.console_errors = errors  # CSP violations and script errors show up here
    page.goto(f"{site.url}/accounts/login/?next={path}")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{site.url}{path}")
    return page
