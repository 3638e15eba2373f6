"""The Chat app's start page: the chats waiting and live that the member may answer
(CHAT-07), and the member's departments."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..models import ChatDepartment
from ..selectors import conversations_in_progress_for
from .common import chat_render


@require_app(App.CHAT)
def home(request: HttpRequest) -> HttpResponse:
    departments = (
        ChatDepartment.objects.for_org(request.org)
        .filter(operator_links__user=request.user)
        .order_by("name", "pk")
    )
    chats = conversations_in_progress_for(request.membership)
    return chat_render(request, "chat/home.html", {"departments": departments, "chats": chats})
