"""What every chat page shares: the app gate, the supervisors' gate, the sidebar's context."""

from __future__ import annotations

from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..models import ChatDepartment
from ..services.access import can_configure, ensure_can_configure


def chat_render(
    request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200
) -> HttpResponse:
    """Render a chat page with the sidebar's context (the Setup entries for supervisors)."""
    base = {"chat_admin": can_configure(request.membership)}
    return render(request, template, {**base, **(context or {})}, status=status)


def chat_supervisor(view):
    """Chat Setup: the app gate, then supervisors and chat admins only (403 for operators)."""

    @require_app(App.CHAT)
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        ensure_can_configure(request.membership)
        return view(request, *args, **kwargs)

    return wrapper


def department_of(request: HttpRequest, chat_department_id: int) -> ChatDepartment:
    """The organization's department; 404 for a missing one and another organization's alike."""
    return get_object_or_404(ChatDepartment.objects.for_org(request.org), pk=chat_department_id)
