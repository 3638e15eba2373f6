"""Contacts, accounts and products services (CUS-01): saving, uniqueness of emails and codes,
product links, deleting, duplicate groups and merging.

Alice is Acme's account admin, Bob an agent at Acme, Charlie (Globex) the outsider. Every
refusal is checked against the database, not only the exception."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from customers import services
from customers.models import Account, AccountProduct, Contact, ContactProduct, Product
from customers.views import contacts_merge_with_tickets
from helpdesk.tenancy.guards import OtherOrganizationError
from helpdesk.tickets.models import Ticket, TicketHistory
from tests.factories import DepartmentFactory, UserFactory

from .factories import (
    AccountFactory,
    AccountProductFactory,
    ContactFactory,
    ContactProductFactory,
    ProductFactory,
    make_thread,
    make_ticket,
)


def snapshot(org) -> dict:
    """Everything the customers services can change in `org`."""
    return {
        "contacts": list(Contact.objects.for_org(org).order_by("pk").values()),
        "accounts": list(Account.objects.for_org(org).order_by("pk").values()),
        "products": list(Product.objects.for_org(org).order_by("pk").values()),
        "contact_products": sorted(
            ContactProduct.objects.for_org(org).values_list("contact_id", "product_id")
        ),
        "account_products": sorted(
            AccountProduct.objects.for_org(org).values_list("account_id", "product_id")
        ),
        "tickets": sorted(Ticket.objects.for_org(org).values_list("pk", "contact_id")),
    }


@pytest.fixture
def restricted(acme):
    return acme.member(user=UserFactory(full_name="Rita Restricted"), desk_role="restricted")


@pytest.fixture
def crm_only(acme):
    return acme.member(user=UserFactory(full_name="Carl Crm"), desk_role="", crm_role="sales")


# --- Contacts --------------------------------------------------------------------------------
def test_cus01_contact_save_sets_org_and_normalises_email_and_tags(acme, bob):
    contact = services.contact_save(
        actor=bob,
        contact=Contact(
            last_name=" Tanaka ",
            first_name="Hanako",
            email=" Hanako.Tanaka@Example.COM ",
            secondary_email="HT@Example.com",
        ),
        tags="vip, Osaka,,  vip , osaka",
    )
    contact.refresh_from_db()
    assert contact.org_id == acme.org.pk
    assert (contact.last_name, contact.email, contact.secondary_email) == (
        "Tanaka",
        "hanako.tanaka@example.com",
        "ht@example.com",
    )
    assert contact.tag_list == ["Osaka", "vip"]  # one tag per name, whatever its case
    assert contact.name == "Tanaka Hanako"


@pytest.mark.parametrize(
    "email",
    ["taken@example.com", "TAKEN@example.com", "  Taken@Example.Com", "second@example.com"],
)
def test_cus01_contact_save_refuses_an_email_of_another_contact(acme, email):
    existing = ContactFactory(
        org=acme.org,
        last_name="Suzuki",
        first_name="Ichiro",
        email="taken@example.com",
        secondary_email="second@example.com",
    )
    before = snapshot(acme.org)
    with pytest.raises(ValidationError) as exc:
        services.contact_save(actor=acme.admin, contact=Contact(last_name="New", email=email))
    message = " ".join(exc.value.message_dict["email"])
    assert f"{email.strip().lower()} already belongs to the contact “{existing.name}”" in message
    assert snapshot(acme.org) == before


def test_cus01_contact_save_refuses_a_secondary_email_of_another_contact(acme):
    ContactFactory(org=acme.org, last_name="Suzuki", email="taken@example.com")
    before = snapshot(acme.org)
    with pytest.raises(ValidationError) as exc:
        services.contact_save(
            actor=acme.admin,
            contact=Contact(
                last_name="New", email="new@example.com", secondary_email="TAKEN@example.com"
            ),
        )
    assert "“Suzuki Pat”" in " ".join(exc.value.message_dict["secondary_email"])
    assert snapshot(acme.org) == before


def test_cus01_secondary_email_equal_to_the_email_is_refused(acme):
    with pytest.raises(ValidationError) as exc:
        services.contact_save(
            actor=acme.admin,
            contact=Contact(last_name="A", email="a@example.com", secondary_email="A@example.com"),
        )
    assert "secondary_email" in exc.value.message_dict
    assert not Contact.objects.for_org(acme.org).exists()


def test_cus01_same_email_is_allowed_in_another_organization(acme, globex):
    ContactFactory(org=acme.org, email="shared@example.com")
    contact = services.contact_save(
        actor=globex.admin, contact=Contact(last_name="G", email="shared@example.com")
    )
    assert contact.org_id == globex.org.pk


def test_cus01_contact_may_keep_or_change_the_case_of_its_own_email(acme):
    contact = ContactFactory(org=acme.org, email="me@example.com")
    contact.email = "ME@example.com"
    contact.phone = "03-1234-5678"
    services.contact_save(actor=acme.admin, contact=contact)
    contact.refresh_from_db()
    assert (contact.email, contact.phone) == ("me@example.com", "03-1234-5678")


def test_cus01_an_imported_duplicate_stays_editable_until_merged(acme):
    """Duplicates may exist (imports, mail); editing one must not be blocked by the other."""
    first = ContactFactory(org=acme.org, email="dup@example.com")
    ContactFactory(org=acme.org, email="DUP@example.com")
    first.title = "Manager"
    services.contact_save(actor=acme.admin, contact=first)
    first.refresh_from_db()
    assert first.title == "Manager"


def test_cus01_contact_belongs_to_an_account_of_the_organization(acme, globex):
    mine = AccountFactory(org=acme.org, name="Acme Customer KK")
    theirs = AccountFactory(org=globex.org, name="Globex Customer")
    contact = services.contact_save(
        actor=acme.admin, contact=Contact(last_name="Sato", account=mine)
    )
    assert Contact.objects.for_org(acme.org).get(pk=contact.pk).account == mine
    before = snapshot(acme.org)
    contact.account = theirs
    with pytest.raises(OtherOrganizationError):  # ORG-01: ensure_same_org
        services.contact_save(actor=acme.admin, contact=contact)
    assert snapshot(acme.org) == before


def test_cus01_contact_owner_must_have_desk_access(acme, bob, crm_only, globex):
    contact = services.contact_save(
        actor=acme.admin, contact=Contact(last_name="Sato", owner=bob.user)
    )
    assert contact.owner == bob.user
    for user in (crm_only.user, globex.admin.user):
        contact.owner = user
        with pytest.raises(ValidationError) as exc:
            services.contact_save(actor=acme.admin, contact=contact)
        assert "owner" in exc.value.message_dict
    assert Contact.objects.for_org(acme.org).get(pk=contact.pk).owner == bob.user


def test_cus01_restricted_agent_and_crm_user_cannot_change_contacts(acme, restricted, crm_only):
    contact = ContactFactory(org=acme.org)
    before = snapshot(acme.org)
    for actor in (restricted, crm_only):
        with pytest.raises(PermissionDenied):
            services.contact_save(actor=actor, contact=Contact(last_name="X"))
        with pytest.raises(PermissionDenied):
            services.contact_delete(actor=actor, contact=contact)
        with pytest.raises(PermissionDenied):
            services.account_save(actor=actor, account=Account(name="X"))
    assert snapshot(acme.org) == before


def test_cus01_contact_without_tickets_is_deleted_with_its_product_links(acme, bob):
    link = ContactProductFactory(contact__org=acme.org)
    services.contact_delete(actor=bob, contact=link.contact)
    assert not Contact.objects.for_org(acme.org).exists()
    assert not ContactProduct.objects.for_org(acme.org).exists()
    assert Product.objects.for_org(acme.org).filter(pk=link.product_id).exists()


def test_cus01_contact_with_tickets_cannot_be_deleted(acme):
    contact = ContactFactory(org=acme.org, last_name="Kimura", first_name="Taku")
    make_ticket(acme, contact)
    ContactProductFactory(contact=contact)
    before = snapshot(acme.org)
    with pytest.raises(ValidationError) as exc:
        services.contact_delete(actor=acme.admin, contact=contact)
    assert "“Kimura Taku” has tickets and cannot be deleted." in exc.value.messages[0]
    assert snapshot(acme.org) == before


def test_cus01_delete_refuses_a_contact_of_another_organization(acme, globex):
    theirs = ContactFactory(org=globex.org)
    with pytest.raises(OtherOrganizationError):
        services.contact_delete(actor=acme.admin, contact=theirs)
    assert Contact.objects.for_org(globex.org).filter(pk=theirs.pk).exists()


# --- Accounts --------------------------------------------------------------------------------
def test_cus01_account_save_and_duplicate_name_refused(acme, bob):
    account = services.account_save(
        actor=bob, account=Account(name=" Kaisha KK ", email="Info@Kaisha.JP")
    )
    assert (account.name, account.email, account.org_id) == (
        "Kaisha KK",
        "info@kaisha.jp",
        acme.org.pk,
    )
    before = snapshot(acme.org)
    with pytest.raises(ValidationError) as exc:
        services.account_save(actor=bob, account=Account(name="kaisha kk"))
    assert exc.value.message_dict["name"] == ["An account named “kaisha kk” already exists."]
    assert snapshot(acme.org) == before


def test_cus01_account_delete_keeps_its_contacts_and_tickets(acme):
    account = AccountFactory(org=acme.org)
    contact = ContactFactory(org=acme.org, account=account)
    ticket = make_ticket(acme, contact, account=account)
    AccountProductFactory(account=account)
    services.account_delete(actor=acme.admin, account=account)
    contact.refresh_from_db()
    ticket.refresh_from_db()
    assert contact.account is None
    assert ticket.account is None and ticket.contact == contact
    assert not AccountProduct.objects.for_org(acme.org).exists()


# --- Products --------------------------------------------------------------------------------
def test_cus01_product_save_is_for_desk_admins(acme, bob):
    dept = acme.department
    product = services.product_save(
        actor=acme.admin, product=Product(name=" Router X ", code=" RX-1 ", department=dept)
    )
    assert (product.name, product.code, product.department, product.org_id) == (
        "Router X",
        "RX-1",
        dept,
        acme.org.pk,
    )
    with pytest.raises(PermissionDenied):
        services.product_save(actor=bob, product=Product(name="Other"))
    with pytest.raises(PermissionDenied):
        services.product_delete(actor=bob, product=product)
    assert Product.objects.for_org(acme.org).count() == 1


@pytest.mark.parametrize("code", ["RX-1", "rx-1", " Rx-1 "])
def test_cus01_product_code_is_unique_per_org_case_insensitively(acme, globex, code):
    ProductFactory(org=acme.org, name="Router X", code="RX-1")
    before = snapshot(acme.org)
    with pytest.raises(ValidationError) as exc:
        services.product_save(actor=acme.admin, product=Product(name="Copy", code=code))
    assert exc.value.message_dict["code"] == ["The code RX-1 is already used by “Router X”."]
    assert snapshot(acme.org) == before
    # Another organization may use the same code.
    services.product_save(actor=globex.admin, product=Product(name="Theirs", code=code))


def test_cus01_products_without_code_do_not_clash(acme):
    for name in ("A", "B"):
        services.product_save(actor=acme.admin, product=Product(name=name, code=""))
    assert Product.objects.for_org(acme.org).count() == 2


def test_cus01_product_department_must_be_of_the_organization(acme, globex):
    with pytest.raises(OtherOrganizationError):
        services.product_save(
            actor=acme.admin, product=Product(name="X", department=globex.department)
        )
    assert not Product.objects.for_org(acme.org).exists()


def test_cus01_link_and_unlink_products_to_contacts_and_accounts(acme, bob):
    contact = ContactFactory(org=acme.org)
    account = AccountFactory(org=acme.org)
    product = ProductFactory(org=acme.org, department=DepartmentFactory(org=acme.org))
    for _ in range(2):  # idempotent
        services.contact_product_link(actor=bob, contact=contact, product=product)
        services.account_product_link(actor=bob, account=account, product=product)
    assert list(contact.products.all()) == [product]
    assert list(account.products.all()) == [product]
    for _ in range(2):
        services.contact_product_unlink(actor=bob, contact=contact, product=product)
        services.account_product_unlink(actor=bob, account=account, product=product)
    assert not contact.products.exists() and not account.products.exists()


def test_cus01_inactive_or_foreign_products_cannot_be_linked(acme, globex, restricted):
    contact = ContactFactory(org=acme.org)
    inactive = ProductFactory(org=acme.org, is_active=False, name="Old")
    theirs = ProductFactory(org=globex.org)
    with pytest.raises(ValidationError) as exc:
        services.contact_product_link(actor=acme.admin, contact=contact, product=inactive)
    assert exc.value.message_dict["product"] == ["“Old” is inactive and cannot be linked."]
    with pytest.raises(OtherOrganizationError):
        services.contact_product_link(actor=acme.admin, contact=contact, product=theirs)
    active = ProductFactory(org=acme.org)
    with pytest.raises(PermissionDenied):
        services.contact_product_link(actor=restricted, contact=contact, product=active)
    assert not ContactProduct.objects.exists()


# --- Duplicates ------------------------------------------------------------------------------
def test_cus01_duplicate_groups_by_email_and_secondary_email(acme, globex):
    a1 = ContactFactory(org=acme.org, email="one@example.com")
    a2 = ContactFactory(org=acme.org, email="ONE@example.com")
    b1 = ContactFactory(org=acme.org, email="two@example.com")
    b2 = ContactFactory(org=acme.org, email="other@example.com", secondary_email="Two@example.com")
    # Transitively: c3's secondary is c2's primary, c2's primary equals c1's.
    c1 = ContactFactory(org=acme.org, email="three@example.com")
    c2 = ContactFactory(org=acme.org, email="three@example.com")
    c3 = ContactFactory(org=acme.org, email="four@example.com", secondary_email="three@example.com")
    # Not duplicates: unique emails, blank emails, equal secondaries only, other organizations.
    ContactFactory(org=acme.org, email="alone@example.com")
    ContactFactory(org=acme.org, email="")
    ContactFactory(org=acme.org, email="")
    ContactFactory(org=acme.org, email="x@example.com", secondary_email="same@example.com")
    ContactFactory(org=acme.org, email="y@example.com", secondary_email="same@example.com")
    ContactFactory(org=globex.org, email="alone@example.com")
    ContactFactory(org=acme.org, email="self@example.com", secondary_email="self@example.com")
    make_ticket(acme, a2)
    groups = services.duplicate_contact_groups(acme.org)
    # Oldest contact first in each group; groups by that contact's email.
    assert [[c.pk for c in g] for g in groups] == [
        [a1.pk, a2.pk],
        [c1.pk, c2.pk, c3.pk],
        [b1.pk, b2.pk],
    ]
    counts = {c.pk: c.ticket_count for g in groups for c in g}
    assert counts[a2.pk] == 1 and counts[a1.pk] == 0
    assert services.duplicate_contact_groups(globex.org) == []


# --- Merge -----------------------------------------------------------------------------------
@pytest.fixture
def dupes(acme):
    primary = ContactFactory(
        org=acme.org,
        last_name="Yamada",
        first_name="",
        email="yamada@example.com",
        phone="",
    )
    services.contact_set_tags(actor=acme.admin, contact=primary, names="vip")
    account = AccountFactory(org=acme.org)
    other = ContactFactory(
        org=acme.org,
        last_name="Yamada",
        first_name="Taro",
        email="YAMADA@example.com",
        phone="090-1111-2222",
        title="CTO",
        account=account,
    )
    services.contact_set_tags(actor=acme.admin, contact=other, names="VIP, osaka")
    third = ContactFactory(
        org=acme.org,
        last_name="Yamada",
        first_name="T.",
        email="t.yamada@work.example",
        secondary_email="yamada@example.com",
        mobile="080-3333-4444",
    )
    return primary, other, third, account


def test_cus01_merge_moves_tickets_to_primary(acme, bob, dupes):
    primary, other, third, _account = dupes
    kept = make_ticket(acme, primary, "Kept")
    moved = [make_ticket(acme, other, "From other"), make_ticket(acme, third, "From third")]
    thread = make_thread(moved[0], other)
    result = contacts_merge_with_tickets(
        actor=bob, primary=primary, duplicates=[other, third], ip="192.0.2.1"
    )
    assert result.pk == primary.pk
    for ticket in [kept, *moved]:
        ticket.refresh_from_db()
        assert ticket.contact_id == primary.pk
    thread.refresh_from_db()
    assert thread.contact_id == primary.pk
    assert list(Contact.objects.for_org(acme.org).values_list("pk", flat=True)) == [primary.pk]
    history = TicketHistory.objects.for_org(acme.org).get(ticket=moved[1])
    assert (history.action, history.actor, history.ip_address, history.changes) == (
        "contact_merged",
        bob.user,
        "192.0.2.1",
        {"contact": ["Yamada T.", "Yamada"]},  # the primary's name when the tickets moved
    )
    assert not TicketHistory.objects.for_org(acme.org).filter(ticket=kept).exists()


def test_cus01_merge_moves_product_links_without_doubling_them(acme, dupes):
    primary, other, third, _account = dupes
    shared = ProductFactory(org=acme.org)
    only_other = ProductFactory(org=acme.org)
    ContactProductFactory(contact=primary, product=shared)
    ContactProductFactory(contact=other, product=shared)
    ContactProductFactory(contact=other, product=only_other)
    services.contacts_merge(actor=acme.admin, primary=primary, duplicates=[other, third])
    assert set(primary.products.all()) == {shared, only_other}
    assert ContactProduct.objects.for_org(acme.org).count() == 2


def test_cus01_merge_fills_blank_fields_and_keeps_a_different_email_as_secondary(acme, dupes):
    primary, other, third, account = dupes
    services.contacts_merge(actor=acme.admin, primary=primary, duplicates=[other, third])
    primary.refresh_from_db()
    assert primary.first_name == "Taro"  # from the oldest duplicate
    assert (primary.phone, primary.mobile, primary.title, primary.account) == (
        "090-1111-2222",
        "080-3333-4444",
        "CTO",
        account,
    )
    assert primary.email == "yamada@example.com"
    assert primary.secondary_email == "t.yamada@work.example"
    assert primary.tag_list == ["osaka", "vip"]  # the union, "VIP" being the tag "vip"


def test_cus01_merge_does_not_overwrite_the_primary_fields(acme):
    primary = ContactFactory(
        org=acme.org,
        first_name="Keep",
        phone="1",
        email="p@example.com",
        secondary_email="s@example.com",
    )
    other = ContactFactory(org=acme.org, first_name="Lose", phone="2", email="o@example.com")
    services.contacts_merge(actor=acme.admin, primary=primary, duplicates=[other])
    primary.refresh_from_db()
    assert (primary.first_name, primary.phone, primary.email, primary.secondary_email) == (
        "Keep",
        "1",
        "p@example.com",
        "s@example.com",
    )


def test_cus01_merge_refused_across_orgs(acme, globex):
    mine = ContactFactory(org=acme.org, email="same@example.com")
    theirs = ContactFactory(org=globex.org, email="same@example.com")
    ticket = make_ticket(globex, theirs)
    before_acme, before_globex = snapshot(acme.org), snapshot(globex.org)
    for merge in (services.contacts_merge, contacts_merge_with_tickets):
        kwargs = {"ip": None} if merge is contacts_merge_with_tickets else {}
        with pytest.raises(OtherOrganizationError):
            merge(actor=acme.admin, primary=mine, duplicates=[theirs], **kwargs)
        with pytest.raises(OtherOrganizationError):
            merge(actor=acme.admin, primary=theirs, duplicates=[mine], **kwargs)
    assert snapshot(acme.org) == before_acme
    assert snapshot(globex.org) == before_globex
    ticket.refresh_from_db()
    assert ticket.contact_id == theirs.pk


def test_cus01_merge_needs_other_contacts_and_the_edit_role(acme, restricted, dupes):
    primary, other, _third, _account = dupes
    before = snapshot(acme.org)
    with pytest.raises(ValidationError):
        services.contacts_merge(actor=acme.admin, primary=primary, duplicates=[])
    with pytest.raises(ValidationError):
        services.contacts_merge(actor=acme.admin, primary=primary, duplicates=[primary, other])
    with pytest.raises(PermissionDenied):
        services.contacts_merge(actor=restricted, primary=primary, duplicates=[other])
    assert snapshot(acme.org) == before


def test_cus01_merge_is_all_or_nothing(acme, dupes, monkeypatch):
    primary, other, third, _account = dupes
    make_ticket(acme, other)
    before = snapshot(acme.org)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Contact, "save", fail)
    with pytest.raises(RuntimeError):  # after the tickets moved: they move back too
        contacts_merge_with_tickets(
            actor=acme.admin, primary=primary, duplicates=[other, third], ip=None
        )
    assert snapshot(acme.org) == before


def test_cus01_merging_records_alone_refuses_a_duplicate_that_has_tickets(acme, dupes):
    """Customers never write tickets (layers): the caller moves them first."""
    primary, other, _third, _account = dupes
    make_ticket(acme, other)
    before = snapshot(acme.org)
    with pytest.raises(ValidationError, match="still has tickets"):
        services.contacts_merge(actor=acme.admin, primary=primary, duplicates=[other])
    assert snapshot(acme.org) == before


def test_cus01_saving_a_record_of_another_org_never_moves_it(acme, globex):
    """A forged update of Globex's rows by an Acme member is refused, rows unchanged."""
    contact = ContactFactory(org=globex.org)
    account = AccountFactory(org=globex.org)
    product = ProductFactory(org=globex.org)
    before = snapshot(globex.org)
    for save, kwargs in [
        (services.contact_save, {"contact": contact}),
        (services.account_save, {"account": account}),
        (services.product_save, {"product": product}),
    ]:
        with pytest.raises(OtherOrganizationError):
            save(actor=acme.admin, **kwargs)
    assert snapshot(globex.org) == before
    assert not Contact.objects.for_org(acme.org).exists()
