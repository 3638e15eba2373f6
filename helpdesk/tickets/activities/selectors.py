"""Reads of activities: the per-user list in the desk (filters, sort, pages) and a ticket's
activities and time, each a fixed number of queries whatever the number of rows."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, F, IntegerField, Q, QuerySet, Sum, Value, When
from django.utils import timezone

from customers.models import Account, Contact
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization

from ..models import PRIORITY_RANK, Ticket
from .models import Activity, ActivityStatus, RunningTimer, TimeEntry
from .services import TimeTotals, activities_visible, is_desk_admin

PAGE_SIZE = 25

_PRIORITY = Case(
    *(When(priority=key, then=Value(rank)) for key, rank in PRIORITY_RANK.items()),
    default=Value(1),
    output_field=IntegerField(),
)
# Sort keys as the list's links name them -> ORDER BY (each ends with the id: a stable order).
SORTS: dict[str, tuple[Any, ...]] = {
    "due": ("due_at", "id"),
    "-due": ("-due_at", "id"),
    "priority": ("-priority_order", "due_at", "id"),
    "subject": ("subject", "id"),
    "-created": ("-created_at", "-id"),
}


@dataclass(frozen=True)
class ActivityFilters:
    kind: str = ""  # "", task, call, event
    status: str = "open"  # open (not done), done, all, spam, or one ActivityStatus value
    when: str = ""  # "", overdue, today, upcoming
    owner: str = ""  # "" me; "all"; a user id (admins only)
    sort: str = "due"


def day_range(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The instants of `day` in the active time zone (the user's)."""
    start = timezone.make_aware(dt.datetime.combine(day, dt.time.min))
    return start, timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min))


def activity_queryset(member: Membership, filters: ActivityFilters) -> QuerySet[Activity]:
    qs = activities_visible(member)
    if filters.owner == "all" and is_desk_admin(member):
        pass
    elif filters.owner.isdigit() and is_desk_admin(member):
        qs = qs.filter(owner_id=int(filters.owner))
    else:
        qs = qs.filter(owner_id=member.user_id)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.status == "spam":
        qs = qs.filter(spam=True)
    else:
        qs = qs.filter(spam=False)
        if filters.status == "open":
            qs = qs.filter(done=False)
        elif filters.status == "done":
            qs = qs.filter(done=True)
        elif filters.status in ActivityStatus.values:
            qs = qs.filter(status=filters.status)
    now = timezone.now()
    if filters.when == "overdue":
        qs = qs.filter(done=False, due_at__lt=now)
    elif filters.when == "today":
        start, end = day_range(timezone.localdate())
        qs = qs.filter(due_at__gte=start, due_at__lt=end)
    elif filters.when == "upcoming":
        qs = qs.filter(due_at__gte=now)
    order = SORTS.get(filters.sort, SORTS["due"])
    if filters.sort == "priority":
        qs = qs.annotate(priority_order=_PRIORITY)
    return qs.select_related("owner", "ticket", "contact", "account").order_by(*order)


def activity_page(member: Membership, filters: ActivityFilters, page: str | int = 1) -> Page:
    """One page of the list: two queries (the count and the rows)."""
    return Paginator(activity_queryset(member, filters), PAGE_SIZE).get_page(page)


def ticket_activities(member: Membership, ticket: Ticket) -> list[Activity]:
    """The ticket's activities, open first then by time; spam ones included (the panel folds
    them away). One query."""
    return list(
        activities_visible(member)
        .filter(ticket=ticket)
        .select_related("owner")
        .order_by("spam", "done", "due_at", "id")
    )


def ticket_time_entries(org, ticket: Ticket) -> list[TimeEntry]:
    return list(
        TimeEntry.objects.for_org(org)
        .filter(ticket=ticket)
        .select_related("user")
        .order_by("-work_date", "-id")
    )


def ticket_timer(member: Membership, ticket: Ticket) -> RunningTimer | None:
    return RunningTimer.objects.for_org(member.org).filter(ticket=ticket, user=member.user).first()


# --- A contact's or an account's activities and time (seed 003: their "activities" and
# "time" tabs, CUS-05), for the customers' pages, which sit above tickets and read through these.
CUSTOMER_SCOPES = ("upcoming", "all", "spam")


def customer_activity_queryset(
    member: Membership, *, contact: Contact | None = None, account: Account | None = None
) -> QuerySet[Activity]:
    """The activities `member` may see that belong to `contact` (linked to it or to one of
    its tickets) or to `account` (linked to it, to one of its contacts, or to a ticket of
    either)."""
    ensure_same_org(member.org, contact, account)
    tickets = Ticket.objects.for_org(member.org)
    qs = activities_visible(member)
    if contact is not None:
        return qs.filter(
            Q(contact=contact) | Q(ticket__in=tickets.filter(contact=contact).values("pk"))
        )
    contacts = Contact.objects.for_org(member.org).filter(account=account).values("pk")
    # Two ticket subqueries rather than one with OR: each uses its index (the account's
    # tickets, the contacts' tickets) instead of reading every ticket of the organization.
    return qs.filter(
        Q(account=account)
        | Q(contact__in=contacts)
        | Q(ticket__in=tickets.filter(account=account).values("pk"))
        | Q(ticket__in=tickets.filter(contact__in=contacts).values("pk"))
    )


def _customer_scope(qs: QuerySet[Activity], scope: str) -> QuerySet[Activity]:
    """`upcoming`: not done, the overdue ones first, then the soonest (undated last); `all`:
    everything but spam, the latest first; `spam`: marked as spam, the latest first."""
    if scope == "upcoming":
        return qs.filter(spam=False, done=False).order_by(F("due_at").asc(nulls_last=True), "id")
    qs = qs.filter(spam=(scope == "spam"))
    return qs.order_by(F("due_at").desc(nulls_last=True), "-id")


def customer_activity_counts(
    member: Membership, *, contact: Contact | None = None, account: Account | None = None
) -> dict[str, int]:
    """How many activities each scope lists, in one query."""
    return customer_activity_queryset(member, contact=contact, account=account).aggregate(
        upcoming=Count("pk", filter=Q(spam=False, done=False)),
        all=Count("pk", filter=Q(spam=False)),
        spam=Count("pk", filter=Q(spam=True)),
    )


def customer_activity_page(
    member: Membership,
    *,
    contact: Contact | None = None,
    account: Account | None = None,
    scope: str = "upcoming",
    page: str | int = 1,
    count: int | None = None,
) -> Page:
    """One page of a scope. `count` (from `customer_activity_counts`) spares the count query:
    then the page is one query."""
    qs = customer_activity_queryset(member, contact=contact, account=account)
    qs = _customer_scope(qs, scope if scope in CUSTOMER_SCOPES else "upcoming")
    paginator = Paginator(qs.select_related("owner", "ticket", "contact", "account"), PAGE_SIZE)
    if count is not None:
        paginator.count = count  # a cached property: the aggregate already counted
    return paginator.get_page(page)


def customer_activities(
    member: Membership,
    *,
    contact: Contact | None = None,
    account: Account | None = None,
    scope: str = "all",
    limit: int = 50,
) -> list[Activity]:
    """The first `limit` activities of a scope (see `customer_activity_page`). One query."""
    qs = customer_activity_queryset(member, contact=contact, account=account)
    qs = _customer_scope(qs, scope if scope in CUSTOMER_SCOPES else "all")
    return list(qs.select_related("owner", "ticket")[:limit])


def customer_time_totals(
    org: Organization, *, contact: Contact | None = None, account: Account | None = None
) -> TimeTotals:
    """Total, billable and billed minutes logged on the tickets of `contact` or `account`
    (one query)."""
    ensure_same_org(org, contact, account)
    qs = TimeEntry.objects.for_org(org)
    if contact is not None:
        qs = qs.filter(ticket__contact=contact)
    else:
        qs = qs.filter(ticket__account=account)
    sums = qs.aggregate(
        total=Sum("minutes"),
        billable=Sum("minutes", filter=Q(billable=True)),
        billed=Sum("minutes", filter=Q(billed=True)),
    )
    return TimeTotals(
        total=sums["total"] or 0, billable=sums["billable"] or 0, billed=sums["billed"] or 0
    )
