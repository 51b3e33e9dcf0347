"""The login lockout keys on the real client address: a forwarded header from a client that is
not a configured proxy changes nothing (against the ASGI server as `make run` starts it)."""

from __future__ import annotations

import re

import httpx

from tests.e2e.site import PASSWORD


def _attempt(site, password: str, forwarded_for: str) -> httpx.Response:
    with httpx.Client(base_url=site.url, timeout=10) as client:
        page = client.get("/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return client.post(
            "/accounts/login/",
            data={"username": "alice", "password": password, "csrfmiddlewaretoken": token},
            headers={"X-Forwarded-For": forwarded_for, "Referer": f"{site.url}/accounts/login/"},
        )


def test_it_locks_out_a_client_that_rotates_x_forwarded_for(start_site, settings):
    settings.BEHIND_PROXY = False
    site = start_site(users={"alice": []}, env={"ACTIONHUB_LOGIN_FAILURE_LIMIT": "3"})
    for index in range(2):
        assert _attempt(site, "wrong", f"203.0.113.{index}").status_code == 200
    # The failure that reaches the limit locks the username at this address, whatever header it sends.
    assert _attempt(site, "wrong", "203.0.113.2").status_code == 429
    locked = _attempt(site, PASSWORD, "198.51.100.7")
    assert locked.status_code == 429
    assert "sessionid" not in locked.cookies


def test_it_honours_x_forwarded_for_from_a_configured_proxy(start_site, settings):
    settings.BEHIND_PROXY = True
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    site = start_site(users={"alice": []}, env={"ACTIONHUB_LOGIN_FAILURE_LIMIT": "3"})
    for _ in range(2):
        assert _attempt(site, "wrong", "203.0.113.1").status_code == 200
    assert _attempt(site, "wrong", "203.0.113.1").status_code == 429
    assert _attempt(site, PASSWORD, "203.0.113.1").status_code == 429
    # Another client behind the same proxy is not locked out by the first one's failures.
    assert _attempt(site, PASSWORD, "198.51.100.7").status_code == 302
