"""Rule pages under /approvals/rules/: the list, "approve and allow similar" from a held action
with its live preview, edit and disable. Every write goes through rules.services."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from approvals import exceptions
from approvals.models import Action
from lib.htmx import HtmxHttpRequest
from lib.roles import can_see_rules, is_rule_admin, role_required
from review.views import detail_context
from rules.forms import RuleForm, RuleListForm
from rules.matching import fields_for
from rules.models import Rule
from rules.selectors import rule_get, rule_preview, rule_state, rules_list, suggested_matchers
from rules.services import rule_create_from_action, rule_disable, rule_edit, rule_validate

LIST_PAGE = 100
NOT_A_RULE_ADMIN = "Only rule admins (group rule_admins) or staff may change standing rules."


NOT_SHOWN_RULES = "Standing rules are shown to reviewers, auditors and rule admins."

rule_admin_required = role_required(is_rule_admin, NOT_A_RULE_ADMIN)


@require_GET
@role_required(can_see_rules, NOT_SHOWN_RULES)
def rule_list(request: HtmxHttpRequest) -> HttpResponse:
    form = RuleListForm(request.GET)
    if not form.is_valid():
        context = {"form": form, "rules": [], "can_write": is_rule_admin(request.user)}
        return render(request, "rules/list.html", context, status=400)
    page = rules_list(before_id=form.cleaned_data["before"], limit=LIST_PAGE)
    for rule in page.items:
        rule.state = rule_state(rule)
    return render(
        request,
        "rules/list.html",
        {
            "form": form,
            "rules": page.items,
            "older": page.next_key[0] if page.next_key else None,
            "can_write": is_rule_admin(request.user),
        },
    )


# Approve and allow similar


def _action_context(request: HtmxHttpRequest, action_id: UUID) -> dict[str, Any]:
    context = detail_context(action_id=action_id, user=request.user)
    if context is None:
        raise Http404("No such action, or you may not see it.")
    return context


def _form_for_action(action: Action, data: Any = None) -> RuleForm:
    return RuleForm(
        data,
        fields=fields_for(action.action_type, action.skill_id),
        matchers=suggested_matchers(action),
        initial={"note": ""},
    )


def _preview_of(
    form: RuleForm, *, action_type: str, skill_id: str | None, user: AbstractBaseUser, rule: Rule | None = None
) -> dict[str, Any]:
    """The preview of a bound form, among the actions `user` may see: the rule's matches, or why it
    is not a valid rule yet."""
    if not form.is_valid():
        return {"form": form, "preview_form": form}
    fields = form.rule_fields()
    if form.errors:
        return {"form": form, "preview_form": form}
    try:
        spec = rule_validate(action_type=action_type, skill_id=skill_id, **fields)
    except exceptions.InvalidRule as error:
        form.add_rule_errors(error.errors or {})
        return {"form": form, "preview_form": form}
    return {"form": form, "preview_form": form, "spec": spec, "preview": rule_preview(spec=spec, user=user, rule=rule)}


def _render_form(request: HtmxHttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render(request, "rules/form.html", context, status=status)


@require_http_methods(["GET", "POST"])
@rule_admin_required
def rule_new_from_action(request: HtmxHttpRequest, action_id: UUID) -> HttpResponse:
    detail = _action_context(request, action_id)
    action = detail["action"]
    base = {"action": action, "subject": action, "preview_url": "rules:preview_for_action", "target": action.id}
    if not detail["can_decide"]:
        return _render_form(request, {**base, "blocked": detail["blocked"]}, status=409)
    if detail["approve_blocked"]:
        return _render_form(request, {**base, "blocked": detail["approve_blocked"]}, status=403)
    if request.method == "GET":
        form = _form_for_action(action, data=None)
        # Preview the suggestion as it stands, the same way the live preview does.
        bound = _form_for_action(action, data=_as_data(form))
        return _render_form(
            request,
            {
                **base,
                **_preview_of(bound, action_type=action.action_type, skill_id=action.skill_id, user=request.user),
                "form": form,
            },
        )
    form = _form_for_action(action, data=request.POST)
    context = {**base, **_preview_of(form, action_type=action.action_type, skill_id=action.skill_id, user=request.user)}
    if "spec" not in context:
        return _render_form(request, {**context, "message": "Not saved: fix the errors below."}, status=400)
    try:
        rule, outcome = rule_create_from_action(
            action_id=action.id,
            user=request.user,
            payload_hash=request.POST.get("payload_hash", ""),
            **form.rule_fields(),
        )
    except (exceptions.InvalidRule, exceptions.AllowRuleForbidden) as error:
        form.add_rule_errors(error.errors or {})
        message = f"Not saved: {error.detail}."
        return _render_form(request, {**context, "message": message}, status=error.status_code)
    except exceptions.ActionError as error:
        message = f"Nothing was saved: {error.detail}."
        return _render_form(request, {**context, "message": message}, status=error.status_code)
    decided = "approved" if outcome.status != "pending" else "your approval is recorded"
    messages.success(request, f"Action {decided}, and rule #{rule.id} now {rule.effect}s similar actions.")
    return redirect("approvals:detail", action_id=action.id)


def _as_data(form: RuleForm) -> dict[str, Any]:
    """A form's initial values as submitted data, to validate the suggestion without a request."""
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.get_initial_for_field(field, name)
        data[name] = field.widget.format_value(value) if name == "expires_at" else value
    return data


@require_POST
@rule_admin_required
def rule_preview_for_action(request: HtmxHttpRequest, action_id: UUID) -> HttpResponse:
    action = _action_context(request, action_id)["action"]
    form = _form_for_action(action, data=request.POST)
    context = _preview_of(form, action_type=action.action_type, skill_id=action.skill_id, user=request.user)
    return render(request, "rules/form.html#rule-preview", context)


# Edit and disable


def _rule_or_404(rule_id: int) -> Rule:
    rule = rule_get(rule_id=rule_id)
    if rule is None:
        raise Http404("No such rule.")
    return rule


def _form_for_rule(rule: Rule, data: Any = None) -> RuleForm:
    return RuleForm(
        data,
        fields=fields_for(rule.action_type, rule.skill_id),
        matchers={matcher["parameter"]: matcher for matcher in rule.matchers},
        initial={"effect": rule.effect, "expires_at": rule.expires_at, "note": rule.note},
    )


@require_http_methods(["GET", "POST"])
@rule_admin_required
def rule_edit_page(request: HtmxHttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(rule_id)
    rule.state = rule_state(rule)
    base = {"rule": rule, "subject": rule, "preview_url": "rules:preview_for_rule", "target": rule.id}
    if rule.disabled_at is not None:
        return _render_form(
            request, {**base, "blocked": "This rule is disabled; create a new one instead."}, status=409
        )
    if request.method == "GET":
        form = _form_for_rule(rule)
        bound = _form_for_rule(rule, data=_as_data(form))
        return _render_form(
            request,
            {
                **base,
                **_preview_of(
                    bound, action_type=rule.action_type, skill_id=rule.skill_id, user=request.user, rule=rule
                ),
                "form": form,
            },
        )
    form = _form_for_rule(rule, data=request.POST)
    context = {
        **base,
        **_preview_of(form, action_type=rule.action_type, skill_id=rule.skill_id, user=request.user, rule=rule),
    }
    if "spec" not in context:
        return _render_form(request, {**context, "message": "Not saved: fix the errors below."}, status=400)
    try:
        rule_edit(rule_id=rule.id, user=request.user, **form.rule_fields())
    except (exceptions.InvalidRule, exceptions.AllowRuleForbidden) as error:
        form.add_rule_errors(error.errors or {})
        return _render_form(request, {**context, "message": f"Not saved: {error.detail}."}, status=error.status_code)
    except exceptions.ActionError as error:
        return _render_form(request, {**context, "message": f"Not saved: {error.detail}."}, status=error.status_code)
    messages.success(request, f"Rule #{rule.id} saved.")
    return redirect("rules:list")


@require_POST
@rule_admin_required
def rule_preview_for_rule(request: HtmxHttpRequest, rule_id: int) -> HttpResponse:
    rule = _rule_or_404(rule_id)
    form = _form_for_rule(rule, data=request.POST)
    context = _preview_of(form, action_type=rule.action_type, skill_id=rule.skill_id, user=request.user, rule=rule)
    return render(request, "rules/form.html#rule-preview", context)


@require_POST
@rule_admin_required
def rule_disable_view(request: HtmxHttpRequest, rule_id: int) -> HttpResponse:
    try:
        rule = rule_disable(rule_id=rule_id, user=request.user)
    except exceptions.RuleNotFound as error:
        raise Http404("No such rule.") from error
    except exceptions.RuleDisabled as error:
        messages.error(request, f"{error.detail[:1].upper()}{error.detail[1:]}.")
        return redirect("rules:list")
    messages.success(request, f"Rule #{rule.id} is disabled: it decides nothing from now on.")
    return redirect("rules:list")
