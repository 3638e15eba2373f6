"""The Chat app's start page: the member's departments; the console comes with CHAT-07."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..models import ChatDepartment
from .common import chat_render


@require_app(App.CHAT)
def home(request: HttpRequest) -> HttpResponse:
    departments = (
        ChatDepartment.objects.for_org(request.org)
        .filter(operator_links__user=request.user)
        .order_by("name", "pk")
    )
    return chat_render(request, "chat/home.html", {"departments": departments})
