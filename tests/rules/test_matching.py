"""Matcher edge cases: path globs, URL prefixes, exact values, and what each field accepts."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from rules.matching import RuleInvalid, compile_rule, glob_regex, url_has_prefix, validate_matchers
from rules.selectors import path_glob, url_parent


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("notes/*.txt", "notes/old.txt", True),
        ("notes/*.txt", "notes/sub/old.txt", False),  # * stays inside one folder
        ("notes/*.txt", "notes/old.txt.bak", False),
        ("notes/*.txt", "notes/old.TXT", False),
        ("notes/**/*.txt", "notes/old.txt", True),  # ** may be no folder at all
        ("notes/**/*.txt", "notes/a/b/old.txt", True),
        ("notes/**", "notes/a/b/c.md", True),
        ("notes/**", "notesX/a.md", False),
        ("notes/?.md", "notes/a.md", True),
        ("notes/?.md", "notes/ab.md", False),
        ("notes/?.md", "notes//.md", False),
        ("report[1].csv", "report[1].csv", True),  # no character classes: brackets are literal
        ("report[1].csv", "report1.csv", False),
        ("a+b(1).txt", "a+b(1).txt", True),
    ],
)
def test_it_matches_path_globs_segment_by_segment(pattern, path, matches):
    assert (glob_regex(pattern).fullmatch(path) is not None) is matches


def _rule(matchers, action_type="file_operation", effect="deny"):
    return compile_rule(
        id=1,
        effect=effect,
        action_type=action_type,
        skill_id=None,
        expires_at=timezone.now() + timedelta(days=1),
        matchers=matchers,
    )


@pytest.mark.parametrize(
    "path", ["secrets/key.txt", "./secrets/key.txt", "secrets//key.txt", "notes/../secrets/key.txt"]
)
def test_it_normalizes_paths_so_a_deny_cannot_be_dodged(path):
    glob = _rule([{"parameter": "path", "kind": "glob", "value": "secrets/*.txt"}])
    exact = _rule([{"parameter": "path", "kind": "exact", "value": "secrets/key.txt"}])
    assert glob.matches({"operation": "read", "path": path})
    assert exact.matches({"operation": "read", "path": path})


@pytest.mark.parametrize(
    ("url", "matches"),
    [
        ("https://api.x/v1", True),
        ("https://api.x/v1/", True),
        ("https://api.x/v1/items?q=1", True),
        ("https://api.x/v10", False),  # a prefix ends at a segment boundary
        ("https://api.x.evil/v1", False),
        ("https://api.x:443/v1/items", True),  # the default port is the same port
        ("https://api.x:8443/v1/items", False),
        ("http://api.x/v1/items", False),
        ("HTTPS://API.X/v1/items", True),
        ("https://api.x/v1/../admin", False),
        ("https://api.x/admin/../v1/items", True),
        ("https://api.x/%76%31/items", True),
        ("https://user:pw@api.x/v1/items", False),
        ("https://api.x@evil.example/v1", False),
        ("not a url", False),
    ],
)
def test_it_matches_url_prefixes_by_scheme_host_port_and_path_segment(url, matches):
    assert url_has_prefix(url, "https://api.x/v1") is matches


def test_it_matches_a_host_only_prefix_anywhere_on_that_host():
    assert url_has_prefix("https://api.x/anything/at/all", "https://api.x")
    assert not url_has_prefix("https://api.x.evil/anything", "https://api.x")


def test_it_compares_exact_values_by_type_and_ignores_key_order():
    rule = _rule([{"parameter": "value", "kind": "exact", "value": 1}], action_type="config_change")
    assert rule.matches({"key": "quorum_critical", "value": 1})
    assert not rule.matches({"key": "quorum_critical", "value": True})
    assert not rule.matches({"key": "quorum_critical", "value": "1"})
    headers = _rule([{"parameter": "headers", "kind": "exact", "value": {"a": "1", "b": "2"}}], action_type="api_call")
    assert headers.matches({"method": "GET", "url": "https://api.x/", "headers": {"b": "2", "a": "1"}})


def test_it_treats_a_missing_parameter_as_no_match_unless_it_has_a_default():
    rule = _rule([{"parameter": "content", "kind": "exact", "value": "x"}])
    assert not rule.matches({"operation": "delete", "path": "a.txt"})
    workspace = _rule([{"parameter": "workspace", "kind": "exact", "value": "default"}])
    assert workspace.matches({"operation": "delete", "path": "a.txt"})
    assert not workspace.matches({"operation": "delete", "path": "a.txt", "workspace": "other"})


@pytest.mark.parametrize(
    ("action_type", "matcher", "message"),
    [
        ("file_operation", {"parameter": "operation", "kind": "glob", "value": "del*"}, "only fits a path"),
        ("chat", {"parameter": "message", "kind": "url_prefix", "value": "https://a"}, "only fits an api_call url"),
        ("api_call", {"parameter": "method", "kind": "url_prefix", "value": "https://a"}, "only fits an api_call url"),
        ("file_operation", {"parameter": "owner", "kind": "exact", "value": "x"}, "unknown parameter 'owner'"),
        ("file_operation", {"parameter": "operation", "kind": "exact", "value": "shred"}, "not a valid value"),
        ("config_change", {"parameter": "key", "kind": "exact", "value": 5}, "not a valid value"),
        ("file_operation", {"parameter": "path", "kind": "exact", "value": 12}, "not a valid value"),
        ("file_operation", {"parameter": "path", "kind": "glob", "value": "/etc/*"}, "relative"),
        ("file_operation", {"parameter": "path", "kind": "glob", "value": "../*"}, "relative"),
        ("file_operation", {"parameter": "path", "kind": "glob", "value": 7}, "non-empty string"),
        ("api_call", {"parameter": "url", "kind": "url_prefix", "value": "ftp://x"}, "http(s) URL"),
        ("api_call", {"parameter": "url", "kind": "url_prefix", "value": "https://a/?q=1"}, "no query"),
        ("api_call", {"parameter": "url", "kind": "url_prefix", "value": "https://a:+443/v1"}, "port"),
        ("api_call", {"parameter": "url", "kind": "url_prefix", "value": "https://a:443.evil/v1"}, "port"),
        ("api_call", {"parameter": "url", "kind": "exact", "value": "https://a:+443/v1"}, "port"),
        ("api_call", {"parameter": "url", "kind": "exact", "value": "https://a:443.evil/v1"}, "port"),
        ("api_call", {"parameter": "url", "kind": "exact", "value": "not a url"}, "not a valid URL"),
        ("file_operation", {"parameter": "path", "kind": "regex", "value": ".*"}, "unknown matcher kind"),
        ("file_operation", {"parameter": "path", "kind": "exact"}, "each matcher is"),
    ],
)
def test_it_refuses_a_matcher_that_does_not_fit_its_field(action_type, matcher, message):
    with pytest.raises(RuleInvalid) as caught:
        validate_matchers(action_type=action_type, skill_id=None, matchers=[matcher])
    assert message in str(caught.value)


def test_it_takes_skill_fields_from_the_manifest():
    cleaned = validate_matchers(
        action_type="skill_execution",
        skill_id="filesystem",
        matchers=[{"parameter": "path", "kind": "glob", "value": "logs/*.log"}],
    )
    assert cleaned == [{"parameter": "path", "kind": "glob", "value": "logs/*.log"}]
    with pytest.raises(RuleInvalid, match="glob matcher only fits a path"):
        validate_matchers(
            action_type="skill_execution",
            skill_id="python",
            matchers=[{"parameter": "script", "kind": "glob", "value": "*"}],
        )
    with pytest.raises(RuleInvalid, match="unknown skill"):
        validate_matchers(action_type="skill_execution", skill_id="nope", matchers=[])


def test_it_suggests_a_glob_over_the_same_folder_and_a_url_up_to_its_last_segment():
    assert path_glob("notes/2026/old.txt") == "notes/2026/*.txt"
    assert path_glob("old.txt") == "*.txt"
    assert path_glob("notes/Makefile") == "notes/*"
    assert url_parent("https://api.x/v1/items/42?q=1") == "https://api.x/v1/items"
    assert url_parent("https://api.x/v1") == "https://api.x/v1"


def test_it_finds_through_the_index_exactly_the_rules_a_full_scan_finds():
    from rules.evaluation import Bucket

    now = timezone.now()
    specs = [
        [{"parameter": "path", "kind": "glob", "value": "notes/*.txt"}],
        [{"parameter": "path", "kind": "glob", "value": "**/*.txt"}],
        [{"parameter": "path", "kind": "glob", "value": "n?tes/**"}],
        [{"parameter": "path", "kind": "exact", "value": "./notes/a.txt"}],
        [{"parameter": "operation", "kind": "exact", "value": "delete"}],
        [{"parameter": "workspace", "kind": "exact", "value": "default"}],
        [
            {"parameter": "content", "kind": "exact", "value": "x"},
            {"parameter": "path", "kind": "glob", "value": "a/*"},
        ],
        [{"parameter": "path", "kind": "glob", "value": "notes"}],
    ]
    rules = [
        compile_rule(
            id=n,
            effect="deny" if n % 2 else "allow",
            action_type="file_operation",
            skill_id=None,
            expires_at=now + timedelta(days=1),
            matchers=matchers,
        )
        for n, matchers in enumerate(specs, start=1)
    ]
    bucket = Bucket("file_operation", None, rules)
    assert bucket.scan and bucket.tables  # both paths are exercised
    for parameters in [
        {"operation": "delete", "path": "notes/a.txt"},
        {"operation": "write", "path": "./notes//a.txt", "content": "x"},
        {"operation": "read", "path": "nites/b/c.md", "workspace": "other"},
        {"operation": "write", "path": "a/b", "content": "x"},
        {"operation": "list", "path": "notes"},
        {"operation": "delete", "path": "deep/er/z.txt", "workspace": "default"},
    ]:
        scanned = {
            rule.id for rule in rules if rule.decides(parameters=parameters, level="high", now=now, requester_id=0)
        }
        indexed = {
            rule.id
            for rule in bucket.candidates(parameters)
            if rule.decides(parameters=parameters, level="high", now=now, requester_id=0)
        }
        assert indexed == scanned, parameters
        order = [rule.effect for rule in bucket.candidates(parameters)]
        assert order == sorted(order, key=lambda effect: effect != "deny")


def test_it_indexes_api_calls_by_host():
    from rules.evaluation import Bucket

    now = timezone.now()
    rule = compile_rule(
        id=1,
        effect="deny",
        action_type="api_call",
        skill_id=None,
        expires_at=now + timedelta(days=1),
        matchers=[{"parameter": "url", "kind": "url_prefix", "value": "https://API.x/v1"}],
    )
    bucket = Bucket("api_call", None, [rule])
    assert [r.id for r in bucket.candidates({"method": "GET", "url": "https://api.x:443/v1/a"})] == [1]
    assert bucket.candidates({"method": "GET", "url": "https://api.x.evil/v1/a"}) == []


def test_it_matches_an_exact_url_in_normal_form_and_indexes_it_by_host():
    from rules.evaluation import Bucket

    rule = compile_rule(
        id=1,
        effect="deny",
        action_type="api_call",
        skill_id=None,
        expires_at=timezone.now() + timedelta(days=1),
        matchers=[{"parameter": "url", "kind": "exact", "value": "HTTPS://API.x:443/v1/./items"}],
    )
    normal = {"method": "GET", "url": "https://api.x/v1/items"}
    assert rule.matches(normal)
    assert rule.matches({"method": "GET", "url": "https://api.x/v1/%69tems"})
    assert not rule.matches({"method": "GET", "url": "https://api.x/v1/items/2"})
    assert not rule.matches({"method": "GET", "url": "https://api.x:+443/v1/items"})
    assert [r.id for r in Bucket("api_call", None, [rule]).candidates(normal)] == [1]


@pytest.mark.parametrize("url", ["https://api.x:+443/v1/a", "https://api.x:443.evil/v1/a", "https://api.x:70000/v1"])
def test_it_matches_no_url_with_a_malformed_port(url):
    assert url_has_prefix(url, "https://api.x/v1") is False
