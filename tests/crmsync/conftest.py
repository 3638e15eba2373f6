"""CRM people at Acme: Sam and Sue (sales users), Cora (CRM admin), Dan (desk agent with no
CRM access). Globex is the outsider, and in the integration tests the other desk."""

from __future__ import annotations

import pytest

from tests.factories import UserFactory


@pytest.fixture
def sam(acme):
    return acme.member(
        user=UserFactory(email="sam@acme.test", full_name="Sam Sales"),
        desk_role="",
        crm_role="sales",
    )


@pytest.fixture
def sue(acme):
    return acme.member(
        user=UserFactory(email="sue@acme.test", full_name="Sue Sales"),
        desk_role="",
        crm_role="sales",
    )


@pytest.fixture
def cora(acme):
    return acme.member(
        user=UserFactory(email="cora@acme.test", full_name="Cora Admin"),
        desk_role="",
        crm_role="admin",
    )


@pytest.fixture
def dan(acme):
    return acme.member(user=UserFactory(email="dan@acme.test", full_name="Dan Desk"))
