"""How the review pages read: times in one format with their zone, types as words, the quorum
labelled, durations in the unit they were written in, an edit's diff as before and after."""

from __future__ import annotations

import html
import json
import re

from django.test import Client

from approvals.kinds.registry import action_kinds
from approvals.models import Action
from approvals.services import action_edit
from tests.factories import CRITICAL_ACTION, HIGH_ACTION, make_action

MOMENT = re.compile(r'<time datetime="[^"]+"[^>]*>\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC</time>')


def page(user, path: str) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(path)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def test_it_shows_times_in_one_format_labelled_with_the_zone(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    detail = page(bob, f"/approvals/{action.id}/")
    expires = detail.split("<dt>Expires</dt><dd>", 1)[1].split("</dd>", 1)[0]
    assert MOMENT.fullmatch(expires), expires
    timeline = detail.split('<ol class="timeline">', 1)[1].split("</ol>", 1)[0]
    assert MOMENT.search(timeline) and "UTC" in timeline


def test_it_names_every_action_type_in_words(db):
    # "API call", "Config change": sentence case, acronyms in capitals; never "Api Call" or "config_change".
    for kind in action_kinds().values():
        first, *rest = kind.label.split(" ")
        assert "_" not in kind.label and first[0].isupper(), kind.label
        assert all(word == word.lower() or word == word.upper() for word in rest), kind.label
        assert first == first.capitalize() or first == first.upper(), kind.label


def test_it_labels_the_quorum_in_the_queue(alice, bob):
    make_action(alice, CRITICAL_ACTION)
    queue = page(bob, "/approvals/")
    assert re.search(r'<span class="quorum" title="no approvals yet">approvals 0/2</span>', queue)
    assert "Config change" in queue and "Config_change" not in queue


def test_it_shows_a_config_change_in_the_unit_written_on_the_link_page_too(alice, bob):
    action = make_action(
        alice, {"action_type": "config_change", "parameters": {"key": "expiry_critical", "value": "8h"}}
    )
    detail = page(bob, f"/approvals/{action.id}/")
    facts = detail.split("Value now", 1)[1].split("Payload hash", 1)[0]
    assert "1h" in facts and "8h" in facts and "3600" not in facts and '"8h"' not in facts


def test_it_previews_an_edit_as_a_before_and_after_table(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    client = Client()
    client.force_login(bob)
    parameters = {"operation": "delete", "path": "notes/older.txt"}
    data = {"parameters": json.dumps(parameters), "payload_hash": action.payload_hash}
    preview = html.unescape(client.post(f"/approvals/{action.id}/edit/", data, HTTP_HX_REQUEST="true").content.decode())
    table = preview.split('<table class="before-after">', 1)[1].split("</table>", 1)[0]
    assert '<th scope="col">Before</th><th scope="col">After</th>' in table
    assert '<th scope="row">path</th><td class="del">notes/old.txt</td><td class="add">notes/older.txt</td>' in table


def test_it_lists_past_edits_as_before_and_after(alice, bob):
    action = make_action(alice, HIGH_ACTION)
    action_edit(
        action_id=action.id,
        user=bob,
        parameters={"operation": "delete", "path": "notes/a.txt"},
        payload_hash=action.payload_hash,
    )
    detail = page(bob, f"/approvals/{Action.objects.get(id=action.id).id}/")
    edits = detail.split('<ol class="edit-history">', 1)[1].split("</ol>", 1)[0]
    assert '<td class="del">notes/old.txt</td><td class="add">notes/a.txt</td>' in edits
