"""Browser: desk tickets on CRM pages (CRM-08..CRM-12). Sue, a sales user with a desk agent
account, opens an account, sees its tickets, creates a ticket for one of its contacts,
comments on it and links it to a deal; the desk agent sees all of it; Sam, a sales user
without a desk account, can only comment. axe finds nothing serious on the pages, and the
Content-Security-Policy is never violated."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from crmsync.models import CrmAccount, CrmContact, Deal, DealTicket, Integration, SyncKind, SyncLink
from crmsync.services import integration as integration_svc
from crmsync.services import records as crm
from crmsync.tasks import deliver_task
from customers.models import Account, Contact
from helpdesk.tickets.models import Thread, Ticket
from helpdesk.tickets.services.tickets import TicketInput, ticket_create
from tests.browser.test_crm import WATCH, _clean, _log_in
from tests.conftest import _signup
from tests.factories import DepartmentAgentFactory, MembershipFactory, UserFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _acme_synced():
    """Acme's CRM synced two-way with its own desk; Initech and its contact Yui delivered,
    with one desk ticket of Yui's; a deal of Initech's owned by Sue (desk agent and sales
    user); Sam, a sales user without a desk account."""
    acme = _signup("Acme", "acme", "alice@acme.test")
    org, alice = acme.org, acme.admin
    sue = MembershipFactory(
        org=org,
        user=UserFactory(email="sue@acme.test", full_name="Sue Sales"),
        desk_role="agent",
        crm_role="sales",
    )
    DepartmentAgentFactory(org=org, department=acme.department, user=sue.user)
    MembershipFactory(
        org=org,
        user=UserFactory(email="sam@acme.test", full_name="Sam Sales"),
        desk_role="",
        crm_role="sales",
    )
    integration = integration_svc.integration_connect_own(actor=alice)
    integration = integration_svc.integration_options(
        actor=alice,
        integration=integration,
        direction=Integration.Direction.TWO_WAY,
        match_secondary_email=False,
        product_department_ids=[],
    )
    integration = integration_svc.integration_transition(
        actor=alice, integration=integration, action="enable"
    )
    account = crm.account_save(actor=alice, account=CrmAccount(org=org, name="Initech"))
    yui = crm.contact_save(
        actor=alice,
        contact=CrmContact(
            org=org, first_name="Yui", last_name="Tanaka", email="yui@cust.test", account=account
        ),
    )
    deliver_task(org.pk, integration.pk)
    links = SyncLink.objects.for_org(org)
    ticket_create(
        actor=alice,
        data=TicketInput(
            subject="Printer on fire",
            department=acme.department,
            contact=Contact.objects.for_org(org).get(
                pk=links.get(kind=SyncKind.CONTACT, crm_id=yui.pk).desk_id
            ),
            account=Account.objects.for_org(org).get(
                pk=links.get(kind=SyncKind.ACCOUNT, crm_id=account.pk).desk_id
            ),
        ),
    )
    Deal.objects.create(org=org, name="TPS renewal", account=account, owner=sue.user)
    return acme, account


@pytest.mark.django_db(transaction=True)
def test_crm10_crm11_sales_user_creates_comments_links_and_the_desk_sees_it(
    live_server, new_context, static_errors
):
    acme, account = _acme_synced()
    org = acme.org
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)

    # Sue opens the account and sees its ticket in the related list.
    _log_in(page, live_server, "sue@acme.test")
    page.goto(f"{live_server.url}/acme/crm/accounts/{account.pk}/")
    tickets = page.get_by_test_id("crm-ticket-rows")
    expect(tickets).to_contain_text("Printer on fire")
    _clean(page)

    # She creates a ticket for Yui, with an attachment.
    page.get_by_test_id("new-ticket").click()
    expect(page.get_by_role("heading", name="New ticket")).to_be_visible()
    _clean(page)
    page.get_by_label("Subject").fill("Invoice <wrong>")
    page.get_by_label("Description").fill("The amount is off by one.")
    page.get_by_label("Priority").select_option("high")
    page.get_by_label("Contact", exact=True).select_option(label="Tanaka Yui <yui@cust.test>")
    page.get_by_label("Attachments").set_input_files(
        files=[{"name": "invoice.txt", "mimeType": "text/plain", "buffer": b"INV-1"}]
    )
    page.get_by_role("button", name="Create ticket").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Invoice <wrong>")
    ticket = Ticket.objects.for_org(org).get(subject="Invoice <wrong>")
    expect(page.get_by_test_id("crm-thread")).to_contain_text("invoice.txt")
    _clean(page)

    # She comments on it.
    page.locator("summary", has_text="Private comment").click()
    page.get_by_test_id("comment-panel").get_by_label("Message").fill(
        "Called Yui: she will send the PO."
    )
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_test_id("crm-thread")).to_contain_text("Called Yui: she will send the PO.")
    _clean(page)
    page.screenshot(path=str(ARTIFACTS / "crm-desk-ticket.png"), full_page=True)

    # Back on the account, she links the new ticket to the deal.
    page.goto(f"{live_server.url}/acme/crm/accounts/{account.pk}/")
    expect(tickets).to_contain_text("Invoice <wrong>")
    page.get_by_label(f"Select ticket #{ticket.number}").check()
    page.locator("summary", has_text="Link to deal").click()
    page.get_by_role("button", name="TPS renewal").click()
    deal = Deal.objects.for_org(org).get(name="TPS renewal")
    page.goto(f"{live_server.url}/acme/crm/deals/{deal.pk}/")
    expect(page.get_by_test_id("crm-ticket-rows")).to_contain_text("Invoice <wrong>")
    assert DealTicket.objects.for_org(org).filter(deal=deal, ticket_id=ticket.pk).exists()

    # The desk agent (Alice) sees the ticket, its contact, the file and Sue's comment.
    desk = new_context().new_page()
    _log_in(desk, live_server, "alice@acme.test")
    desk.goto(f"{live_server.url}/acme/desk/tickets/{ticket.number}/")
    expect(desk.get_by_role("heading", level=1)).to_have_text("Invoice <wrong>")
    thread = desk.locator(".thread")
    expect(thread).to_contain_text("Called Yui: she will send the PO.")
    expect(thread).to_contain_text("Sue Sales")
    expect(thread).to_contain_text("invoice.txt")

    # Sam, without a desk account, sees the ticket and may only comment.
    sam = new_context()
    sam.add_init_script(WATCH)
    sam_page = sam.new_page()
    static_errors.watch(sam_page)
    _log_in(sam_page, live_server, "sam@acme.test")
    sam_page.goto(f"{live_server.url}/acme/crm/accounts/{account.pk}/")
    expect(sam_page.get_by_test_id("new-ticket")).to_have_count(0)
    sam_page.get_by_test_id("crm-ticket-rows").get_by_role("link", name="Invoice <wrong>").click()
    expect(sam_page.get_by_test_id("comment-only")).to_be_visible()
    for hidden in ("reply-panel", "forward-panel", "fields-panel", "close-ticket", "open-in-desk"):
        expect(sam_page.get_by_test_id(hidden)).to_have_count(0)
    _clean(sam_page)
    sam_page.get_by_label("Message").fill("Sales note: renewal depends on this.")
    sam_page.get_by_role("button", name="Add comment").click()
    expect(sam_page.get_by_test_id("crm-thread")).to_contain_text("Sales note")
    _clean(sam_page)
    comment = Thread.objects.for_org(org).filter(ticket=ticket).order_by("pk").last()
    assert (comment.kind, comment.author.email) == ("comment", "sam@acme.test")
    desk.reload()
    expect(thread).to_contain_text("Sam Sales")
    expect(thread).to_contain_text("Sales note: renewal depends on this.")
