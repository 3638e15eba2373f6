"""Browser: a Desk administrator reads a contact's History tab (CUS-04), filters it by action,
opens an entry's before/after values, adds a contact field on the Customer fields page and
follows a tag chip of the contacts list to the filtered list (CUS-01). No CSP violation, no
serious axe finding; screenshots kept as test artifacts."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from customers import services
from customers.models import CustomerField
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


def accessible(page, within: str = "body") -> bool:
    """No serious axe finding among the elements inside `within` (the History tab is checked
    on its own: the record page around it is the page shell's)."""
    found = [
        violation
        for violation in serious_violations(page)
        if any(
            page.evaluate(
                "([s, r]) => { const e = document.querySelector(s); return !!e?.closest(r); }",
                [node, within],
            )
            for node in violation["nodes"]
        )
    ]
    page.evaluate(
        "document.querySelectorAll('[style=\"\"]').forEach(e => e.removeAttribute('style'))"
    )
    assert found == [], found
    return True


def _admin_page(live_server, new_context, static_errors, desk):
    """A page signed in as the Desk administrator, watched for CSP violations and static
    files that fail to load."""
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(desk.admin.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/acme/**")
    return page


@pytest.mark.django_db(transaction=True)
def test_cus04_cus01_history_tab_fields_setup_and_tag_chips(
    live_server, new_context, static_errors, desk
):
    contact = desk.contact
    contact.title = "Buyer <purchasing>"
    services.contact_save(actor=desk.agent, contact=contact, ip="198.51.100.7")
    services.contact_set_tags(actor=desk.admin, contact=contact, names="VIP, osaka", ip="::1")
    page = _admin_page(live_server, new_context, static_errors, desk)

    # The History tab: who, from where, what; filtered by action; one entry's values.
    page.goto(f"{live_server.url}/acme/customers/contacts/{contact.pk}/")
    page.get_by_role("tab", name="History").click()
    tab = page.get_by_test_id("history-tab")
    # The tab arrives by htmx; the whole suite's load once kept it out for 5 s (clean-clone CI).
    expect(tab).to_be_visible(timeout=15_000)
    rows = tab.get_by_test_id("history-entries").locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.first).to_contain_text("Tagged")
    expect(rows.nth(1)).to_contain_text("198.51.100.7")
    assert accessible(page, "#tab-panel")
    tab.get_by_label("Action").select_option("updated")
    tab.get_by_role("button", name="Filter").click()
    rows = page.get_by_test_id("history-entries").locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Updated")
    rows.first.get_by_role("link").click()
    entry = page.get_by_test_id("history-entry")
    expect(entry.locator('tr[data-field="title"] [data-testid="after"]')).to_have_text(
        "Buyer <purchasing>"
    )
    expect(entry.get_by_test_id("history-ip")).to_have_text("198.51.100.7")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "customer-history-entry.png"), full_page=True)
    assert accessible(page, "#tab-panel")

    # Customer fields: add a pick list to contacts.
    page.goto(f"{live_server.url}/acme/customers/fields/")
    section = page.get_by_test_id("fields-contact")
    section.get_by_label("Label").fill("Plan")
    section.get_by_label("Type").select_option("picklist")
    section.get_by_label("Pick list values").fill("Basic\nPro")
    section.get_by_role("button", name="Add field").click()
    expect(page.get_by_test_id("fields-contact").locator('tr[data-field="plan"]')).to_be_visible()
    assert CustomerField.objects.for_org(desk.org).get().choices == ["Basic", "Pro"]
    page.screenshot(path=str(ARTIFACTS / "customer-fields.png"), full_page=True)
    assert accessible(page)

    # The contacts list: tags as chips, a chip filters the list.
    page.goto(f"{live_server.url}/acme/customers/contacts/")
    page.get_by_test_id("contact-tags").first.get_by_role("link", name="VIP").click()
    expect(page).to_have_url(f"{live_server.url}/acme/customers/contacts/?tag=VIP")
    expect(page.locator("tbody")).to_contain_text("Yamada Taro")
    assert page.evaluate("window.__cspViolations") == []


@pytest.mark.django_db(transaction=True)
def test_cus02_a_tab_chosen_while_the_first_one_loads_stays_shown(
    live_server, new_context, static_errors, desk
):
    """CUS-02: the page loads its first tab (Overview) after it renders. A person who picks
    History before Overview has arrived keeps History: the late Overview answer no longer
    replaces it (it did once under a loaded machine, in a clean-clone CI run)."""
    page = _admin_page(live_server, new_context, static_errors, desk)

    held = []  # the Overview fragment's request, held until History has been shown
    page.route(re.compile(r"/tabs/overview/"), lambda route: held.append(route))
    page.goto(f"{live_server.url}/acme/customers/contacts/{desk.contact.pk}/")
    page.wait_for_load_state("load")
    expect(page.locator("#tab-panel")).to_contain_text("Loading")
    assert len(held) == 1
    page.get_by_role("tab", name="History").click()
    expect(page.get_by_test_id("history-tab")).to_be_visible()

    page.unroute(re.compile(r"/tabs/overview/"))
    with contextlib.suppress(PlaywrightError):  # the page may have given up on it already
        held[0].continue_()
    page.wait_for_timeout(1000)  # a late answer would be swapped in well within this
    expect(page.get_by_test_id("history-tab")).to_be_visible()
    expect(page.get_by_test_id("overview-tab")).to_have_count(0)
    expect(page.get_by_role("tab", name="History")).to_have_attribute("aria-selected", "true")
