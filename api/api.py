"""The JSON API under /api/: thin endpoints that parse, call one service or selector, and render."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ninja import NinjaAPI
from ninja import Status as Reply
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from api import schemas, strict_json
from api.auth import ASYNC_AUTH, AUTH, REFUSED_CREDENTIALS, UNAUTHENTICATED, docs_login_required, sends_bearer
from api.status import status_payload
from approvals.assignment import assigned_names_by_action, viewer_for
from approvals.exceptions import ActionError
from approvals.idempotency import action_submit
from approvals.kinds.model_switch import ModelSwitchKind
from approvals.kinds.registry import kind_names
from approvals.models import Action, Status
from approvals.representation import action_payload
from approvals.runtime import runtime_get
from approvals.selectors import action_get_for, actions_list, approvals_by_action, pending_actions
from approvals.services import action_cancel, action_create, action_decide, action_edit, action_report_outcome
from approvals.waiting import MAX_TIMEOUT, UNTIL, action_wait
from audit.chain import canonical_json
from audit.selectors import audit_entries
from chat.kind import CHAT
from lib.pagination import BadCursor, Page, clamp_limit, decode_cursor, encode_cursor
from lib.ratelimit import RateLimited, check_rate_limit
from lib.roles import can_see_rules, is_auditor, is_reviewer
from lib.versions import versions_pinned
from llm.client import LLMClient, LLMError
from review.bulk import BulkItem, actions_decide_bulk
from rules.models import Rule
from rules.selectors import rule_state, rules_list
from rules.services import rule_create, rule_disable
from skills.selectors import skills_list
from skills.services import UnknownSkill, skill_set_enabled


class StrictJsonParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        return strict_json.loads(request.body)


api = NinjaAPI(
    title="ActionHub API",
    version=settings.ACTIONHUB_VERSION,
    description="Submit agent actions, review held ones, read the audit history.",
    auth=AUTH,
    urls_namespace="api",
    parser=StrictJsonParser(),
    # Anonymous visitors get nothing but the login page and /api/status, so the schema needs a login too.
    docs_decorator=docs_login_required,
)

TERMINAL = {Status.COMPLETED, Status.FAILED, Status.REJECTED, Status.EXPIRED, Status.CANCELLED}


def _error(request: HttpRequest, status: int, detail: str, errors: Any = None) -> HttpResponse:
    body: dict[str, Any] = {"detail": detail}
    if errors:
        body["errors"] = errors
    return api.create_response(request, body, status=status)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = [
        {"field": ".".join(str(part) for part in error.get("loc", ())[1:]) or "body", "message": error.get("msg")}
        for error in exc.errors
    ]
    summary = "; ".join(f"{error['field']}: {error['message']}" for error in errors)
    return _error(request, 400, f"invalid request: {summary}", errors)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja answers any body the parser refuses with a bare "Cannot parse request body"; say why.
    if isinstance(exc.__cause__, strict_json.InvalidJson):
        return _error(request, exc.status_code, f"request body is not valid JSON: {exc.__cause__}")
    return _error(request, exc.status_code, str(exc))


@api.exception_handler(ActionError)
def _action_error(request: HttpRequest, exc: ActionError) -> HttpResponse:
    return _error(request, exc.status_code, exc.detail, exc.errors)


@api.exception_handler(Action.DoesNotExist)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return _error(request, 404, "action not found")


@api.exception_handler(BadCursor)
def _bad_cursor(request: HttpRequest, exc: BadCursor) -> HttpResponse:
    return _error(request, 400, str(exc))


@api.exception_handler(RequestDataTooBig)
def _too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return _error(request, 400, f"request body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")


@api.exception_handler(RateLimited)
def _rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = _error(request, 429, f"too many requests; retry in {exc.retry_after}s")
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, 401, REFUSED_CREDENTIALS if sends_bearer(request) else UNAUTHENTICATED)
    response["WWW-Authenticate"] = "Bearer"
    return response


# What refuses a decision or an edit: bad input, not yours to decide (or a CSRF failure), no such
# action, not pending any more or changed since it was read, too many requests.
DECISION_ERRORS = (400, 403, 404, 409, 429)


def _replies(ok: dict[int, Any], *errors: int) -> dict[int, Any]:
    """`ok` and the error statuses an operation really answers, each `{detail, errors?}`; every
    operation behind a login also answers 401."""
    return {**ok, **dict.fromkeys((*errors, 401), schemas.Error)}


def _reload(action_id: UUID, user: Any) -> dict[str, Any]:
    action = action_get_for(action_id=action_id, user=user)
    assert action is not None
    return action_payload(action)


def _require_reviewer(request: HttpRequest) -> None:
    if not is_reviewer(request.user):
        raise HttpError(403, "only reviewers may do this")


def _parse_time(value: str | None, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise HttpError(400, f"{name} must be an ISO 8601 date-time, e.g. 2026-01-31T12:00:00Z")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, UTC)
    try:
        # Compared in UTC: an offset that moves the moment past year 9999 or before year 1 overflows.
        return parsed.astimezone(UTC)
    except OverflowError as exc:
        raise HttpError(400, f"{name} is out of range: use a date-time between year 1 and 9999 in UTC") from exc


def _next_link(request: HttpRequest, page: Page[Any], size: int) -> str | None:
    """The URL of the page after `page`: this request's query with its limit and the next cursor."""
    if not page.next_key:
        return None
    query = request.GET.copy()
    query["limit"] = str(size)
    query["cursor"] = encode_cursor(page.next_key)
    return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


def _action_page(request: HttpRequest, page: Page[Action], size: int) -> HttpResponse:
    # Rendered without re-validating each item through pydantic: the payloads are built here
    # from model fields, and validation tripled the cost of a page (see bench/).
    ids = [action.id for action in page.items]
    approvals, groups = approvals_by_action(ids), assigned_names_by_action(ids)
    results = [
        action_payload(action, approvals=approvals[action.id], groups=groups[action.id]) for action in page.items
    ]
    return api.create_response(request, {"results": results, "next": _next_link(request, page, size)}, status=200)


IDEMPOTENCY_KEY = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY = 255


def _idempotency_key(request: HttpRequest) -> str | None:
    key = request.headers.get(IDEMPOTENCY_KEY)
    if key is None:
        return None
    if not key or len(key) > MAX_IDEMPOTENCY_KEY or not all(" " <= char <= "~" for char in key):
        raise HttpError(400, f"{IDEMPOTENCY_KEY} must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters")
    return key


@api.post(
    "/actions",
    response=_replies({200: schemas.ActionOut, 201: schemas.ActionOut}, 400, 403, 422, 429),
    tags=["actions"],
)
def create_action(request: HttpRequest, body: schemas.ActionIn):
    """Submit an action. Its risk level is decided here, never by the requester.

    With an `Idempotency-Key` header (1-255 printable characters, yours alone, remembered 24 h), a
    repeat of the same request answers the action the first one created, with 200 and
    `Idempotent-Replayed: true`, and never creates a second one; the same key with a different
    body is a 422.
    """
    check_rate_limit(request)
    key = _idempotency_key(request)
    submitted = action_submit(
        user=request.user,
        idempotency_key=key,
        # Only a request with a key is fingerprinted: without one there is nothing to compare it to.
        request_hash=hashlib.sha256(canonical_json(body.dict()).encode()).hexdigest() if key is not None else "",
        action_type=body.action_type,
        parameters=body.parameters,
        skill_id=body.skill_id,
        external_id=body.external_id,
        callback_url=body.callback_url,
        callback_state=body.callback_state,
    )
    if submitted.replayed:
        response = api.create_response(request, _reload(submitted.action.id, request.user), status=200)
        response["Idempotent-Replayed"] = "true"
        return response
    action = submitted.action
    # A held action was just created: nobody can have decided on it yet. The payload is rendered as
    # it is, like the replay above: validating it against ActionOut first only copied it, at about 4%
    # of a submit's web CPU (tests/api/test_actions_api.py holds the answer to the validated one).
    payload = action_payload(action, approvals=[] if action.status == Status.PENDING else None)
    return api.create_response(request, payload, status=201)


@api.get("/actions", response=_replies({200: schemas.ActionPage}, 400), tags=["actions"])
def list_actions(
    request: HttpRequest,
    mine: bool = False,
    status: str | None = None,
    action_type: str | None = None,
    external_id: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
):
    """Actions you may see, newest first; `mine=1`: only those you requested (what an agent lists).
    Filter by `status`, `action_type` and `external_id` (exact)."""
    if status and status not in Status.values:
        raise HttpError(400, f"status must be one of {', '.join(Status.values)}")
    if action_type and action_type not in kind_names():
        raise HttpError(400, f"action_type must be one of {', '.join(kind_names())}")
    size = clamp_limit(limit)
    before = decode_cursor(cursor, kinds=(datetime, UUID))
    page = actions_list(
        user=request.user,
        mine=mine,
        status=status,
        action_type=action_type,
        external_id=external_id,
        before=before,
        limit=size,
    )
    return _action_page(request, page, size)


@api.get("/actions/pending", response=_replies({200: schemas.ActionPage}, 400, 403), tags=["actions"])
def list_pending(request: HttpRequest, limit: int | None = None, cursor: str | None = None, assigned: str = ""):
    """Pending actions the reviewer may decide, oldest first; `assigned=me`: only those routed to one
    of their groups."""
    _require_reviewer(request)
    if assigned not in ("", "me"):
        raise HttpError(400, "assigned must be 'me' or left out")
    size = clamp_limit(limit)
    after = decode_cursor(cursor, kinds=(datetime, UUID))
    page = pending_actions(viewer=viewer_for(request.user), after=after, limit=size, assigned_only=assigned == "me")
    return _action_page(request, page, size)


@api.post("/actions/decide", response=_replies({200: schemas.BulkDecisionOut}, 400, 403, 429), tags=["actions"])
def decide_actions(request: HttpRequest, body: schemas.BulkDecisionIn):
    """Decide up to 200 actions at once, each on its own: per-item results, never all-or-nothing.

    Over 200 items or a repeated id is a 400 and nothing is decided. A rejection without a reason,
    an own action, an approval of an action you edited, a changed payload (`payload_hash` differs),
    an action already decided, expired, or not assigned to you is refused for that item alone, with
    `code` and `detail` saying why.
    """
    check_rate_limit(request)
    items = [
        BulkItem(action_id=item.id, approved=item.approved, reason=item.reason, payload_hash=item.payload_hash)
        for item in body.decisions
    ]
    # A program calling the API decides deliberately: the pages' second step has no API counterpart.
    results = actions_decide_bulk(user=request.user, items=items, confirmed=True)
    return {
        "results": [
            {"id": result.action_id, "status": result.status, "detail": result.detail, "code": result.code}
            for result in results
        ]
    }


@api.get("/actions/{action_id}", response=_replies({200: schemas.ActionOut}, 400, 404), tags=["actions"])
def get_action(request: HttpRequest, action_id: UUID):
    action = action_get_for(action_id=action_id, user=request.user)
    if action is None:
        raise Action.DoesNotExist
    return action_payload(action)


@api.post(
    "/actions/{action_id}/approve", response=_replies({200: schemas.ActionOut}, *DECISION_ERRORS), tags=["actions"]
)
def decide_action(request: HttpRequest, action_id: UUID, body: schemas.DecisionIn):
    """Record the authenticated reviewer's decision (approve or reject)."""
    check_rate_limit(request)
    action_decide(
        action_id=action_id,
        user=request.user,
        approved=body.approved,
        reason=body.reason,
        payload_hash=body.payload_hash,
    )
    return _reload(action_id, request.user)


def _own_or_404(request: HttpRequest, action_id: UUID) -> None:
    """404 for an action the user may not see, so a refusal never tells who else has one."""
    if action_get_for(action_id=action_id, user=request.user) is None:
        raise Action.DoesNotExist


@api.post(
    "/actions/{action_id}/cancel",
    response=_replies({200: schemas.ActionOut}, 400, 403, 404, 409, 429),
    tags=["actions"],
)
def cancel_action(request: HttpRequest, action_id: UUID, body: schemas.CancelIn | None = None):
    """Withdraw your pending action (`cancelled`): it leaves every queue and can no longer be decided.
    Agents cancel when they stop waiting. 403 if it is not yours, 409 once it is not pending."""
    check_rate_limit(request)
    _own_or_404(request, action_id)
    action_cancel(action_id=action_id, user=request.user, reason=body.reason if body else "")
    return _reload(action_id, request.user)


@api.post(
    "/actions/{action_id}/outcome",
    response=_replies({200: schemas.ActionOut}, 400, 403, 404, 409, 429),
    tags=["actions"],
)
def report_outcome(request: HttpRequest, action_id: UUID, body: schemas.OutcomeIn):
    """Report what happened when you ran your approved decide-only action (a tool_call): `ok` true
    makes it `completed` (with `output`), false `failed` (with `error`). Once, by its requester only
    (403 otherwise); 409 if it is not approved, was already reported, or is a kind ActionHub runs."""
    check_rate_limit(request)
    if body.ok and body.error:
        raise HttpError(400, "error goes with ok=false; send output when ok is true")
    if not body.ok and body.output:
        raise HttpError(400, "output goes with ok=true; send error when ok is false")
    _own_or_404(request, action_id)
    action_report_outcome(action_id=action_id, user=request.user, ok=body.ok, output=body.output, error=body.error)
    return _reload(action_id, request.user)


@api.post("/actions/{action_id}/edit", response=_replies({200: schemas.ActionOut}, *DECISION_ERRORS), tags=["actions"])
def edit_action(request: HttpRequest, action_id: UUID, body: schemas.EditIn):
    """Replace a pending action's parameters; it is re-classified and earlier approvals are void."""
    check_rate_limit(request)
    action_edit(action_id=action_id, user=request.user, parameters=body.parameters)
    return _reload(action_id, request.user)


def _parse_timeout(value: str | None) -> float:
    if value is None:
        return 30.0
    try:
        seconds = float(value)
    except ValueError:
        seconds = float("nan")
    if not 0 <= seconds <= MAX_TIMEOUT:  # NaN fails this too
        raise HttpError(400, f"timeout must be a number of seconds from 0 to {MAX_TIMEOUT:g}")
    return seconds


RETRY_AFTER = {
    "Retry-After": {"description": "`1` when the condition does not hold yet", "schema": {"type": "integer"}}
}


@api.get(
    "/actions/{action_id}/wait",
    auth=ASYNC_AUTH,
    response=_replies({200: schemas.ActionOut}, 400, 404),
    tags=["actions"],
    openapi_extra={"responses": {200: {"headers": RETRY_AFTER}}},
)
async def wait_action(request: HttpRequest, action_id: UUID, timeout: str | None = None, until: str | None = None):
    """The action once it is `decided` (no longer pending) or `finished` (completed, failed,
    rejected, expired or cancelled), at once if it already is; else, after `timeout` seconds
    (0-55, default 30), the action as it is with `Retry-After: 1`. `until` defaults to `decided`
    for decide-only kinds (tool_call) and `finished` for the rest."""
    seconds = _parse_timeout(timeout)
    if until is not None and until not in UNTIL:
        raise HttpError(400, "until must be 'decided' or 'finished'")
    waited = await action_wait(action_id=action_id, user=request.auth, until=until, timeout=seconds)
    if waited is None:
        raise Action.DoesNotExist
    response = HttpResponse(waited.body, content_type="application/json; charset=utf-8")
    if not waited.done:
        response["Retry-After"] = "1"
    return response


@api.get("/audit-logs", response=_replies({200: schemas.AuditPage}, 400, 403), tags=["audit"])
def list_audit(
    request: HttpRequest,
    action: UUID | None = None,
    actor: str | None = None,
    event: str | None = None,
    since: str | None = None,
    until: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
):
    """Audit entries, newest first (auditors and staff)."""
    if not is_auditor(request.user):
        raise HttpError(403, "only auditors may read the audit history")
    size = clamp_limit(limit)
    before = decode_cursor(cursor, kinds=(int,))
    page = audit_entries(
        action_id=action,
        actor=actor,
        event=event,
        since=_parse_time(since, "since"),
        until=_parse_time(until, "until"),
        before_seq=before[0] if before else None,
        limit=size,
    )
    next_url = _next_link(request, page, size)
    results = [
        {
            "seq": entry.seq,
            "at": entry.at,
            "actor": entry.actor,
            "event": entry.event,
            "action_id": entry.action_id,
            "data": entry.data,
            "prev_hash": entry.prev_hash,
            "hash": entry.hash,
        }
        for entry in page.items
    ]
    return api.create_response(request, {"results": results, "next": next_url}, status=200)


@api.post("/chat", response=_replies({200: schemas.ChatOut, 202: schemas.ChatOut}, 400, 403, 429), tags=["chat"])
async def chat(request: HttpRequest, body: schemas.ChatIn):
    """Send a chat message; waits up to `wait` seconds for the reply (202 if held or still running)."""
    await sync_to_async(check_rate_limit)(request)
    parameters = {"message": body.message}
    if body.model:
        parameters["model"] = body.model
    if body.conversation_id:
        parameters["conversation_id"] = body.conversation_id
    action = await sync_to_async(action_create)(user=request.user, action_type=CHAT, parameters=parameters)
    deadline = asyncio.get_running_loop().time() + body.wait
    delay = 0.02
    while action.status not in TERMINAL and action.status != Status.PENDING:
        remaining = deadline - asyncio.get_running_loop().time()
        if remaining <= 0:
            break
        await asyncio.sleep(min(delay, remaining))
        delay = min(delay * 1.5, 0.25)
        action = await Action.objects.aget(id=action.id)
    result = action.result or {}
    payload = {
        "action_id": action.id,
        "status": action.status,
        "response": result.get("response"),
        "model": result.get("model") or parameters.get("model"),
        "error": action.error or None,
        "security_level": action.security_level,
    }
    return Reply(200 if action.status in TERMINAL else 202, payload)


@api.get("/models", response=_replies({200: schemas.ModelsOut}, 502), tags=["models"])
def list_models(request: HttpRequest):
    """Models the LLM server offers, and the active one."""
    try:
        with LLMClient.from_settings() as client:
            models = client.list_models()
    except LLMError as exc:
        return Reply(502, {"detail": str(exc)})
    return {"models": models, "active": runtime_get("default_model")}


@api.post("/models/switch", response=_replies({201: schemas.ActionOut}, 400, 403, 429), tags=["models"])
def switch_model(request: HttpRequest, body: schemas.ModelSwitchIn):
    """Request a model switch (a model_switch action)."""
    check_rate_limit(request)
    action = action_create(user=request.user, action_type=ModelSwitchKind.name, parameters={"model": body.model})
    return Reply(201, action_payload(action))


@api.get("/skills", response=_replies({200: list[schemas.SkillOut]}), tags=["skills"])
def list_skills(request: HttpRequest):
    return skills_list()


def _set_skill(request: HttpRequest, skill_id: str, enabled: bool) -> dict[str, Any]:
    if not (request.user.is_staff or request.user.is_superuser):
        raise HttpError(403, "only staff may enable or disable skills")
    try:
        skill_set_enabled(skill_id=skill_id, enabled=enabled, user=request.user)
    except UnknownSkill as exc:
        raise HttpError(404, f"unknown skill {skill_id!r}") from exc
    return next(skill for skill in skills_list() if skill["id"] == skill_id)


@api.post("/skills/{skill_id}/enable", response=_replies({200: schemas.SkillOut}, 403, 404), tags=["skills"])
def enable_skill(request: HttpRequest, skill_id: str):
    return _set_skill(request, skill_id, True)


@api.post("/skills/{skill_id}/disable", response=_replies({200: schemas.SkillOut}, 403, 404), tags=["skills"])
def disable_skill(request: HttpRequest, skill_id: str):
    return _set_skill(request, skill_id, False)


def rule_payload(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "action_type": rule.action_type,
        "skill_id": rule.skill_id,
        "matchers": rule.matchers,
        "effect": rule.effect,
        "note": rule.note,
        "expires_at": rule.expires_at,
        "state": rule_state(rule),
        "created_by": rule.created_by.get_username(),
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
        "disabled_at": rule.disabled_at,
        "disabled_by": rule.disabled_by.get_username() if rule.disabled_by else None,
        "hit_count": rule.hit_count,
        "last_hit_at": rule.last_hit_at,
    }


@api.get("/rules", response=_replies({200: schemas.RulePage}, 400, 403), tags=["rules"])
def list_rules(request: HttpRequest, limit: int | None = None, cursor: str | None = None):
    """Standing rules, newest first (reviewers, auditors, rule admins)."""
    if not can_see_rules(request.user):
        raise HttpError(403, "only reviewers, auditors and rule admins may read rules")
    size = clamp_limit(limit)
    before = decode_cursor(cursor, kinds=(int,))
    page = rules_list(before_id=before[0] if before else None, limit=size)
    return {"results": [rule_payload(rule) for rule in page.items], "next": _next_link(request, page, size)}


@api.post("/rules", response=_replies({201: schemas.RuleOut}, 400, 403, 429), tags=["rules"])
def create_rule(request: HttpRequest, body: schemas.RuleIn):
    """Create a standing rule (rule admins and staff). Every problem is a 400 naming the field."""
    check_rate_limit(request)
    rule = rule_create(
        user=request.user,
        action_type=body.action_type,
        skill_id=body.skill_id,
        matchers=[matcher.dict() for matcher in body.matchers],
        effect=body.effect,
        expires_at=body.expires_at,
        note=body.note,
    )
    return Reply(201, rule_payload(rule))


@api.post(
    "/rules/{rule_id}/disable", response=_replies({200: schemas.RuleOut}, 400, 403, 404, 409, 429), tags=["rules"]
)
def disable_rule(request: HttpRequest, rule_id: int):
    """Disable a rule at once, in every process (rule admins and staff); 409 if already disabled."""
    check_rate_limit(request)
    return rule_payload(rule_disable(rule_id=rule_id, user=request.user))


@api.get("/status", auth=None, tags=["status"])
def status(request: HttpRequest):
    """Liveness for anyone; details (LLM, workers, docker, queue) for authenticated staff."""
    return status_payload(request)


def _versions_pinned_per_request(urls: tuple[list[Any], str, str]) -> tuple[list[Any], str, str]:
    """Each synchronous request reads every version token (API tokens, settings, routing, rules)
    once, in one query, from authentication to its answer; the async ones read as they go."""
    patterns, app_name, namespace = urls
    for pattern in patterns:
        if not iscoroutinefunction(pattern.callback):
            pattern.callback = versions_pinned()(pattern.callback)
    return patterns, app_name, namespace


urls = _versions_pinned_per_request(api.urls)
