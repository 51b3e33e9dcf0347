"""The one parser of the http(s) URLs ActionHub reaches (api_call, callback and webhook URLs, rule
URL matchers) and the one allowlist check, `url_allowed`, that api_call and callbacks share.

A URL is checked, stored and sent in the normal form `normalize_url` returns (RFC 3986 section 6:
lowercase scheme and host, default port dropped, unreserved characters decoded, dot segments
removed), so an allowlist check and the request on the wire never read it two ways."""

from __future__ import annotations

import ipaddress
import re
import string
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

DEFAULT_PORTS = {"http": 80, "https": 443}
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
_SUB_DELIMS = "!$&'()*+,;="
# What may stay as it is in a path and a query; everything else is percent-encoded. Both are
# subsets of what the HTTP client leaves alone, so it sends the normal form byte for byte.
_PATH_SAFE = _UNRESERVED | frozenset(_SUB_DELIMS + ":@/")
_QUERY_SAFE = _PATH_SAFE | frozenset("?")
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})")
_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$")


class InvalidURL(ValueError):
    """A URL that cannot be read one way only; str() says why, fit for a field error."""


@dataclass(frozen=True)
class NormalURL:
    scheme: str
    host: str  # lowercase; an IPv6 address without its brackets
    port: int  # the port connected to, the scheme's default when the URL names none
    path: str
    query: str | None

    @property
    def origin(self) -> str:
        """Scheme, host and port: what may be logged and audited of a URL whose path may hold a secret."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == DEFAULT_PORTS[self.scheme] else f":{self.port}"
        return f"{self.scheme}://{host}{port}"

    @property
    def text(self) -> str:
        query = "" if self.query is None else f"?{self.query}"
        return f"{self.origin}{self.path}{query}"


def normalize_url(url: object) -> NormalURL:
    """The normal form of an absolute http(s) URL; InvalidURL if it has none. The fragment is
    dropped: it is never sent."""
    if not isinstance(url, str):
        raise InvalidURL("must be a URL string")
    if any(char <= " " or char == "\x7f" for char in url):
        raise InvalidURL("must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidURL("has a malformed host") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidURL("must be an http or https URL")
    if "@" in parts.netloc:
        raise InvalidURL("must not carry a user name or password; send credentials in headers")
    host_text, port_text = _split_authority(parts.netloc)
    host = _host(host_text)
    port = _port(port_text, scheme)
    path = _remove_dot_segments(_percent_normal(parts.path, _PATH_SAFE)) or "/"
    if ".." in re.split(r"[/\\]", unquote(path)):
        raise InvalidURL("must not hide a '..' segment behind an encoded '/' or '\\'")
    query = _percent_normal(parts.query, _QUERY_SAFE) or None
    return NormalURL(scheme, host, port, path, query)


def url_allowed(url: str, allowlist: list[str]) -> bool:
    """True when the normal form of `url` is under an allowlist entry: same scheme, host and port,
    and a path prefix that ends at a segment boundary (so `https://api.x` never admits
    `https://api.x.evil`, and `/api/../outside` is judged as the `/outside` it is sent as)."""
    try:
        target = normalize_url(url)
    except InvalidURL:
        return False
    return any(_under(target, entry) for entry in allowlist)


def _under(target: NormalURL, entry: str) -> bool:
    try:
        base = normalize_url(entry)
    except InvalidURL:
        return False  # a malformed entry admits nothing
    if (base.scheme, base.host, base.port) != (target.scheme, target.host, target.port):
        return False
    prefix = base.path.rstrip("/")
    return not prefix or target.path == prefix or target.path.startswith(prefix + "/")


def _split_authority(netloc: str) -> tuple[str, str | None]:
    if netloc.startswith("["):
        end = netloc.find("]")
        rest = netloc[end + 1 :] if end > 0 else "?"
        if rest and not rest.startswith(":"):
            raise InvalidURL("has a malformed IPv6 host")
        return netloc[: end + 1], rest[1:] if rest else None
    host, colon, port = netloc.partition(":")
    return host, port if colon else None


def _host(text: str) -> str:
    if not text:
        raise InvalidURL("must have a host")
    if text.startswith("["):
        try:
            return ipaddress.IPv6Address(text[1:-1]).compressed
        except ValueError:
            raise InvalidURL("has a malformed IPv6 host") from None
    host = text.lower()
    if not host.isascii():
        raise InvalidURL("host must be ASCII: write an international name in its xn-- form")
    labels = host.removesuffix(".").split(".")
    if not all(_LABEL.match(label) for label in labels):
        raise InvalidURL("host must be letters, digits, '-', '_' and dots")
    if all(label.isdigit() for label in labels):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            raise InvalidURL("host looks like an IPv4 address but is not a valid one") from None
    return host


def _port(text: str | None, scheme: str) -> int:
    if not text:
        return DEFAULT_PORTS[scheme]
    number = int(text) if text.isascii() and text.isdigit() and len(text) <= 5 else 0
    if not 1 <= number <= 65535:
        raise InvalidURL(f"port must be a number from 1 to 65535, not {text!r}")
    return number


def _percent_normal(text: str, safe: frozenset[str]) -> str:
    """Decode escapes of unreserved characters, uppercase the others, escape what is not `safe`."""
    out: list[str] = []
    index = 0
    while index < len(text):
        match = _PERCENT.match(text, index)
        if match:
            char = chr(int(match.group(1), 16))
            out.append(char if char in _UNRESERVED else match.group(0).upper())
            index = match.end()
            continue
        char = text[index]
        if char in safe:
            out.append(char)
        else:
            try:
                out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
            except UnicodeEncodeError:
                raise InvalidURL("must be valid UTF-8 text") from None
        index += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 section 5.2.4, on a path that starts with '/' or is empty."""
    segments = path.split("/")
    output: list[str] = []
    for segment in segments[1:]:
        if segment == "..":
            if output:
                output.pop()
        elif segment != ".":
            output.append(segment)
    if not path:
        return ""
    normal = "/" + "/".join(output)
    # A path that ended in a dot segment names a directory, as RFC 3986 keeps it.
    if segments[-1] in (".", "..") and not normal.endswith("/"):
        normal += "/"
    return normal
