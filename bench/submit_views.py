"""The two references a durable submit is measured against (bench/submit.py).

- insert floor: what durability costs at the least, a Django view that writes the action row and
  its chained audit row (the chain head row locked) in one commit, and answers the new id;
- statement floor: the same two rows written as a held submit writes them, in one statement that
  commits by itself (audit_append_with), with none of a submit's checks;
- in-memory submit: the same checks as a submit (token, validation, classification, payload hash)
  with the action kept in a dict of the process, nothing written anywhere.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from api.models import token_digest
from approvals.models import Action, SecurityLevel, Status
from approvals.parameters import validate_parameters
from approvals.policy import classify
from approvals.services import payload_hash
from audit.chain import body_prefix, canonical_json
from audit.services import _POSTGRES_APPEND, audit_append_with
from lib.inserts import insert_statement

_memory: dict[str, dict] = {}
_token_users: dict[str, int] = {}


def _body(request: HttpRequest) -> dict | None:
    """The JSON body, or None (wrk may cut its last requests short when a run ends)."""
    try:
        return json.loads(request.body)
    except ValueError:
        return None


def _held(body: dict) -> Action:
    now = timezone.now()
    return Action(
        id=uuid.uuid4(),
        action_type=body["action_type"],
        parameters=body["parameters"],
        payload_hash="0" * 64,
        security_level=SecurityLevel.HIGH,
        classification_reasons=[],
        status=Status.PENDING,
        requested_by_id=1,
        approvals_required=1,
        created_at=now,
        expires_at=now + timedelta(days=1),
    )


@csrf_exempt
@require_POST
def insert_floor(request: HttpRequest) -> JsonResponse:
    body = _body(request)
    if body is None:
        return JsonResponse({"detail": "a JSON body is needed"}, status=400)
    action = _held(body)
    now = action.created_at
    data = json.loads(canonical_json({"action_type": action.action_type, "parameters": action.parameters}))
    with transaction.atomic():
        action.save(force_insert=True)
        with connection.cursor() as cursor:
            cursor.execute(
                _POSTGRES_APPEND,
                {
                    "prefix": body_prefix(
                        at=now, actor="alice", event="action.created", action_id=str(action.id), data=data
                    ).encode(),
                    "at": now,
                    "actor": "alice",
                    "event": "action.created",
                    "action_id": str(action.id),
                    "data": canonical_json(data),
                },
            )
    return JsonResponse({"id": str(action.id)}, status=201)


@csrf_exempt
@require_POST
def statement_floor(request: HttpRequest) -> JsonResponse:
    body = _body(request)
    if body is None:
        return JsonResponse({"detail": "a JSON body is needed"}, status=400)
    action = _held(body)
    audit_append_with(
        change=insert_statement(action),
        actor="alice",
        event="action.created",
        action_id=action.id,
        data={"action_type": action.action_type, "parameters": action.parameters},
    )
    return JsonResponse({"id": str(action.id)}, status=201)


@csrf_exempt
@require_POST
def memory_submit(request: HttpRequest) -> JsonResponse:
    from api.models import ApiToken

    secret = request.headers.get("Authorization", "").removeprefix("Bearer ")
    digest = token_digest(secret)
    if not _token_users:  # read once: everything else stays in memory
        _token_users.update(ApiToken.objects.filter(revoked_at__isnull=True).values_list("digest", "user_id"))
    user_id = _token_users.get(digest)
    if user_id is None:
        return JsonResponse({"detail": "authentication required"}, status=401)
    body = _body(request)
    if body is None:
        return JsonResponse({"detail": "a JSON body is needed"}, status=400)
    parameters = validate_parameters(action_type=body["action_type"], parameters=body["parameters"], skill_id=None)
    classification = classify(action_type=body["action_type"], parameters=parameters, skill_id=None)
    action = {
        "id": str(uuid.uuid4()),
        "action_type": body["action_type"],
        "parameters": parameters,
        "security_level": classification.level,
        "reasons": classification.reasons,
        "payload_hash": payload_hash(action_type=body["action_type"], skill_id=None, parameters=parameters),
        "requested_by": user_id,
        "status": Status.PENDING,
        "created_at": timezone.now().isoformat(),
    }
    _memory[action["id"]] = action
    return JsonResponse(action, status=201)
