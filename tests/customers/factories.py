"""Factories of contacts, accounts, products and the tickets that point at contacts.
Related objects always share one organization."""

from __future__ import annotations

import factory
from django.db.models import Max

from customers.models import Account, AccountProduct, Contact, ContactProduct, Product
from helpdesk.tickets.models import Thread, Ticket
from helpdesk.tickets.services.layouts import statuses_for
from tests.factories import OrganizationFactory


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Account {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    org = factory.SubFactory(OrganizationFactory)
    last_name = factory.Sequence(lambda n: f"Person{n}")
    first_name = "Pat"
    email = factory.Sequence(lambda n: f"person{n}@customer.test")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    org = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Product {n}")
    code = factory.Sequence(lambda n: f"P-{n}")


class ContactProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactProduct

    contact = factory.SubFactory(ContactFactory)
    org = factory.SelfAttribute("contact.org")
    product = factory.SubFactory(ProductFactory, org=factory.SelfAttribute("..org"))


class AccountProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AccountProduct

    account = factory.SubFactory(AccountFactory)
    org = factory.SelfAttribute("account.org")
    product = factory.SubFactory(ProductFactory, org=factory.SelfAttribute("..org"))


def make_ticket(tenant, contact: Contact | None, subject: str = "Help", **fields) -> Ticket:
    """A ticket of the tenant's first department in its default status, written directly so
    these tests do not depend on the ticket pipeline."""
    department = fields.pop("department", None) or tenant.department
    status = statuses_for(department).order_by("-is_default", "order").first()
    top = Ticket.objects.for_org(tenant.org).aggregate(n=Max("number"))["n"] or 0
    return Ticket.objects.create(
        org=tenant.org,
        number=top + 1,
        subject=subject,
        department=department,
        status=status,
        status_kind=status.kind,
        contact=contact,
        **fields,
    )


def make_thread(ticket: Ticket, contact: Contact | None) -> Thread:
    return Thread.objects.create(
        org=ticket.org, ticket=ticket, kind=Thread.Kind.INCOMING, contact=contact, body="<p>Hi</p>"
    )
