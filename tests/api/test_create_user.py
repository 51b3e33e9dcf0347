"""create_user: a reviewer with an address gets notification emails."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command


def test_it_creates_a_reviewer_with_an_email_address(db):
    out = StringIO()
    call_command("create_user", "bob", "--role", "reviewers", "--email", "bob@example.org", stdout=out)
    bob = get_user_model().objects.get(username="bob")
    assert bob.email == "bob@example.org"
    assert list(bob.groups.values_list("name", flat=True)) == ["reviewers"]
    assert "created bob (reviewers); password: " in out.getvalue()


def test_it_refuses_an_address_that_is_not_one(db):
    with pytest.raises(CommandError, match="not an email address"):
        call_command("create_user", "bob", "--email", "bob at example", stdout=StringIO())
    assert not get_user_model().objects.filter(username="bob").exists()
