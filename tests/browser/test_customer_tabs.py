"""Browser: on a contact's page an agent opens the Attachments tab, adds a note with an
attachment (htmx, multipart), sees a refused upload in place, downloads the file; then opens
the Activities tab, sees a refused call in place, adds one and completes a task, moving
between Upcoming, All and Spam (CUS-05, CUS-11). No CSP violation, no serious axe finding."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers.attachments.models import CustomerFile, CustomerNote
from helpdesk.tickets.activities.models import Activity
from helpdesk.tickets.activities.services import ActivityInput, activity_create
from tests.browser.axe import serious_violations
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


def accessible(page) -> bool:
    """No serious axe finding. axe leaves empty style="" attributes behind on the elements it
    inspected; htmx's settle would copy them onto the fresh elements of the next swap (a CSP
    report that the product does not cause), so they are removed again."""
    found = serious_violations(page)
    page.evaluate(
        "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
    )
    assert found == [], found
    return True


@pytest.mark.django_db(transaction=True)
def test_cus05_cus11_note_with_attachment_and_activities_in_the_tabs(
    live_server, new_context, static_errors, desk, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    settings.ATTACHMENT_MAX_BYTES = 1000
    ticket = desk.ticket(subject="Printer <jammed>")
    activity_create(
        actor=desk.admin,
        data=ActivityInput(
            kind="task",
            subject="Order toner",
            owner=desk.agent.user,
            due_at=timezone.now() - dt.timedelta(days=1),
        ),
        ticket=ticket,
    )
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/customers/contacts/{desk.contact.pk}/")

    # Attachments: a refused upload (too large) is shown in place, what was typed kept.
    page.get_by_role("tab", name="Attachments").click()
    tab = page.get_by_test_id("attachments-tab")
    expect(tab.get_by_role("heading", name="Attachments")).to_be_visible()
    big = tmp_path / "big.bin"
    big.write_bytes(b"x" * 2000)
    tab.get_by_test_id("attachment-form").get_by_label("Note").fill("Signed <contract> attached")
    tab.get_by_test_id("attachment-form").get_by_label("Files").set_input_files(str(big))
    tab.get_by_test_id("attachment-save").click()
    tab = page.get_by_test_id("attachments-tab")
    expect(tab).to_contain_text("“big.bin” is too large")
    expect(tab.get_by_test_id("attachment-form").get_by_label("Note")).to_have_value(
        "Signed <contract> attached"
    )
    assert not CustomerNote.objects.for_org(desk.org).exists()
    # ... then a note with a small attachment.
    small = tmp_path / "contract.txt"
    small.write_text("the contract")
    tab.get_by_test_id("attachment-form").get_by_label("Files").set_input_files(str(small))
    tab.get_by_test_id("attachment-save").click()
    notes = page.get_by_test_id("customer-notes")
    expect(notes).to_contain_text("Signed <contract> attached")
    expect(notes.get_by_role("link", name="contract.txt")).to_be_visible()
    expect(page.get_by_test_id("customer-files")).to_contain_text("contract.txt")
    item = CustomerFile.objects.for_org(desk.org).get()
    assert item.note is not None and item.file.name.startswith(f"org/{desk.org.pk}/customers/")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "customer-attachments-tab.png"), full_page=True)
    assert accessible(page)
    response = page.request.get(f"{live_server.url}/acme/customers/files/{item.pk}/")
    assert response.ok and response.body() == b"the contract"
    assert response.headers["x-content-type-options"] == "nosniff"

    # Activities: the ticket's overdue task is upcoming; a call without a time is refused.
    page.get_by_role("tab", name="Activities").click()
    tab = page.get_by_test_id("activities-tab")
    table = page.get_by_test_id("customer-activities")
    expect(table.locator("tbody tr", has_text="Order toner")).to_contain_text("Overdue")
    expect(table).to_contain_text(f"#{ticket.number}")
    tab.get_by_test_id("activity-new").click()
    tab.get_by_label("Type").select_option("call")
    tab.get_by_label("Subject").fill("Call about the <renewal>")
    tab.get_by_label("Call direction").select_option("outbound")
    tab.get_by_role("button", name="Add activity").click()
    tab = page.get_by_test_id("activities-tab")
    expect(tab).to_contain_text("Enter when the call is or was.")
    expect(tab.get_by_label("Subject")).to_have_value("Call about the <renewal>")
    assert not Activity.objects.for_org(desk.org).filter(kind="call").exists()
    tomorrow = timezone.localtime() + dt.timedelta(days=1)
    tab.get_by_label("Starts (calls and events)").fill(tomorrow.strftime("%Y-%m-%dT%H:%M"))
    tab.get_by_role("button", name="Add activity").click()
    table = page.get_by_test_id("customer-activities")
    expect(table).to_contain_text("Call about the <renewal>")
    call = Activity.objects.for_org(desk.org).get(kind="call")
    assert (call.contact, call.ticket) == (desk.contact, None)
    page.screenshot(path=str(ARTIFACTS / "customer-activities-tab.png"), full_page=True)
    assert accessible(page)

    # Complete the task with the keyboard: it leaves Upcoming and is listed under All.
    row = table.locator("tbody tr", has_text="Order toner")
    row.get_by_role("button", name="Complete").focus()
    page.keyboard.press("Enter")
    table = page.get_by_test_id("customer-activities")
    expect(table.locator("tbody tr", has_text="Order toner")).to_have_count(0)
    page.get_by_test_id("activities-tab").locator("[data-filter=all]").click()
    table = page.get_by_test_id("customer-activities")
    expect(table.locator("tbody tr", has_text="Order toner")).to_contain_text("Completed")
    assert page.evaluate("window.__cspViolations") == []
