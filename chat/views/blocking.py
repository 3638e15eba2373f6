"""Blocking visitors (issue 15 item 5): the console's "Block visitor" on a chat, and Setup >
Chat > Blocked visitors, where supervisors and chat admins unblock an address."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..services import blocking
from ..services import conversations as svc
from .common import chat_render, chat_supervisor


@require_app(App.CHAT)
@require_POST
def conversation_block(request: HttpRequest, chat_conversation_id: int) -> HttpResponse:
    conversation = svc.conversation_for_operator(
        actor=request.membership, conversation_id=chat_conversation_id
    )
    try:
        block = blocking.visitor_block(actor=request.membership, conversation=conversation)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The visitor's address %(ip)s is blocked.") % {"ip": block.ip})
    return redirect(
        reverse(
            "chat:conversation",
            kwargs={"portal": request.org.portal, "chat_conversation_id": conversation.pk},
        )
    )


@chat_supervisor
def blocked_list(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET"})
    return chat_render(
        request, "chat/blocked.html", {"blocks": blocking.blocked_list(request.membership)}
    )


@chat_supervisor
@require_POST
def blocked_remove(request: HttpRequest, chat_blocked_ip_id: int) -> HttpResponse:
    block = blocking.block_of(request.membership, chat_blocked_ip_id)
    blocking.visitor_unblock(actor=request.membership, block=block)
    messages.success(request, _("%(ip)s is unblocked.") % {"ip": block.ip})
    return redirect(reverse("chat:blocked", kwargs={"portal": request.org.portal}))
