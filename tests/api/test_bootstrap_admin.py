"""bootstrap_admin: the first user, created by `make run` and the image's migrate step alike."""

from __future__ import annotations

import io

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from tests.factories import make_user


def run(**options) -> str:
    out = io.StringIO()
    call_command("bootstrap_admin", stdout=out, **options)
    return out.getvalue()


def test_it_creates_admin_in_every_group_with_a_password_shown_once(db):
    Group.objects.get_or_create(name="reviewers")
    output = run(url="http://localhost:8080")
    admin = get_user_model().objects.get()
    assert admin.username == "admin" and admin.is_superuser
    assert set(admin.groups.values_list("name", flat=True)) == set(Group.objects.values_list("name", flat=True))
    password = output.split("with password ")[1].split()[0]
    assert admin.check_password(password)
    assert "log in at http://localhost:8080/ as admin" in output


def test_it_takes_the_password_from_settings_and_never_prints_it(db, settings):
    settings.ACTIONHUB_ADMIN_PASSWORD = "from-a-secret-file-0123"
    output = run()
    assert get_user_model().objects.get(username="admin").check_password("from-a-secret-file-0123")
    assert "from-a-secret-file-0123" not in output
    assert "(from ACTIONHUB_ADMIN_PASSWORD)" in output


def test_it_does_nothing_once_any_user_exists(db):
    make_user("alice")
    assert run() == "users exist: no first admin created\n"
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["alice"]
