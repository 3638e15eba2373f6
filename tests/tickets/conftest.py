"""Desk fixtures: Acme's default department with Bob as agent, Rita as restricted agent,
Ada as a second department's agent, and a contact."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from customers.models import Account, Contact
from helpdesk.tenancy.models import Department, DepartmentAgent, Membership
from helpdesk.tickets.models import Ticket, TicketStatus
from helpdesk.tickets.services.layouts import layout_create_defaults
from helpdesk.tickets.services.tickets import TicketInput, ticket_create
from tests.factories import UserFactory


@dataclass
class Desk:
    org: object
    admin: Membership
    agent: Membership
    restricted: Membership
    other_agent: Membership
    department: Department
    other_department: Department
    contact: Contact
    account: Account

    def status(self, name: str, department: Department | None = None) -> TicketStatus:
        return TicketStatus.objects.for_org(self.org).get(
            department=department or self.department, name=name
        )

    def ticket(self, actor: Membership | None = None, **data) -> Ticket:
        data.setdefault("subject", "Printer on fire")
        data.setdefault("department", self.department)
        data.setdefault("contact", self.contact)
        return ticket_create(actor=actor or self.admin, data=TicketInput(**data), ip="203.0.113.5")


def _member(org, email, department, **kwargs) -> Membership:
    membership = Membership.objects.create(
        org=org, user=UserFactory(email=email, full_name=email.split("@")[0].title()), **kwargs
    )
    DepartmentAgent.objects.create(org=org, department=department, user=membership.user)
    membership.org = org
    return membership


@pytest.fixture
def desk(acme) -> Desk:
    org = acme.org
    department = acme.department
    other = Department.objects.create(org=org, name="Billing")
    for each in (department, other):  # layouts are made on first use; the tests read them now
        layout_create_defaults(department=each)
    account = Account.objects.create(org=org, name="Umbrella")
    contact = Contact.objects.create(
        org=org, last_name="Yamada", first_name="Taro", email="taro@umbrella.test", account=account
    )
    acme.admin.org = org
    return Desk(
        org=org,
        admin=acme.admin,
        agent=_member(org, "bob@acme.test", department, desk_role="agent"),
        restricted=_member(org, "rita@acme.test", department, desk_role="restricted"),
        other_agent=_member(org, "ada@acme.test", other, desk_role="agent"),
        department=department,
        other_department=other,
        contact=contact,
        account=account,
    )
