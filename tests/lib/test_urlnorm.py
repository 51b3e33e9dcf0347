"""The one parser of http(s) URLs: what it normalises, what it refuses, and that the HTTP client
sends the normal form unchanged."""

from __future__ import annotations

import httpx
import pytest

from lib.urlnorm import InvalidURL, normalize_url, url_allowed

ALLOW = ["http://127.0.0.1:8080/api"]


@pytest.mark.parametrize(
    ("url", "normal"),
    [
        ("http://127.0.0.1:8080/api/./x", "http://127.0.0.1:8080/api/x"),
        ("http://127.0.0.1:8080/api/a/../x", "http://127.0.0.1:8080/api/x"),
        ("http://127.0.0.1:8080/api/../outside", "http://127.0.0.1:8080/outside"),
        ("http://127.0.0.1:8080/api/%2e%2e/outside", "http://127.0.0.1:8080/outside"),
        ("http://127.0.0.1:8080/api/%2E%2e/outside", "http://127.0.0.1:8080/outside"),
        ("http://127.0.0.1:8080/api/.%2e/outside", "http://127.0.0.1:8080/outside"),
        ("http://127.0.0.1:8080/api/%2e/x", "http://127.0.0.1:8080/api/x"),
        ("http://127.0.0.1:8080/%61%70%69/x", "http://127.0.0.1:8080/api/x"),
        ("http://127.0.0.1:8080/api/%7euser", "http://127.0.0.1:8080/api/~user"),
        ("http://127.0.0.1:8080/api/a%2fb", "http://127.0.0.1:8080/api/a%2Fb"),
        ("HTTP://EXAMPLE.org:80/A/b", "http://example.org/A/b"),
        ("https://Api.Example.org:443", "https://api.example.org/"),
        ("https://api.example.org:8443/x?q=%41&r=1#frag", "https://api.example.org:8443/x?q=A&r=1"),
        ("http://h/a b", None),
        ("http://h/caf\u00e9", "http://h/caf%C3%A9"),
        ("http://h/50%", "http://h/50%25"),
        ("http://h/a|b\\c", "http://h/a%7Cb%5Cc"),
        ("http://[::1]:8080/x", "http://[::1]:8080/x"),
        ("http://[0:0::1]/x", "http://[::1]/x"),
        ("http://h:/x", "http://h/x"),
    ],
)
def test_it_normalises_a_url_to_one_form(url, normal):
    if normal is None:
        with pytest.raises(InvalidURL):
            normalize_url(url)
        return
    assert normalize_url(url).text == normal
    assert normalize_url(normal).text == normal, "the normal form is a fixed point"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://h:+80/", "port"),
        ("http://h:80.evil/", "port"),
        ("http://h:99999/", "port"),
        ("http://h:0/", "port"),
        ("http://h:8a/", "port"),
        ("http://h:\u0663/", "port"),
        ("http://h:80:81/", "port"),
        ("ftp://h/x", "http or https"),
        ("http:///x", "host"),
        ("http://user:pw@h/x", "user name or password"),
        ("http://evil\\@good/x", "user name or password"),
        ("http://good\\.evil/x", "host"),
        ("http://b\u00fccher.example/x", "xn--"),
        ("http://999.1.1.1/x", "host"),
        ("http://h/x\ny", "control"),
        ("http://h/api/..%2foutside", "'..'"),
        ("http://h/api/..%5Coutside", "'..'"),
        ("http://h/api/..\\outside", "'..'"),
        ("http://h/\ud800", "UTF-8"),
        (42, "string"),
    ],
)
def test_it_refuses_what_it_cannot_read_one_way(url, message):
    with pytest.raises(InvalidURL, match=message):
        normalize_url(url)


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8080/api/../outside", False),
        ("http://127.0.0.1:8080/api/%2e%2e/outside", False),
        ("http://127.0.0.1:8080/api/%2E%2E/outside", False),
        ("http://127.0.0.1:8080/api/x/../../outside", False),
        ("http://127.0.0.1:8080/api/./x", True),
        ("http://127.0.0.1:8080/%61pi/x", True),
        ("HTTP://127.0.0.1:8080/api", True),
        ("http://127.0.0.1:+8080/api/x", False),
        ("http://127.0.0.1:8080.evil/api/x", False),
    ],
)
def test_it_checks_the_allowlist_on_the_normal_form(url, allowed):
    assert url_allowed(url, ALLOW) is allowed


def test_it_matches_default_ports_and_host_case_in_the_allowlist():
    assert url_allowed("https://API.example.org:443/v1/x", ["https://api.example.org/v1"])
    assert url_allowed("https://api.example.org/v1/x", ["HTTPS://api.EXAMPLE.org:443/v1/"])
    assert not url_allowed("https://api.example.org/v1/x", ["https://api.example.org:+443/v1"])


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/api/x/./y/../z?a=%41&b=%2f#f",
        "https://Example.ORG:443/caf\u00e9/50%/a|b",
        "http://[::1]:8080/p;q=1/x@y:z?k=v/w?",
    ],
)
def test_it_gives_the_http_client_a_url_it_sends_unchanged(url):
    normal = normalize_url(url).text
    assert str(httpx.URL(normal)) == normal
