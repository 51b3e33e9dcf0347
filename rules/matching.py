"""Rule matchers: which fields take which matcher, validating a rule, and the one matching code.

Submit-time evaluation and the form's preview both call `CompiledRule.decides`, so a preview
shows exactly what the rule will decide.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema

from approvals.kinds.registry import find_kind, kind_names, skill_kinds_named
from approvals.models import SecurityLevel
from audit.chain import canonical_json
from lib.shell import segments, simple_words
from lib.urlnorm import InvalidURL, normalize_url

EXACT = "exact"
GLOB = "glob"
URL_PREFIX = "url_prefix"
PREFIX = "prefix"
KINDS = (EXACT, GLOB, URL_PREFIX, PREFIX)
URL_KINDS = (EXACT, URL_PREFIX)
COMMAND_KINDS = (EXACT, PREFIX, GLOB)
MAX_PATTERN = 1024

PATH_FORMAT = "path"
ABSOLUTE_PATH_FORMAT = "absolute-path"
URL_FORMAT = "uri"
COMMAND_FORMAT = "command"


class RuleInvalid(ValueError):
    """A rule that cannot be saved; `errors` maps a field (or `matcher.<parameter>`) to why."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{key}: {message}" for key, message in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class Field:
    """A parameter a rule may match, with its JSON Schema from the action's kind."""

    name: str
    schema: dict[str, Any]
    # Where the value sits in the parameters: ("input", "command") for the field input.command.
    path: tuple[str, ...] = ()

    @property
    def is_path(self) -> bool:
        return self.schema.get("format") in (PATH_FORMAT, ABSOLUTE_PATH_FORMAT)

    @property
    def is_absolute(self) -> bool:
        return self.schema.get("format") == ABSOLUTE_PATH_FORMAT

    @property
    def is_command(self) -> bool:
        return self.schema.get("format") == COMMAND_FORMAT

    @property
    def is_url(self) -> bool:
        return self.schema.get("format") == URL_FORMAT

    @property
    def kinds(self) -> tuple[str, ...]:
        if self.is_url:
            return URL_KINDS
        if self.is_command:
            return COMMAND_KINDS
        if self.is_path:
            return (EXACT, GLOB)
        return (EXACT,)

    @property
    def is_text(self) -> bool:
        if "enum" in self.schema:
            return all(isinstance(option, str) for option in self.schema["enum"])
        return self.schema.get("type") == "string"


def fields_for(action_type: str, skill_id: str | None) -> dict[str, Field]:
    """The parameters a rule for this type (and skill) may match: the properties of its kind's schema.

    An object property that lists its own `properties` is matched by those, named `parent.child`.
    """
    kind = find_kind(action_type)
    schema = kind.schema(skill_id=skill_id) if kind is not None else None
    fields: dict[str, Field] = {}

    def add(properties: Any, path: tuple[str, ...]) -> None:
        for name, spec in (properties or {}).items():
            if not isinstance(spec, dict):
                continue
            if isinstance(spec.get("properties"), dict):
                add(spec["properties"], (*path, name))
            else:
                fields[".".join((*path, name))] = Field(".".join((*path, name)), spec, (*path, name))

    add((schema or {}).get("properties"), ())
    return fields


def value_at(parameters: Any, path: tuple[str, ...], default: Any = None) -> Any:
    """The value a field names, or `default` when any step of its path is missing."""
    for step in path:
        if not isinstance(parameters, dict) or step not in parameters:
            return default
        parameters = parameters[step]
    return parameters


def parameter_defaults(fields: dict[str, Field]) -> dict[str, Any]:
    """What the action uses for a parameter left out, so a rule about the default matches it."""
    return {name: field.schema["default"] for name, field in fields.items() if "default" in field.schema}


# Normalizing


@lru_cache(maxsize=4096)
def normalize_path(path: str) -> str:
    """`./a//b/` and `a/b` name the same file: compare them the same way (a deny must not be dodged).

    Cached: one submit asks for the same path once per rule tried.
    """
    return posixpath.normpath(path) if path else path


@lru_cache(maxsize=4096)
def _url_parts(url: str) -> tuple[str, str, int, str] | None:
    """Scheme, host, port and path of the URL's normal form (lib.urlnorm, the parser the
    allowlist uses), the path then fully percent-decoded with repeated slashes merged."""
    try:
        normal = normalize_url(url)
    except InvalidURL:
        return None
    path = posixpath.normpath(unquote(normal.path))
    path = "/" + path.lstrip("/") if path != "." else "/"
    return normal.scheme, normal.host, normal.port, path


def normal_url(url: Any) -> str | None:
    """The normal form an exact URL matcher compares, or None for what is no http(s) URL."""
    return _normal_text(url) if isinstance(url, str) else None


@lru_cache(maxsize=4096)
def _normal_text(url: str) -> str | None:
    try:
        return normalize_url(url).text
    except InvalidURL:
        return None


def url_has_prefix(url: str, prefix: str) -> bool:
    """Same scheme, host and port, and a path under the prefix's path at a segment boundary,
    like the api_call kind's allowlist check (url_allowed): `https://api.x` never matches `https://api.x.evil`."""
    target, base = _url_parts(url), _url_parts(prefix)
    if target is None or base is None or target[:3] != base[:3]:
        return False
    root = base[3].rstrip("/")
    return not root or target[3] == root or target[3].startswith(root + "/")


@lru_cache(maxsize=4096)
def glob_regex(pattern: str) -> re.Pattern[str]:
    """`*` and `?` stay inside one path segment; `**` crosses segments (`a/**/b` also matches `a/b`)."""
    out: list[str] = []
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out.append("(?:[^/]*/)*")
            index += 3
        elif pattern.startswith("**", index):
            out.append(".*")
            index += 2
        elif pattern[index] == "*":
            out.append("[^/]*")
            index += 1
        elif pattern[index] == "?":
            out.append("[^/]")
            index += 1
        else:
            out.append(re.escape(pattern[index]))
            index += 1
    return re.compile("".join(out), re.DOTALL)


# Validating


def _pattern_error(kind: str, value: Any, field: Field) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return f"a {kind} matcher needs a non-empty string"
    if len(value) > MAX_PATTERN:
        return f"must be at most {MAX_PATTERN} characters"
    if field.is_command:
        if simple_words(value) is None:
            return "a command matcher is one plain command: no ; & | < > $ ` ( ) { }, newline or open quote"
        return None
    if kind == GLOB:
        dotdot = any(part == ".." for part in value.split("/"))
        if field.is_absolute and (dotdot or not value.startswith("/")):
            return f"{field.name} is an absolute path: its glob starts with / and has no '..'"
        if not field.is_absolute and (dotdot or value.startswith("/")):
            return "a path glob is relative to the workspace and has no '..'"
        return None
    try:
        normalize_url(value)
    except InvalidURL as exc:
        return f"a URL prefix is an http(s) URL with a host and no user or password ({exc}), e.g. https://api.example.org/v1"
    parts = urlsplit(value)
    if parts.query or parts.fragment:
        return "a URL prefix has no query or fragment"
    return None


def _value_error(field: Field, kind: str, value: Any) -> str | None:
    if kind not in field.kinds:
        allowed = " or ".join(field.kinds)
        if kind not in KINDS:
            return f"unknown matcher kind {kind!r}; use {allowed}"
        what = {GLOB: "a path or command", URL_PREFIX: "an api_call url", PREFIX: "a command"}[kind]
        return f"a {kind} matcher only fits {what}; {field.name} takes {allowed}"
    if kind != EXACT or field.is_command:
        return _pattern_error(kind, value, field)
    errors = sorted(jsonschema.Draft202012Validator(field.schema).iter_errors(value), key=str)
    if errors:
        return f"not a valid value: {errors[0].message}"
    if field.kinds == URL_KINDS:
        try:
            normalize_url(value)
        except InvalidURL as exc:
            return f"not a valid URL: it {exc}"
    return None


def validate_matchers(*, action_type: str, skill_id: str | None, matchers: Any) -> list[dict[str, Any]]:
    """The matchers in their stored form, or RuleInvalid naming each problem."""
    kind = find_kind(action_type) if isinstance(action_type, str) else None
    if kind is None:
        raise RuleInvalid({"action_type": f"unknown action type; expected one of {', '.join(kind_names())}"})
    if kind.names_skill:
        if not skill_id:
            raise RuleInvalid({"skill_id": f"a rule for {action_type} names its skill"})
        if kind.schema(skill_id=skill_id) is None:
            raise RuleInvalid({"skill_id": f"unknown skill {skill_id!r}"})
    elif skill_id:
        raise RuleInvalid({"skill_id": f"only {skill_kinds_named()} rules name a skill, not {action_type}"})
    if not isinstance(matchers, list) or not matchers:
        raise RuleInvalid({"matchers": "a rule needs at least one matcher, or it would match every such action"})
    fields = fields_for(action_type, skill_id)
    errors: dict[str, str] = {}
    cleaned: list[dict[str, Any]] = []
    for position, matcher in enumerate(matchers):
        if not isinstance(matcher, dict) or set(matcher) != {"parameter", "kind", "value"}:
            errors[f"matchers[{position}]"] = 'each matcher is {"parameter", "kind", "value"}'
            continue
        name, kind, value = matcher["parameter"], matcher["kind"], matcher["value"]
        field = fields.get(name) if isinstance(name, str) else None
        if field is None:
            known = ", ".join(fields) or "none"
            errors[f"matcher.{name}"] = f"unknown parameter {name!r} for {skill_id or action_type}; known: {known}"
            continue
        if any(item["parameter"] == name for item in cleaned):
            errors[f"matcher.{name}"] = "one matcher per parameter"
            continue
        if message := _value_error(field, kind, value):
            errors[f"matcher.{name}"] = message
            continue
        cleaned.append({"parameter": name, "kind": kind, "value": value})
    if errors:
        raise RuleInvalid(errors)
    return cleaned


# Matching


def _exact(expected: Any, *, path: bool, url: bool = False) -> Callable[[Any], bool]:
    if url:
        # Both sides in normal form: `https://API.x:443/a` is the URL `https://api.x/a` is.
        wanted_url = normal_url(expected)
        return lambda value: wanted_url is not None and normal_url(value) == wanted_url
    if path:
        wanted = normalize_path(expected)
        return lambda value: isinstance(value, str) and normalize_path(value) == wanted
    if isinstance(expected, str):
        return lambda value: isinstance(value, str) and value == expected
    # Canonical JSON tells 1 from true and 1.0, and ignores key order.
    wanted = canonical_json(expected)
    return lambda value: canonical_json(value) == wanted


def command_glob_regex(pattern: str) -> re.Pattern[str]:
    """`*` is any text and `?` one character, across words: a command has no folders to stay in."""
    return re.compile(".*".join(".".join(map(re.escape, part.split("?"))) for part in pattern.split("*")), re.DOTALL)


def _command_matcher(kind: str, value: str, *, effect: str) -> Callable[[Any], bool]:
    """Commands compare as words, quoting and spacing removed. An allow rule matches only one plain
    command (so `git status` never allows `git status; rm -rf /`), a prefix at word boundaries; a
    deny rule matches any command the text could run, anywhere in a chain or substitution."""
    wanted = simple_words(value) or []
    if kind == GLOB:
        pattern = command_glob_regex(" ".join(wanted))

        def test(words: list[str]) -> bool:
            return pattern.fullmatch(" ".join(words)) is not None
    elif kind == PREFIX:

        def test(words: list[str]) -> bool:
            return words[: len(wanted)] == wanted
    else:

        def test(words: list[str]) -> bool:
            return words == wanted

    def matches(found: Any) -> bool:
        if not isinstance(found, str):
            return False
        plain = simple_words(found)
        if effect != "deny":
            return plain is not None and test(plain)
        return (plain is not None and test(plain)) or any(test(words) for words in segments(found))

    return matches


def _matcher(spec: dict[str, Any], field: Field | None, *, effect: str) -> Callable[[Any], bool]:
    kind, value = spec["kind"], spec["value"]
    if field is not None and field.is_command:
        return _command_matcher(kind, value, effect=effect)
    if kind == GLOB:
        # Compiled on first use and cached: a reload after any rule change recompiles nothing.
        pattern = normalize_path(value)
        return lambda found: isinstance(found, str) and glob_regex(pattern).fullmatch(normalize_path(found)) is not None
    if kind == URL_PREFIX:
        return lambda found: isinstance(found, str) and url_has_prefix(found, value)
    return _exact(value, path=field is not None and field.is_path, url=field is not None and field.is_url)


# A dispatch key names a string every action passing one matcher must produce from one parameter:
# the first folder of a path, the host of a URL, or the exact text. Evaluation indexes rules by it,
# so a submit only tries the rules its own parameters could satisfy.
SEGMENT, HOST, TEXT = "segment", "host", "text"
_WILDCARDS = ("*", "?")


def _dispatch_key(spec: dict[str, Any], field: Field | None) -> tuple[str, str, str] | None:
    name, kind, value = spec["parameter"], spec["kind"], spec["value"]
    if field is not None and field.is_command:
        return None  # words, not text: a rule on a command is tried on every action of its type
    is_path, is_url = field is not None and field.is_path, field is not None and field.is_url
    if kind == GLOB or (kind == EXACT and is_path and isinstance(value, str)):
        first = normalize_path(value).split("/", 1)[0]
        if kind == GLOB and any(mark in first for mark in _WILDCARDS):
            return None
        return (name, SEGMENT, first)
    if kind == URL_PREFIX or (kind == EXACT and is_url):
        parts = _url_parts(value) if isinstance(value, str) else None
        return (name, HOST, parts[1]) if parts else None
    if kind == EXACT and isinstance(value, str):
        return (name, TEXT, value)
    return None


def dispatch_token(way: str, value: Any) -> str | None:
    """The string an action's parameter value gives for a dispatch key of this `way`."""
    if not isinstance(value, str):
        return None
    if way == SEGMENT:
        return normalize_path(value).split("/", 1)[0]
    if way == HOST:
        parts = _url_parts(value)
        return parts[1] if parts else None
    return value


_MISSING = object()


def _as_given(parameters: dict[str, Any]) -> dict[str, Any]:
    return parameters


@dataclass(frozen=True)
class CompiledRule:
    id: int
    effect: str
    action_type: str
    skill_id: str | None
    expires_at: datetime
    # (the field's path in the parameters, its default or _MISSING, the test of its value)
    tests: tuple[tuple[tuple[str, ...], Any, Callable[[Any], bool]], ...]
    # When the rule was last saved: a hit is recorded only if it is still this version of the rule.
    updated_at: datetime | None = None
    dispatch: tuple[str, str, str] | None = None
    # Who created or edited it (rules.models.Rule.authors).
    author_ids: frozenset[int] = frozenset()
    # The parameters as the kind's rules see them (ActionKind.rule_parameters).
    view: Callable[[dict[str, Any]], dict[str, Any]] = _as_given

    def leaves_to_a_human(self, requester_id: int) -> bool:
        """An allow rule never approves its own authors' actions: they wait for a reviewer."""
        return self.effect == "allow" and requester_id in self.author_ids

    def matches(self, parameters: dict[str, Any]) -> bool:
        seen = self.view(parameters)
        for path, default, test in self.tests:
            value = value_at(seen, path, default)
            if value is _MISSING or not test(value):
                return False
        return True

    def decides(self, *, parameters: dict[str, Any], level: str, now: datetime, requester_id: int) -> bool:
        """Whether this rule decides an action: live, matching, and (for allow) a HIGH one
        requested by someone other than the rule's authors.

        Allow rules never decide CRITICAL actions, and LOW/MEDIUM ones run anyway; deny rules
        reject at any level, whoever asked.
        """
        if self.expires_at <= now:
            return False
        if self.effect == "allow" and (level != SecurityLevel.HIGH or self.leaves_to_a_human(requester_id)):
            return False
        return self.matches(parameters)


def compile_rule(
    *,
    id: int,
    effect: str,
    action_type: str,
    skill_id: str | None,
    expires_at: datetime,
    matchers: list[dict],
    updated_at: datetime | None = None,
    author_ids: frozenset[int] = frozenset(),
) -> CompiledRule:
    fields = fields_for(action_type, skill_id)
    defaults = parameter_defaults(fields)
    tests = tuple(
        (
            field_path(spec["parameter"], fields),
            defaults.get(spec["parameter"], _MISSING),
            _matcher(spec, fields.get(spec["parameter"]), effect=effect),
        )
        for spec in matchers
    )
    keys = [key for spec in matchers if (key := _dispatch_key(spec, fields.get(spec["parameter"]))) is not None]
    # A folder or host narrows more than a fixed text like an operation name.
    keys.sort(key=lambda key: key[1] == TEXT)
    kind = find_kind(action_type)
    return CompiledRule(
        id,
        effect,
        action_type,
        skill_id or None,
        expires_at,
        tests,
        updated_at,
        keys[0] if keys else None,
        author_ids,
        view=kind.rule_parameters if kind is not None else _as_given,
    )


def field_path(name: str, fields: dict[str, Field]) -> tuple[str, ...]:
    """Where a matcher's parameter sits; a name the schema no longer has is read as one key."""
    field = fields.get(name)
    return field.path if field is not None else (name,)
