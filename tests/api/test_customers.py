"""Issue 16, item 1: contacts and accounts through the customers services."""

from __future__ import annotations

import pytest

from customers.models import Contact, CustomerHistory

pytestmark = pytest.mark.django_db


def test_api01_contacts_create_update_read_list(acme, alice_api):
    account = alice_api.post("accounts", {"name": "Initech", "tags": ["vip"]})
    assert account.status_code == 201, account.content
    account_id = account.json()["id"]
    assert account.json()["tags"] == ["vip"]

    created = alice_api.post(
        "contacts",
        {"last_name": "Kim", "email": "KIM@Initech.test", "account_id": account_id},
    )
    assert created.status_code == 201, created.content
    contact = created.json()
    assert contact["email"] == "kim@initech.test"  # as the service stores it
    assert contact["account"] == {"id": account_id, "name": "Initech"}

    duplicate = alice_api.post("contacts", {"last_name": "Other", "email": "kim@initech.test"})
    assert duplicate.status_code == 422 and "email" in duplicate.json()["errors"]

    changed = alice_api.patch(f"contacts/{contact['id']}", {"phone": "03-1234", "tags": ["a"]})
    assert changed.status_code == 200, changed.content
    assert changed.json()["phone"] == "03-1234" and changed.json()["tags"] == ["a"]
    assert changed.json()["email"] == "kim@initech.test"  # untouched
    assert alice_api.patch(f"contacts/{contact['id']}", {"last_name": None}).status_code == 422

    history = CustomerHistory.objects.for_org(acme.org).filter(record_id=contact["id"])
    assert set(history.values_list("actor_id", flat=True)) == {acme.admin.user_id}

    assert alice_api.get(f"contacts/{contact['id']}").json()["name"] == "Kim"
    found = alice_api.get("contacts", {"q": "kim"}).json()["items"]
    assert [c["id"] for c in found] == [contact["id"]]
    assert alice_api.get("accounts", {"tag": "vip"}).json()["items"][0]["id"] == account_id
    renamed = alice_api.patch(f"accounts/{account_id}", {"name": "Initech KK"})
    assert renamed.json()["name"] == "Initech KK"


def test_api01_contact_pages_follow_the_cursor(acme, alice_api):
    for n in range(7):
        Contact.objects.create(org=acme.org, last_name=f"C{n}", email=f"c{n}@x.test")
    seen, cursor = [], None
    while True:
        body = alice_api.get("contacts", {"size": 3, **({"cursor": cursor} if cursor else {})})
        seen += [c["id"] for c in body.json()["items"]]
        cursor = body.json()["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(seen) and len(set(seen)) == 7
