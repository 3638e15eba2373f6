"""Browser: a sales user creates an account, a contact and a deal in the CRM, with the
keyboard-usable forms, and finds them in the lists, live search included (CRM-01). axe finds
nothing serious on the pages, and the Content-Security-Policy is never violated."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from crmsync.models import CrmAccount, CrmContact, Deal
from tests.browser.axe import serious_violations
from tests.conftest import _signup
from tests.factories import PASSWORD, MembershipFactory, UserFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def _clean(page) -> None:
    assert serious_violations(page) == [], page.url
    assert page.evaluate("window.__cspViolations") == [], page.url


@pytest.mark.django_db(transaction=True)
def test_crm01_sales_user_creates_account_contact_and_deal(live_server, new_context, static_errors):
    acme = _signup("Acme", "acme", "alice@acme.test")
    sam = MembershipFactory(
        org=acme.org,
        user=UserFactory(email="sam@acme.test", full_name="Sam Sales"),
        desk_role="",
        crm_role="sales",
    )
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("sam@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/")
    expect(page).to_have_url(f"{live_server.url}/acme/crm/")  # the only app Sam may reach
    _clean(page)

    # An account.
    page.get_by_role("navigation", name="CRM").get_by_role("link", name="Accounts").click()
    page.get_by_role("link", name="New account").click()
    page.get_by_label("Account name").fill("Initech <KK>")
    page.get_by_label("Type").select_option("customer")
    page.get_by_label("Industry").fill("Software")
    page.get_by_label("Website").fill("initech.example")
    _clean(page)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Initech <KK>")
    _clean(page)

    # A contact of that account, from the account's page.
    page.get_by_role("link", name="New contact").click()
    expect(page.get_by_label("Account")).to_have_value(
        str(CrmAccount.objects.for_org(acme.org).get().pk)
    )
    page.get_by_label("Last name").fill("Lumbergh")
    page.get_by_label("First name").fill("Bill")
    page.get_by_label("Email", exact=True).fill("bill@initech.example")
    page.get_by_role("button", name="Create contact").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Lumbergh Bill")

    # A deal for that contact; the amount refused first, then corrected: the input is kept.
    page.get_by_role("link", name="New deal").click()
    page.get_by_label("Deal name").fill("TPS reports")
    page.get_by_label("Stage").select_option("proposal")
    page.get_by_label("Amount").fill("-1")
    page.get_by_role("button", name="Create deal").click()
    expect(page.locator(".has-error")).to_contain_text("Amount")
    expect(page.get_by_label("Deal name")).to_have_value("TPS reports")
    _clean(page)
    page.get_by_label("Amount").fill("250000")
    page.get_by_role("button", name="Create deal").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("TPS reports")
    expect(page.locator("main")).to_contain_text("Lumbergh Bill")
    expect(page.locator("main")).to_contain_text("50 %")
    _clean(page)

    # The lists: the deal among "mine", found by the live search, and the account's contact.
    page.get_by_role("navigation", name="CRM").get_by_role("link", name="Deals").click()
    # The filters and the live search are htmx (a deferred script): it listens once the page
    # has loaded; a choice or search typed before that would ask nothing.
    page.wait_for_load_state("load")
    page.get_by_label("Owner").select_option("mine")
    expect(page.locator("#deals-rows")).to_contain_text("TPS reports")
    page.get_by_label("Search deals").fill("nothing like it")
    expect(page.locator("#deals-rows")).to_contain_text("No deals match.")
    page.get_by_label("Search deals").fill("initech")
    expect(page.locator("#deals-rows")).to_contain_text("TPS reports")
    expect(page).to_have_url(
        f"{live_server.url}/acme/crm/deals/?q=initech&owner=mine&stage=&sort=close"
    )
    _clean(page)
    page.get_by_role("navigation", name="CRM").get_by_role("link", name="Contacts").click()
    expect(page.locator("#contacts-rows")).to_contain_text("Lumbergh Bill")
    expect(page.locator("#contacts-rows")).to_contain_text("Initech <KK>")
    _clean(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "crm-contacts.png"), full_page=True)

    deal = Deal.objects.for_org(acme.org).get()
    assert (deal.owner_id, deal.probability, int(deal.amount)) == (sam.user_id, 50, 250000)
    assert CrmContact.objects.for_org(acme.org).get().account.name == "Initech <KK>"


def _log_in(page, live_server, email: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.django_db(transaction=True)
def test_crm02_key_issued_at_one_desk_connects_another_organizations_crm(
    live_server, new_context, static_errors
):
    """Globex's admin issues a key in Desk Setup; Acme's CRM admin connects with it, then
    pauses and resumes the sync (CRM-02, CRM-07)."""
    acme = _signup("Acme", "acme", "alice@acme.test")
    _signup("Globex", "globex", "charlie@globex.test")
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    _log_in(page, live_server, "charlie@globex.test")
    page.goto(f"{live_server.url}/globex/setup/crm-keys/")
    page.get_by_label("Name").fill("Acme sales")
    page.get_by_role("button", name="Issue key").click()
    key = page.get_by_test_id("new-key").input_value()
    assert key.startswith("mdk_")
    _clean(page)
    page.goto(f"{live_server.url}/globex/setup/crm-keys/")  # shown once: not on a new visit
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    page.context.clear_cookies()

    _log_in(page, live_server, "alice@acme.test")
    page.goto(f"{live_server.url}/acme/crm/setup/")
    _clean(page)
    page.get_by_label("Portal name of the desk").fill("globex")
    page.get_by_label("Email of an admin of that desk").fill("charlie@globex.test")
    page.get_by_label("Integration key").fill(key[:-2] + "xx")
    page.get_by_role("button", name="Connect that desk").click()
    expect(page.locator(".has-error")).to_contain_text("not issued by the desk of /globex/")
    _clean(page)
    page.get_by_label("Integration key").fill(key)
    page.get_by_role("button", name="Connect that desk").click()
    expect(page.locator("main")).to_contain_text("The CRM is linked to the desk of /globex/.")
    page.get_by_role("button", name="Enable sync").click()
    page.get_by_role("button", name="Pause sync").click()
    expect(page.locator("[data-state]")).to_have_text("Paused")
    expect(page.get_by_role("button", name="Enable sync")).to_have_count(0)
    _clean(page)
    page.screenshot(path=str(ARTIFACTS / "crm-setup.png"), full_page=True)
    from crmsync.models import Integration

    assert Integration.objects.for_org(acme.org).get().state == "paused"
