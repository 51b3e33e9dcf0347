"""lib.pagination through its public functions: keyset pages over a real table, cursors, page links."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from uuid import UUID

import pytest
from django import forms
from django.contrib.auth import get_user_model

from lib.pagination import (
    BadCursor,
    PageLinkField,
    clamp_limit,
    decode_cursor,
    encode_cursor,
    keyset_page,
)

MOMENT = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ID = UUID("12345678-1234-1234-1234-123456789012")


def _b64(values: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.fixture
def people(db):
    """Seven users whose last names repeat, so pages must break ties on id."""
    User = get_user_model()
    names = ["b", "a", "c", "a", "b", "a", "c"]
    return [User.objects.create(username=f"u{n}", last_name=name) for n, name in enumerate(names)]


def _walk(*, size: int, descending: bool) -> list[list[int]]:
    queryset = get_user_model().objects.filter(username__startswith="u")
    pages, after = [], None
    while True:
        page = keyset_page(queryset, fields=("last_name", "id"), after=after, size=size, descending=descending)
        pages.append([user.id for user in page.items])
        if not page.has_next:
            return pages
        # Through the cursor, as a client would send it back.
        after = decode_cursor(encode_cursor(page.next_key), kinds=(str, int))


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("size", [1, 2, 3, 7, 50])
def test_it_walks_every_row_once_in_key_order_page_by_page(people, size, descending):
    pages = _walk(size=size, descending=descending)
    expected = sorted(people, key=lambda user: (user.last_name, user.id), reverse=descending)
    assert [user_id for page in pages for user_id in page] == [user.id for user in expected]
    assert all(len(page) == size for page in pages[:-1]) and 0 < len(pages[-1]) <= size


def test_it_says_no_next_page_when_the_last_page_is_exactly_full(people):
    assert [len(page) for page in _walk(size=7, descending=False)] == [7]
    assert [len(page) for page in _walk(size=6, descending=True)] == [6, 1]


def test_it_writes_cursors_in_the_format_already_handed_out():
    # The base64url JSON list without padding that API and queue cursors have always been.
    compact = json.dumps(["2026-01-02T03:04:05+00:00", str(ID)], separators=(",", ":"))
    assert encode_cursor((MOMENT, ID)) == base64.urlsafe_b64encode(compact.encode()).decode().rstrip("=")
    assert encode_cursor((5,)) == "WzVd"
    assert decode_cursor(_b64(["2026-01-02T03:04:05+00:00", str(ID)]), kinds=(datetime, UUID)) == (MOMENT, ID)
    assert decode_cursor("WzVd", kinds=(int,)) == (5,)
    assert decode_cursor("", kinds=(int,)) is None and decode_cursor(None, kinds=(int,)) is None


@pytest.mark.parametrize(
    "cursor, kinds",
    [
        ("%%%", (int,)),
        ("bm90IGpzb24", (int,)),  # "not json"
        (_b64({"seq": 5}), (int,)),
        (_b64([5, 6]), (int,)),
        (_b64([True]), (int,)),
        (_b64(["5"]), (int,)),
        (_b64([5]), (str,)),
        (_b64(["2026-01-02T03:04:05", str(ID)]), (datetime, UUID)),  # no UTC offset
        (_b64(["2026-13-45T00:00:00+00:00", str(ID)]), (datetime, UUID)),
        (_b64(["yesterday", str(ID)]), (datetime, UUID)),
        (_b64(["2026-01-02T03:04:05+00:00", "x"]), (datetime, UUID)),
        (_b64(["2026-01-02T03:04:05+00:00", 7]), (datetime, UUID)),
    ],
)
def test_it_refuses_a_cursor_it_did_not_write(cursor, kinds):
    with pytest.raises(BadCursor, match="cursor is not valid"):
        decode_cursor(cursor, kinds=kinds)


def test_it_bounds_the_page_size():
    assert clamp_limit(None) == 50 and clamp_limit(1) == 1 and clamp_limit(200) == 200
    for limit in (0, -1, 201):
        with pytest.raises(BadCursor, match="limit must be between 1 and 200"):
            clamp_limit(limit)


class _PageForm(forms.Form):
    before = PageLinkField(required=False)


@pytest.mark.parametrize(
    "before, error",
    [
        ("abc", "this page link is not valid; start from the first page"),
        ("²", "this page link is not valid; start from the first page"),
        ("0", "greater than or equal to 1"),
        (str(2**63), "less than or equal to 9223372036854775807"),
    ],
)
def test_it_answers_a_page_link_it_did_not_write_with_a_form_error(before, error):
    form = _PageForm({"before": before})
    assert not form.is_valid() and error in form.errors["before"][0]


def test_it_reads_a_page_link_it_wrote():
    form = _PageForm({"before": str(2**63 - 1)})
    assert form.is_valid() and form.cleaned_data["before"] == 2**63 - 1
    assert _PageForm({}).is_valid()
