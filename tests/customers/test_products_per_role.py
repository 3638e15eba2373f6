"""New product page per role (CUS-10): those who may configure the Desk see an enabled form
with a save button and can create; everyone else is refused; an outsider gets a 404.

Regression: the page used to render a disabled form without a save button for every role,
the account admin included."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from customers.models import Product
from tests.conftest import login
from tests.factories import UserFactory


def new_product_url(tenant) -> str:
    return reverse("customers:product_create", kwargs={"portal": tenant.org.portal})


def _form_is_usable(body: str) -> bool:
    """The form's fieldset is enabled and a submit button is there."""
    fieldset = re.search(r"<fieldset[^>]*>", body)
    return (
        fieldset is not None
        and "disabled" not in fieldset.group(0)
        and "Create product" in body
        and 'type="submit"' in body
    )


@pytest.fixture
def members(acme):
    return {
        "account_admin": acme.admin,
        "suite_admin": acme.member(user=UserFactory(full_name="Sue Suite"), suite_admin=True),
        "desk_admin": acme.member(user=UserFactory(full_name="Dee Desk"), desk_role="admin"),
    }


@pytest.mark.parametrize("role", ["account_admin", "suite_admin", "desk_admin"])
def test_cus10_admins_see_a_usable_new_product_form_and_create(client, acme, members, role):
    login(client, members[role])
    response = client.get(new_product_url(acme))
    assert response.status_code == 200
    assert _form_is_usable(response.content.decode())

    response = client.post(new_product_url(acme), {"name": f"Router {role}", "code": role})
    assert response.status_code == 302
    assert Product.objects.for_org(acme.org).filter(name=f"Router {role}").exists()


@pytest.mark.parametrize("role", ["agent", "restricted"])
def test_cus10_agents_cannot_create_products(client, acme, role):
    member = acme.member(user=UserFactory(full_name=f"A {role}"), desk_role=role)
    login(client, member)
    assert client.get(new_product_url(acme)).status_code == 403
    response = client.post(new_product_url(acme), {"name": "Sneaky"})
    assert response.status_code == 403
    assert not Product.objects.for_org(acme.org).filter(name="Sneaky").exists()


def test_cus10_outsider_gets_404(client, acme, globex):
    login(client, globex.admin)
    assert client.get(new_product_url(acme)).status_code == 404
    client.post(new_product_url(acme), {"name": "Foreign"})
    assert not Product.objects.filter(name="Foreign").exists()


def test_cus10_invalid_new_product_keeps_the_form_usable(client, acme):
    login(client, acme.admin)
    response = client.post(new_product_url(acme), {"name": ""})
    assert response.status_code == 400
    assert _form_is_usable(response.content.decode())
