"""Customers pages under /<portal>/customers/ (CUS-01): contacts, accounts, products,
duplicates and merging; permissions per Desk role; outsiders.

Alice is Acme's account admin, Bob an agent at Acme, Charlie (Globex) the outsider."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from customers import services
from customers.models import Account, AccountProduct, Contact, ContactProduct, Product
from helpdesk.tickets.models import Ticket
from tests.conftest import login
from tests.factories import DepartmentAgentFactory, UserFactory

from .factories import (
    AccountFactory,
    AccountProductFactory,
    ContactFactory,
    ContactProductFactory,
    ProductFactory,
    make_ticket,
)


# --- Helpers ---------------------------------------------------------------------------------
def url(name: str, tenant, **kwargs) -> str:
    org = getattr(tenant, "org", tenant)
    return reverse(f"customers:{name}", kwargs={"portal": org.portal, **kwargs})


def page(response) -> str:
    return html.unescape(response.content.decode())


def rows(response, kind: str = "contact") -> list[str]:
    """The ids of the table rows of `kind` on the page, in order."""
    return re.findall(rf'<tr data-{kind}="(\d+)"', response.content.decode())


def snapshot(org) -> dict:
    return {
        "contacts": list(Contact.objects.for_org(org).order_by("pk").values()),
        "accounts": list(Account.objects.for_org(org).order_by("pk").values()),
        "products": list(Product.objects.for_org(org).order_by("pk").values()),
        "links": sorted(ContactProduct.objects.for_org(org).values_list("contact_id", "product_id"))
        + sorted(AccountProduct.objects.for_org(org).values_list("account_id", "product_id")),
        "tickets": sorted(Ticket.objects.for_org(org).values_list("pk", "contact_id")),
    }


CONTACT = {
    "last_name": "Tanaka",
    "first_name": "Hanako",
    "email": "Hanako@Example.com",
    "secondary_email": "",
    "phone": "03-1111-2222",
    "mobile": "",
    "title": "Buyer",
    "account": "",
    "owner": "",
    "tags": "vip, tokyo",
    "description": "",
}


@pytest.fixture
def bob_client(client, bob):
    return login(client, bob)


@pytest.fixture
def restricted(acme):
    return acme.member(user=UserFactory(full_name="Rita Restricted"), desk_role="restricted")


@pytest.fixture
def crm_only(acme):
    return acme.member(user=UserFactory(full_name="Carl Crm"), desk_role="", crm_role="sales")


@pytest.fixture
def records(acme):
    """One of each record in Acme, linked together."""
    account = AccountFactory(org=acme.org, name="Kaisha KK")
    contact = ContactFactory(org=acme.org, last_name="Sato", first_name="Ken", account=account)
    product = ProductFactory(org=acme.org, name="Router", code="RT-1")
    ContactProductFactory(contact=contact, product=product)
    AccountProductFactory(account=account, product=product)
    return {"contact_id": contact.pk, "account_id": account.pk, "product_id": product.pk}


# Every customers URL with the object it needs (None: none).
PAGES = [
    ("home", None),
    ("contacts", None),
    ("contact_create", None),
    ("contact_detail", "contact_id"),
    ("contact_delete", "contact_id"),
    ("contact_products", "contact_id"),
    ("duplicates", None),
    ("contacts_merge", None),
    ("accounts", None),
    ("account_create", None),
    ("account_detail", "account_id"),
    ("account_delete", "account_id"),
    ("account_products", "account_id"),
    ("products", None),
    ("product_create", None),
    ("product_detail", "product_id"),
    ("product_delete", "product_id"),
]


def page_urls(tenant, ids: dict) -> list[str]:
    return [url(name, tenant, **({key: ids[key]} if key else {})) for name, key in PAGES]


def test_cus01_every_customers_url_is_covered_by_these_tests():
    from customers.pages import urls_io, urls_more, urls_records, urls_tabs
    from customers.urls import urlpatterns

    # The activities and attachments tabs: tests/customers/test_activities_tab.py and
    # test_attachments.py (and the cross-tenant walker).
    tabs = {p.name for p in urls_more.urlpatterns}
    # Import and export: tests/customers/test_import.py and test_export.py.
    tabs |= {p.name for p in urls_io.urlpatterns}
    # History, customer fields, tag suggestions: test_history.py, test_custom_fields.py and
    # test_tags.py.
    tabs |= {p.name for p in urls_records.urlpatterns}
    # Overview, tickets, interactions, time entries, happiness and products tabs:
    # tests/customers/test_tabs.py. (`contact_products`/`account_products` name both the
    # products tab and the older linking URL; reverse() gives the tab, the last defined.)
    tabs |= {p.name for p in urls_tabs.urlpatterns} - {"contact_products", "account_products"}
    assert {p.name for p in urlpatterns} - tabs == {name for name, _key in PAGES}


# --- Contacts: list and search ---------------------------------------------------------------
def test_cus01_contacts_list_shows_name_email_phone_account_owner_tags(alice_client, acme, bob):
    account = AccountFactory(org=acme.org, name="Kaisha KK")
    contact = ContactFactory(
        org=acme.org,
        last_name="Sato",
        first_name="Ken",
        email="ken@kaisha.jp",
        phone="03-5555-0000",
        account=account,
        owner=bob.user,
    )
    services.contact_set_tags(actor=acme.admin, contact=contact, names="vip, osaka")
    response = alice_client.get(url("contacts", acme))
    assert response.status_code == 200
    text = page(response)
    for expected in (
        "Sato Ken",
        "ken@kaisha.jp",
        "03-5555-0000",
        "Kaisha KK",
        "Bob",
        '<li class="tag-chip"><a href="/acme/customers/contacts/?tag=vip">vip</a></li>',
        '<li class="tag-chip"><a href="/acme/customers/contacts/?tag=osaka">osaka</a></li>',
        "1 contact",
    ):
        assert expected in text
    assert 'hx-push-url="true"' in text
    assert 'aria-current="page"' in text  # the sidebar's Contacts entry


@pytest.mark.parametrize(
    "query", ["sato", "Sato Ken", "ken sato", "KEN@kaisha", "other@kaisha.jp", "5555", "0909"]
)
def test_cus01_contacts_search_by_name_email_or_phone(alice_client, acme, query):
    wanted = ContactFactory(
        org=acme.org,
        last_name="Sato",
        first_name="Ken",
        email="ken@kaisha.jp",
        secondary_email="other@kaisha.jp",
        phone="03-5555-0000",
        mobile="0909",
    )
    ContactFactory(org=acme.org, last_name="Suzuki", email="suzuki@example.com", phone="1")
    response = alice_client.get(url("contacts", acme), {"q": query})
    assert rows(response) == [str(wanted.pk)]
    assert f'value="{query}"' in page(response)  # the box keeps the query


def test_cus01_contacts_search_never_shows_other_organizations(alice_client, acme, globex):
    ContactFactory(org=globex.org, last_name="Sato", email="sato@globex.test")
    response = alice_client.get(url("contacts", acme), {"q": "sato"})
    assert rows(response) == []
    assert "No contacts match." in page(response)


def test_cus01_contacts_live_search_returns_only_the_rows_fragment(alice_client, acme):
    sato = ContactFactory(org=acme.org, last_name="Sato")
    ContactFactory(org=acme.org, last_name="Suzuki")
    response = alice_client.get(
        url("contacts", acme), {"q": "sat"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="contact-rows"
    )
    assert response.status_code == 200
    body = page(response)
    assert "<html" not in body and "<tbody" not in body
    assert rows(response) == [str(sato.pk)]
    assert "1 contact" in body
    # htmx restoring a page from history wants the whole page.
    response = alice_client.get(
        url("contacts", acme),
        {"q": "sat"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="contact-rows",
        HTTP_HX_HISTORY_RESTORE_REQUEST="true",
    )
    assert "<html" in page(response)


def test_cus01_contacts_are_paginated_25_a_page_keeping_the_query(alice_client, acme):
    for i in range(30):
        ContactFactory(org=acme.org, last_name=f"Kato{i:02d}")
    ContactFactory(org=acme.org, last_name="Other")
    response = alice_client.get(url("contacts", acme), {"q": "kato"})
    assert len(rows(response)) == 25
    text = page(response)
    assert "30 contacts · page 1 of 2" in text
    assert 'href="?q=kato&page=2"' in text
    response = alice_client.get(url("contacts", acme), {"q": "kato", "page": 2})
    assert len(rows(response)) == 5


def test_cus01_contacts_of_one_account(alice_client, acme):
    account = AccountFactory(org=acme.org, name="Kaisha KK")
    member = ContactFactory(org=acme.org, account=account)
    ContactFactory(org=acme.org)
    response = alice_client.get(url("contacts", acme), {"account": account.pk})
    assert rows(response) == [str(member.pk)]
    assert "Contacts of Kaisha KK" in page(response)


# --- Contacts: create, edit, delete ----------------------------------------------------------
def test_cus01_create_contact(bob_client, acme, bob):
    account = AccountFactory(org=acme.org)
    response = bob_client.post(
        url("contact_create", acme),
        {**CONTACT, "account": account.pk, "owner": bob.user.pk},
        follow=True,
    )
    contact = Contact.objects.for_org(acme.org).get()
    assert response.redirect_chain[0][0] == url("contact_detail", acme, contact_id=contact.pk)
    assert "Contact “Tanaka Hanako” created." in page(response)
    assert (contact.email, contact.account, contact.owner, contact.tag_list) == (
        "hanako@example.com",
        account,
        bob.user,
        ["tokyo", "vip"],
    )


def test_cus01_create_contact_with_a_taken_email_is_refused(bob_client, acme):
    existing = ContactFactory(
        org=acme.org, last_name="Suzuki", first_name="Ichiro", email="hanako@example.com"
    )
    before = snapshot(acme.org)
    response = bob_client.post(url("contact_create", acme), CONTACT)
    assert response.status_code == 400
    assert f"hanako@example.com already belongs to the contact “{existing.name}”." in page(response)
    assert re.search(r'<p class="error" role="alert">hanako@example.com already', page(response))
    assert snapshot(acme.org) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("last_name", "", "This field is required."),
        ("email", "not-an-email", "Enter a valid email address."),
    ],
)
def test_cus01_create_contact_with_invalid_input_is_refused(
    bob_client, acme, field, value, message
):
    response = bob_client.post(url("contact_create", acme), {**CONTACT, field: value})
    assert response.status_code == 400
    assert message in page(response)
    assert not Contact.objects.for_org(acme.org).exists()


def test_cus01_create_contact_refuses_an_account_of_another_org(bob_client, acme, globex):
    theirs = AccountFactory(org=globex.org)
    response = bob_client.post(url("contact_create", acme), {**CONTACT, "account": theirs.pk})
    assert response.status_code == 400
    assert "Select a valid choice." in page(response)
    assert not Contact.objects.for_org(acme.org).exists()


def test_cus01_contact_form_offers_only_the_organization_choices(
    alice_client, acme, globex, bob, crm_only
):
    AccountFactory(org=acme.org, name="Mine KK")
    AccountFactory(org=globex.org, name="Theirs Inc")
    text = page(alice_client.get(url("contact_create", acme)))
    assert "Mine KK" in text and "Theirs Inc" not in text
    assert "bob@acme.test" in text
    assert crm_only.user.email not in text
    assert globex.admin.user.email not in text
    for label in ("Last name", "First name", "Email", "Secondary email", "Account", "Owner"):
        assert re.search(rf'<label for="id_\w+">{label}</label>', text), label


def test_cus01_edit_contact_and_link_it_to_an_account(bob_client, acme):
    contact = ContactFactory(org=acme.org, last_name="Sato", email="sato@example.com")
    account = AccountFactory(org=acme.org, name="Kaisha KK")
    response = bob_client.post(
        url("contact_detail", acme, contact_id=contact.pk),
        {**CONTACT, "last_name": "Sato", "email": "SATO@example.com", "account": account.pk},
        follow=True,
    )
    assert response.redirect_chain[0][0] == url("contact_detail", acme, contact_id=contact.pk)
    text = page(response)
    assert "Contact saved." in text
    assert f'href="{url("account_detail", acme, account_id=account.pk)}">Kaisha KK' in text
    contact.refresh_from_db()
    assert (contact.email, contact.account, contact.title) == ("sato@example.com", account, "Buyer")


def test_cus01_edit_contact_to_another_contacts_email_is_refused(bob_client, acme):
    ContactFactory(org=acme.org, last_name="Suzuki", email="suzuki@example.com")
    contact = ContactFactory(org=acme.org, last_name="Sato", email="sato@example.com")
    before = snapshot(acme.org)
    response = bob_client.post(
        url("contact_detail", acme, contact_id=contact.pk),
        {**CONTACT, "last_name": "Changed", "email": "Suzuki@example.com"},
    )
    assert response.status_code == 400
    text = page(response)
    assert "already belongs to the contact “Suzuki Pat”" in text
    assert '<h1 id="record-title">Sato Pat</h1>' in text  # the stored contact's name
    assert snapshot(acme.org) == before


def test_cus01_contact_page_shows_account_products_and_latest_tickets(alice_client, acme, records):
    """The account on the record panel; the products and the tickets in their tabs (newest
    first), without anyone else's tickets."""
    contact = Contact.objects.for_org(acme.org).get(pk=records["contact_id"])
    tickets = [make_ticket(acme, contact, f"Question {i}") for i in range(12)]
    make_ticket(acme, ContactFactory(org=acme.org), "Someone else's")
    response = alice_client.get(url("contact_detail", acme, contact_id=contact.pk))
    assert response.status_code == 200
    assert "Kaisha KK" in page(response)
    products = alice_client.get(url("contact_products", acme, contact_id=contact.pk))
    assert rows(products, "product") == [str(records["product_id"])]
    text = page(alice_client.get(url("contact_tickets", acme, contact_id=contact.pk)))
    numbers = [int(n) for n in re.findall(r'/acme/desk/tickets/(\d+)/"', text)]
    assert numbers[:3] == [t.number for t in reversed(tickets)][:3]
    assert tickets[-1].subject in text and "Open" in text
    assert "Someone else's" not in text


def test_cus01_agent_sees_only_tickets_of_own_departments(bob_client, acme, bob):
    contact = ContactFactory(org=acme.org)
    make_ticket(acme, contact, "Hidden from Bob")
    # The page's address names its tab: the overview is rendered in place.
    overview = {"tab": "overview"}
    response = bob_client.get(url("contact_detail", acme, contact_id=contact.pk), overview)
    assert "Hidden from Bob" not in page(response) and 'data-testid="overview-tab"' in page(
        response
    )
    DepartmentAgentFactory(org=acme.org, department=acme.department, user=bob.user)
    response = bob_client.get(url("contact_detail", acme, contact_id=contact.pk), overview)
    assert "Hidden from Bob" in page(response)


def test_cus01_delete_contact_asks_then_deletes(bob_client, acme):
    contact = ContactFactory(org=acme.org, last_name="Sato", first_name="Ken")
    response = bob_client.get(url("contact_delete", acme, contact_id=contact.pk))
    assert response.status_code == 200
    assert "Delete “Sato Ken”?" in page(response)
    assert Contact.objects.for_org(acme.org).exists()
    response = bob_client.post(url("contact_delete", acme, contact_id=contact.pk), follow=True)
    assert response.redirect_chain[0][0] == url("contacts", acme)
    assert "Contact “Sato Ken” deleted." in page(response)
    assert not Contact.objects.for_org(acme.org).exists()


def test_cus01_delete_contact_with_tickets_is_refused(bob_client, acme):
    contact = ContactFactory(org=acme.org, last_name="Sato", first_name="Ken")
    make_ticket(acme, contact)
    before = snapshot(acme.org)
    response = bob_client.post(url("contact_delete", acme, contact_id=contact.pk))
    assert response.status_code == 400
    assert "“Sato Ken” has tickets and cannot be deleted." in page(response)
    assert snapshot(acme.org) == before


# --- Product links ---------------------------------------------------------------------------
def test_cus01_link_and_unlink_a_product_on_the_contact_page(bob_client, acme):
    """CUS-10 in the Products tab: only active products are offered; a plain form post goes
    back to the page with the tab open."""
    contact = ContactFactory(org=acme.org)
    product = ProductFactory(org=acme.org, name="Router")
    ProductFactory(org=acme.org, name="Retired", is_active=False)
    tab = url("contact_products", acme, contact_id=contact.pk)
    text = page(bob_client.get(tab))
    assert "Router" in text and "Retired" not in text
    assert '<label for="id_link-product">Link a product</label>' in text
    response = bob_client.post(tab, {"action": "link", "link-product": product.pk}, follow=True)
    assert response.redirect_chain[0][0].startswith(
        url("contact_detail", acme, contact_id=contact.pk)
    )
    assert "tab=products" in response.redirect_chain[0][0]
    assert "“Router (P-" in page(response) and "linked." in page(response)
    assert list(contact.products.all()) == [product]
    response = bob_client.post(tab, {"action": "unlink", "unlink-product": product.pk})
    assert response.status_code == 302
    assert not contact.products.exists()


def test_cus01_linking_a_product_of_another_org_is_refused(bob_client, acme, globex):
    contact = ContactFactory(org=acme.org)
    theirs = ProductFactory(org=globex.org)
    response = bob_client.post(
        url("contact_products", acme, contact_id=contact.pk),
        {"action": "link", "link-product": theirs.pk},
    )
    assert response.status_code == 400
    assert "Select a valid choice." in page(response)
    assert not ContactProduct.objects.exists()


def test_cus01_link_and_unlink_a_product_on_the_account_page(bob_client, acme):
    account = AccountFactory(org=acme.org)
    product = ProductFactory(org=acme.org)
    bob_client.post(
        url("account_products", acme, account_id=account.pk),
        {"action": "link", "link-product": product.pk},
    )
    assert list(account.products.all()) == [product]
    bob_client.post(
        url("account_products", acme, account_id=account.pk),
        {"action": "unlink", "unlink-product": product.pk},
    )
    assert not account.products.exists()


def test_cus01_product_links_need_the_edit_role(client, acme, restricted, records):
    """The Products tab shows the links to a restricted agent, who may not change them."""
    login(client, restricted)
    tab = url("contact_products", acme, contact_id=records["contact_id"])
    assert client.get(tab).status_code == 200
    response = client.post(tab, {"action": "link", "link-product": records["product_id"]})
    assert response.status_code == 403


# --- Duplicates and merge --------------------------------------------------------------------
def test_cus01_duplicates_page_groups_contacts_by_email(alice_client, acme):
    a = ContactFactory(org=acme.org, last_name="Yamada", email="yamada@example.com")
    b = ContactFactory(org=acme.org, last_name="Yamada", email="Yamada@Example.com")
    ContactFactory(org=acme.org, last_name="Alone", email="alone@example.com")
    response = alice_client.get(url("duplicates", acme))
    assert response.status_code == 200
    assert rows(response) == [str(a.pk), str(b.pk)]
    text = page(response)
    assert f'name="primary" value="{a.pk}" id="keep-{a.pk}" checked' in text
    assert f'<label for="merge-{b.pk}"' in text


def test_cus01_duplicates_page_without_duplicates(alice_client, acme):
    ContactFactory(org=acme.org)
    assert "No duplicate contacts." in page(alice_client.get(url("duplicates", acme)))


def test_cus01_merge_from_the_duplicates_page(bob_client, acme):
    keep = ContactFactory(org=acme.org, last_name="Yamada", email="yamada@example.com")
    other = ContactFactory(
        org=acme.org, last_name="Yamada", email="yamada@example.com", phone="090"
    )
    ticket = make_ticket(acme, other)
    response = bob_client.post(
        url("contacts_merge", acme),
        {"primary": keep.pk, "contacts": [keep.pk, other.pk]},
        follow=True,
    )
    assert response.redirect_chain[0][0] == url("contact_detail", acme, contact_id=keep.pk)
    assert "1 contact merged into “Yamada Pat”." in page(response)
    ticket.refresh_from_db()
    keep.refresh_from_db()
    assert ticket.contact == keep and keep.phone == "090"
    assert list(Contact.objects.for_org(acme.org)) == [keep]


def test_cus01_merge_with_a_contact_of_another_org_is_refused(bob_client, acme, globex):
    mine = ContactFactory(org=acme.org, email="same@example.com")
    theirs = ContactFactory(org=globex.org, email="same@example.com")
    make_ticket(globex, theirs)
    before, before_globex = snapshot(acme.org), snapshot(globex.org)
    for data in (
        {"primary": mine.pk, "contacts": [mine.pk, theirs.pk]},
        {"primary": theirs.pk, "contacts": [mine.pk, theirs.pk]},
    ):
        response = bob_client.post(url("contacts_merge", acme), data)
        assert response.status_code == 400
        assert "Select a valid choice." in page(response)
    assert snapshot(acme.org) == before and snapshot(globex.org) == before_globex


def test_cus01_merge_without_another_contact_is_refused(bob_client, acme):
    keep = ContactFactory(org=acme.org)
    response = bob_client.post(
        url("contacts_merge", acme), {"primary": keep.pk, "contacts": [keep.pk]}
    )
    assert response.status_code == 400
    assert "Choose at least one other contact" in page(response)
    assert Contact.objects.for_org(acme.org).count() == 1


# --- Accounts --------------------------------------------------------------------------------
def test_cus01_create_list_edit_and_delete_an_account(bob_client, acme):
    data = {
        "name": "Kaisha KK",
        "email": "Info@Kaisha.jp",
        "phone": "",
        "website": "kaisha.jp",
        "owner": "",
        "description": "",
    }
    response = bob_client.post(url("account_create", acme), data, follow=True)
    account = Account.objects.for_org(acme.org).get()
    assert response.redirect_chain[0][0] == url("account_detail", acme, account_id=account.pk)
    assert "Account “Kaisha KK” created." in page(response)
    assert (account.email, account.website) == ("info@kaisha.jp", "https://kaisha.jp")

    contact = ContactFactory(org=acme.org, account=account, last_name="Member")
    response = bob_client.get(url("accounts", acme), {"q": "kaisha"})
    assert rows(response, "account") == [str(account.pk)]
    response = bob_client.get(url("account_detail", acme, account_id=account.pk))
    assert re.findall(r'<li data-contact="(\d+)"', response.content.decode()) == [str(contact.pk)]

    response = bob_client.post(
        url("account_detail", acme, account_id=account.pk), {**data, "name": "Kaisha Holdings"}
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.name == "Kaisha Holdings"

    response = bob_client.get(url("account_delete", acme, account_id=account.pk))
    assert "Its 1 contact stays, without an account." in page(response)
    response = bob_client.post(url("account_delete", acme, account_id=account.pk))
    assert response.status_code == 302
    assert not Account.objects.for_org(acme.org).exists()
    contact.refresh_from_db()
    assert contact.account is None


def test_cus01_duplicate_account_name_is_refused(bob_client, acme):
    AccountFactory(org=acme.org, name="Kaisha KK")
    before = snapshot(acme.org)
    response = bob_client.post(url("account_create", acme), {"name": "KAISHA kk"})
    assert response.status_code == 400
    assert "An account named “KAISHA kk” already exists." in page(response)
    assert snapshot(acme.org) == before


def test_cus01_accounts_live_search_returns_the_rows_fragment(alice_client, acme):
    kept = AccountFactory(org=acme.org, name="Kaisha KK")
    AccountFactory(org=acme.org, name="Other Inc")
    response = alice_client.get(
        url("accounts", acme), {"q": "kai"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="account-rows"
    )
    assert "<html" not in page(response)
    assert rows(response, "account") == [str(kept.pk)]


# --- Products --------------------------------------------------------------------------------
def test_cus01_admin_creates_edits_and_deletes_products(alice_client, acme):
    dept = acme.department
    response = alice_client.post(
        url("product_create", acme),
        {
            "name": "Router X",
            "code": "RX-1",
            "department": dept.pk,
            "description": "",
            "is_active": "on",
        },
        follow=True,
    )
    assert "Product “Router X” created." in page(response)
    product = Product.objects.for_org(acme.org).get()
    assert (product.code, product.department, product.is_active) == ("RX-1", dept, True)
    assert rows(response, "product") == [str(product.pk)]

    response = alice_client.post(
        url("product_detail", acme, product_id=product.pk),
        {"name": "Router X2", "code": "RX-2", "department": "", "description": ""},
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.code, product.department, product.is_active) == (
        "Router X2",
        "RX-2",
        None,
        False,
    )

    ContactProductFactory(contact__org=acme.org, product=product)
    response = alice_client.get(url("product_delete", acme, product_id=product.pk))
    assert "Delete “Router X2”?" in page(response)
    response = alice_client.post(url("product_delete", acme, product_id=product.pk))
    assert response.status_code == 302
    assert not Product.objects.for_org(acme.org).exists()
    assert not ContactProduct.objects.for_org(acme.org).exists()
    assert Contact.objects.for_org(acme.org).count() == 1


@pytest.mark.parametrize("code", ["RX-1", "rx-1"])
def test_cus01_duplicate_product_code_is_refused(alice_client, acme, code):
    ProductFactory(org=acme.org, name="Router X", code="RX-1")
    before = snapshot(acme.org)
    response = alice_client.post(url("product_create", acme), {"name": "Copy", "code": code})
    assert response.status_code == 400
    assert "The code RX-1 is already used by “Router X”." in page(response)
    assert snapshot(acme.org) == before


def test_cus01_product_department_choices_are_the_organizations(alice_client, acme, globex):
    text = page(alice_client.get(url("product_create", acme)))
    assert f'value="{acme.department.pk}"' in text
    assert f'value="{globex.department.pk}"' not in text


def test_cus01_agent_sees_products_but_cannot_change_them(bob_client, acme, records):
    product_id = records["product_id"]
    assert bob_client.get(url("products", acme)).status_code == 200
    response = bob_client.get(url("product_detail", acme, product_id=product_id))
    assert response.status_code == 200
    assert "<fieldset disabled>" in page(response)
    before = snapshot(acme.org)
    assert bob_client.get(url("product_create", acme)).status_code == 403
    assert bob_client.post(url("product_create", acme), {"name": "X"}).status_code == 403
    response = bob_client.post(
        url("product_detail", acme, product_id=product_id), {"name": "Changed"}
    )
    assert response.status_code == 403
    assert bob_client.post(url("product_delete", acme, product_id=product_id)).status_code == 403
    assert snapshot(acme.org) == before


# --- Permissions and tenancy -----------------------------------------------------------------
def test_cus01_restricted_agent_views_but_cannot_create_or_edit(client, acme, restricted, records):
    login(client, restricted)
    contact_id, account_id = records["contact_id"], records["account_id"]
    for name, kwargs in [
        ("contacts", {}),
        ("accounts", {}),
        ("products", {}),
        ("duplicates", {}),
        ("contact_detail", {"contact_id": contact_id}),
        ("account_detail", {"account_id": account_id}),
    ]:
        response = client.get(url(name, acme, **kwargs))
        assert response.status_code == 200, name
        assert "New contact" not in page(response)
    # No inline edit for them: no Edit button, and ?edit=1 shows the fields, not the form.
    shown = page(client.get(url("contact_detail", acme, contact_id=contact_id), {"edit": "1"}))
    assert 'data-action="edit"' not in shown and 'name="last_name"' not in shown
    before = snapshot(acme.org)
    other = ContactFactory(org=acme.org, email="x@example.com")
    before = snapshot(acme.org)
    refused = [
        client.get(url("contact_create", acme)),
        client.post(url("contact_create", acme), CONTACT),
        client.post(url("contact_detail", acme, contact_id=contact_id), CONTACT),
        client.post(url("contact_delete", acme, contact_id=contact_id)),
        client.post(
            url("contact_products", acme, contact_id=contact_id),
            {"action": "unlink", "unlink-product": records["product_id"]},
        ),
        client.post(
            url("contacts_merge", acme), {"primary": contact_id, "contacts": [contact_id, other.pk]}
        ),
        client.get(url("account_create", acme)),
        client.post(url("account_create", acme), {"name": "New"}),
        client.post(url("account_detail", acme, account_id=account_id), {"name": "Changed"}),
        client.post(url("account_delete", acme, account_id=account_id)),
        client.post(
            url("account_products", acme, account_id=account_id),
            {"action": "unlink", "unlink-product": records["product_id"]},
        ),
    ]
    assert [r.status_code for r in refused] == [403] * len(refused)
    assert snapshot(acme.org) == before


def test_cus01_crm_only_member_gets_403_on_every_customers_page(client, acme, crm_only, records):
    login(client, crm_only)
    before = snapshot(acme.org)
    for page_url in page_urls(acme, records):
        assert client.get(page_url).status_code in (403, 405), page_url
        assert client.post(page_url).status_code == 403, page_url
    assert snapshot(acme.org) == before
    assert b'data-nav="customers"' not in client.get(f"/{acme.org.portal}/crm/").content


def test_cus01_outsider_gets_404_on_acme_pages(client, acme, globex, records):
    login(client, globex.admin)
    before = snapshot(acme.org)
    for page_url in page_urls(acme, records):
        assert client.get(page_url).status_code == 404, page_url
        assert client.post(page_url).status_code == 404, page_url
    assert snapshot(acme.org) == before


def test_cus01_acme_ids_under_globex_portal_are_404(client, acme, globex, records):
    login(client, globex.admin)
    before = snapshot(acme.org)
    for name, key in PAGES:
        if key is None:
            continue
        page_url = url(name, globex, **{key: records[key]})
        assert client.get(page_url).status_code in (404, 405), page_url
        assert client.post(page_url).status_code == 404, page_url
    assert snapshot(acme.org) == before


@pytest.mark.parametrize("language", ["en", "ja"])
def test_cus01_every_page_renders_for_the_admin(client, acme, records, language):
    acme.admin.user.language = language
    acme.admin.user.save()
    login(client, acme.admin)
    ContactFactory(org=acme.org, email="dup@example.com")
    ContactFactory(org=acme.org, email="dup@example.com")
    for name, key in PAGES:
        if name in ("home", "contact_products", "account_products", "contacts_merge"):
            continue  # a redirect, or POST only
        response = client.get(url(name, acme, **({key: records[key]} if key else {})))
        assert response.status_code == 200, name
        assert response.headers["Content-Language"] == language


def test_cus01_navigation_links_to_contacts(alice_client, acme):
    text = page(alice_client.get(url("contacts", acme)))
    assert f'href="{url("contacts", acme)}" class="active" data-nav="customers"' in text


def test_cus01_customers_root_opens_the_contacts(client, acme):
    login(client, acme.admin)
    response = client.get("/acme/customers/")
    assert response.status_code == 302 and response.url == "/acme/customers/contacts/"
