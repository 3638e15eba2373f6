"""What every CRM page shares: the app gate, the sidebar's context, list pages."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..services.access import can
from ..services.integration import desk_tab_url
from ..signals import unread_count

PER_PAGE = 25


def crm_render(
    request: HttpRequest, template: str, context: dict | None = None, *, status: int = 200
) -> HttpResponse:
    """Render a CRM page with the sidebar's context (the admin's Setup entry, the Desk tab)."""
    actor = request.membership
    base = {
        "crm_admin": can(actor, "configure"),
        "desk_tab_url": desk_tab_url(actor),
        # Sales signals (CRM-14): the navigation's unread badge (partial index crm_signal_unread).
        "signals_unread": unread_count(actor.org, actor.user),
    }
    return render(request, template, {**base, **(context or {})}, status=status)


def rows_request(request: HttpRequest, target: str) -> bool:
    """An htmx live-filter request that only wants the table rows."""
    return (
        bool(request.htmx)
        and request.htmx.target == target
        and not request.htmx.history_restore_request
    )


def list_page(request: HttpRequest, kind: str, rows, context: dict) -> HttpResponse:
    """A searchable list page (templates/crm/<kind>.html), or only its rows (`<kind>-rows`
    partial) when htmx asks for them."""
    context = {"page_obj": Paginator(rows, PER_PAGE).get_page(request.GET.get("page")), **context}
    if rows_request(request, f"{kind}-rows"):
        return render(request, f"crm/{kind}.html#{kind}-rows", context)
    return crm_render(request, f"crm/{kind}.html", context)
