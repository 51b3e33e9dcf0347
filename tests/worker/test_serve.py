"""`serve` (what `make run` starts): the address links in notifications point at follows --host and --port."""

from __future__ import annotations

import socket

from worker.management.commands.serve import child_environment, served_base_url


def test_it_points_links_at_the_port_actually_served():
    env = child_environment(host="127.0.0.1", port=8123, environ={"PATH": "/usr/bin"})
    assert env == {"PATH": "/usr/bin", "ACTIONHUB_BASE_URL": "http://127.0.0.1:8123"}


def test_it_keeps_a_base_url_that_is_set():
    environ = {"ACTIONHUB_BASE_URL": "https://actionhub.example.org"}
    assert child_environment(host="127.0.0.1", port=8123, environ=environ) == environ
    assert child_environment(host="127.0.0.1", port=9000, environ={"ACTIONHUB_BASE_URL": ""}) == {
        "ACTIONHUB_BASE_URL": "http://127.0.0.1:9000"
    }


def test_it_names_a_wildcard_bind_by_the_machine_and_brackets_ipv6():
    assert served_base_url("0.0.0.0", 8000) == f"http://{socket.getfqdn()}:8000"  # noqa: S104
    assert served_base_url("::1", 8000) == "http://[::1]:8000"
    assert served_base_url("localhost", 8001) == "http://localhost:8001"
