"""Reading contacts, accounts and products (CUS-01). Every query is scoped to the organization
passed in; tickets are read through the member's ticket visibility."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet, Value
from django.db.models.functions import Concat, Lower

from helpdesk.tenancy.models import Membership, Organization, User
from helpdesk.tenancy.selectors import desk_users as tenancy_desk_users
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services.access import visible_tickets

from .models import Account, Contact, Product


def desk_users(org: Organization) -> QuerySet[User]:
    """People who may own contacts and accounts: active members with Desk access."""
    return tenancy_desk_users(org, statuses=[Membership.Status.ACTIVE])


def contacts_search(
    org: Organization, *, query: str = "", account: Account | None = None
) -> QuerySet[Contact]:
    """Contacts of `org` whose name (either order), email or phone contains `query`."""
    contacts = Contact.objects.for_org(org).select_related("account", "owner")
    if account is not None:
        contacts = contacts.filter(account=account)
    query = query.strip()
    if query:
        contacts = contacts.annotate(
            family_first=Concat("last_name", Value(" "), "first_name"),
            given_first=Concat("first_name", Value(" "), "last_name"),
        ).filter(
            Q(family_first__icontains=query)
            | Q(given_first__icontains=query)
            | Q(email__icontains=query)
            | Q(secondary_email__icontains=query)
            | Q(phone__icontains=query)
            | Q(mobile__icontains=query)
        )
    return contacts.order_by(Lower("last_name"), Lower("first_name"), "pk")


def accounts_search(org: Organization, *, query: str = "") -> QuerySet[Account]:
    accounts = (
        Account.objects.for_org(org)
        .select_related("owner")
        .annotate(contact_count=Count("contacts", distinct=True))
    )
    query = query.strip()
    if query:
        accounts = accounts.filter(
            Q(name__icontains=query)
            | Q(email__icontains=query)
            | Q(phone__icontains=query)
            | Q(website__icontains=query)
        )
    return accounts.order_by(Lower("name"), "pk")


def products_search(org: Organization, *, query: str = "") -> QuerySet[Product]:
    products = (
        Product.objects.for_org(org)
        .select_related("department")
        .annotate(
            contact_count=Count("contacts", distinct=True),
            account_count=Count("accounts", distinct=True),
        )
    )
    query = query.strip()
    if query:
        products = products.filter(Q(name__icontains=query) | Q(code__icontains=query))
    return products.order_by(Lower("name"), "pk")


def latest_tickets(
    membership: Membership,
    *,
    contact: Contact | None = None,
    account: Account | None = None,
    limit: int = 10,
) -> list[Ticket]:
    """The newest tickets of a contact or account that this member may see: an agent only
    sees the tickets of the departments they work in, here as on the desk."""
    tickets = visible_tickets(membership).select_related("status")
    if contact is not None:
        tickets = tickets.filter(contact=contact)
    if account is not None:
        tickets = tickets.filter(account=account)
    return list(tickets.order_by("-created_at", "-pk")[:limit])
