"""Custom fields of contacts and accounts (CUS-01, issue 13 item 7): the machinery of ticket
fields (helpdesk.customvalues), validated by the services, shown on the forms, configured by
Desk administrators on their Setup page."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from customers import services
from customers.models import Account, Contact, CustomerField, CustomerHistory
from helpdesk import customvalues
from helpdesk.tickets import fields as ticket_fields
from tests.conftest import login

from .factories import AccountFactory, ContactFactory


def url(name: str, tenant, **kwargs) -> str:
    return reverse(f"customers:{name}", kwargs={"portal": tenant.org.portal, **kwargs})


def field(tenant, module="contact", **kwargs) -> CustomerField:
    kwargs.setdefault("label", kwargs.get("key", "F").title())
    return CustomerField.objects.create(org=tenant.org, module=module, **kwargs)


@pytest.fixture
def contact_fields(acme):
    return [
        field(acme, key="plan", type="picklist", choices=["Basic", "Pro"], required=True, order=1),
        field(acme, key="seats", type="number", order=2),
        field(acme, key="renewal", type="date", order=3),
    ]


def test_cus01_tickets_and_customers_share_one_field_machinery():
    assert ticket_fields.validate_custom_values is customvalues.validate_custom_values
    assert ticket_fields.FieldType is customvalues.FieldType


# --- Validation by the services ------------------------------------------------------------------
def test_cus01_contact_custom_values_are_cleaned_and_stored(acme, bob, contact_fields):
    contact = services.contact_save(
        actor=bob,
        contact=Contact(last_name="Kato"),
        custom_fields={"plan": "Pro", "seats": "12", "renewal": "2027-04-01"},
    )
    contact.refresh_from_db()
    assert contact.custom_fields == {"plan": "Pro", "seats": 12, "renewal": "2027-04-01"}


@pytest.mark.parametrize(
    ("values", "errors"),
    [
        ({"seats": "3"}, {"cf_plan": ["Plan is required."]}),
        ({"plan": "Gold"}, {"cf_plan": ["Choose one of: Basic, Pro."]}),
        ({"plan": "Pro", "seats": "many"}, {"cf_seats": ["Enter a number."]}),
        ({"plan": "Pro", "renewal": "01/04/2027"}, {"cf_renewal": ["Enter a date as YYYY-MM-DD."]}),
        ({"plan": "Pro", "nope": "x"}, {"cf_nope": ["There is no such field for these records."]}),
    ],
)
def test_cus01_refused_custom_values_save_nothing(acme, bob, contact_fields, values, errors):
    contact = ContactFactory(org=acme.org, last_name="Before", custom_fields={"plan": "Basic"})
    services.contact_set_tags(actor=bob, contact=contact, names="kept")
    contact.last_name = "After"
    with pytest.raises(ValidationError) as exc:
        services.contact_save(actor=bob, contact=contact, tags="new", custom_fields=values)
    assert exc.value.message_dict == errors
    contact = Contact.objects.for_org(acme.org).get(pk=contact.pk)
    assert (contact.last_name, contact.custom_fields, contact.tag_list) == (
        "Before",
        {"plan": "Basic"},
        ["kept"],
    )


def test_cus01_values_of_inactive_fields_are_kept_on_save(acme, bob):
    field(acme, key="old", type="text", is_active=False)
    field(acme, key="new", type="text")
    contact = ContactFactory(org=acme.org, custom_fields={"old": "legacy", "new": "x"})
    services.contact_save(actor=bob, contact=contact, custom_fields={"new": "y"})
    contact.refresh_from_db()
    assert contact.custom_fields == {"old": "legacy", "new": "y"}


def test_cus01_account_fields_are_separate_from_contact_fields(acme, bob):
    field(acme, module="account", key="tier", type="picklist", choices=["A", "B"], required=True)
    field(acme, module="contact", key="tier", type="text")  # same key, other module
    with pytest.raises(ValidationError) as exc:
        services.account_save(actor=bob, account=Account(name="Kaisha"), custom_fields={})
    assert exc.value.message_dict == {"cf_tier": ["Tier is required."]}
    account = services.account_save(
        actor=bob, account=Account(name="Kaisha"), custom_fields={"tier": "B"}
    )
    assert account.custom_fields == {"tier": "B"}


# --- Forms ---------------------------------------------------------------------------------------
CONTACT = {
    "last_name": "Tanaka",
    "first_name": "",
    "email": "tanaka@example.com",
    "secondary_email": "",
    "phone": "",
    "mobile": "",
    "title": "",
    "account": "",
    "owner": "",
    "tags": "",
    "description": "",
}


def test_cus01_contact_form_shows_active_fields_with_ticket_widgets(client, acme, bob):
    field(acme, key="plan", label="Plan", type="picklist", choices=["Basic", "Pro"])
    field(acme, key="renewal", label="Renewal", type="date")
    field(acme, key="hidden", label="Hidden field", type="text", is_active=False)
    login(client, bob)
    text = client.get(url("contact_create", acme)).content.decode()
    assert 'name="cf_plan"' in text and '<option value="Pro">Pro</option>' in text
    assert 'type="date" name="cf_renewal"' in text
    assert "Hidden field" not in text


def test_cus01_contact_form_refuses_bad_values_with_the_message_and_keeps_input(client, acme, bob):
    field(acme, key="seats", label="Seats", type="number", required=True)
    login(client, bob)
    response = client.post(url("contact_create", acme), {**CONTACT, "cf_seats": "lots"})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Enter a number." in text and 'value="lots"' in text
    assert not Contact.objects.for_org(acme.org).exists()
    response = client.post(url("contact_create", acme), {**CONTACT, "cf_seats": "7"})
    assert response.status_code == 302
    assert Contact.objects.for_org(acme.org).get().custom_fields == {"seats": 7}


def test_cus01_account_form_saves_custom_values(client, acme, bob):
    field(acme, module="account", key="vip", label="VIP", type="checkbox")
    account = AccountFactory(org=acme.org, name="Kaisha")
    login(client, bob)
    response = client.post(
        url("account_detail", acme, account_id=account.pk),
        {
            "name": "Kaisha",
            "email": "",
            "phone": "",
            "website": "",
            "owner": "",
            "tags": "a",
            "description": "",
            "cf_vip": "on",
        },
    )
    assert response.status_code in (200, 302)
    account.refresh_from_db()
    assert (account.custom_fields, account.tag_list) == ({"vip": True}, ["a"])


# --- Setup ---------------------------------------------------------------------------------------
def test_cus01_field_setup_is_for_desk_admins_only(client, acme, bob):
    made = field(acme, key="plan", type="text")
    login(client, bob)
    assert client.get(url("fields", acme)).status_code == 403
    assert client.get(url("field_edit", acme, customer_field_id=made.pk)).status_code == 403
    response = client.post(
        url("field_create", acme),
        {
            "module": "contact",
            "contact-module": "contact",
            "contact-label": "X",
            "contact-type": "text",
        },
    )
    assert response.status_code == 403
    with pytest.raises(PermissionDenied):
        services.customer_field_save(
            actor=bob, field=CustomerField(module="contact", label="X", type="text")
        )
    assert CustomerField.objects.for_org(acme.org).count() == 1


def test_cus01_admin_adds_edits_reorders_and_deactivates_fields(alice_client, acme):
    response = alice_client.post(
        url("field_create", acme),
        {
            "module": "account",
            "account-module": "account",
            "account-label": "Contract tier",
            "account-key": "",
            "account-type": "picklist",
            "account-choices_text": "Gold\nSilver\n",
        },
    )
    assert response.status_code == 302
    tier = CustomerField.objects.for_org(acme.org).get()
    assert (tier.module, tier.key, tier.choices, tier.order) == (
        "account",
        "contract_tier",
        ["Gold", "Silver"],
        1,
    )
    second = services.customer_field_save(
        actor=acme.admin, field=CustomerField(module="account", label="Region", type="text")
    )
    assert second.order == 2
    alice_client.post(
        url("fields_reorder", acme), {"module": "account", "order": [second.pk, tier.pk]}
    )
    assert list(services.customer_fields(acme.org, "account").values_list("key", flat=True)) == [
        "region",
        "contract_tier",
    ]
    alice_client.post(url("field_active", acme, customer_field_id=tier.pk), {"active": "0"})
    assert list(services.customer_fields(acme.org, "account").values_list("key", flat=True)) == [
        "region"
    ]
    page = alice_client.get(url("fields", acme)).content.decode()
    assert "Contract tier" in page and "Inactive" in page
    response = alice_client.post(
        url("field_edit", acme, customer_field_id=second.pk),
        {"label": "Sales region", "type": "text", "required": "on", "choices_text": ""},
    )
    assert response.status_code == 302
    second.refresh_from_db()
    assert (second.label, second.key, second.required) == ("Sales region", "region", True)


def test_cus01_duplicate_key_and_empty_pick_list_are_refused(acme):
    field(acme, key="plan", type="text")
    with pytest.raises(ValidationError) as exc:
        services.customer_field_save(
            actor=acme.admin, field=CustomerField(module="contact", label="Plan", type="picklist")
        )
    assert set(exc.value.message_dict) == {"key", "choices"}


def test_cus01_a_type_change_never_loses_values(alice_client, acme):
    seats = field(acme, key="seats", label="Seats", type="text")
    ContactFactory(org=acme.org, custom_fields={"seats": "12"})
    odd = ContactFactory(org=acme.org, custom_fields={"seats": "a dozen"})
    response = alice_client.post(
        url("field_edit", acme, customer_field_id=seats.pk),
        {"label": "Seats", "type": "number", "choices_text": ""},
    )
    assert response.status_code == 400
    assert "1 records have values that are not a valid Number" in response.content.decode()
    seats.refresh_from_db()
    assert seats.type == "text"
    odd.custom_fields = {"seats": "13"}
    odd.save()
    services.customer_field_save(actor=acme.admin, field=CustomerField.objects.get(pk=seats.pk))
    seats.type = "number"
    services.customer_field_save(actor=acme.admin, field=seats)
    values = sorted(
        c["custom_fields"]["seats"]
        for c in Contact.objects.for_org(acme.org).values("custom_fields")
    )
    assert values == [12, 13]  # converted to the new type's form


def test_cus01_custom_value_changes_are_in_the_history_by_label(acme, bob):
    field(acme, key="plan", label="Plan", type="picklist", choices=["Basic", "Pro"])
    contact = ContactFactory(org=acme.org, custom_fields={"plan": "Basic"})
    services.contact_save(actor=bob, contact=contact, custom_fields={"plan": "Pro"})
    entry = CustomerHistory.objects.for_org(acme.org).get()
    assert (entry.action, entry.changes) == ("updated", {"cf_plan": ["Basic", "Pro"]})
