"""Review pages: the live queue, a requester's own actions, and an action's detail with its decision forms.

Each URL renders the full page, or for htmx the partial it needs. Decisions and edits go through
approvals.services like every other door; these views only translate outcomes into words.
"""

from __future__ import annotations

import logging
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, HttpResponseClientRefresh

from approvals import exceptions
from approvals.assignment import (
    assigned_names,
    assigned_names_by_action,
    assignments_prefetched,
    may_review,
    viewer_for,
)
from approvals.authorship import EDITED_BY_YOU, action_edits
from approvals.kinds.registry import kind_choices
from approvals.models import Action, Decision, Status
from approvals.presentation import (
    action_changes,
    action_diff,
    action_known_failure,
    approval_needs_confirmation,
    outcome_sentence,
)
from approvals.selectors import (
    QUEUE_LEVELS,
    action_approvals,
    action_get_for,
    action_timeline,
    actions_list,
    approvals_by_action,
    queue_actions,
    queue_counts,
)
from approvals.services import action_decide, action_edit, action_edit_preview
from health.checks import sandbox_setup_hint_cached
from lib.htmx import HtmxHttpRequest
from lib.jsontext import pretty_json
from lib.moments import SESSION_KEY as TIME_ZONE_KEY
from lib.pagination import encode_cursor
from lib.roles import is_auditor, is_reviewer, role_required
from review.bulk import REFUSED, BulkResult, actions_decide_bulk, second_step_actions
from review.forms import (
    AlertSoundForm,
    BulkConfirmForm,
    BulkDecisionForm,
    DecisionForm,
    EditForm,
    LinkDecisionForm,
    MineFilterForm,
    QueueFilterForm,
    TimeZoneForm,
)
from review.links import OneTapLink, link_check, link_decide, link_load
from review.preferences import reviewer_preference_get, reviewer_preference_set, time_zone_set

logger = logging.getLogger(__name__)

QUEUE_PAGE = 50
MINE_PAGE = 50
NOT_A_REVIEWER = "The approval queue is for reviewers. Ask an administrator to add you to the reviewers group."


reviewer_required = role_required(is_reviewer, NOT_A_REVIEWER)


@require_GET
@login_required
def home(request: HtmxHttpRequest) -> HttpResponse:
    if is_reviewer(request.user):
        return redirect("approvals:queue")
    return render(request, "home.html", {"is_auditor": is_auditor(request.user), **_sandbox_notice(request.user)})


def _sandbox_notice(user: AbstractBaseUser) -> dict[str, Any]:
    """For staff, what the sandbox lacks and the command that fixes it (the first pages they see)."""
    if not (user.is_staff or user.is_superuser):
        return {}
    return {"sandbox_setup": sandbox_setup_hint_cached()}


# A requester's own actions


@require_GET
@login_required
def mine(request: HtmxHttpRequest) -> HttpResponse:
    """The actions the user requested, newest first: the same list as `GET /api/actions?mine=1`."""
    form = MineFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "review/mine.html", {"form": form, "filters": {}, **_mine_choices()}, status=400)
    filters = {"status": form.cleaned_data["status"], "type": form.cleaned_data["type"]}
    page = actions_list(
        user=request.user,
        mine=True,
        status=filters["status"] or None,
        action_type=filters["type"] or None,
        before=form.cleaned_data["before"],
        limit=MINE_PAGE,
    )
    next_query = ""
    if page.next_key:
        params = request.GET.copy()
        params["before"] = encode_cursor(page.next_key)
        next_query = params.urlencode()
    context = {"form": form, "actions": page.items, "next_query": next_query, "filters": filters, **_mine_choices()}
    if request.htmx and form.cleaned_data["before"]:
        return render(request, "review/mine.html#mine-page", context)
    return render(request, "review/mine.html", context)


def _mine_choices() -> dict[str, Any]:
    return {"statuses": Status.values, "types": kind_choices()}


# The queue


@require_GET
@reviewer_required
def queue(request: HtmxHttpRequest) -> HttpResponse:
    return _queue_page(request, QueueFilterForm(request.GET))


def _queue_page(request: HtmxHttpRequest, form: QueueFilterForm, *, status: int = 200, **extra: Any) -> HttpResponse:
    viewer = viewer_for(request.user)
    if not form.is_valid():
        context = {"form": form, "counts": queue_counts(viewer=viewer), "filters": {}, **extra}
        return render(request, "review/queue.html", context, status=400)
    level = form.cleaned_data["level"] or None
    action_type = form.cleaned_data["type"] or None
    assigned = form.cleaned_data["assigned"]
    page = queue_actions(
        viewer=viewer,
        level=level,
        action_type=action_type,
        assigned_only=assigned == "me",
        after=form.cleaned_data["after"],
        limit=QUEUE_PAGE,
    )
    actions = page.items
    grouped = approvals_by_action([action.id for action in actions])
    names = assigned_names_by_action([action.id for action in actions])
    for action in actions:
        action.live_approvals = grouped[action.id]
        action.assigned_list = names[action.id]
    next_query = ""
    if page.next_key:
        params = request.GET.copy()
        params["after"] = encode_cursor(page.next_key)
        next_query = params.urlencode()
    filters = {"level": level or "", "type": action_type or "", "assigned": assigned}
    context = {
        "form": form,
        "actions": actions,
        "next_query": next_query,
        "counts": queue_counts(viewer=viewer),
        "filters": filters,
        "levels": QUEUE_LEVELS,
        "types": kind_choices(),
        "socket_query": "&".join(f"{key}={value}" for key, value in filters.items() if value),
        "alert_sound": reviewer_preference_get(user=request.user).alert_sound,
        **_sandbox_notice(request.user),
    }
    if request.htmx and form.cleaned_data["after"]:
        return render(request, "review/queue.html#queue-page", context)
    return render(request, "review/queue.html", {**context, **extra}, status=status)


@require_POST
@reviewer_required
def bulk_decide(request: HtmxHttpRequest) -> HttpResponse:
    """Decide the selected queue rows, each on its own; answer with what happened to each."""
    form = BulkDecisionForm(request.POST)
    if not form.is_valid():
        errors = [error for errors in form.errors.values() for error in errors]
        return _bulk_answer(request, {"errors": errors}, status=400)
    approved = form.cleaned_data["decision"] == "approve"
    items = form.items(approved=approved, reason=form.cleaned_data["reason"].strip())
    try:
        results = actions_decide_bulk(user=request.user, items=items, confirmed=form.cleaned_data["confirm"])
    except exceptions.ActionError as error:
        return _bulk_answer(request, {"errors": [error.detail]}, status=error.status_code)
    return _bulk_answer(request, {"results": _bulk_rows(results, request.user)}, status=200)


@require_POST
@reviewer_required
def bulk_confirm(request: HtmxHttpRequest) -> HttpResponse:
    """The second step of a bulk approval: the selected rows that take one (irreversible, CRITICAL
    or known to fail), each with what it does, and the form that approves the whole selection.
    Decides nothing itself."""
    form = BulkConfirmForm(request.POST)
    if not form.is_valid():
        errors = [error for errors in form.errors.values() for error in errors]
        return _bulk_answer(request, {"errors": errors}, status=400)
    rows = form.cleaned_data["item"]
    with assignments_prefetched([action_id for action_id, _ in rows]):
        listed = [
            {
                "action": action,
                "known_failure": action_known_failure(action),
                "changes": action_changes(action=action),
            }
            for action in second_step_actions(user=request.user, action_ids=[action_id for action_id, _ in rows])
        ]
    context = {
        "listed": listed,
        "items": [f"{action_id}:{digest}" for action_id, digest in rows],
        "others": len(rows) - len(listed),
        "reason": form.cleaned_data["reason"],
    }
    return render(request, "review/bulk_confirm.html", context)


def _bulk_rows(results: list[BulkResult], user: AbstractBaseUser) -> list[dict[str, Any]]:
    """Each result with the action's type and summary, for the actions `user` may see."""
    ids = [result.action_id for result in results]
    actions = {action.id: action for action in Action.objects.filter(id__in=ids)}
    rows = []
    with assignments_prefetched(ids):
        for result in results:
            action = actions.get(result.action_id)
            mine = action is not None and action.requested_by_id == user.pk
            visible = action is not None and (mine or may_review(user=user, action=action))
            rows.append({"result": result, "action": action if visible else None})
    return rows


def _bulk_answer(request: HtmxHttpRequest, outcome: dict[str, Any], *, status: int) -> HttpResponse:
    results = [row["result"] for row in outcome.get("results", [])]
    context = {
        **outcome,
        "tally": {
            "approved": sum(result.status == Status.APPROVED for result in results),
            "recorded": sum(result.status == Status.PENDING for result in results),
            "rejected": sum(result.status == Status.REJECTED for result in results),
            "refused": sum(result.status == REFUSED for result in results),
        },
    }
    if request.htmx:
        return render(request, "review/queue.html#bulk-results", context, status=status)
    return _queue_page(request, QueueFilterForm({}), status=status, bulk=context)


# One action


def detail_context(
    *, action_id: UUID | str, user: AbstractBaseUser, seen_hash: str | None = None
) -> dict[str, Any] | None:
    """Everything the detail page shows about an action to `user`, or None if they may not see it."""
    action = action_get_for(action_id=action_id, user=user)
    if action is None:
        return None
    now = timezone.now()
    approvals = action_approvals(action)
    people_approving = [a for a in approvals if a["user"] != "system" and a["decision"] == Decision.APPROVE]
    mine = next((a for a in approvals if a["user"] == user.get_username()), None)
    pending = action.status == Status.PENDING
    blocked = ""
    if not pending:
        blocked = outcome_sentence(action, approvals, now)
    elif not is_reviewer(user) and action.requested_by_id == user.pk:
        blocked = "You requested this action; a reviewer decides whether it runs, and this page shows it when they do."
    elif not is_reviewer(user):
        blocked = "Only reviewers can decide on actions."
    elif not may_review(user=user, action=action):
        blocked = f"This action is assigned to {', '.join(assigned_names(action))}; you are not in those groups."
    elif action.requested_by_id == user.pk:
        blocked = "You requested this action, so another reviewer must decide it."
    elif mine is not None:
        left = action.approvals_required - len(people_approving)
        blocked = (
            f"You approved this action; it needs {left} more approval{'s' if left != 1 else ''} from other reviewers."
        )
    edits = action_edits(action)
    # Rejecting and editing again stay open to an editor; only approving is theirs no more.
    approve_blocked = _sentence(EDITED_BY_YOU) if not blocked and any(e.user_id == user.pk for e in edits) else ""
    changes = action_changes(action=action)
    timeline = action_timeline(action_id=action.id)
    return {
        "action": action,
        "approvals": approvals,
        "approving": people_approving,
        "timeline": timeline,
        "error_detail": next(
            (entry.data.get("error_detail", "") for entry in reversed(timeline) if entry.event == "action.failed"), ""
        ),
        "parameters_json": pretty_json(action.parameters),
        "pending": pending,
        "can_decide": not blocked,
        "blocked": blocked,
        "approve_blocked": approve_blocked,
        "edits": edits,
        "edited_notice": _edited_notice(edits) if action.requested_by_id == user.pk else "",
        "outcome": "" if pending else outcome_sentence(action, approvals, now),
        "changed_since_seen": bool(seen_hash) and seen_hash != action.payload_hash,
        "is_reviewer": is_reviewer(user),
        "assigned_groups": assigned_names(action),
        "changes": changes,
        "known_failure": action_known_failure(action) if pending else None,
        "needs_confirmation": pending and approval_needs_confirmation(action),
        "crumb": _crumb(action, user),
    }


def _crumb(action: Action, user: AbstractBaseUser) -> tuple[str, str]:
    """Where the breadcrumb leads: a page this user may open (requesters have no queue)."""
    if action.requested_by_id == user.pk:
        return "approvals:mine", "My requests"
    if is_reviewer(user):
        return "approvals:queue", "Approval queue"
    return "audit:history", "Audit history"


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _edited_notice(edits: list[Any]) -> str:
    """What the requester is told when reviewers changed their action: who, and that approvals were voided."""
    if not edits:
        return ""
    names = list(dict.fromkeys(edit.user.get_username() for edit in edits))
    who = " and ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} and {names[-1]}"
    voided = sum(edit.approvals_voided for edit in edits)
    edit_words = "the edit" if len(edits) == 1 else "the edits"
    notice = (
        f"{who} edited your action after you submitted it: the parameters shown are the edited version, "
        "and that is what runs if it is approved."
    )
    # Only approvals an edit actually voided are mentioned; with none given there is nothing to lose.
    if voided:
        approvals = f"{voided} approval{'s' if voided != 1 else ''} given before {edit_words} no longer count"
        notice += f" {approvals}{'s' if voided == 1 else ''}."
    return notice


def _voided_words(edit: Any) -> str:
    """What the editor is told of the approvals their edit voided: nothing when there were none."""
    voided = edit.approvals_voided
    if not voided:
        return ""
    return f"; {voided} earlier approval{'s' if voided != 1 else ''} no longer count{'s' if voided == 1 else ''}"


def _detail_or_404(request: HtmxHttpRequest, action_id: UUID) -> dict[str, Any]:
    context = detail_context(action_id=action_id, user=request.user)
    if context is None:
        raise Http404("No such action, or you may not see it.")
    return context


@require_GET
@login_required
def detail(request: HtmxHttpRequest, action_id: UUID) -> HttpResponse:
    context = _detail_or_404(request, action_id)
    return render(request, "review/detail.html", {**context, **_blank_forms(context)})


def _blank_forms(context: dict[str, Any]) -> dict[str, Any]:
    """The decision and edit forms for the version of the action in `context`."""
    action = context["action"]
    return {
        "decision_form": DecisionForm(initial={"payload_hash": action.payload_hash}),
        "edit_form": EditForm(initial={"payload_hash": action.payload_hash, "parameters": context["parameters_json"]}),
    }


def _panel(
    request: HtmxHttpRequest, action_id: UUID, *, message: str, level: str, status: int, **extra: Any
) -> HttpResponse:
    """Answer a decision or edit: the refreshed decision panel for htmx, the whole page otherwise.

    A decision sent from the queue's keyboard gets only the message: the row updates over the socket.
    """
    if request.htmx and request.POST.get("from") == "queue":
        return HttpResponse(
            render_to_string("flash.html", {"message": message, "level": level, "oob": True}), status=status
        )
    context = _detail_or_404(request, action_id)
    context = {
        **context,
        **_blank_forms(context),
        "message": message,
        "message_level": level,
        **extra,
    }
    if request.htmx:
        html = render_to_string("review/detail.html#decision-panel", context, request=request)
        html += render_to_string("review/detail.html#detail-live", {**context, "oob": True}, request=request)
        return HttpResponse(html, status=status)
    return render(request, "review/detail.html", context, status=status)


def _refusal(error: exceptions.ActionError, action: Action, user: AbstractBaseUser) -> str:
    """A refused decision, in words that say what happened instead."""
    if isinstance(error, exceptions.ActionNotPending):
        action.refresh_from_db()
        approvals = action_approvals(action)
        decided_by = [a["user"] for a in approvals if a["user"] != user.get_username()]
        who = (
            f"{' and '.join(decided_by)} decided first" if decided_by else "It was decided before your decision arrived"
        )
        return f"{who}. {outcome_sentence(action, approvals, timezone.now())}"
    if isinstance(error, exceptions.PayloadChanged):
        return (
            "This action changed since you opened it, so your decision was not recorded. Review the new version below."
        )
    if isinstance(error, exceptions.ActionExpired):
        return "This action expired before your decision arrived; it will not run."
    return _sentence(error.detail)


def _refused(request: HtmxHttpRequest, action: Action, error: exceptions.ActionError) -> HttpResponse:
    """A refused decision or edit. When the action changed, the whole page reloads with the new
    version: a panel refreshed alone would offer a decision on parameters the page no longer shows."""
    message = _refusal(error, action, request.user)
    if isinstance(error, exceptions.PayloadChanged) and request.htmx and request.POST.get("from") != "queue":
        messages.error(request, message)
        return HttpResponseClientRefresh()
    return _panel(request, action.id, message=message, level="error", status=error.status_code)


@require_POST
@login_required
def decide(request: HtmxHttpRequest, action_id: UUID) -> HttpResponse:
    context = _detail_or_404(request, action_id)
    action = context["action"]
    form = DecisionForm(request.POST)
    if not form.is_valid():
        hidden = "; ".join(f"{field}: {' '.join(errors)}" for field, errors in form.errors.items() if field != "reason")
        message = f"Not recorded: {hidden}" if hidden else "Not recorded: a rejection needs a reason."
        return _panel(request, action_id, message=message, level="error", status=400, decision_form=form)
    approved = form.cleaned_data["decision"] == "approve"
    # Only a decision the service would take waits for the second step; a refusal comes at once.
    decidable = context["can_decide"] and not context["approve_blocked"]
    if approved and decidable and context["needs_confirmation"] and not form.cleaned_data["confirm"]:
        return _confirm_step(request, action_id)
    try:
        outcome = action_decide(
            action_id=action.id,
            user=request.user,
            approved=approved,
            reason=form.cleaned_data["reason"],
            payload_hash=form.cleaned_data["payload_hash"],
        )
    except exceptions.ActionError as error:
        return _refused(request, action, error)
    if not approved:
        message = "You rejected this action; it will not run."
    elif outcome.status == Status.APPROVED:
        message = "Approved: it runs now."
    else:
        progress = f"{outcome.approvals} of {outcome.approvals_required}"
        message = f"Your approval is recorded ({progress}); it waits for another reviewer."
    if not request.htmx:
        messages.success(request, message)
        return redirect("approvals:detail", action_id=action.id)
    return _panel(request, action_id, message=message, level="success", status=200)


def _confirm_step(request: HtmxHttpRequest, action_id: UUID) -> HttpResponse:
    """The second step of an approval that takes one; from the queue's keyboard, only a pointer to it."""
    if request.htmx and request.POST.get("from") == "queue":
        message = "Approving this action takes a second step: open it to check what it does and confirm."
        return _panel(request, action_id, message=message, level="error", status=409)
    message = "Check what approving does, then confirm it."
    return _panel(request, action_id, message=message, level="info", status=200, confirming=True)


@require_GET
@reviewer_required
def confirm(request: HtmxHttpRequest, action_id: UUID) -> HttpResponse:
    """The second step of an approval, alone: the queue shows it in a dialog when `a` is pressed."""
    context = _detail_or_404(request, action_id)
    if not context["can_decide"] or context["approve_blocked"]:
        message = context["blocked"] or context["approve_blocked"]
        return render(request, "flash.html", {"message": message, "level": "error", "oob": True}, status=409)
    if request.htmx:
        return render(request, "review/confirm_approve.html", {**context, "from_queue": True})
    return render(request, "review/detail.html", {**context, **_blank_forms(context), "confirming": True})


def _edit_not_saved(request: HtmxHttpRequest, action_id: UUID, form: EditForm) -> HttpResponse:
    return _panel(
        request,
        action_id,
        message="The edit was not saved: fix the errors below.",
        level="error",
        status=400,
        edit_form=form,
        edit_open=True,
    )


@require_POST
@login_required
def edit(request: HtmxHttpRequest, action_id: UUID) -> HttpResponse:
    context = _detail_or_404(request, action_id)
    action = context["action"]
    form = EditForm(request.POST)
    if not form.is_valid():
        return _edit_not_saved(request, action_id, form)
    parameters = form.cleaned_data["parameters"]
    if form.cleaned_data["payload_hash"] != action.payload_hash:
        return _refused(request, action, exceptions.PayloadChanged(""))
    try:
        if not form.cleaned_data["confirm"]:
            preview = action_edit_preview(action=action, parameters=parameters)
            return _panel(
                request,
                action_id,
                message="Check the changes below, then save them.",
                level="info",
                status=200,
                edit_form=form,
                edit_open=True,
                preview=preview,
            )
        edited = action_edit(
            action_id=action.id,
            user=request.user,
            parameters=parameters,
            payload_hash=form.cleaned_data["payload_hash"],
        )
    except exceptions.InvalidParameters as error:
        form.add_error("parameters", error.detail if not error.errors else f"{error.detail}: {error.errors}")
        return _edit_not_saved(request, action_id, form)
    except exceptions.ActionError as error:
        return _refused(request, action, error)
    if edited.status == Status.PENDING:
        message = (
            f"Saved. The action is now {edited.security_level} risk{_voided_words(action_edits(edited)[-1])}; "
            "as its editor you may reject it but another reviewer must approve it."
        )
    else:
        message = f"Saved. The action is now {edited.security_level} risk, so policy approved it and it runs now."
    # The page reloads, so the form, its payload hash and the parameters all show the new version.
    messages.success(request, message)
    if request.htmx:
        return HttpResponseClientRedirect(reverse("approvals:detail", args=[action.id]))
    return redirect("approvals:detail", action_id=action.id)


# What will change


@require_GET
@login_required
def changes(request: HtmxHttpRequest, action_id: UUID) -> HttpResponse:
    """The diff a file write would make, loaded after the detail page (it reads the file in the sandbox)."""
    action = action_get_for(action_id=action_id, user=request.user)
    change = action_diff(action=action) if action is not None else None
    if change is None:
        raise Http404("No such file write, or you may not see it.")
    return render(request, "review/file_diff.html", {"action": action, "change": change})


# One-tap links from notifications

LINK_REFUSALS = {
    exceptions.LinkInvalid: "This link is not valid",
    exceptions.LinkExpired: "This link has expired",
    exceptions.LinkNotYours: "This link is not for you",
    exceptions.LinkUsed: "This link was already used",
    exceptions.EditedByYou: "You edited this action",
    exceptions.ActionExpired: "This action expired",
    exceptions.ActionNotPending: "This action was already decided",
    exceptions.AlreadyDecided: "You already decided on this action",
    exceptions.PayloadChanged: "This action changed",
}
CHANNEL_WORDS = {"email": "your notification email", "webhook": "a shared channel (any reviewer may use it once)"}


def _link_refused(request: HtmxHttpRequest, error: exceptions.ActionError, link: OneTapLink | None) -> HttpResponse:
    title = next((words for kind, words in LINK_REFUSALS.items() if isinstance(error, kind)), "Not allowed")
    # Never the token itself: it is a credential until it expires.
    logger.info("one-tap link refused for %s (%s): %s", request.user.get_username(), error.status_code, title)
    reason = error.detail[:1].upper() + error.detail[1:] + "."
    may_see = link is not None and action_get_for(action_id=link.action_id, user=request.user) is not None
    context = {
        "title": title,
        "reason": reason,
        "status": error.status_code,
        "action_id": link.action_id if may_see else None,
    }
    return render(request, "review/link_refused.html", context, status=error.status_code)


@require_http_methods(["GET", "POST"])
@login_required
def link(request: HtmxHttpRequest, token: str) -> HttpResponse:
    """A one-tap link: GET shows the whole action to confirm; only the POST from that page decides."""
    one_tap = None
    try:
        one_tap = link_load(token)
        action = link_check(link=one_tap, user=request.user)
    except exceptions.ActionError as error:
        return _link_refused(request, error, one_tap)
    form = LinkDecisionForm(request.POST if request.method == "POST" else None, decision=one_tap.decision)
    if request.method == "POST" and form.is_valid():
        try:
            outcome = link_decide(link=one_tap, user=request.user, reason=form.cleaned_data["reason"])
        except exceptions.ActionError as error:
            return _link_refused(request, error, one_tap)
        if one_tap.decision == Decision.REJECT:
            messages.success(request, "You rejected this action; it will not run.")
        elif outcome.status == Status.APPROVED:
            messages.success(request, "Approved: it runs now.")
        else:
            progress = f"{outcome.approvals} of {outcome.approvals_required}"
            messages.success(request, f"Your approval is recorded ({progress}); it waits for another reviewer.")
        return redirect("approvals:detail", action_id=action.id)
    approvals = action_approvals(action)
    context = {
        "action": action,
        "decision": one_tap.decision,
        "channel_words": CHANNEL_WORDS.get(one_tap.channel, "a notification"),
        "parameters_json": pretty_json(action.parameters),
        "approving": [a for a in approvals if a["user"] != "system" and a["decision"] == Decision.APPROVE],
        "changes": action_changes(action=action),
        "form": form,
        "message": "Not recorded: fix the reason below." if form.is_bound else "",
    }
    return render(request, "review/link.html", context, status=400 if form.is_bound else 200)


# Desktop alerts


@require_POST
@reviewer_required
def alert_sound(request: HtmxHttpRequest) -> HttpResponse:
    """Turn the queue's alert sound on or off for this reviewer, on every device they use."""
    form = AlertSoundForm(request.POST)
    form.is_valid()  # an unchecked box sends nothing: off
    preference = reviewer_preference_set(user=request.user, alert_sound=form.cleaned_data.get("sound", False))
    if request.htmx:
        return render(request, "review/queue.html#alert-prefs", {"alert_sound": preference.alert_sound})
    return redirect("approvals:queue")


# Everyone's preferences


@require_http_methods(["GET", "POST"])
@login_required
def preferences(request: HtmxHttpRequest) -> HttpResponse:
    """The time zone every page shows times in, for anyone signed in (UTC until they choose)."""
    chosen = reviewer_preference_get(user=request.user).time_zone
    form = TimeZoneForm(request.POST if request.method == "POST" else None, initial={"time_zone": chosen})
    if form.is_bound and form.is_valid():
        preference = time_zone_set(user=request.user, time_zone=form.cleaned_data["time_zone"])
        request.session[TIME_ZONE_KEY] = preference.time_zone
        messages.success(request, f"Saved: times now show in {preference.time_zone}.")
        return redirect("preferences")
    context = {"form": form, "now": timezone.now()}
    return render(request, "review/preferences.html", context, status=400 if form.is_bound else 200)
