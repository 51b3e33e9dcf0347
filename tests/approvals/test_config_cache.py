"""Runtime settings and routing are read from each process's copy, and a change made in any
process holds from the next submit on."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

from django.contrib.auth.models import Group

from approvals.models import RoutingRule
from approvals.runtime import runtime_set
from tests import workers
from tests.factories import HIGH_ACTION, make_action


def _in_another_process(script: str) -> None:
    subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + script],
        cwd=workers.ROOT,
        env={**os.environ, "DATABASE_URL": workers.test_database_url(), "DJANGO_SETTINGS_MODULE": "actionhub.settings"},
        check=True,
        capture_output=True,
    )


def _expiry(action) -> timedelta:
    return action.expires_at - action.created_at


def test_it_uses_a_runtime_setting_changed_in_another_process_on_the_next_submit(transactional_db, alice):
    assert _expiry(make_action(alice, HIGH_ACTION)) == timedelta(days=1), "the default, now in this process's copy"
    _in_another_process(
        "from django.db import transaction\n"
        "from approvals.runtime import runtime_set\n"
        "with transaction.atomic():\n"
        "    runtime_set(key='expiry_high', value=7200, actor='test')\n"
    )
    assert _expiry(make_action(alice, HIGH_ACTION)) == timedelta(hours=2)


def test_it_routes_by_a_rule_made_in_another_process_on_the_next_submit(transactional_db, alice):
    assert list(make_action(alice, HIGH_ACTION).assigned_groups.all()) == [], "no route yet, cached as such"
    _in_another_process(
        "from django.contrib.auth.models import Group\n"
        "from approvals.models import RoutingRule\n"
        "RoutingRule.objects.create(action_type='file_operation').groups.add(Group.objects.create(name='ops'))\n"
    )
    assert list(make_action(alice, HIGH_ACTION).assigned_groups.values_list("name", flat=True)) == ["ops"]


def test_it_follows_a_route_whose_groups_change(alice):
    rule = RoutingRule.objects.create(action_type="file_operation")
    rule.groups.add(Group.objects.create(name="ops"))
    assert list(make_action(alice, HIGH_ACTION).assigned_groups.values_list("name", flat=True)) == ["ops"]
    rule.groups.set([Group.objects.create(name="storage")])
    assert list(make_action(alice, HIGH_ACTION).assigned_groups.values_list("name", flat=True)) == ["storage"]
    Group.objects.filter(name="storage").get().delete()
    assert list(make_action(alice, HIGH_ACTION).assigned_groups.all()) == []


def test_it_reads_a_setting_changed_in_this_process_at_once(alice):
    make_action(alice, HIGH_ACTION)
    runtime_set(key="expiry_high", value=3600, actor="test")
    assert _expiry(make_action(alice, HIGH_ACTION)) == timedelta(hours=1)
