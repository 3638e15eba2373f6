"""CRM-01: accounts, contacts, deals and products for sales staff; roles enforced in the
services and on the pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from crmsync.models import CrmAccount, CrmContact, CrmProduct, Deal, DealContact
from crmsync.services import records
from tests.conftest import login


def url(name: str, org, **kwargs) -> str:
    return reverse(name, kwargs={"portal": org.portal, **kwargs})


# --- Services: roles ---------------------------------------------------------------------------
def test_crm01_sales_user_creates_and_owns_an_account(acme, sam):
    account = records.account_save(actor=sam, account=CrmAccount(org=acme.org, name="Initech"))
    assert account.owner_id == sam.user_id
    assert CrmAccount.objects.for_org(acme.org).get().name == "Initech"


def test_crm01_sales_user_cannot_edit_or_delete_a_colleagues_record(acme, sam, sue):
    account = records.account_save(actor=sue, account=CrmAccount(org=acme.org, name="Initech"))
    account.name = "Taken over"
    account.owner_id = sam.user_id  # claiming it by posting a new owner changes nothing
    with pytest.raises(PermissionDenied):
        records.account_save(actor=sam, account=account)
    with pytest.raises(PermissionDenied):
        records.account_delete(actor=sam, account=account)
    stored = CrmAccount.objects.for_org(acme.org).get()
    assert (stored.name, stored.owner_id) == ("Initech", sue.user_id)


def test_crm01_crm_admin_edits_and_deletes_every_record(acme, sue, cora):
    account = records.account_save(actor=sue, account=CrmAccount(org=acme.org, name="Initech"))
    account.name = "Initech KK"
    records.account_save(actor=cora, account=account)
    assert CrmAccount.objects.for_org(acme.org).get().name == "Initech KK"
    records.account_delete(actor=cora, account=account)
    assert not CrmAccount.objects.for_org(acme.org).exists()


def test_crm01_products_are_the_admins_to_keep(acme, sam, cora):
    with pytest.raises(PermissionDenied):
        records.product_save(actor=sam, product=CrmProduct(org=acme.org, name="Plan"))
    records.product_save(actor=cora, product=CrmProduct(org=acme.org, name="Plan", code="P-1"))
    with pytest.raises(ValidationError) as refused:
        records.product_save(actor=cora, product=CrmProduct(org=acme.org, name="Dup", code="p-1"))
    assert "already has this code" in str(refused.value)
    assert CrmProduct.objects.for_org(acme.org).count() == 1


def test_crm01_member_without_crm_access_is_refused_by_every_service(acme, dan):
    with pytest.raises(PermissionDenied):
        records.account_save(actor=dan, account=CrmAccount(org=acme.org, name="X"))
    assert not CrmAccount.objects.for_org(acme.org).exists()


def test_crm01_services_refuse_another_organizations_objects(acme, globex, sam):
    theirs = CrmAccount.objects.create(org=globex.org, name="Globex prospect")
    contact = CrmContact(org=acme.org, last_name="Mixed", account=theirs)
    with pytest.raises(PermissionDenied):
        records.contact_save(actor=sam, contact=contact)
    assert not CrmContact.objects.for_org(acme.org).exists()


def test_crm01_owner_must_be_a_crm_user(acme, sam, dan):
    account = CrmAccount(org=acme.org, name="Initech", owner=dan.user)
    with pytest.raises(ValidationError) as refused:
        records.account_save(actor=sam, account=account)
    assert "owner" in refused.value.message_dict


def test_crm01_deal_takes_its_stages_probability_and_its_contacts(acme, sam):
    account = CrmAccount.objects.create(org=acme.org, name="Initech", owner=sam.user)
    a = CrmContact.objects.create(org=acme.org, last_name="A", account=account, owner=sam.user)
    b = CrmContact.objects.create(org=acme.org, last_name="B", account=account, owner=sam.user)
    deal = records.deal_save(
        actor=sam,
        deal=Deal(org=acme.org, name="Renewal", account=account, amount=Decimal("1200000")),
        contacts=[a, b],
    )
    assert (deal.stage, deal.probability) == ("qualification", 10)
    deal.stage = "negotiation"
    records.deal_save(actor=sam, deal=deal, contacts=[b])
    stored = Deal.objects.for_org(acme.org).get()
    assert (stored.stage, stored.probability) == ("negotiation", 80)
    links = DealContact.objects.for_org(acme.org).values_list("contact__last_name", flat=True)
    assert list(links) == ["B"]


# --- Pages -------------------------------------------------------------------------------------
def test_crm01_member_without_crm_role_gets_the_app_gate(client, acme, dan):
    login(client, dan)
    for name in ("crm_home", "crm:accounts", "crm:contacts", "crm:deals", "crm:products"):
        assert client.get(url(name, acme.org)).status_code == 403, name


def test_crm01_outsider_gets_404(client, acme, globex):
    login(client, globex.admin)
    assert client.get(url("crm:accounts", acme.org)).status_code == 404


def test_crm01_sales_user_creates_an_account_contact_and_deal_on_the_pages(client, acme, sam):
    login(client, sam)
    response = client.post(
        url("crm:account_create", acme.org),
        {
            "name": "Initech",
            "type": "customer",
            "industry": "Software",
            "website": "initech.example",
        },
    )
    account = CrmAccount.objects.for_org(acme.org).get()
    assert response.url == url("crm:account_detail", acme.org, crm_account_id=account.pk)
    assert (account.website, account.owner_id) == ("https://initech.example", sam.user_id)
    client.post(
        url("crm:contact_create", acme.org),
        {
            "last_name": "Lumbergh",
            "first_name": "Bill",
            "email": "Bill@Initech.example",
            "account": account.pk,
        },
    )
    contact = CrmContact.objects.for_org(acme.org).get()
    assert contact.email == "bill@initech.example"
    response = client.post(
        url("crm:deal_create", acme.org),
        {
            "name": "TPS licences",
            "account": account.pk,
            "contact_ids": [contact.pk],
            "stage": "proposal",
            "amount": "250000",
            "expected_close": "2031-03-31",
        },
    )
    deal = Deal.objects.for_org(acme.org).get()
    assert (deal.probability, deal.expected_close) == (50, dt.date(2031, 3, 31))
    page = client.get(url("crm:account_detail", acme.org, crm_account_id=account.pk))
    assert b"TPS licences" in page.content and b"Lumbergh Bill" in page.content
    page = client.get(url("crm:contact_detail", acme.org, crm_contact_id=contact.pk))
    assert b"TPS licences" in page.content


def test_crm01_refused_input_keeps_what_was_typed_and_saves_nothing(client, acme, sam):
    login(client, sam)
    response = client.post(
        url("crm:deal_create", acme.org),
        {"name": "Big one", "stage": "proposal", "amount": "-5", "probability": "140"},
    )
    assert response.status_code == 400
    assert b'value="Big one"' in response.content
    assert not Deal.objects.for_org(acme.org).exists()
    response = client.post(
        url("crm:contact_create", acme.org),
        {"last_name": "Twice", "email": "a@x.test", "secondary_email": "A@x.test"},
    )
    assert response.status_code == 400
    assert b"must differ" in response.content and b'value="Twice"' in response.content
    assert not CrmContact.objects.for_org(acme.org).exists()


def test_crm01_choices_of_another_organization_are_refused(client, acme, globex, sam):
    theirs = CrmAccount.objects.create(org=globex.org, name="Globex prospect")
    login(client, sam)
    response = client.post(
        url("crm:contact_create", acme.org), {"last_name": "Sneaky", "account": theirs.pk}
    )
    assert response.status_code == 400
    assert not CrmContact.objects.for_org(acme.org).exists()


def test_crm01_sales_user_sees_but_cannot_change_a_colleagues_deal(client, acme, sam, sue):
    deal = Deal.objects.create(org=acme.org, name="Sue's deal", owner=sue.user)
    login(client, sam)
    page = client.get(url("crm:deal_detail", acme.org, deal_id=deal.pk))
    assert page.status_code == 200
    assert url("crm:deal_edit", acme.org, deal_id=deal.pk).encode() not in page.content
    edit = url("crm:deal_edit", acme.org, deal_id=deal.pk)
    assert client.get(edit).status_code == 403
    assert client.post(edit, {"name": "Mine now", "stage": "won"}).status_code == 403
    delete = url("crm:deal_delete", acme.org, deal_id=deal.pk)
    assert client.post(delete).status_code == 403
    assert Deal.objects.for_org(acme.org).get().name == "Sue's deal"


def test_crm01_owner_deletes_after_confirming(client, acme, sam):
    deal = Deal.objects.create(org=acme.org, name="Mine", owner=sam.user)
    login(client, sam)
    delete = url("crm:deal_delete", acme.org, deal_id=deal.pk)
    assert b"Delete \xe2\x80\x9cMine\xe2\x80\x9d?" in client.get(delete).content
    assert Deal.objects.for_org(acme.org).exists()
    assert client.post(delete).url == url("crm:deals", acme.org)
    assert not Deal.objects.for_org(acme.org).exists()


# --- Lists: search, filters, sorting -----------------------------------------------------------
def _names(response) -> list[str]:
    import re

    return re.findall(
        r'data-(?:account|deal|contact|product)="\d+">\s*<td>(?:<a [^>]*>)?([^<]+)',
        response.content.decode(),
    )


@pytest.fixture
def deals(acme, sam, sue):
    initech = CrmAccount.objects.create(org=acme.org, name="Initech", owner=sam.user)
    globo = CrmAccount.objects.create(
        org=acme.org, name="Globo Gym", owner=sue.user, type="customer"
    )
    rows = [
        ("Alpha", initech, "proposal", 300, dt.date(2031, 1, 10), sam),
        ("Bravo", globo, "won", 100, dt.date(2030, 12, 1), sue),
        ("Charlie", initech, "qualification", 200, dt.date(2031, 2, 1), sue),
        ("Delta", None, "negotiation", None, None, sam),
    ]
    for name, account, stage, amount, close, owner in rows:
        Deal.objects.create(
            org=acme.org,
            name=name,
            account=account,
            stage=stage,
            amount=amount,
            expected_close=close,
            owner=owner.user,
        )
    return rows


def test_crm01_deal_list_filters_by_owner_and_stage(client, acme, sam, deals):
    login(client, sam)
    base = url("crm:deals", acme.org)
    assert _names(client.get(base, {"owner": "mine", "sort": "name"})) == ["Alpha", "Delta"]
    assert _names(client.get(base, {"stage": "open", "sort": "name"})) == [
        "Alpha",
        "Charlie",
        "Delta",
    ]
    assert _names(client.get(base, {"stage": "won"})) == ["Bravo"]
    assert _names(client.get(base, {"q": "initech", "sort": "name"})) == ["Alpha", "Charlie"]


def test_crm01_deal_list_sorts_by_whitelisted_columns(client, acme, sam, deals):
    login(client, sam)
    base = url("crm:deals", acme.org)
    assert _names(client.get(base, {"sort": "-amount"})) == ["Alpha", "Charlie", "Bravo", "Delta"]
    assert _names(client.get(base, {"sort": "stage"})) == ["Charlie", "Alpha", "Delta", "Bravo"]
    assert _names(client.get(base, {"sort": "close"})) == ["Bravo", "Alpha", "Charlie", "Delta"]
    # Anything else falls back to the default order, never an error.
    assert client.get(base, {"sort": "org__name"}).status_code == 200


def test_crm01_live_search_answers_only_the_rows(client, acme, sam, deals):
    login(client, sam)
    response = client.get(
        url("crm:accounts", acme.org),
        {"q": "gym"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="accounts-rows",
    )
    assert b"<html" not in response.content
    assert _names(response) == ["Globo Gym"]
    response = client.get(url("crm:accounts", acme.org), {"type": "customer"})
    assert _names(response) == ["Globo Gym"]


def test_crm01_contacts_search_by_secondary_email_and_account(client, acme, sam):
    initech = CrmAccount.objects.create(org=acme.org, name="Initech")
    CrmContact.objects.create(
        org=acme.org, last_name="Waddams", secondary_email="milton@home.example", account=initech
    )
    CrmContact.objects.create(org=acme.org, last_name="Bolton")
    login(client, sam)
    base = url("crm:contacts", acme.org)
    assert _names(client.get(base, {"q": "milton@"})) == ["Waddams"]
    assert _names(client.get(base, {"account": initech.pk})) == ["Waddams"]


def test_crm01_lists_page_with_a_stable_order(client, acme, sam):
    CrmAccount.objects.bulk_create([CrmAccount(org=acme.org, name="Same name") for _ in range(30)])
    login(client, sam)
    base = url("crm:accounts", acme.org)
    first = client.get(base).content.decode()
    second = client.get(base, {"page": 2}).content.decode()
    import re

    ids = lambda html: re.findall(r'data-account="(\d+)"', html)  # noqa: E731
    assert len(ids(first)) == 25 and len(ids(second)) == 5
    assert not set(ids(first)) & set(ids(second))
