"""One time format with its zone across the site: UTC, labelled, until a person chooses a zone on
the preferences page; then every page and live fragment shows their zone, labelled with it."""

from __future__ import annotations

import html
import re
from zoneinfo import ZoneInfo

import pytest
from django.test import Client

from audit.consumers import render_entry
from audit.models import AuditEntry
from review.fragments import detail_fragment
from review.models import ReviewerPreference
from tests.factories import HIGH_ACTION, make_action

TOKYO = ZoneInfo("Asia/Tokyo")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.content.decode())


def shown(moment, zone: ZoneInfo, label: str) -> str:
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S} {label}"


def test_it_shows_utc_labelled_until_a_zone_is_chosen(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    page = text(logged_in(bob).get(f"/approvals/{action.id}/"))
    assert shown(action.expires_at, ZoneInfo("UTC"), "UTC") in page
    assert 'value="UTC" selected' in text(logged_in(bob).get("/preferences/"))


def test_it_shows_every_page_in_the_zone_a_person_chose(alice, bob, carol, dave):
    action = make_action(alice, HIGH_ACTION)
    created = AuditEntry.objects.get(action_id=action.id, event="action.created")
    for person in (bob, dave):
        client = logged_in(person)
        response = client.post("/preferences/", {"time_zone": "Asia/Tokyo"})
        assert response.status_code == 302
        assert "Saved: times now show in Asia/Tokyo." in text(client.get(response.url))
    assert ReviewerPreference.objects.get(user=bob).time_zone == "Asia/Tokyo"

    tokyo = "JST (Asia/Tokyo)"
    detail = text(logged_in(bob).get(f"/approvals/{action.id}/"))
    assert shown(action.expires_at, TOKYO, tokyo) in detail  # a fresh login keeps the zone
    assert shown(created.at, TOKYO, tokyo) in detail.split('<ol class="timeline">', 1)[1]
    auditor = logged_in(dave)
    assert shown(created.at, TOKYO, tokyo) in text(auditor.get("/audit/"))
    assert shown(action.created_at, TOKYO, tokyo) in text(auditor.get(f"/audit/actions/{action.id}/"))
    # the instant itself stays in UTC in the markup; others still see UTC
    assert f'datetime="{action.expires_at.isoformat()}"' in detail
    assert shown(action.expires_at, ZoneInfo("UTC"), "UTC") in text(logged_in(carol).get(f"/approvals/{action.id}/"))


@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "../../etc/passwd", "", "utc+2"])
def test_it_refuses_an_unknown_zone_with_a_form_error(bob, zone):
    client = logged_in(bob)
    client.post("/preferences/", {"time_zone": "Europe/Berlin"})

    response = client.post("/preferences/", {"time_zone": zone})

    assert response.status_code == 400
    page = html.unescape(response.content.decode())
    assert re.search(r'class="error" role="alert">[^<]*(not a time zone this site knows|choose a time zone)', page)
    assert ReviewerPreference.objects.get(user=bob).time_zone == "Europe/Berlin"
    assert "CET (Europe/Berlin)" in page  # still the saved zone


def test_it_offers_the_preferences_to_every_signed_in_person_from_the_nav(alice):
    page = text(logged_in(alice).get("/approvals/mine/"))
    assert 'href="/preferences/"' in page
    assert Client().get("/preferences/").status_code == 302  # to the login page


def test_it_renders_live_fragments_in_each_readers_zone(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    created = AuditEntry.objects.get(action_id=action.id, event="action.created")

    in_tokyo = html.unescape(render_entry(seq=created.seq, zone="Asia/Tokyo").html)
    in_utc = html.unescape(render_entry(seq=created.seq, zone="UTC").html)
    assert shown(created.at, TOKYO, "JST (Asia/Tokyo)") in in_tokyo
    assert shown(created.at, ZoneInfo("UTC"), "UTC") in in_utc

    fragment = html.unescape(detail_fragment(action_id=action.id, user=bob, seen_hash=None, zone="Asia/Tokyo"))
    assert shown(created.at, TOKYO, "JST (Asia/Tokyo)") in fragment
