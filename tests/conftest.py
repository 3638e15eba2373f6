"""Shared fixtures: Alice (account admin of Acme), Bob (agent at Acme), Charlie (outsider,
account admin of Globex). Every view test has an outsider case."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.test import Client

from helpdesk.tenancy.models import Membership, Organization
from helpdesk.tenancy.services.organizations import organization_signup
from tests.factories import PASSWORD, MembershipFactory, UserFactory


@pytest.fixture(autouse=True)
def _test_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    # Cross-tenant reads share the test's connection, so that they see each test's uncommitted
    # rows; they still switch to the cross-tenant role for every read (crosstenant._reading).
    settings.CROSS_TENANT_DATABASE = "default"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",  # factories hash at import
    ]
    from helpdesk.celery import app

    app.conf.task_always_eager = True
    # Records named at creation (default statuses) and messages are in English in tests.
    from django.utils import translation

    translation.activate("en")


@pytest.fixture
def client() -> Client:
    """Tests read English; users created by the fixtures also speak English."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


@dataclass
class Tenant:
    org: Organization
    admin: Membership

    @property
    def department(self):
        """The default department made at sign-up: the first one created (its name is the
        portal, ORG-02, which need not sort before the departments a test adds)."""
        from helpdesk.tenancy.models import Department

        return Department.objects.for_org(self.org).order_by("pk").first()

    def org_departments(self):
        from helpdesk.tenancy.models import Department

        return list(Department.objects.for_org(self.org))

    def member(self, **kwargs) -> Membership:
        return MembershipFactory(org=self.org, **kwargs)


def _signup(name: str, portal: str, email: str) -> Tenant:
    membership = organization_signup(
        org_name=name,
        portal=portal,
        full_name=name + " Admin",
        email=email,
        password=PASSWORD,
        language="en",
    )
    membership.org.plan = "trial"
    return Tenant(org=membership.org, admin=membership)


@pytest.fixture
def acme(db) -> Tenant:
    return _signup("Acme", "acme", "alice@acme.test")


@pytest.fixture
def globex(db) -> Tenant:
    return _signup("Globex", "globex", "charlie@globex.test")


@pytest.fixture
def bob(acme) -> Membership:
    return acme.member(user=UserFactory(email="bob@acme.test", full_name="Bob"))


def login(client: Client, membership_or_user) -> Client:
    user = getattr(membership_or_user, "user", membership_or_user)
    client.force_login(user)
    return client


@pytest.fixture
def alice_client(client, acme) -> Client:
    return login(client, acme.admin)
