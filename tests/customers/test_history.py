"""History of contacts and accounts (CUS-04, issue 13 item 3): every change written with who,
when, from which IP and before/after values; the History tab for Desk administrators only,
with its agent and action filters and the detail of an entry."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from customers import services
from customers.models import Account, Contact, CustomerHistory
from tests.conftest import login
from tests.factories import UserFactory

from .factories import AccountFactory, ContactFactory, ProductFactory

IP = "198.51.100.23"


def url(name: str, tenant, **kwargs) -> str:
    return reverse(f"customers:{name}", kwargs={"portal": tenant.org.portal, **kwargs})


def entries(tenant, kind="contact", record_id=None):
    rows = CustomerHistory.objects.for_org(tenant.org).filter(kind=kind)
    if record_id is not None:
        rows = rows.filter(record_id=record_id)
    return list(rows.order_by("pk"))


# --- Written by the services -----------------------------------------------------------------
def test_cus04_create_and_update_write_actor_ip_and_before_after(acme, bob):
    account = AccountFactory(org=acme.org, name="Kaisha KK")
    contact = services.contact_save(
        actor=bob, contact=Contact(last_name="Sato", email="Sato@Example.com"), ip=IP
    )
    contact.title = "CTO"
    contact.account = account
    contact.email = "sato@example.com"  # unchanged once normalised: not a change
    services.contact_save(actor=bob, contact=contact, ip=IP)
    added, updated = entries(acme, record_id=contact.pk)
    assert (added.action, added.actor, added.actor_name, added.ip_address) == (
        "added",
        bob.user,
        "Bob",
        IP,
    )
    assert added.changes == {"last_name": [None, "Sato"], "email": [None, "sato@example.com"]}
    assert updated.action == "updated"
    assert updated.changes == {"title": [None, "CTO"], "account": [None, "Kaisha KK"]}


def test_cus04_owner_change_is_its_own_entry_with_names(acme, bob):
    carol = acme.member(user=UserFactory(full_name="Carol"))
    contact = ContactFactory(org=acme.org, owner=bob.user)
    contact.owner = carol.user
    contact.phone = "03-1234-5678"
    services.contact_save(actor=acme.admin, contact=contact, ip=IP)
    updated, owner = entries(acme, record_id=contact.pk)
    assert (updated.action, updated.changes) == ("updated", {"phone": [None, "03-1234-5678"]})
    assert (owner.action, owner.changes) == ("owner_changed", {"owner": ["Bob", "Carol"]})


def test_cus04_tags_products_and_delete_are_recorded(acme, bob):
    account = AccountFactory(org=acme.org, name="Doomed KK")
    product = ProductFactory(org=acme.org, name="Router", code="RT-1")
    services.account_set_tags(actor=bob, account=account, names="gold", ip=IP)
    services.account_product_link(actor=bob, account=account, product=product, ip=IP)
    services.account_product_link(actor=bob, account=account, product=product, ip=IP)  # no-op
    services.account_product_unlink(actor=bob, account=account, product=product, ip=IP)
    account_id = account.pk
    services.account_delete(actor=bob, account=account, ip=IP)
    assert [(e.action, e.changes) for e in entries(acme, "account", account_id)] == [
        ("tagged", {"tags": [None, "gold"]}),
        ("product_linked", {"products": [None, "Router (RT-1)"]}),
        ("product_unlinked", {"products": ["Router (RT-1)", None]}),
        ("deleted", {"name": ["Doomed KK", None]}),
    ]
    assert not Account.objects.for_org(acme.org).filter(pk=account_id).exists()


def test_cus04_merge_records_both_sides_and_history_survives(acme, bob):
    primary = ContactFactory(org=acme.org, last_name="Mori", email="mori@example.com", phone="")
    other = ContactFactory(
        org=acme.org, last_name="Mori", email="MORI@example.com", phone="090-0000-1111"
    )
    other_id = other.pk
    services.contacts_merge(actor=bob, primary=primary, duplicates=[other], ip=IP)
    (merged,) = entries(acme, record_id=primary.pk)
    assert merged.action == "merged" and merged.ip_address == IP
    assert merged.changes["phone"] == [None, "090-0000-1111"]
    assert merged.changes["merged_from"] == [None, f"Mori Pat <MORI@example.com> (#{other_id})"]
    (into,) = entries(acme, record_id=other_id)
    assert (into.action, into.changes) == (
        "merged",
        {"merged_into": [None, f"Mori Pat (#{primary.pk})"]},
    )


def test_cus04_refused_save_writes_no_history(acme, bob):
    contact = ContactFactory(org=acme.org)
    contact.email = "not an email"
    with pytest.raises(Exception):  # noqa: B017 - ValidationError; the point is what stays
        services.contact_save(actor=bob, contact=contact, ip=IP)
    assert entries(acme) == []


def test_cus04_history_add_bulk_for_the_importer(acme, bob):
    contacts = [ContactFactory(org=acme.org) for _ in range(3)]
    rows = services.history_add_bulk(
        bob, "contact", contacts, "imported", [{"source": [None, "a.csv"]}] * 3, IP
    )
    assert len(rows) == 3
    assert {(e.record_id, e.action, e.ip_address) for e in entries(acme)} == {
        (c.pk, "imported", IP) for c in contacts
    }


def test_cus04_history_add_refuses_a_record_of_another_org(acme, globex):
    from helpdesk.tenancy.guards import OtherOrganizationError

    theirs = ContactFactory(org=globex.org)
    with pytest.raises(OtherOrganizationError):
        services.history_add(acme.admin, "contact", theirs, "note_added")


# --- The History tab ------------------------------------------------------------------------------
@pytest.fixture
def history(acme, bob):
    """A contact changed by Bob (twice) and by the admin (once)."""
    contact = services.contact_save(actor=bob, contact=Contact(last_name="Ueda"), ip=IP)
    contact.title = "Buyer"
    services.contact_save(actor=bob, contact=contact, ip="192.0.2.9")
    services.contact_set_tags(actor=acme.admin, contact=contact, names="vip", ip=IP)
    return contact


def actions(response) -> list[str]:
    return re.findall(r'<tr data-action="(\w+)"', response.content.decode())


def test_cus04_history_tab_is_for_desk_admins_only(client, acme, bob, history):
    entry = entries(acme)[0]
    login(client, bob)
    tab = url("contact_history", acme, contact_id=history.pk)
    detail = url("contact_history_entry", acme, contact_id=history.pk, entry_id=entry.pk)
    assert client.get(tab).status_code == 403
    assert client.get(detail).status_code == 403
    page = client.get(url("contact_detail", acme, contact_id=history.pk), {"tab": "history"})
    assert 'data-testid="history-tab"' not in page.content.decode()  # nor on the page


def test_cus04_history_tab_lists_who_when_ip_and_action_newest_first(alice_client, acme, history):
    response = alice_client.get(url("contact_history", acme, contact_id=history.pk))
    assert response.status_code == 200
    text = response.content.decode()
    assert "<html" not in text  # a fragment
    assert '<h2 id="history-tab-title"' in text
    assert actions(response) == ["tagged", "updated", "added"]
    assert "192.0.2.9" in text and IP in text
    assert "Bob" in text and "Acme Admin" in text


def test_cus04_history_tab_filters_by_agent_and_action(alice_client, acme, bob, history):
    tab = url("contact_history", acme, contact_id=history.pk)
    response = alice_client.get(tab, {"agent": bob.user.pk})
    assert actions(response) == ["updated", "added"]
    text = response.content.decode()
    # The agent select offers the people in this record's history.
    assert f'<option value="{bob.user.pk}" selected>Bob</option>' in text
    assert f'<option value="{acme.admin.user.pk}">Acme Admin</option>' in text
    assert actions(alice_client.get(tab, {"action": "tagged"})) == ["tagged"]
    assert actions(alice_client.get(tab, {"agent": acme.admin.user.pk, "action": "added"})) == []
    assert 'hx-target="#tab-panel"' in text


def test_cus04_history_detail_shows_before_and_after(alice_client, acme, history):
    updated = entries(acme)[1]
    response = alice_client.get(
        url("contact_history_entry", acme, contact_id=history.pk, entry_id=updated.pk)
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert '<tr data-field="title">' in text
    assert re.search(r'data-testid="before"><span class="muted">\(empty\)', text)
    assert 'data-testid="after">Buyer</td>' in text
    assert 'data-testid="history-ip">192.0.2.9<' in text


def test_cus04_history_detail_of_another_record_is_404(alice_client, acme, history):
    other = ContactFactory(org=acme.org)
    entry = entries(acme)[0]
    response = alice_client.get(
        url("contact_history_entry", acme, contact_id=other.pk, entry_id=entry.pk)
    )
    assert response.status_code == 404


def test_cus04_history_tab_pages_by_25(alice_client, acme):
    account = AccountFactory(org=acme.org)
    services.history_add_bulk(acme.admin, "account", [account.pk] * 30, "updated")
    tab = url("account_history", acme, account_id=account.pk)
    first = alice_client.get(tab)
    assert len(actions(first)) == 25
    assert 'rel="next"' in first.content.decode()
    assert len(actions(alice_client.get(tab, {"p": 2}))) == 5


def test_cus04_account_history_can_include_its_contacts(alice_client, acme, bob):
    account = AccountFactory(org=acme.org)
    contact = ContactFactory(org=acme.org, account=account)
    services.account_set_tags(actor=bob, account=account, names="a")
    services.contact_set_tags(actor=bob, contact=contact, names="b")
    tab = url("account_history", acme, account_id=account.pk)
    assert actions(alice_client.get(tab)) == ["tagged"]
    assert actions(alice_client.get(tab, {"contacts": "1"})) == ["tagged", "tagged"]
