"""Operators' side of visitor tracking and feedback (CHAT-07, CHAT-08): the live visitors
(current page, pages viewed, time on site, returning or new, where they came from), one
visitor's pages with "Start a chat", the visitors' feedback, and the files of a chat."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from helpdesk.http import stored_file_response
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..models import Conversation
from ..services import conversations as svc
from ..services import feedback, files, tracking
from .common import chat_render


@require_app(App.CHAT)
def visitor_list(request: HttpRequest) -> HttpResponse:
    """Live visitors; `?partial=1` gives the table alone (the page refreshes it)."""
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    context = {"visitors": tracking.live_visitors(request.membership), "now": timezone.now()}
    if request.GET.get("partial"):
        return chat_render(request, "chat/_visitor_rows.html", context)
    return chat_render(request, "chat/visitors.html", context)


@require_app(App.CHAT)
def visitor_detail(request: HttpRequest, chat_visitor_id: int) -> HttpResponse:
    """GET: the visitor's pages; POST `body`: start a chat with them."""
    visitor = tracking.visitor_for_operator(request.membership, chat_visitor_id)
    if request.method not in ("GET", "POST"):
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    context = {
        "visitor": visitor,
        "pages": tracking.recent_pages(visitor),
        "chats": Conversation.objects.for_org(request.org)
        .filter(visitor=visitor)
        .order_by("-created_at", "-pk")[:10],
        "now": timezone.now(),
    }
    if request.method == "POST":
        try:
            conversation = tracking.chat_start_with(
                actor=request.membership, visitor=visitor, body=request.POST.get("body", "")
            )
        except ValidationError as exc:
            errors = (
                exc.message_dict.get("body", exc.messages)
                if hasattr(exc, "error_dict")
                else exc.messages
            )
            context.update(errors=errors, body=request.POST.get("body", ""))
            return chat_render(request, "chat/visitor.html", context, status=400)
        return redirect(
            reverse(
                "chat:conversation",
                kwargs={"portal": request.org.portal, "chat_conversation_id": conversation.pk},
            )
        )
    return chat_render(request, "chat/visitor.html", context)


@require_app(App.CHAT)
def feedback_list(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    return chat_render(
        request, "chat/feedback_list.html", {"entries": feedback.feedback_list(request.membership)}
    )


@require_app(App.CHAT)
def conversation_file(
    request: HttpRequest, chat_conversation_id: int, chat_attachment_id: int
) -> HttpResponse:
    conversation = svc.conversation_for_operator(
        actor=request.membership, conversation_id=chat_conversation_id
    )
    attachment = files.attachment_of(conversation, chat_attachment_id)
    if request.method != "GET":  # after the lookups: another's file is a 404 for any method
        return HttpResponse(status=405, headers={"Allow": "GET"})
    return stored_file_response(
        attachment.file, name=attachment.name, content_type=attachment.content_type
    )
