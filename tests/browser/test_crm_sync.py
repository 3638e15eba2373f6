"""Browser: the CRM sync health page (CRM-04, CRM-05, CRM-07). Acme's admin runs a dry run
(counts and the ambiguous record listed), enables the sync from CRM Setup, finds the initial
sync done on the health page, and a refused resync keeps what was typed. axe finds nothing
serious and the Content-Security-Policy is never violated."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from crmsync.models import CrmContact, SyncLink
from crmsync.services.integration import integration_connect_own
from customers.models import Contact
from tests.browser.test_crm import WATCH, _clean, _log_in
from tests.conftest import _signup

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.django_db(transaction=True)
def test_crm05_dry_run_then_enable_on_the_sync_health_page(live_server, new_context, static_errors):
    acme = _signup("Acme", "acme", "alice@acme.test")
    org = acme.org
    integration_connect_own(actor=acme.admin)
    Contact.objects.create(org=org, last_name="Same", email="same@cust.test")
    Contact.objects.create(org=org, last_name="Dup A", email="dup@cust.test")
    Contact.objects.create(org=org, last_name="Dup B", email="dup@cust.test")
    CrmContact.objects.create(org=org, last_name="Same", email="same@cust.test")
    CrmContact.objects.create(org=org, last_name="Dup", email="dup@cust.test")
    CrmContact.objects.create(org=org, last_name="New", email="new@cust.test")

    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    _log_in(page, live_server, "alice@acme.test")
    page.goto(f"{live_server.url}/acme/crm/setup/")
    page.get_by_role("link", name="Sync health: dry run, progress, errors and conflicts").click()
    expect(page.get_by_role("heading", name="Sync health")).to_be_visible()
    _clean(page)

    page.get_by_role("button", name="Start a dry run").click()
    row = page.locator('tr[data-kind="contact"]')
    expect(row).to_contain_text("1")
    expect(page.locator("[data-ambiguous]")).to_contain_text("Dup <dup@cust.test>")
    expect(page.locator(".sync-run progress").first).to_have_attribute("value", "100")
    _clean(page)

    page.goto(f"{live_server.url}/acme/crm/setup/")
    page.get_by_role("button", name="Enable sync").click()
    page.goto(f"{live_server.url}/acme/crm/setup/sync/")
    expect(page.locator('.sync-run[data-state="done"]')).to_have_count(2)
    expect(page.locator('[data-outcome="ambiguous"]')).to_contain_text("Ambiguous, skipped: 1")
    expect(page.locator("#sync-errors")).to_contain_text("Ambiguous match")
    assert SyncLink.objects.for_org(org).count() == 2

    page.get_by_label("CRM record number").fill("abc")
    page.get_by_role("button", name="Resync").click()
    expect(page.locator("#sync-resync [role=alert]")).to_contain_text("Enter the number")
    expect(page.get_by_label("CRM record number")).to_have_value("abc")
    _clean(page)
    page.screenshot(path=str(ARTIFACTS / "crm-sync-health.png"), full_page=True)
