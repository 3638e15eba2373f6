"""CRM-01: every CRM page renders in Japanese and English, and answers nonsense without a
server error."""

from __future__ import annotations

import pytest
from django.urls import get_resolver, reverse

from crmsync.models import CrmAccount, CrmContact, CrmProduct, Deal, DealContact, SyncRun
from crmsync.services.integration import integration_connect_own, key_issue
from tests.conftest import login
from tests.test_cross_tenant import GARBAGE, _fill, _route_keys, _walk


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"  # the desk ticket's file (CRM-11 pages)


@pytest.fixture
def records(acme):
    org = acme.org
    account = CrmAccount.objects.create(org=org, name="Initech", owner=acme.admin.user)
    contact = CrmContact.objects.create(org=org, last_name="Lumbergh", account=account)
    deal = Deal.objects.create(org=org, name="TPS", account=account, amount=1000)
    DealContact.objects.create(org=org, deal=deal, contact=contact)
    product = CrmProduct.objects.create(org=org, name="Stapler", code="RED-1")
    key, _secret = key_issue(actor=acme.admin, label="Globex")
    integration = integration_connect_own(actor=acme.admin)
    run = SyncRun.objects.create(org=org, integration=integration, kind="dry_run")
    from crmsync.models import SalesSignal  # CRM-14: one of the admin's sales signals

    signal = SalesSignal.objects.create(
        org=org,
        integration=integration,
        user=acme.admin.user,
        event="new_comment",
        ticket_id=1,
        ticket_number=1,
        subject="Stapler jammed",
        record_kind="contact",
        record_id=contact.pk,
    )
    return {
        **_desk_ticket(acme, integration, contact),
        "signal_id": signal.pk,
        "sync_run_id": run.pk,
        "crm_account_id": account.pk,
        "crm_contact_id": contact.pk,
        "deal_id": deal.pk,
        "crm_product_id": product.pk,
        "key_id": key.pk,
    }


def _desk_ticket(acme, integration, contact) -> dict[str, int]:
    """A desk ticket of the CRM contact's desk twin, with a file (CRM-10, CRM-11 pages)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from crmsync.models import SyncLink
    from customers.models import Contact
    from helpdesk.tickets.services.threads import thread_add
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    twin = Contact.objects.create(org=acme.org, last_name="Lumbergh", email="bill@initech.test")
    SyncLink.objects.create(
        org=acme.org,
        integration=integration,
        kind="contact",
        crm_id=contact.pk,
        desk_id=twin.pk,
        synced={},
    )
    ticket = ticket_create(
        actor=acme.admin,
        data=TicketInput(subject="Stapler", department=acme.department, contact=twin),
    )
    thread = thread_add(
        actor=acme.admin,
        ticket=ticket,
        kind="comment",
        body="note",
        files=[SimpleUploadedFile("a.txt", b"x")],
    )
    return {"number": ticket.number, "attachment_id": thread.attachments.get().pk}


# A page that needs a query string: New ticket is created from a record (CRM-10).
def _query(name: str, records: dict) -> dict:
    return {"contact": records["crm_contact_id"]} if name == "crm:ticket_create" else {}


def _crm_routes():
    for route, name, _pattern in _walk(get_resolver()):
        if name == "crm_home" or name.startswith(("crm:", "crmkeys:")):
            yield route, name


@pytest.mark.parametrize("language", ["en", "ja"])
def test_crm01_every_crm_page_renders_in_both_languages(client, acme, records, language):
    acme.admin.user.language = language
    acme.admin.user.save()
    login(client, acme.admin)
    seen = 0
    for route, name in _crm_routes():
        keys = {k: records[k] for k in _route_keys(route) if k != "portal"}
        response = client.get(
            _fill(route, {"portal": acme.org.portal, **keys}), _query(name, records)
        )
        if response.status_code == 405:  # POST-only actions
            continue
        assert response.status_code == 200, name
        assert response.headers["Content-Language"] == language
        seen += 1
    assert seen >= 17


def test_crm01_every_crm_url_answers_nonsense_without_a_server_error(client, acme, records):
    login(client, acme.admin)
    client.raise_request_exception = True
    for route, _name in _crm_routes():
        keys = {k: records[k] for k in _route_keys(route) if k != "portal"}
        url = _fill(route, {"portal": acme.org.portal, **keys})
        assert client.get(url, {"q": GARBAGE["q"], "page": "x", "sort": "?"}).status_code < 500
        assert client.post(url, GARBAGE).status_code < 500


def test_crm01_the_crm_is_in_the_navigation_of_crm_users(client, acme, records):
    sales = acme.member(desk_role="", crm_role="sales")
    login(client, sales)
    response = client.get(reverse("crm_home", kwargs={"portal": acme.org.portal}))
    assert b'data-nav="crm"' in response.content
    assert b"CRM Setup" not in response.content  # sales users do not configure


def test_crm01_demo_data_has_a_small_pipeline(db):
    import io

    from django.core.management import call_command

    from crmsync.models import Integration
    from helpdesk.tenancy.models import Organization

    call_command("demo_data", stdout=io.StringIO())
    call_command("demo_data", stdout=io.StringIO())  # idempotent
    org = Organization.objects.get(portal="demo")
    assert CrmAccount.objects.for_org(org).count() == 4
    assert Deal.objects.for_org(org).filter(stage="won").count() == 1
    assert DealContact.objects.for_org(org).count() == 5
    assert Integration.objects.for_org(org).get().desk_org_id == org.pk
