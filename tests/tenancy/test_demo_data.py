"""The demo command of the README's first command: idempotent, a user for every role."""

from __future__ import annotations

import io

from django.core.management import call_command

from helpdesk.tenancy.models import BusinessInterval, Department, Holiday, Membership, Organization
from helpdesk.tickets.models import Ticket


def _counts():
    return (
        Organization.objects.count(),
        Membership.objects.count(),
        Department.objects.count(),
        BusinessInterval.objects.count(),
        Holiday.objects.count(),
        Ticket.objects.count(),
    )


def test_org04_org05_demo_data_has_every_role_and_is_idempotent(db):
    out = io.StringIO()
    call_command("demo_data", stdout=out)
    first = _counts()
    call_command("demo_data", stdout=io.StringIO())
    assert _counts() == first
    org = Organization.objects.get(portal="demo")
    members = Membership.objects.for_org(org)
    assert {m.desk_role for m in members} >= {"admin", "agent", "restricted"}
    assert {m.crm_role for m in members} >= {"admin", "sales"}
    assert {m.chat_role for m in members} >= {"supervisor", "operator"}
    assert {m.admin_level for m in members} >= {"account", "suite", "app"}
    assert Holiday.objects.for_org(org).exists() and first[-1] == 5
    text = out.getvalue()
    assert "/demo/" in text and "owner@demo.madoguchi.test" in text and "password" in text
