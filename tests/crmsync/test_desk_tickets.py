"""Desk tickets on CRM records (CRM-08, CRM-09, CRM-12, CRM-13).

Acme's CRM is synced with Acme's own desk (the `sync` fixture of test_sync). The CRM account
Kaisha has two contacts, Aoki and Baba; delivering the outbox links them to desk twins (put in
Kaisha's desk twin by a desk agent: the sync carries no contact's account), and the desk's
tickets are made by the desk's own service (`ticket_create`). Chiba is a desk
contact the CRM does not know. Cora is a CRM admin, Sam a sales user who owns the deal;
Charlie (Globex) is the outsider."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crmsync.models import CrmAccount, CrmContact, CrmSettings, Deal, DealTicket, SyncLink
from crmsync.services import integration as integration_svc
from crmsync.services import records as crm_records
from crmsync.tasks import deliver_task
from customers import services as desk_records
from customers.models import Account, Contact
from helpdesk.tickets.helpcenter.models import Rating
from helpdesk.tickets.models import StatusKind, Ticket
from helpdesk.tickets.services.layouts import statuses_for
from helpdesk.tickets.services.tickets import TicketInput, ticket_create, ticket_update
from tests.conftest import login
from tests.factories import escalate

from .test_sync import deliver, desk_contact, sync  # noqa: F401 - the fixture
from .test_sync_tenancy import synced  # noqa: F401 - the fixture

HX = {"HTTP_HX_REQUEST": "true"}


# --- The linked pair ---------------------------------------------------------------------------
@pytest.fixture
def crm(acme, cora, sam, sync):  # noqa: F811 - the fixture
    """Kaisha (CRM account) with contacts Aoki and Baba, synced to the desk; Sam's deal on
    Kaisha with Aoki; a CRM contact Eto that has no desk twin (the sync has not run for it)."""
    kaisha = crm_records.account_save(actor=cora, account=CrmAccount(org=acme.org, name="Kaisha"))
    aoki = crm_records.contact_save(
        actor=cora,
        contact=CrmContact(
            org=acme.org, last_name="Aoki", email="aoki@kaisha.test", account=kaisha
        ),
    )
    baba = crm_records.contact_save(
        actor=cora,
        contact=CrmContact(
            org=acme.org, last_name="Baba", email="baba@kaisha.test", account=kaisha
        ),
    )
    deal = crm_records.deal_save(
        actor=sam,
        deal=Deal(org=acme.org, name="Kaisha renewal", account=kaisha, owner=sam.user),
        contacts=[aoki],
    )
    deliver(sync)
    eto = crm_records.contact_save(
        actor=cora, contact=CrmContact(org=acme.org, last_name="Eto", email="eto@x.test")
    )

    def twin(model, kind, crm_id):
        link = SyncLink.objects.for_org(acme.org).get(kind=kind, crm_id=crm_id)
        return model.objects.for_org(acme.org).get(pk=link.desk_id)

    desk_kaisha = twin(Account, "account", kaisha.pk)
    # The sync carries no contact's account (crmsync.services.fields): on the desk, an agent
    # puts the twins in Kaisha's desk twin.
    desk_people = []
    for crm_id in (aoki.pk, baba.pk):
        person = twin(Contact, "contact", crm_id)
        person.account = desk_kaisha
        desk_people.append(desk_records.contact_save(actor=acme.admin, contact=person))
    return {
        "kaisha": kaisha,
        "aoki": aoki,
        "baba": baba,
        "eto": eto,
        "deal": deal,
        "desk_kaisha": desk_kaisha,
        "desk_aoki": desk_people[0],
        "desk_baba": desk_people[1],
        "chiba": desk_contact(acme, last_name="Chiba", email="chiba@other.test"),
    }


def ticket(acme, contact, subject: str, **fields) -> Ticket:
    data = TicketInput(subject=subject, department=acme.department, contact=contact, **fields)
    return ticket_create(actor=acme.admin, data=data)


def close(acme, t: Ticket) -> Ticket:
    status = statuses_for(acme.department).filter(kind=StatusKind.CLOSED).first()
    ticket_update(actor=acme.admin, ticket=t, data=TicketInput(status=status))
    t.refresh_from_db()
    return t


def url(acme, name: str, **kwargs) -> str:
    return reverse(f"crm:{name}", kwargs={"portal": acme.org.portal, **kwargs})


def tickets_url(acme, record) -> str:
    if isinstance(record, CrmAccount):
        return url(acme, "account_tickets", crm_account_id=record.pk)
    if isinstance(record, CrmContact):
        return url(acme, "contact_tickets", crm_contact_id=record.pk)
    return url(acme, "deal_tickets", deal_id=record.pk)


def numbers_listed(client: Client, address: str, **params) -> set[int]:
    response = client.get(address, params, **HX)
    assert response.status_code == 200, response.content[:500]
    html = response.content.decode()
    return {int(n) for n in re.findall(r'<tr data-ticket="(\d+)"', html)}


def counts(client: Client, address: str) -> dict[str, int]:
    html = client.get(address, **HX).content.decode()
    return {k: int(v) for k, v in re.findall(r'data-count="(\w+)">(\d+)<', html)}


@pytest.fixture
def tickets(acme, crm):
    now = timezone.now()
    return {
        "aoki_overdue": ticket(
            acme, crm["desk_aoki"], "Printer jam", due_at=now - dt.timedelta(hours=2)
        ),
        "aoki_high": ticket(acme, crm["desk_aoki"], "Server down", priority="urgent"),
        "baba_closed": close(acme, ticket(acme, crm["desk_baba"], "Invoice copy")),
        "baba_escalated": ticket(acme, crm["desk_baba"], "Refund"),
        "chiba": ticket(acme, crm["chiba"], "Someone else's problem"),
    }


# --- The related list (CRM-08, CRM-09) ---------------------------------------------------------
def test_crm08_account_page_shows_its_tickets_and_its_contacts_tickets(
    client, acme, sam, crm, tickets
):
    login(client, sam)
    page = client.get(url(acme, "account_detail", crm_account_id=crm["kaisha"].pk))
    assert page.status_code == 200
    address = tickets_url(acme, crm["kaisha"])
    assert address.encode() in page.content  # the related list, loaded by htmx
    listed = numbers_listed(client, address)
    assert listed == {t.number for k, t in tickets.items() if k != "chiba"}
    html = client.get(address, **HX).content.decode()
    assert "Server down" in html and "Someone else" not in html
    assert "Urgent" in html and "<html" not in html  # a fragment, with the priority shown
    # Each row opens the ticket on the CRM's ticket page.
    assert url(acme, "ticket", number=tickets["aoki_high"].number) in html

    # A contact's list has only its own tickets.
    assert numbers_listed(client, tickets_url(acme, crm["aoki"])) == {
        tickets["aoki_overdue"].number,
        tickets["aoki_high"].number,
    }


def test_crm08_without_javascript_the_list_is_a_page_of_its_own(client, acme, sam, crm, tickets):
    login(client, sam)
    response = client.get(tickets_url(acme, crm["aoki"]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and "Tickets of Aoki" in html and "Printer jam" in html
    assert "HX-Request" in response["Vary"]


def test_crm09_each_view_filters_like_the_desk(client, acme, sam, crm, tickets):
    escalate(tickets["baba_escalated"])
    login(client, sam)
    address = tickets_url(acme, crm["kaisha"])
    n = {k: t.number for k, t in tickets.items()}
    assert numbers_listed(client, address, view="overdue") == {n["aoki_overdue"]}
    assert numbers_listed(client, address, view="closed") == {n["baba_closed"]}
    assert numbers_listed(client, address, view="escalated") == {n["baba_escalated"]}
    assert numbers_listed(client, address, view="high") == {n["aoki_high"]}
    assert counts(client, address) == {
        "all": 4,
        "open": 3,
        "overdue": 1,
        "closed": 1,
        "escalated": 1,
        "high": 1,
    }
    # An unknown view is the whole list, not an error.
    assert len(numbers_listed(client, address, view="<script>", page="x")) == 4


def test_crm09_cached_counts_follow_a_change_on_the_desk_and_a_deals_links(
    client, acme, sam, crm, tickets
):
    """The views' counts are cached under the desk's stamp and the record's scope: a ticket
    created, a ticket closed and a ticket linked to a deal count on the next view."""
    from helpdesk.tickets.services.tickets import TicketInput, ticket_update

    login(client, sam)
    address = tickets_url(acme, crm["kaisha"])
    assert counts(client, address)["all"] == 4
    assert counts(client, address)["all"] == 4  # from the cache
    fresh = ticket(acme, crm["desk_aoki"], "Printer on fire")
    assert counts(client, address)["all"] == 5
    open_before = counts(client, address)["open"]
    ticket_update(
        actor=acme.admin,
        ticket=fresh,
        data=TicketInput(priority="urgent"),
    )
    assert counts(client, address)["high"] == 2 and counts(client, address)["open"] == open_before
    deal = crm["deal"]
    deal_address = tickets_url(acme, deal)
    linked = counts(client, deal_address)["all"]
    DealTicket.objects.create(
        org=acme.org,
        integration=integration_svc.integration_of(acme.org),
        deal=deal,
        ticket_id=fresh.pk,
    )
    assert counts(client, deal_address)["all"] == linked + 1


def test_crm09_a_page_is_25_tickets_and_the_next_page_has_the_rest(client, acme, sam, crm):
    for i in range(27):
        ticket(acme, crm["desk_baba"], f"Question {i}")
    login(client, sam)
    address = tickets_url(acme, crm["baba"])
    assert len(numbers_listed(client, address)) == 25
    assert len(numbers_listed(client, address, page=2)) == 2
    assert len(numbers_listed(client, address, page=99)) == 2  # past the end: the last page


def test_crm09_the_list_costs_the_same_queries_for_3_or_30_tickets(
    client, acme, sam, crm, django_assert_max_num_queries
):
    login(client, sam)
    address = tickets_url(acme, crm["kaisha"])

    def queries(expected_rows: int) -> int:
        client.get(address, **HX)  # the session and caches warm
        with CaptureQueriesContext(connection) as captured:
            assert len(numbers_listed(client, address)) == expected_rows
        return len(captured)

    for i in range(3):
        ticket(acme, crm["desk_aoki"], f"Ticket {i}")
    few = queries(3)
    for i in range(27):
        ticket(acme, crm["desk_aoki"] if i % 2 else crm["desk_baba"], f"More {i}")
    assert queries(25) == few
    with django_assert_max_num_queries(20):
        numbers_listed(client, address, view="open", page=2)


def test_crm08_a_record_the_sync_has_not_linked_shows_no_tickets(client, acme, sam, crm, tickets):
    login(client, sam)
    assert numbers_listed(client, tickets_url(acme, crm["eto"])) == set()
    deal = crm.get("deal")
    assert numbers_listed(client, tickets_url(acme, deal)) == set()  # nothing linked yet


def test_crm08_an_admin_turns_a_module_off_and_its_records_show_no_list(
    client, acme, cora, sam, crm, tickets
):
    login(client, cora)
    response = client.post(
        url(acme, "settings"),
        {"currency": "USD", "desk_tab": "on", "ticket_modules": ["accounts", "deals"]},
    )
    assert response.status_code == 302
    assert CrmSettings.objects.for_org(acme.org).get().ticket_modules == ["accounts", "deals"]
    setup = client.get(url(acme, "setup")).content.decode()
    assert 'name="ticket_modules" value="accounts"' in setup

    login(client, sam)
    contact_page = client.get(url(acme, "contact_detail", crm_contact_id=crm["aoki"].pk))
    assert b'id="crm-tickets"' not in contact_page.content
    assert client.get(tickets_url(acme, crm["aoki"]), **HX).status_code == 404
    account_page = client.get(url(acme, "account_detail", crm_account_id=crm["kaisha"].pk))
    assert b'id="crm-tickets"' in account_page.content


def test_crm08_a_sales_user_cannot_change_the_modules(client, acme, sam, crm):
    login(client, sam)
    response = client.post(url(acme, "settings"), {"currency": "USD", "ticket_modules": ["deals"]})
    assert response.status_code == 403
    assert CrmSettings.objects.for_org(acme.org).first() is None or (
        CrmSettings.objects.for_org(acme.org).get().ticket_modules
        == ["accounts", "contacts", "deals"]
    )


def test_crm08_removing_the_integration_shows_no_tickets(client, acme, cora, sam, crm, tickets):
    deal = crm["deal"]
    DealTicket.objects.create(
        org=acme.org,
        integration=integration_svc.integration_of(acme.org),
        deal=deal,
        ticket_id=tickets["aoki_high"].pk,
    )
    integration_svc.integration_remove(
        actor=cora, integration=integration_svc.integration_of(acme.org)
    )
    assert DealTicket.objects.for_org(acme.org).count() == 0
    login(client, sam)
    page = client.get(url(acme, "account_detail", crm_account_id=crm["kaisha"].pk))
    assert b'id="crm-tickets"' not in page.content
    html = client.get(tickets_url(acme, crm["kaisha"]), **HX).content.decode()
    assert "not linked to a desk" in html and "Printer jam" not in html


# --- Statistics (CRM-13) -----------------------------------------------------------------------
def test_crm13_statistics_are_the_records_figures(client, acme, sam, crm, tickets):
    """Kaisha: 4 tickets, 3 not closed, 1 overdue; ratings good (Invoice copy) and bad
    (Refund): 50 % of 2; the one closed ticket took 3 hours."""
    closed = tickets["baba_closed"]
    Ticket.objects.for_org(acme.org).filter(pk=closed.pk).update(
        created_at=closed.closed_at - dt.timedelta(hours=3)
    )
    for t, value in (
        (closed, "good"),
        (tickets["baba_escalated"], "bad"),
        (tickets["chiba"], "bad"),
    ):
        Rating.objects.create(
            org=acme.org, ticket=t, contact=t.contact, value=value, rated_at=timezone.now()
        )
    login(client, sam)
    address = url(acme, "account_ticket_stats", crm_account_id=crm["kaisha"].pk)
    html = client.get(address, **HX).content.decode()
    assert 'data-stat="total">4<' in html
    assert 'data-stat="open">3<' in html
    assert 'data-stat="overdue" class="danger-text">1<' in html
    assert 'data-stat="satisfaction">50%<' in html
    assert "2 ratings" in html
    assert 'data-time="resolution">3 h 00 min<' in html
    # The record's list offers them under "View statistics".
    assert address in client.get(tickets_url(acme, crm["kaisha"]), **HX).content.decode()


# --- Linking tickets to deals (CRM-12) ---------------------------------------------------------
def test_crm12_link_tickets_to_a_deal_then_unlink_one(client, acme, sam, crm, tickets):
    login(client, sam)
    deal = crm["deal"]
    account_list = client.get(tickets_url(acme, crm["kaisha"]), **HX).content.decode()
    link_url = url(acme, "deal_tickets_link", deal_id=deal.pk)
    assert link_url in account_list and "Link to deal" in account_list
    back = url(acme, "account_detail", crm_account_id=crm["kaisha"].pk) + "#crm-tickets"
    chosen = [tickets["aoki_high"].number, tickets["baba_closed"].number]
    response = client.post(link_url, {"tickets": chosen, "next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert numbers_listed(client, tickets_url(acme, deal)) == set(chosen)

    # Linking again keeps one link each.
    client.post(link_url, {"tickets": chosen})
    assert DealTicket.objects.for_org(acme.org).filter(deal=deal).count() == 2

    deal_list = client.get(tickets_url(acme, deal), **HX).content.decode()
    unlink = url(acme, "deal_ticket_unlink", deal_id=deal.pk, number=chosen[0])
    assert unlink in deal_list
    response = client.post(unlink)
    assert response.status_code == 302
    assert numbers_listed(client, tickets_url(acme, deal)) == {chosen[1]}
    assert client.post(unlink).status_code == 404  # no longer linked


def test_crm12_a_ticket_the_crm_cannot_reach_is_refused_and_nothing_is_linked(
    client, acme, globex, sam, crm, tickets
):
    login(client, sam)
    deal = crm["deal"]
    link_url = url(acme, "deal_tickets_link", deal_id=deal.pk)
    # Chiba's ticket: a desk ticket of a customer the CRM does not have.
    response = client.post(
        link_url, {"tickets": [tickets["aoki_high"].number, tickets["chiba"].number]}
    )
    assert response.status_code == 400
    assert f"#{tickets['chiba'].number} cannot be linked" in response.content.decode()
    # A number that is no ticket of this desk (another organization's, or none at all).
    globex_ticket = ticket(globex, None, "Globex secret")
    response = client.post(link_url, {"tickets": [globex_ticket.number + 1000]})
    assert response.status_code == 400 and b"cannot be linked" in response.content
    assert b"Globex secret" not in response.content
    response = client.post(link_url, {"tickets": ["x", "-5"]})
    assert response.status_code == 400
    response = client.post(link_url, {})
    assert response.status_code == 400 and b"Choose at least one ticket" in response.content
    assert DealTicket.objects.for_org(acme.org).count() == 0


def test_crm12_linking_is_an_edit_of_the_deal(client, acme, sue, crm, tickets):
    """Sue (sales) does not own Sam's deal: she may not link tickets to it."""
    login(client, sue)
    listed = client.get(tickets_url(acme, crm["kaisha"]), **HX).content.decode()
    assert "Link to deal" not in listed  # no deal of hers to offer
    response = client.post(
        url(acme, "deal_tickets_link", deal_id=crm["deal"].pk),
        {"tickets": [tickets["aoki_high"].number]},
    )
    assert response.status_code == 403
    assert DealTicket.objects.for_org(acme.org).count() == 0


def test_crm12_a_contacts_list_offers_its_deals(client, acme, sam, crm, tickets):
    """Aoki is on Sam's deal: Aoki's tickets can be ticked and linked to it."""
    login(client, sam)
    contact_list = client.get(tickets_url(acme, crm["aoki"]), **HX).content.decode()
    assert f'data-deal="{crm["deal"].pk}"' in contact_list
    assert 'name="tickets"' in contact_list


def test_crm08_a_desk_of_another_organization_shows_its_tickets_and_links_them(
    client,
    acme,
    globex,
    cora,
    sam,
    synced,  # noqa: F811 - the fixture
):
    """Acme's CRM linked to Globex's desk (a key Charlie issued): the desk's rows are read in
    Globex's scope, the CRM's links in Acme's."""
    ito_crm = crm_records.contact_save(
        actor=cora,
        contact=CrmContact(org=acme.org, last_name="Ito", email="ito@cust.test"),
    )
    firm = crm_records.account_save(actor=cora, account=CrmAccount(org=acme.org, name="Firm"))
    deal = crm_records.deal_save(
        actor=sam, deal=Deal(org=acme.org, name="Firm deal", account=firm, owner=sam.user)
    )
    deliver_task(acme.org.pk, synced.pk)
    ito = Contact.objects.for_org(globex.org).get(email="ito@cust.test")
    ito.account = Account.objects.for_org(globex.org).get(name="Firm")
    ito = desk_records.contact_save(actor=globex.admin, contact=ito)
    t = ticket(globex, ito, "Globex-side question")
    login(client, sam)
    assert numbers_listed(client, tickets_url(acme, ito_crm)) == {t.number}
    assert numbers_listed(client, tickets_url(acme, firm)) == {t.number}
    stats = url(acme, "contact_ticket_stats", crm_contact_id=ito_crm.pk)
    assert 'data-stat="total">1<' in client.get(stats, **HX).content.decode()

    response = client.post(url(acme, "deal_tickets_link", deal_id=deal.pk), {"tickets": [t.number]})
    assert response.status_code == 302
    assert numbers_listed(client, tickets_url(acme, deal)) == {t.number}
    client.post(url(acme, "deal_ticket_unlink", deal_id=deal.pk, number=t.number))
    assert numbers_listed(client, tickets_url(acme, deal)) == set()


# --- Tenancy -----------------------------------------------------------------------------------
def test_crm08_an_outsider_gets_404_on_every_new_address(client, acme, globex, crm, tickets):
    login(client, globex.admin)
    deal = crm["deal"]
    addresses = [
        tickets_url(acme, crm["kaisha"]),
        tickets_url(acme, crm["aoki"]),
        tickets_url(acme, deal),
        url(acme, "account_ticket_stats", crm_account_id=crm["kaisha"].pk),
        url(acme, "contact_ticket_stats", crm_contact_id=crm["aoki"].pk),
        url(acme, "deal_ticket_stats", deal_id=deal.pk),
        url(acme, "deal_tickets_link", deal_id=deal.pk),
        url(acme, "deal_ticket_unlink", deal_id=deal.pk, number=tickets["aoki_high"].number),
    ]
    for address in addresses:
        for method in ("get", "post"):
            response = getattr(client, method)(address, **HX)
            assert response.status_code == 404, (method, address)
            assert b"Kaisha" not in response.content
    # Globex's own portal with Acme's records: not found either.
    for name, key, record in (
        ("account_tickets", "crm_account_id", crm["kaisha"]),
        ("deal_tickets", "deal_id", deal),
    ):
        address = reverse(f"crm:{name}", kwargs={"portal": globex.org.portal, key: record.pk})
        assert client.get(address, **HX).status_code == 404


def test_crm08_a_record_number_past_any_id_is_not_found(client, acme, sam, crm):
    """The lists read their record with compiled SQL: an id no bigint holds is a 404, not an
    error from the database."""
    login(client, sam)
    for name, key in (
        ("account_tickets", "crm_account_id"),
        ("contact_tickets", "crm_contact_id"),
        ("deal_tickets", "deal_id"),
    ):
        for record_id in (0, 2**63, 10**30):
            address = url(acme, name, **{key: record_id})
            assert client.get(address, **HX).status_code == 404, address
