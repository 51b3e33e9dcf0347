"""The chat pages: conversations of the signed-in user, each message a chat action.

Nobody sees another user's conversation (404). Replies stream in over /ws/chat/.
"""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRedirect

from approvals.exceptions import ActionError
from approvals.runtime import runtime_get
from chat.forms import MessageForm, RenameForm
from chat.fragments import message_html, message_view
from chat.models import Conversation
from chat.selectors import conversation_get_for, conversation_list, conversation_messages, message_get_for
from chat.services import conversation_create, conversation_delete, conversation_rename, message_send, message_stop
from lib.htmx import HtmxHttpRequest
from llm.client import LLMClient, LLMError


def _conversation_or_404(request: HtmxHttpRequest, conversation_id: UUID) -> Conversation:
    conversation = conversation_get_for(conversation_id=conversation_id, user=request.user)
    if conversation is None:
        raise Http404("No such conversation.")
    return conversation


def _page(
    request: HtmxHttpRequest,
    conversation: Conversation | None,
    *,
    form: MessageForm | None = None,
    rename_form: RenameForm | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "conversations": conversation_list(user=request.user),
        "conversation": conversation,
        "messages_view": [message_view(m) for m in conversation_messages(conversation=conversation)]
        if conversation
        else [],
        "form": form or MessageForm(),
        "rename_form": rename_form or RenameForm(initial={"title": conversation.title if conversation else ""}),
        "default_model": runtime_get("default_model"),
    }
    return render(request, "chat/conversation.html", context, status=status)


@require_GET
@login_required
def index(request: HtmxHttpRequest) -> HttpResponse:
    return _page(request, None)


@require_GET
@login_required
def conversation(request: HtmxHttpRequest, conversation_id: UUID) -> HttpResponse:
    return _page(request, _conversation_or_404(request, conversation_id))


def _send(request: HtmxHttpRequest, conversation: Conversation | None) -> HttpResponse:
    form = MessageForm(request.POST)
    if not form.is_valid():
        return _composer_error(request, conversation, form)
    text, model = form.cleaned_data["text"], form.cleaned_data["model"]
    fresh = conversation is None
    try:
        if fresh:
            conversation = conversation_create(user=request.user, title=text)
        message = message_send(conversation=conversation, user=request.user, text=text, model=model)
    except ActionError as error:
        form.add_error("text", error.detail if not error.errors else f"{error.detail}: {error.errors}")
        return _composer_error(request, None if fresh else conversation, form)
    url = reverse("chat:conversation", args=[conversation.id])
    if not request.htmx:
        return redirect(url)
    if fresh:
        return HttpResponseClientRedirect(url)
    # A fresh composer, plus the new message for the page to place (the socket may bring it too).
    composer = render(
        request,
        "chat/conversation.html#composer",
        {"form": MessageForm(initial={"model": model}), "conversation": conversation},
    ).content.decode()
    return HttpResponse(composer + message_html(message, oob=True))


def _composer_error(request: HtmxHttpRequest, conversation: Conversation | None, form: MessageForm) -> HttpResponse:
    if request.htmx:
        return render(
            request, "chat/conversation.html#composer", {"form": form, "conversation": conversation}, status=400
        )
    return _page(request, conversation, form=form, status=400)


@require_POST
@login_required
def start(request: HtmxHttpRequest) -> HttpResponse:
    return _send(request, None)


@require_POST
@login_required
def send(request: HtmxHttpRequest, conversation_id: UUID) -> HttpResponse:
    return _send(request, _conversation_or_404(request, conversation_id))


@require_POST
@login_required
def rename(request: HtmxHttpRequest, conversation_id: UUID) -> HttpResponse:
    conversation = _conversation_or_404(request, conversation_id)
    form = RenameForm(request.POST)
    if not form.is_valid():
        return _page(request, conversation, rename_form=form, status=400)
    conversation_rename(conversation=conversation, user=request.user, title=form.cleaned_data["title"])
    messages.success(request, "Renamed.")
    return redirect("chat:conversation", conversation_id=conversation.id)


@require_POST
@login_required
def delete(request: HtmxHttpRequest, conversation_id: UUID) -> HttpResponse:
    conversation = _conversation_or_404(request, conversation_id)
    conversation_delete(conversation=conversation, user=request.user)
    messages.success(request, f"Deleted “{conversation.title}”. Its actions stay in the audit history.")
    return redirect("chat:index")


@require_POST
@login_required
def stop(request: HtmxHttpRequest, conversation_id: UUID, action_id: UUID) -> HttpResponse:
    conversation = _conversation_or_404(request, conversation_id)
    message = message_get_for(action_id=action_id, user=request.user)
    if message is None or message.conversation_id != conversation.id:
        raise Http404("No such message.")
    try:
        message_stop(message=message, user=request.user)
    except ActionError as error:
        return HttpResponse(error.detail, status=error.status_code)
    return HttpResponse(message_html(message_get_for(action_id=action_id, user=request.user), oob=True))


@require_GET
@login_required
def message(request: HtmxHttpRequest, conversation_id: UUID, action_id: UUID) -> HttpResponse:
    """One message in its current state (pages re-sync a message through this)."""
    conversation = _conversation_or_404(request, conversation_id)
    found = message_get_for(action_id=action_id, user=request.user)
    if found is None or found.conversation_id != conversation.id:
        raise Http404("No such message.")
    return HttpResponse(message_html(found))


@require_GET
@login_required
def models(request: HtmxHttpRequest) -> HttpResponse:
    """The model picker, from the LLM server's own list (fetched once, quickly, without retries)."""
    default = runtime_get("default_model")
    error = ""
    names: list[str] = []
    try:
        with LLMClient(
            base_url=settings.ACTIONHUB_LLM_URL,
            api=settings.ACTIONHUB_LLM_API,
            api_key=settings.ACTIONHUB_LLM_API_KEY,
            timeout=5,
            connect_timeout=2,
            retries=0,
        ) as client:
            names = client.list_models()
    except LLMError as exc:
        error = str(exc)
    selected = request.GET.get("model") or default
    return render(
        request,
        "chat/conversation.html#model-picker",
        {"models": names, "default_model": default, "selected": selected, "models_error": error},
    )
