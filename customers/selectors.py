"""Reading contacts, accounts and products (CUS-01). Every query is scoped to the organization
passed in; tickets are read through the member's ticket visibility."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Concat, Lower

from helpdesk.compiledreads import CompiledRead
from helpdesk.tenancy.models import Membership, Organization, User
from helpdesk.tenancy.selectors import desk_users as tenancy_desk_users
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services.access import visible_tickets

from .models import (
    Account,
    AccountTag,
    Contact,
    ContactTag,
    CustomerField,
    CustomerHistory,
    Product,
    RecordKind,
    Tag,
)


def desk_users(org: Organization) -> QuerySet[User]:
    """People who may own contacts and accounts: active members with Desk access."""
    return tenancy_desk_users(org, statuses=[Membership.Status.ACTIVE])


# The record pages' owner filter lists them on every page: its SQL is compiled once per
# process (compiling the queryset cost more than running it, bench/customers.py).
_DESK_USERS_READ = CompiledRead(lambda org_id: desk_users(org_id))


def desk_user_list(org: Organization) -> list[User]:
    """`desk_users(org)` as a list, by name, read with SQL compiled once."""
    return _DESK_USERS_READ.all(org_id=org.pk)


def _by_owner(records: QuerySet, owner: str | int | None, user: User | None) -> QuerySet:
    """`owner`: "me" (the `user` asking), "none" (no owner) or a user id; else no filter."""
    if owner in (None, ""):
        return records
    if owner == "none":
        return records.filter(owner__isnull=True)
    if owner == "me":
        return records.filter(owner=user) if user is not None else records.none()
    if str(owner).isdigit():
        return records.filter(owner_id=int(str(owner)))
    return records.none()


def _by_tag(
    records: QuerySet,
    org: Organization,
    link: type[ContactTag] | type[AccountTag],
    field: str,
    tag: str,
) -> QuerySet:
    """Records carrying the tag named `tag` (any case): an EXISTS over the link table's
    (org, tag, record) index."""
    tag = " ".join((tag or "").split())
    if not tag:
        return records
    tags = Tag.objects.for_org(org).filter(name__iexact=tag)
    links = link.objects.for_org(org).filter(tag__in=tags, **{field: OuterRef("pk")})
    return records.filter(Exists(links))


def tagged(records: QuerySet, org: Organization, kind: str) -> QuerySet:
    """Prefetch the tags of listed records (`tag_list` reads them without a query each)."""
    link, name = (ContactTag, "contact_tags") if kind == "contact" else (AccountTag, "account_tags")
    return records.prefetch_related(
        Prefetch(name, queryset=link.objects.for_org(org).select_related("tag"))
    )


def contacts_search(
    org: Organization,
    *,
    query: str = "",
    account: Account | None = None,
    tag: str = "",
    owner: str | int | None = None,
    user: User | None = None,
) -> QuerySet[Contact]:
    """Contacts of `org` whose name (either order), email or phone contains `query`; with a
    `tag` (name, any case) only those carrying it; with an `owner` ("me" = `user`, "none",
    a user id) only those owned so. Tags are prefetched."""
    contacts = tagged(
        Contact.objects.for_org(org).select_related("account", "owner"), org, "contact"
    )
    if account is not None:
        contacts = contacts.filter(account=account)
    contacts = _by_tag(contacts, org, ContactTag, "contact", tag)
    contacts = _by_owner(contacts, owner, user)
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


def accounts_search(
    org: Organization,
    *,
    query: str = "",
    tag: str = "",
    owner: str | int | None = None,
    user: User | None = None,
) -> QuerySet[Account]:
    """Accounts of `org` by name, email, phone or website, tag and owner (as
    `contacts_search`)."""
    accounts = tagged(
        Account.objects.for_org(org)
        .select_related("owner")
        .annotate(contact_count=Count("contacts", distinct=True)),
        org,
        "account",
    )
    accounts = _by_tag(accounts, org, AccountTag, "account", tag)
    accounts = _by_owner(accounts, owner, user)
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


# --- History (CUS-04) ------------------------------------------------------------------------
def history_entries(
    org: Organization,
    kind: str,
    record: Contact | Account,
    *,
    agent: int | None = None,
    action: str = "",
    with_contacts: bool = False,
) -> QuerySet[CustomerHistory]:
    """A record's history, newest first (on the (org, kind, record_id, -created_at) index);
    by the agent who acted and by action. An account's `with_contacts` adds the entries of
    the contacts it has now."""
    where = Q(kind=kind, record_id=record.pk)
    if kind == RecordKind.ACCOUNT and with_contacts:
        contact_ids = Contact.objects.for_org(org).filter(account=record).values("pk")
        where |= Q(kind=RecordKind.CONTACT, record_id__in=contact_ids)
    entries = CustomerHistory.objects.for_org(org).filter(where).select_related("actor")
    if agent is not None:
        entries = entries.filter(actor_id=agent)
    if action:
        entries = entries.filter(action=action)
    return entries.order_by("-created_at", "-pk")


def history_agents(org: Organization, entries: QuerySet[CustomerHistory]) -> list[User]:
    """The people who appear in these history entries (for the agent filter), by name."""
    ids = entries.order_by().exclude(actor=None).values("actor_id").distinct()
    return list(User.objects.filter(pk__in=ids).order_by("full_name", "email"))


def customer_field_labels(org: Organization, kind: str) -> dict[str, str]:
    """Custom field labels by their history key (`cf_<key>`), inactive fields too."""
    fields = CustomerField.objects.for_org(org).filter(module=kind).values_list("key", "label")
    return {f"cf_{key}": label for key, label in fields}
