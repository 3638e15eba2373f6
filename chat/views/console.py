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
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import client_ip
from helpdesk.streams import event_stream
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app
from helpdesk.tickets.canned.services import canned_fill, canned_for_member

from .. import realtime
from ..forms_console import PresenceForm, TicketForm, TransferForm
from ..models import ChatMessage, Conversation, Sender
from ..services import conversations as svc
from ..services import routing, to_ticket, transfer
from ..services.feedback import feedback_for_conversation
from ..services.history import chats_for_console, past_chats
from .common import chat_render


def _console_extras(request: HttpRequest, conversation: Conversation, extra: dict) -> dict:
    """The conversation page's console parts: past chats, chat to ticket, and while the chat
    is in progress the canned responses and the transfer form (issue 15, items 3 and 6)."""
    actor = request.membership
    context = {
        "past_chats": past_chats(actor, conversation),
        "ticket_form": extra.pop("ticket_form", None) or TicketForm(org=request.org),
    }
    if conversation.state in Conversation.IN_PROGRESS:
        context["canned"] = _canned(request, conversation)
        context["transfer_form"] = extra.pop("transfer_form", None) or TransferForm(
            actor=actor, conversation=conversation
        )
    return context


def _canned(request: HttpRequest, conversation: Conversation) -> list[tuple[str, str]]:
    """The canned responses the reply box offers (the desk's own service), filled in for
    this chat: (title, text)."""
    member = request.membership
    values = {
        "contact.name": conversation.visitor_name,
        "agent.name": member.user.display_name,
        "department.name": conversation.department.name if conversation.department else "",
    }
    return [
        (c.title, canned_fill(member=member, canned=c, values=values))
        for c in canned_for_member(member=member)
    ]


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
        **_console_extras(request, conversation, extra),
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


# --- The console's home: presence, and the chats to answer -------------------------------------
def _console_context(request: HttpRequest, presence_form: PresenceForm | None = None) -> dict:
    actor = request.membership
    status = routing.status_of(request.org, actor.user_id)
    lists = chats_for_console(actor)
    console_lists = [
        ("offered", _("Offered to you"), lists["offered"], _("No chat is waiting for you.")),
        ("waiting", _("Waiting"), lists["waiting"], _("No chat is waiting.")),
        ("mine", _("Your live chats"), lists["mine"], _("You have no live chat.")),
        ("live", _("Other live chats"), lists["live"], _("No other live chat.")),
    ]
    return {
        "console_lists": console_lists,
        "status": status,
        "load": routing.load_of(request.org, actor.user_id),
        "presence_form": presence_form
        or PresenceForm(initial={"presence": status.presence, "max_chats": status.max_chats}),
    }


@require_app(App.CHAT)
def console_home(request: HttpRequest) -> HttpResponse:
    """The operators' console: the member's presence and limit, the chats offered to them,
    waiting and live chats of their departments (refreshed every few seconds)."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return chat_render(request, "chat/console.html", _console_context(request))


@require_app(App.CHAT)
def console_chats(request: HttpRequest) -> HttpResponse:
    """The lists alone (the console refreshes them)."""
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    return chat_render(request, "chat/console_chats.html", _console_context(request))


@require_app(App.CHAT)
@require_POST
def console_presence(request: HttpRequest) -> HttpResponse:
    form = PresenceForm(request.POST)
    if form.is_valid():
        try:
            routing.presence_set(
                actor=request.membership,
                presence=form.cleaned_data["presence"],
                max_chats=form.cleaned_data["max_chats"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("Your presence is saved."))
            return redirect("chat:console", portal=request.org.portal)
    return chat_render(
        request, "chat/console.html", _console_context(request, presence_form=form), status=400
    )


def _form_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


# --- Transfer and chat to ticket ---------------------------------------------------------------
@require_app(App.CHAT)
@require_POST
def conversation_transfer(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    """Transfer to an operator (`user`) or to a department (`department`). The operator who
    gave it away goes back to the console (they may not operate the new department)."""
    conversation = svc.conversation_for_operator(
        actor=request.membership, conversation_id=chat_conversation_id
    )
    form = TransferForm(request.POST, actor=request.membership, conversation=conversation)
    if form.is_valid():
        try:
            if form.cleaned_data.get("user"):
                transfer.transfer_to_operator(
                    actor=request.membership,
                    conversation=conversation,
                    user=form.cleaned_data["user"],
                )
            else:
                transfer.transfer_to_department(
                    actor=request.membership,
                    conversation=conversation,
                    department=form.cleaned_data["department"],
                )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, _("The chat was transferred."))
            return redirect("chat:console", portal=request.org.portal)
    context = _context(request, conversation, transfer_form=form)
    return chat_render(request, "chat/conversation.html", context, status=400)


@require_app(App.CHAT)
@require_POST
def conversation_ticket(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    """Chat to ticket, in one click (issue 15, item 6)."""
    conversation = svc.conversation_for_operator(
        actor=request.membership, conversation_id=chat_conversation_id
    )
    form = TicketForm(request.POST, org=request.org)
    if form.is_valid():
        try:
            ticket = to_ticket.conversation_to_ticket(
                actor=request.membership,
                conversation=conversation,
                department=form.cleaned_data["department"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request, _("Ticket #%(number)s was made of this chat.") % {"number": ticket.number}
            )
            return redirect(_page(request, conversation))
    conversation.refresh_from_db()
    context = _context(request, conversation, ticket_form=form)
    return chat_render(request, "chat/conversation.html", context, status=400)
