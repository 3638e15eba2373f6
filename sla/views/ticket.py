"""A ticket's SLA panel on its own (BP-15, TKT-09): the ticket page refreshes it every minute
with htmx, so the time left stays current without reloading the page; without JavaScript it is
a page. Members who see the ticket only; anyone else gets the ticket's 404."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app
from helpdesk.tickets.services.access import ticket_for_member

from ..templatetags.sla_ticket import panel


@require_app(App.DESK)
def ticket_panel(request: HttpRequest, number: int) -> HttpResponse:
    ticket = ticket_for_member(request.membership, number)  # type: ignore[attr-defined]
    html = panel(ticket, request)
    if request.htmx:  # type: ignore[attr-defined]
        return HttpResponse(html)
    return render(request, "sla/ticket/page.html", {"ticket": ticket, "panel": html})
