"""Browser: the contact page in three panels (CUS-02..CUS-11). An admin opens a contact from the
contacts list, walks through all nine tabs (each loads in place and the address follows),
sees the overview's donut chart of channels, adds a note with an attachment, moves to the next
contact with the keyboard, reloads and finds the same record and tab. No CSP violation, every
static file loaded, no serious axe finding. Screenshots: test-artifacts/customer-page-*.png."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers.attachments.models import CustomerFile, CustomerNote
from customers.models import Contact
from helpdesk.tickets.activities.services import TimeInput, time_entry_create
from helpdesk.tickets.helpcenter.models import Rating
from helpdesk.tickets.services.threads import thread_add
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
# The tab, and something its panel must show for this contact.
TABS = [
    ("Overview", "Tickets by channel"),
    ("History", "203.0.113.9"),  # the phone change, from that address
    ("Activities", "Activities"),
    ("Interactions", "We replaced the roller."),
    ("Tickets", "Printer <jammed>"),
    ("Time entries", "1:30"),
    ("Happiness", "Good"),
    ("Products", "Products"),
    ("Attachments", "Notes"),
]


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"customer-page-{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_cus02_admin_walks_the_nine_tabs_and_adds_a_note_with_a_file(
    live_server, new_context, static_errors, desk, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    from customers import services as customers

    contact = desk.contact
    # Changed through the customers' services, so the History tab has the entry.
    contact.phone = "03-1234-5678"
    customers.contact_save(actor=desk.admin, contact=contact, ip="203.0.113.9")
    Contact.objects.create(org=desk.org, last_name="Zenith", email="zenith@umbrella.test")
    mailed = desk.ticket(subject="Printer <jammed>", channel="email")
    desk.ticket(subject="Toner", channel="phone")
    thread_add(actor=desk.admin, ticket=mailed, kind="reply", body="We replaced the roller.")
    time_entry_create(
        actor=desk.admin,
        ticket=mailed,
        data=TimeInput(minutes=90, work_date=timezone.localdate()),
    )
    Rating.objects.create(
        org=desk.org,
        ticket=mailed,
        contact=contact,
        value="good",
        comment="Quick <and> kind",
        rated_at=timezone.now() - dt.timedelta(hours=1),
    )

    context = new_context(viewport={"width": 1500, "height": 1000})
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    # From the contacts list to the contact's page.
    page.goto(f"{live_server.url}/acme/customers/contacts/")
    page.get_by_role("link", name=contact.name).first.click()
    expect(page.get_by_role("heading", level=1, name=contact.name)).to_be_visible()
    expect(page.locator('[data-summary="total"]')).to_have_text("2")
    # The tabs load in place through htmx (a deferred script), which handles their clicks once
    # the page has loaded; a click before that would follow the link to a new page.
    page.wait_for_load_state("load")

    # The nine tabs, each loaded in place; the address names the tab.
    for label, shown in TABS:
        page.get_by_role("tab", name=label, exact=True).click()
        panel = page.locator("#tab-panel")
        expect(panel.get_by_role("heading", name=label, exact=True).first).to_be_visible()
        expect(panel).to_contain_text(shown)
        expect(page.get_by_role("tab", name=label, exact=True)).to_have_attribute(
            "aria-selected", "true"
        )
        slug = page.get_by_role("tab", name=label, exact=True).get_attribute("data-tab")
        expect(page).to_have_url(re.compile(rf"[?&]tab={slug}$"))
        if label == "Overview":
            donut = panel.locator("svg[data-chart=channels]")
            expect(donut).to_be_visible()
            assert donut.locator("circle[data-channel]").count() == 2  # email and phone
        _shot(page, slug)
        assert serious_violations(page) == [], (label, serious_violations(page))

    # A note with an attachment, on the Attachments tab (the open one).
    contract = tmp_path / "contract.txt"
    contract.write_text("the contract")
    form = page.get_by_test_id("attachment-form")
    form.get_by_label("Note").fill("Signed <contract> attached")
    form.get_by_label("Files").set_input_files(str(contract))
    page.get_by_test_id("attachment-save").click()
    notes = page.get_by_test_id("customer-notes")
    expect(notes).to_contain_text("Signed <contract> attached")
    expect(notes.get_by_role("link", name="contract.txt")).to_be_visible()
    note = CustomerNote.objects.for_org(desk.org).get()
    assert note.contact_id == contact.pk
    assert CustomerFile.objects.for_org(desk.org).get().note_id == note.pk
    _shot(page, "note-added")

    # The list panel: the arrow key moves to the next contact, the record swaps in place.
    current = page.locator(f'a[data-record="{contact.pk}"]')
    current.focus()
    page.keyboard.press("ArrowDown")
    expect(page.get_by_role("heading", level=1, name="Zenith")).to_be_visible()
    expect(page).to_have_url(re.compile(r"[?&]tab=attachments$"))
    # A reload (or a shared link) shows the same record with the same tab.
    page.reload()
    expect(page.get_by_role("heading", level=1, name="Zenith")).to_be_visible()
    expect(page.get_by_role("tab", name="Attachments", exact=True)).to_have_attribute(
        "aria-selected", "true"
    )
    assert page.evaluate("window.__cspViolations") == []
