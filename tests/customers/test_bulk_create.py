"""customers.services.records_create_bulk (the CRM sync's initial sync, CRM-04): all or
nothing, emails and names checked against the organization, an "added" history entry each."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from customers import services
from customers.models import Account, Contact, CustomerHistory


def test_crm04_bulk_creates_contacts_with_history(acme):
    pks = services.records_create_bulk(
        actor=acme.admin,
        kind="contact",
        rows=[
            {"last_name": "Ito", "email": "ITO@cust.test"},
            {"last_name": "Abe", "email": "abe@cust.test", "title": "CEO"},
        ],
    )
    contacts = Contact.objects.for_org(acme.org).order_by("pk")
    assert [c.pk for c in contacts] == pks
    assert [(c.last_name, c.email, c.title) for c in contacts] == [
        ("Ito", "ito@cust.test", ""),
        ("Abe", "abe@cust.test", "CEO"),
    ]
    entries = CustomerHistory.objects.for_org(acme.org).filter(action="added")
    assert sorted(entries.values_list("record_id", flat=True)) == sorted(pks)


def test_crm04_bulk_refuses_a_taken_email_or_name_and_writes_nothing(acme, globex):
    Contact.objects.create(org=acme.org, last_name="Old", secondary_email="taken@cust.test")
    Account.objects.create(org=acme.org, name="Acme Buyer")
    with pytest.raises(ValidationError, match="taken@cust.test"):
        services.records_create_bulk(
            actor=acme.admin,
            kind="contact",
            rows=[
                {"last_name": "New", "email": "new@cust.test"},
                {"last_name": "T", "email": "taken@cust.test"},
            ],
        )
    with pytest.raises(ValidationError):
        services.records_create_bulk(
            actor=acme.admin, kind="account", rows=[{"name": "acme buyer"}]
        )
    with pytest.raises(ValidationError):
        services.records_create_bulk(
            actor=acme.admin, kind="account", rows=[{"name": "Twice"}, {"name": "TWICE"}]
        )
    assert Contact.objects.for_org(acme.org).count() == 1
    assert Account.objects.for_org(acme.org).count() == 1
    # Another organization's same email is no obstacle; a member without Desk access is refused.
    services.records_create_bulk(
        actor=globex.admin, kind="contact", rows=[{"last_name": "T", "email": "taken@cust.test"}]
    )
    crm_only = acme.member(desk_role="", crm_role="sales")
    with pytest.raises(PermissionDenied):
        services.records_create_bulk(actor=crm_only, kind="account", rows=[{"name": "X"}])


def test_crm04_bulk_contacts_take_only_accounts_of_their_organization(acme, globex):
    """The accounts are checked in one query over all rows: another organization's account,
    or one that does not exist, refuses the whole batch with its reason."""
    ours = Account.objects.create(org=acme.org, name="Ours")
    theirs = Account.objects.create(org=globex.org, name="Theirs")
    for account_id in (theirs.pk, theirs.pk + 1000):
        with pytest.raises(ValidationError, match="An account does not exist"):
            services.records_create_bulk(
                actor=acme.admin,
                kind="contact",
                rows=[
                    {"last_name": "A", "email": "a@cust.test", "account": ours.pk},
                    {"last_name": "B", "email": "b@cust.test", "account": account_id},
                ],
            )
    assert not Contact.objects.for_org(acme.org).exists()
    with pytest.raises(ValidationError, match="“Ours”"):
        services.records_create_bulk(actor=acme.admin, kind="account", rows=[{"name": "OURS"}])
    pks = services.records_create_bulk(
        actor=acme.admin,
        kind="contact",
        rows=[{"last_name": "A", "email": "A@Cust.test", "account": ours.pk}],
    )
    contact = Contact.objects.for_org(acme.org).get(pk=pks[0])
    assert contact.account_id == ours.pk
    with pytest.raises(ValidationError, match="a@cust.test"):
        services.records_create_bulk(
            actor=acme.admin, kind="contact", rows=[{"last_name": "C", "email": "a@CUST.test"}]
        )
