"""Tenancy fixtures on top of tests/conftest.py."""

from __future__ import annotations

import pytest

from helpdesk.tenancy.models import Department
from tests.conftest import Tenant


class FirstDepartmentTenant(Tenant):
    @property
    def department(self) -> Department:
        """The default department made at sign-up: the first one created. (Its name is the
        portal, ORG-02, which need not sort before the departments a test adds.)"""
        return Department.objects.for_org(self.org).order_by("pk").first()


@pytest.fixture
def acme(acme) -> Tenant:
    return FirstDepartmentTenant(org=acme.org, admin=acme.admin)
