"""Each process remembers the tokens it has checked, and forgets them the moment any changes."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.models import ApiToken
from tests import workers
from tests.conftest import ApiClient
from tests.factories import make_token


def _token_reads(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries if '"api_apitoken"' in query["sql"]]


def test_it_checks_a_token_it_has_seen_without_reading_it_again(alice):
    client = ApiClient(make_token(alice))
    assert client.get("/actions?mine=1").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/actions?mine=1").status_code == 200
    assert _token_reads(queries) == []


def test_it_refuses_a_cached_token_at_once_once_another_process_revokes_it(transactional_db, alice):
    client = ApiClient(make_token(alice))
    assert client.get("/actions?mine=1").status_code == 200, "the token is now in this process's cache"
    subprocess.run(
        [sys.executable, "manage.py", "revoke_token", "alice"],
        cwd=workers.ROOT,
        env={**os.environ, "DATABASE_URL": workers.test_database_url()},
        check=True,
        capture_output=True,
    )
    assert client.get("/actions?mine=1").status_code == 401


def test_it_refuses_at_once_in_another_process_a_token_this_one_revokes(transactional_db, alice):
    token = make_token(alice)
    checker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, django; django.setup()\n"
            "from api.services import token_authenticate\n"
            "for line in sys.stdin:\n"
            "    print('user' if token_authenticate(line.strip()) else 'none', flush=True)\n",
        ],
        cwd=workers.ROOT,
        env={**os.environ, "DATABASE_URL": workers.test_database_url(), "DJANGO_SETTINGS_MODULE": "actionhub.settings"},
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:

        def check() -> str:
            checker.stdin.write(token + "\n")
            checker.stdin.flush()
            return checker.stdout.readline().strip()

        assert check() == "user"
        assert check() == "user", "answered from its cache"
        call_command("revoke_token", "alice", stdout=io.StringIO())
        assert check() == "none"
    finally:
        checker.stdin.close()
        checker.wait(timeout=20)


def test_it_refuses_a_cached_token_once_its_user_is_deactivated(alice):
    client = ApiClient(make_token(alice))
    assert client.get("/actions?mine=1").status_code == 200
    alice.is_active = False
    alice.save()
    assert client.get("/actions?mine=1").status_code == 401


def test_it_refuses_a_cached_token_deleted_in_the_admin(alice):
    client = ApiClient(make_token(alice))
    assert client.get("/actions?mine=1").status_code == 200
    ApiToken.objects.filter(user=alice).get().delete()
    assert client.get("/actions?mine=1").status_code == 401


def test_it_gives_each_request_its_own_user_object(alice):
    from api.services import token_authenticate

    token = make_token(alice)
    first = token_authenticate(token)
    first.actionhub_group_ids = frozenset({999})
    assert not hasattr(token_authenticate(token), "actionhub_group_ids")
