"""Schemathesis fuzzes every operation of /api/openapi.json in process, with a staff reviewer's token.

Any 5xx fails, and so does any answer the document does not describe: an undocumented status
code, another content type, or a body that does not match its schema. Examples are bounded per
operation and drawn deterministically, so a run is repeatable and takes well under a minute.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, settings
from ninja.responses import NinjaJSONEncoder
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from actionhub.wsgi import application
from api.api import api
from tests.factories import HIGH_ACTION, make_action, make_token, make_user
from tests.llm.fake_llm import FakeLLMServer

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The document /api/openapi.json serves (checked below), read without a login at import time.
DOCUMENT = json.loads(json.dumps(api.get_openapi_schema(), cls=NinjaJSONEncoder))

schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.app = application


@pytest.fixture
def bearer(db, settings) -> Iterator[dict[str, str]]:
    """A staff reviewer who may write rules (so nearly every operation is open to the fuzzer), a
    held action to list, and a reachable LLM server (so a 502 would be a real failure)."""
    settings.ACTIONHUB_RATE_LIMIT = "100000/m"
    staff = make_user("fuzz", "reviewers", "rule_admins", is_staff=True)
    make_action(make_user("alice"), HIGH_ACTION)
    # Requests run in this thread inside the test's transaction; as in Django's test client, the
    # end of a request must not close the connection that transaction lives on.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        with FakeLLMServer() as llm:
            settings.ACTIONHUB_LLM_URL = llm.url
            yield {"Authorization": f"Bearer {make_token(staff, name='fuzz')}"}
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def test_it_fuzzes_the_document_the_api_serves(db):
    client = Client()
    client.force_login(make_user("reader"))
    assert client.get("/api/openapi.json").json() == DOCUMENT


@schema.parametrize()
@settings(
    max_examples=30,
    derandomize=True,
    database=None,
    deadline=timedelta(seconds=10),
    suppress_health_check=list(HealthCheck),
)
def test_it_answers_every_operation_as_its_schema_says(case, bearer):
    if case.operation.path == "/api/chat" and isinstance(case.body, dict):
        # No worker runs the chat actions here, so a chat would wait out all of its `wait` seconds.
        wait = case.body.get("wait", 30)
        if isinstance(wait, int | float) and not isinstance(wait, bool) and wait >= 0:
            case.body["wait"] = 0
    case.call_and_validate(headers=bearer, checks=CHECKS)
