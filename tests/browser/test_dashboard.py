"""Browser: the Desk opens on its dashboard; the chart and the figures show, a figure leads to
its list; a screenshot is kept under test-artifacts/ (TKT-06, issue 8 item 5)."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from helpdesk.tickets.models import Ticket
from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.django_db(transaction=True)
def test_tkt06_dashboard_shows_figures_and_chart_and_links_to_the_list(
    live_server, new_context, static_errors, desk
):
    now = timezone.now()
    for n in range(12):
        ticket = desk.ticket(
            subject=f"Question {n}",
            owner=desk.admin.user if n % 2 else None,
            priority=("low", "medium", "high", "urgent")[n % 4],
            status=desk.status(("Open", "On Hold", "Escalated", "Closed")[n % 4]),
            due_at=now + dt.timedelta(hours=(n - 6) * 5),
        )
        back = now - dt.timedelta(days=n * 2)
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=back, closed_at=back + dt.timedelta(days=1) if n % 4 == 3 else None
        )
    page = new_context(viewport={"width": 1280, "height": 1000}).new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(desk.admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    chart = page.get_by_role("img", name="Tickets created and closed per day, last 30 days")
    expect(chart).to_be_visible()
    # Mine are the odd ones: three on hold, three closed.
    expect(page.locator("[data-figure=mine_open] .stat-value")).to_have_text("3")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

    page.locator("[data-figure=priority]").filter(has_text="Urgent").click()
    expect(page).to_have_url(re.compile(r"view=open&priority=urgent"))
    expect(page.get_by_role("heading", name="Open tickets")).to_be_visible()
