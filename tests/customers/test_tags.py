"""Tags of contacts and accounts (CUS-01, issue 13 item 7): one tagging model with tickets'
tags, not a comma-separated string; the data migration of the old text; the lists' tag and
owner filters; merging keeps the union."""

from __future__ import annotations

import importlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.migrations import RunPython
from django.db.migrations.loader import MigrationLoader
from django.urls import reverse

from customers import services
from customers.models import AccountTag, ContactTag, CustomerHistory, Tag
from customers.selectors import accounts_search, contacts_search
from helpdesk.tenancy.guards import OtherOrganizationError
from helpdesk.tickets import models as ticket_models
from helpdesk.tickets.services.tags import ticket_tag_add
from tests.conftest import login
from tests.factories import UserFactory

from .factories import AccountFactory, ContactFactory, make_ticket

migration = importlib.import_module("customers.migrations.0004_tags_custom_fields_history")


def url(name: str, tenant, **kwargs) -> str:
    return reverse(f"customers:{name}", kwargs={"portal": tenant.org.portal, **kwargs})


# --- One tagging model -------------------------------------------------------------------------
def test_cus01_tag_is_one_model_shared_with_tickets():
    assert ticket_models.Tag is Tag
    assert Tag._meta.db_table == "tickets_tag"  # moved without moving data


def test_cus01_a_name_reuses_one_tag_across_tickets_and_contacts_whatever_its_case(acme, bob):
    ticket = make_ticket(acme, ContactFactory(org=acme.org))
    ticket_tag_add(actor=acme.admin, ticket=ticket, name="VIP")
    contact = ContactFactory(org=acme.org)
    account = AccountFactory(org=acme.org)
    assert services.contact_set_tags(actor=bob, contact=contact, names="vip, Osaka") == [
        "Osaka",
        "VIP",
    ]
    services.account_set_tags(actor=bob, account=account, names=["osaka"])
    assert Tag.objects.for_org(acme.org).count() == 2  # VIP (from the ticket) and Osaka
    vip = Tag.objects.for_org(acme.org).get(name="VIP")
    assert list(
        ContactTag.objects.for_org(acme.org).filter(tag=vip).values_list("contact", flat=True)
    ) == [contact.pk]
    assert AccountTag.objects.for_org(acme.org).get().tag.name == "Osaka"


def test_cus01_set_tags_replaces_the_set_and_writes_history(acme, bob):
    contact = ContactFactory(org=acme.org)
    services.contact_set_tags(actor=bob, contact=contact, names="a, b", ip="192.0.2.7")
    assert services.contact_set_tags(actor=bob, contact=contact, names="B, c") == ["b", "c"]
    contact.refresh_from_db()
    assert contact.tag_list == ["b", "c"]
    actions = [
        (h.action, h.changes["tags"], h.ip_address)
        for h in CustomerHistory.objects.for_org(acme.org).order_by("pk")
    ]
    assert actions == [
        ("tagged", [None, "a, b"], "192.0.2.7"),
        ("untagged", ["a", None], None),
        ("tagged", [None, "c"], None),
    ]


@pytest.mark.parametrize(
    ("names", "message"),
    [
        ("ok, " + "x" * 51, "A tag has at most 50 characters."),
        (", ".join(f"t{i}" for i in range(31)), "Use at most 30 tags."),
    ],
)
def test_cus01_set_tags_refuses_bad_names_and_writes_nothing(acme, bob, names, message):
    contact = ContactFactory(org=acme.org)
    with pytest.raises(ValidationError) as exc:
        services.contact_set_tags(actor=bob, contact=contact, names=names)
    assert exc.value.message_dict == {"tags": [message]}
    assert not ContactTag.objects.for_org(acme.org).exists()
    assert not Tag.objects.for_org(acme.org).exists()


def test_cus01_set_tags_needs_the_edit_role_and_the_same_org(acme, globex):
    restricted = acme.member(user=UserFactory(), desk_role="restricted")
    contact = ContactFactory(org=acme.org)
    with pytest.raises(PermissionDenied):
        services.contact_set_tags(actor=restricted, contact=contact, names="a")
    with pytest.raises(OtherOrganizationError):
        services.contact_set_tags(actor=globex.admin, contact=contact, names="a")


# --- The data migration ------------------------------------------------------------------------
def test_cus01_migration_turns_comma_separated_tags_into_links(acme, globex):
    """The function of migration 0004, run on a contacts table that still has the old column
    (added back inside this test's transaction) through the migration's historical models."""
    existing = Tag.objects.create(org=acme.org, name="VIP")  # a ticket tag of the org
    first = ContactFactory(org=acme.org)
    second = ContactFactory(org=acme.org)
    other_org = ContactFactory(org=globex.org)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending key checks before ALTER
        cursor.execute("ALTER TABLE customers_contact ADD COLUMN tags varchar(255) DEFAULT ''")
        for contact, text in (
            (first, "a, b"),
            (second, " vip ,A,, a , tokyo  osaka"),
            (other_org, "a"),
        ):
            cursor.execute(
                "UPDATE customers_contact SET tags = %s WHERE id = %s", [text, contact.pk]
            )
    # The models as the RunPython step sees them: the link tables made, the text not dropped.
    state = MigrationLoader(connection).project_state(
        ("customers", "0004_tags_custom_fields_history"), at_end=False
    )
    for operation in migration.Migration.operations:
        if isinstance(operation, RunPython):
            break
        operation.state_forwards("customers", state)
    migration.contact_tags_to_links(state.apps, None)

    def names(contact):
        return sorted(
            ContactTag.objects.for_org(contact.org)
            .filter(contact=contact)
            .values_list("tag__name", flat=True)
        )

    assert names(first) == ["a", "b"]  # "a, b" ends as two ContactTag rows
    # "A" reuses the tag "a" the first contact made, "vip" the org's "VIP".
    assert names(second) == ["VIP", "a", "tokyo osaka"]
    assert names(other_org) == ["a"]
    assert Tag.objects.for_org(acme.org).filter(name__iexact="a").count() == 1
    assert Tag.objects.for_org(acme.org).get(name="VIP") == existing
    assert Tag.objects.for_org(globex.org).count() == 1


def test_cus01_migration_tag_names_are_cleaned_like_the_service():
    assert migration.tag_names(" a ,B,, b ,  two   words ") == ["a", "B", "two words"]
    assert migration.tag_names("") == []


# --- Lists: filter by tag and owner ------------------------------------------------------------
def test_cus01_contacts_and_accounts_filter_by_tag_any_case(acme, bob):
    tagged = ContactFactory(org=acme.org)
    ContactFactory(org=acme.org)
    services.contact_set_tags(actor=bob, contact=tagged, names="Gold")
    assert list(contacts_search(acme.org, tag="gold")) == [tagged]
    assert list(contacts_search(acme.org, tag="silver")) == []
    account = AccountFactory(org=acme.org)
    AccountFactory(org=acme.org)
    services.account_set_tags(actor=bob, account=account, names="gold")
    assert list(accounts_search(acme.org, tag="GOLD")) == [account]


def test_cus01_lists_filter_by_owner_me_none_and_a_user(acme, bob):
    mine = ContactFactory(org=acme.org, owner=bob.user)
    nobody = ContactFactory(org=acme.org)
    admins = ContactFactory(org=acme.org, owner=acme.admin.user)
    assert list(contacts_search(acme.org, owner="me", user=bob.user)) == [mine]
    assert list(contacts_search(acme.org, owner="none")) == [nobody]
    assert list(contacts_search(acme.org, owner=str(acme.admin.user.pk))) == [admins]
    assert list(contacts_search(acme.org, owner="nonsense")) == []
    account = AccountFactory(org=acme.org, owner=bob.user)
    AccountFactory(org=acme.org)
    assert list(accounts_search(acme.org, owner="me", user=bob.user)) == [account]


def test_cus01_contacts_page_filters_by_tag_and_owner_and_shows_chips(client, acme, bob):
    gold = ContactFactory(org=acme.org, last_name="Goldman", owner=bob.user)
    ContactFactory(org=acme.org, last_name="Plainsby")
    services.contact_set_tags(actor=bob, contact=gold, names="gold")
    login(client, bob)
    text = client.get(url("contacts", acme), {"tag": "GOLD"}).content.decode()
    assert "Goldman" in text and "Plainsby" not in text
    assert 'class="tag-chip"' in text
    text = client.get(url("contacts", acme), {"owner": "me"}).content.decode()
    assert "Goldman" in text and "Plainsby" not in text
    text = client.get(url("accounts", acme), {"tag": "gold"}).content.decode()
    assert "No accounts" in text


def test_cus01_tag_suggestions_complete_the_last_name_typed(client, acme, bob):
    for name in ("Gold", "Golf", "Silver"):
        Tag.objects.create(org=acme.org, name=name)
    login(client, bob)
    text = client.get(url("tag_suggest", acme), {"tags": "Silver, go"}).content.decode()
    assert (
        text.strip()
        == '<option value="Silver, Gold"></option><option value="Silver, Golf"></option>'
    )


# --- The contact form ---------------------------------------------------------------------------
def test_cus01_contact_form_saves_tags_and_shows_them(client, acme, bob):
    contact = ContactFactory(org=acme.org)
    services.contact_set_tags(actor=bob, contact=contact, names="old")
    login(client, bob)
    form = {
        "last_name": contact.last_name,
        "first_name": "",
        "email": contact.email,
        "secondary_email": "",
        "phone": "",
        "mobile": "",
        "title": "",
        "account": "",
        "owner": "",
        "tags": "new,  Old ",
        "description": "",
    }
    response = client.post(url("contact_detail", acme, contact_id=contact.pk), form)
    assert response.status_code in (200, 302)
    contact.refresh_from_db()
    assert contact.tag_list == ["new", "old"]
    form["tags"] = "x" * 60
    response = client.post(url("contact_detail", acme, contact_id=contact.pk), form)
    assert response.status_code == 400
    assert "A tag has at most 50 characters." in response.content.decode()
    contact.refresh_from_db()
    assert contact.tag_list == ["new", "old"]


# --- Merge keeps the union -----------------------------------------------------------------------
def test_cus01_merge_keeps_the_union_of_tags(acme, bob):
    primary = ContactFactory(org=acme.org, email="m@example.com")
    other = ContactFactory(org=acme.org, email="M@example.com")
    services.contact_set_tags(actor=bob, contact=primary, names="a, b")
    services.contact_set_tags(actor=bob, contact=other, names="B, c")
    services.contacts_merge(actor=bob, primary=primary, duplicates=[other])
    primary.refresh_from_db()
    assert primary.tag_list == ["a", "b", "c"]
    assert ContactTag.objects.for_org(acme.org).count() == 3
