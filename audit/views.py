"""The audit history pages for auditors and staff: the filtered list, one action's timeline, exports.

Each URL renders the full page, or for htmx the part it needs; the list is keyset-paged on seq.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from audit.export import csv_lines, jsonl_lines
from audit.forms import AuditFilterForm
from audit.presentation import entries_html
from audit.selectors import (
    action_levels,
    audit_action_timeline,
    audit_export_rows,
    audit_head_seq,
    audit_page,
)
from audit.services import audit_chain_state
from audit.subjects import subjects
from lib.htmx import HtmxHttpRequest
from lib.roles import is_auditor, role_required

PAGE_SIZE = 50
NOT_AN_AUDITOR = "The audit history is for auditors and staff. Ask an administrator to add you to the auditors group."


auditor_required = role_required(is_auditor, NOT_AN_AUDITOR)


def entry_rows(entries: list[Any]) -> list[dict[str, Any]]:
    """Each entry with its rendered item (its action's risk level included)."""
    return entries_html(entries, action_levels([entry.action_id for entry in entries]))


def _bad_filters(request: HtmxHttpRequest, form: AuditFilterForm) -> HttpResponse:
    """The page with the form's errors and nothing filtered (for the page and its exports alike)."""
    return render(
        request,
        "audit/history.html",
        {"form": form, "rows": None, "state": audit_chain_state(), "head_seq": audit_head_seq()},
        status=400,
    )


@require_GET
@auditor_required
def history(request: HtmxHttpRequest) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _bad_filters(request, form)
    filters = form.filters()
    before = form.cleaned_data["before"]
    page = audit_page(filters=filters, before_seq=before, limit=PAGE_SIZE)
    context = {
        "form": form,
        "rows": entry_rows(page.items),
        "first_page": before is None,
        "next_query": form.query(before=page.next_key[0]) if page.next_key else "",
        "filter_query": form.query(),
        "filtered": bool(form.query()),
    }
    if request.htmx and before is not None:
        return render(request, "audit/history.html#entries-page", context)
    context |= subjects().history_context(
        since=form.cleaned_data["since"], until=form.cleaned_data["until"], security_level=filters.security_level
    )
    context["state"] = audit_chain_state()
    context["head_seq"] = audit_head_seq()
    return render(request, "audit/history.html", context)


@require_GET
@auditor_required
def timeline(request: HtmxHttpRequest, action_id: UUID) -> HttpResponse:
    entries = audit_action_timeline(action_id=action_id)
    action = subjects().action_context(action_id)
    if action is None and not entries:
        raise Http404("No audit entries for this action.")
    context = {
        "action": None,
        "summary": "",
        **(action or {}),
        "action_id": action_id,
        "rows": entry_rows(entries),
    }
    return render(request, "audit/timeline.html", context)


def _export(request: HtmxHttpRequest, *, kind: str) -> HttpResponse:
    form = AuditFilterForm(request.GET)
    if not form.is_valid():
        return _bad_filters(request, form)
    rows = audit_export_rows(filters=form.filters())
    if kind == "csv":
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(jsonl_lines(rows), content_type="application/x-ndjson; charset=utf-8")
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.{kind}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@auditor_required
def export_csv(request: HtmxHttpRequest) -> HttpResponse:
    return _export(request, kind="csv")


@require_GET
@auditor_required
def export_jsonl(request: HtmxHttpRequest) -> HttpResponse:
    return _export(request, kind="jsonl")
