"""Browser: on a ticket, an agent starts the timer, reloads (the timer keeps running: it is
kept on the server), stops it, checks the time and saves it; then creates a task from the
ticket's activities panel and finds it, marked overdue, in their activities list (TKT-04)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from helpdesk.tickets.activities.models import Activity, RunningTimer, TimeEntry
from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.mark.django_db(transaction=True)
def test_tkt04_timer_survives_a_reload_and_a_task_reaches_the_list(
    live_server, new_context, static_errors, desk
):
    ticket = desk.ticket(subject="Printer <jammed>")
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    ticket_url = f"{live_server.url}/acme/desk/tickets/{ticket.number}/"
    page.goto(ticket_url)

    # The timer: start, and the clock ticks.
    time_panel = page.get_by_test_id("time-panel")
    time_panel.get_by_test_id("timer-start").click()
    expect(time_panel.get_by_test_id("timer-state")).to_have_text("running")
    expect(time_panel.get_by_test_id("timer-clock")).not_to_have_text("0:00:00", timeout=5000)
    # It started twelve and a half minutes ago, as far as the server knows (another tab, say):
    # stopped a few seconds later, that is 13 started minutes.
    RunningTimer.objects.for_org(desk.org).update(
        started_at=timezone.now() - dt.timedelta(minutes=12, seconds=30)
    )
    page.reload()
    time_panel = page.get_by_test_id("time-panel")
    expect(time_panel.get_by_test_id("timer-state")).to_have_text("running")
    expect(time_panel.get_by_test_id("timer-clock")).to_contain_text("0:12:")
    time_panel.get_by_test_id("timer-stop").click()
    form = page.get_by_test_id("time-form")
    duration = form.get_by_label("Duration")
    expect(duration).to_have_value("0:13")
    expect(duration).to_be_focused()  # the keyboard user lands on what to check
    duration.fill("0:15")  # editable before saving
    form.get_by_label("Note").fill("Cleared the <jam>")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "activities-timer-stopped.png"), full_page=True)
    form.get_by_test_id("time-save").click()
    entries = page.get_by_test_id("time-entries")
    expect(entries).to_contain_text("0:15")
    expect(entries).to_contain_text("Cleared the <jam>")
    expect(page.get_by_test_id("time-totals")).to_contain_text("0:15")
    expect(page.get_by_test_id("timer-state")).to_have_text("not started")
    assert TimeEntry.objects.for_org(desk.org).get().minutes == 15

    # A task from the ticket, due yesterday: overdue.
    panel = page.get_by_test_id("activities-panel")
    panel.get_by_test_id("activity-new").click()
    panel.get_by_label("Subject").fill("Order a new <roller>")
    yesterday = timezone.localtime() - dt.timedelta(days=1)
    panel.get_by_label("Due (tasks)").fill(yesterday.strftime("%Y-%m-%dT%H:%M"))
    panel.get_by_label("Priority").select_option("high")
    panel.get_by_role("button", name="Add activity").click()
    expect(page.locator("#activities-title")).to_be_focused()
    items = page.get_by_test_id("ticket-activities")
    expect(items).to_contain_text("Order a new <roller>")
    expect(items).to_contain_text("Overdue")
    page.screenshot(path=str(ARTIFACTS / "activities-ticket-panels.png"), full_page=True)
    assert Activity.objects.for_org(desk.org).get().owner == desk.agent.user

    # The desk's navigation leads to my activities.
    page.goto(f"{live_server.url}/acme/desk/")
    page.get_by_role("link", name="Activities").click()
    table = page.get_by_test_id("activity-list")
    row = table.locator("tr", has_text="Order a new <roller>")
    expect(row).to_be_visible()
    expect(row).to_contain_text("Overdue")
    expect(row).to_contain_text(f"#{ticket.number}")
    page.get_by_label("When").select_option("overdue")
    page.get_by_role("button", name="Apply").click()
    expect(table.locator("tbody tr", has_text="Order a new <roller>")).to_have_count(1)
    page.screenshot(path=str(ARTIFACTS / "activities-list.png"), full_page=True)
    row = table.locator("tr", has_text="Order a new <roller>")
    row.get_by_role("button", name="Complete").focus()
    page.keyboard.press("Enter")  # keyboard-usable
    expect(page.get_by_text("No activities match.")).to_be_visible()
    assert Activity.objects.for_org(desk.org).get().done
    assert page.evaluate("window.__cspViolations") == []
