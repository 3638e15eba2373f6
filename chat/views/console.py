"""The operators' console, minimal (CHAT-07): a conversation's page where an operator of its
department (or a chat supervisor) accepts it, reads it live, replies, sees the visitor typing
and ends it. Same-origin, session-authenticated; the stream is an async view on a path ending
in `/stream/` (helpdesk/streams.py). Forms work without JavaScript (post, then back to the
page); static/js/chat-console.js posts them with fetch and lets the stream show the result.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from helpdesk.streams import event_stream
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from .. import realtime
from ..models import ChatMessage, Conversation, Sender
from ..services import conversations as svc
from ..services.feedback import feedback_for_conversation
from .common import chat_render


def _by_script(request: HttpRequest) -> bool:
    return request.headers.get("X-Requested-With") == "fetch"


def _page(request: HttpRequest, conversation: Conversation) -> str:
    return reverse(
        "chat:conversation",
        kwargs={"portal": request.org.portal, "chat_conversation_id": conversation.pk},
    )


def _context(request: HttpRequest, conversation: Conversation, **extra) -> dict:
    history = (
        ChatMessage.objects.for_org(request.org)
        .filter(conversation=conversation)
        .select_related("author")
        .order_by("seq")
    )
    return {
        "conversation": conversation,
        "chat_messages": history,
        "in_progress": conversation.state in Conversation.IN_PROGRESS,
        "waiting": conversation.state == Conversation.State.WAITING,
        "chat_feedback": feedback_for_conversation(conversation),
        **extra,
    }


@require_app(App.CHAT)
def conversation_detail(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    conversation = svc.conversation_for_operator(
        actor=request.membership, conversation_id=chat_conversation_id
    )
    if request.method != "GET":  # after the lookup: another's chat is a 404 for any method
        return HttpResponseNotAllowed(["GET"])
    return chat_render(request, "chat/conversation.html", _context(request, conversation))


@require_app(App.CHAT)
@require_POST
def conversation_accept(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    conversation = svc.conversation_for_operator(
        actor=request.membership, conversation_id=chat_conversation_id
    )
    try:
        svc.conversation_accept(actor=request.membership, conversation=conversation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect(_page(request, conversation))


@require_app(App.CHAT)
@require_POST
def conversation_reply(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    conversation = svc.conversation_for_operator(
        actor=request.membership, conversation_id=chat_conversation_id
    )
    try:
        message = svc.message_post_operator(
            actor=request.membership,
            conversation=conversation,
            body=request.POST.get("body", ""),
        )
    except ValidationError as exc:
        errors = (
            exc.message_dict.get("body", exc.messages)
            if hasattr(exc, "error_dict")
            else exc.messages
        )
        if _by_script(request):
            return JsonResponse({"errors": {"body": errors}}, status=400)
        context = _context(
            request, conversation, reply_errors=errors, reply=request.POST.get("body", "")
        )
        return chat_render(request, "chat/conversation.html", context, status=400)
    if _by_script(request):
        return JsonResponse({"message": realtime.message_event(message)}, status=201)
    return redirect(_page(request, conversation))


@require_app(App.CHAT)
@require_POST
def conversation_end(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    conversation = svc.conversation_for_operator(
        actor=request.membership, conversation_id=chat_conversation_id
    )
    svc.conversation_end(actor=request.membership, conversation=conversation)
    return redirect(_page(request, conversation))


@require_app(App.CHAT)
@require_POST
def conversation_typing(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    conversation = svc.conversation_for_operator(
        actor=request.membership, conversation_id=chat_conversation_id
    )
    svc.typing_notify(conversation=conversation, sender=Sender.OPERATOR)
    return HttpResponse(status=204)


async def conversation_stream(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    """The conversation's events for its operators (the same stream the visitor reads)."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    raw = request.headers.get("Last-Event-ID") or request.GET.get("after") or "0"
    if not raw.isdigit() or len(raw) > 10:
        return HttpResponse(status=400)
    conversation = await sync_to_async(_operated)(request, chat_conversation_id)
    return event_stream(
        realtime.conversation_events(conversation.org_id, conversation.pk, int(raw))
    )


def _operated(request: HttpRequest, chat_conversation_id: int) -> Conversation:
    if not request.membership.has_app(App.CHAT):
        raise Http404
    return svc.conversation_for_operator(
        actor=request.membership, conversation_id=chat_conversation_id
    )
