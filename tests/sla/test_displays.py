"""The SLA clocks where agents see them (BP-15, TKT-09): the ticket page's SLA panel and the
blueprint bar show each running clock's time left or "overdue by" and the escalation level
reached; a paused clock says so. The ticket page's queries stay the same with clocks; the
panel's own URL (htmx refresh) is for members who see the ticket only."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services.tickets import TicketInput, ticket_update
from sla.models import Clock, Target
from tests.conftest import login

pytestmark = pytest.mark.django_db


def url(name: str, **kwargs) -> str:
    return reverse(name, kwargs={"portal": "acme", **kwargs})


def _page(client, ticket) -> str:
    response = client.get(url("desk:ticket_detail", number=ticket.number))
    assert response.status_code == 200
    return response.content.decode()


def _panel(html: str) -> str:
    start = html.index('id="sla-panel"')
    return html[start : html.index("</section>", start)]


def test_bp15_ticket_page_shows_time_left_overdue_and_the_level(client, sla, now):
    sla.policy(first_response_minutes=30, resolution_minutes=8 * 60)
    ticket = sla.desk.ticket()
    login(client, sla.desk.agent)
    panel = _panel(_page(client, ticket))
    assert "First response" in panel and "30 minutes left" in panel
    assert "Resolution" in panel and "8 hours left" in panel
    assert "calendar hours" in panel and "Escalation level" not in panel
    now.advance(minutes=40)
    Clock.objects.filter(ticket=ticket, kind=Target.FIRST_RESPONSE).update(level_reached=2)
    panel = _panel(_page(client, ticket))
    assert "Overdue by 10 minutes" in panel
    assert "7 hours 20 minutes left" in panel
    assert "Escalation level 2" in panel
    assert 'class="sla-clock sla-overdue" data-clock="first_response"' in panel


def test_bp15_paused_clock_says_paused_with_the_time_that_was_left(client, sla, now):
    sla.policy(resolution_minutes=60)
    ticket = sla.desk.ticket()
    now.advance(minutes=20)
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    ticket_update(
        actor=sla.desk.admin, ticket=locked, data=TicketInput(status=sla.desk.status("On Hold"))
    )
    now.advance(hours=5)
    login(client, sla.desk.agent)
    assert "Paused, 40 minutes left" in _panel(_page(client, ticket))


def test_bp15_no_clock_no_panel(client, sla):
    ticket = sla.desk.ticket()
    login(client, sla.desk.agent)
    assert 'id="sla-panel"' not in _page(client, ticket)


def test_tkt01_ticket_page_queries_do_not_grow_with_clocks(client, sla, make, now):
    login(client, sla.desk.agent)
    plain = sla.desk.ticket(priority="low")
    _page(client, plain)
    with CaptureQueriesContext(connection) as without:
        _page(client, plain)
    _blueprint, states = make.blueprint(statuses=("Open",))
    sla.state_sla(states["Open"], minutes=120)
    sla.policy(priority="medium", first_response_minutes=30, resolution_minutes=60)
    timed = sla.desk.ticket()
    assert Clock.objects.filter(ticket=timed).count() == 3
    _page(client, timed)
    with CaptureQueriesContext(connection) as timed_queries:
        html = _page(client, timed)
    assert html.count("data-clock=") == 3
    assert len(timed_queries) <= len(without), [q["sql"] for q in timed_queries]


def test_bp15_panel_fragment_for_htmx_and_outsiders_get_404(client, sla, globex, now):
    sla.policy(resolution_minutes=60)
    ticket = sla.desk.ticket()
    login(client, sla.desk.agent)
    fragment = client.get(
        url("sla_desk:ticket_panel", number=ticket.number), HTTP_HX_REQUEST="true"
    )
    html = fragment.content.decode()
    assert html.strip().startswith("<section") and "1 hour left" in html
    page = client.get(url("sla_desk:ticket_panel", number=ticket.number)).content.decode()
    assert "<html" in page and "1 hour left" in page
    login(client, globex.admin)
    assert client.get(url("sla_desk:ticket_panel", number=ticket.number)).status_code == 404


def test_bp15_blueprint_bar_shows_the_state_clock(client, sla, make, now):
    _blueprint, states = make.blueprint(statuses=("Open",))
    sla.state_sla(states["Open"], minutes=90)
    ticket = sla.desk.ticket()
    Clock.objects.filter(ticket=ticket, kind=Target.STATE).update(level_reached=1)
    now.advance(minutes=30)
    login(client, sla.desk.agent)
    bar = client.get(
        reverse("bp_ticket:bar", kwargs={"portal": "acme", "number": ticket.number}),
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "In “Open”" in bar and "1 hour left" in bar and "Escalation level 1" in bar
    assert "Due <time datetime=" in bar
