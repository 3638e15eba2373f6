"""What the contact and account tabs list (CUS-06..CUS-09): the record's tickets, the
interactions on them, their time entries and ratings.

Every list reads only the record's tickets that the member may open (`stats.record_tickets`,
the ticket list's visibility rule) and pages with a LIMIT one row longer than the page (that
row only tells whether a next page exists), so each tab costs a fixed number of queries
however many tickets the record has. The tickets tab is the ticket list's own query
(`ticket_queryset`) narrowed to the record, so its counts are the list's counts."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import CharField, F, Q, QuerySet, Sum, Value
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Account, Contact
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.activities.models import TimeEntry
from helpdesk.tickets.customer_stats import record_scope
from helpdesk.tickets.helpcenter.models import Rating, RatingValue
from helpdesk.tickets.models import Thread, Ticket
from helpdesk.tickets.selectors import (
    COLUMNS,
    COUNT_CAP,
    TicketRow,
    capped_count,
    row_fields,
    ticket_queryset,
)

from .stats import record_tickets

PAGE_SIZE = 25


@dataclass
class Page:
    """One page of a list without a total: `rows`, its number, whether there is a next one."""

    rows: list[Any]
    number: int
    has_next: bool
    size: int = PAGE_SIZE

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def next_number(self) -> int:
        return self.number + 1

    @property
    def previous_number(self) -> int:
        return self.number - 1


def _page(qs: QuerySet, number: int, size: int = PAGE_SIZE) -> Page:
    rows = list(qs[(number - 1) * size : number * size + 1])
    return Page(rows=rows[:size], number=number, has_next=len(rows) > size, size=size)


# --- Tickets (CUS-07) ---------------------------------------------------------------------
TICKET_COLUMNS = ["number", "subject", "status", "owner", "priority", "created", "due"]
TICKET_VIEWS = ("all", "open", "on_hold", "closed", "overdue")
TICKET_SORTS = {"-created": ("-created_at", "-id"), "created": ("created_at", "id")}


@dataclass
class TicketsTab:
    page: Page
    count: int  # exact up to COUNT_CAP
    capped: bool
    columns: list[Any]


def record_ticket_queryset(
    membership: Membership,
    record: Contact | Account,
    *,
    view: str = "all",
    status: str = "",
) -> QuerySet[Ticket]:
    """The ticket list's queryset for `view` and status name, narrowed to the record."""
    params = {"view": view if view in TICKET_VIEWS else "all", "status": status}
    return ticket_queryset(membership, params).filter(record_scope(membership.org, record))


def tickets_tab(
    membership: Membership,
    record: Contact | Account,
    *,
    view: str = "all",
    status: str = "",
    sort: str = "-created",
    page: int = 1,
) -> TicketsTab:
    """A page of the record's tickets, counted like the ticket list (exact up to its cap)."""
    qs = record_ticket_queryset(membership, record, view=view, status=status)
    count = capped_count(qs)
    fields = row_fields(TICKET_COLUMNS)
    order = TICKET_SORTS.get(sort, TICKET_SORTS["-created"])
    result = _page(qs.order_by(*order).values(*fields), page)
    now = timezone.now()
    result.rows = [TicketRow.from_values(row, now) for row in result.rows]
    return TicketsTab(
        page=result,
        count=min(count, COUNT_CAP),
        capped=count > COUNT_CAP,
        columns=[COLUMNS[key] for key in TICKET_COLUMNS],
    )


OVERVIEW_COLUMNS = ["number", "subject", "status", "priority", "created"]


def overview_columns() -> list[Any]:
    return [COLUMNS[key] for key in OVERVIEW_COLUMNS]


def latest_ticket_rows(
    membership: Membership, record: Contact | Account, *, view: str, limit: int
) -> list[TicketRow]:
    """The record's newest tickets of a view ("all", "open", "on_hold"), for the overview."""
    qs = record_ticket_queryset(membership, record, view=view)
    rows = qs.order_by("-created_at", "-id").values(*row_fields(OVERVIEW_COLUMNS))[:limit]
    now = timezone.now()
    return [TicketRow.from_values(row, now) for row in rows]


def status_names(membership: Membership) -> list[str]:
    """The status names the filter offers: every department's statuses, by name (the ticket
    list filters by name too, so one name covers the departments that share it)."""
    from helpdesk.tickets.models import TicketStatus

    names = (
        TicketStatus.objects.for_org(membership.org)
        .order_by("order", "name")
        .values_list("name", flat=True)
    )
    return list(dict.fromkeys(names))


# --- Interactions (CUS-06) ----------------------------------------------------------------
INTERACTION_KINDS = (Thread.Kind.REPLY, Thread.Kind.COMMENT)
RATING = "rating"


@dataclass(frozen=True)
class Interaction:
    kind: str  # "reply", "comment" or "rating"
    at: dt.datetime
    number: int
    subject: str
    status: str
    status_kind: str
    agent: str
    contact: str
    rating: str  # the rating's value ("good", "okay", "bad"), "" for thread entries
    text: str  # the entry's HTML (sanitised when written) or the rating's comment


def _name(last: str | None, first: str | None) -> str:
    return " ".join(p for p in (last, first) if p)


def interactions_page(membership: Membership, record: Contact | Account, page: int = 1) -> Page:
    """Agents' replies and private comments, and the contacts' ratings, on the record's tickets,
    newest first. Three queries whatever the number of tickets: the page's keys (a UNION of
    the two kinds' id and time, which the thread index answers alone), then the page's thread
    entries and ratings with their ticket, status, author and contact."""
    org = membership.org
    ticket_ids = record_tickets(membership, record).values("pk")
    threads = (
        Thread.objects.for_org(org)
        .filter(ticket_id__in=ticket_ids, kind__in=INTERACTION_KINDS)
        .values("id", "created_at", entry_kind=F("kind"))
    )
    ratings = (
        Rating.objects.for_org(org)
        .filter(ticket_id__in=ticket_ids)
        .values("id", "rated_at", entry_kind=Value(RATING, output_field=CharField()))
    )
    # In a UNION the columns go by position: both sides list the same ones in the same order.
    union = threads.union(ratings, all=True).order_by("-created_at", "-entry_kind", "-id")
    keys = _page(union, page)
    thread_ids = [k["id"] for k in keys.rows if k["entry_kind"] != RATING]
    rating_ids = [k["id"] for k in keys.rows if k["entry_kind"] == RATING]
    ticket = {
        "number": F("ticket__number"),
        "subject": F("ticket__subject"),
        "status": F("ticket__status__name"),
        "status_kind": F("ticket__status_kind"),
    }
    entries = (
        {
            row["id"]: row
            for row in Thread.objects.for_org(org)
            .filter(pk__in=thread_ids)
            .values(
                "id",
                **ticket,
                agent_name=F("author__full_name"),
                agent_email=F("author__email"),
                last=F("ticket__contact__last_name"),
                first=F("ticket__contact__first_name"),
                text=F("body"),
            )
        }
        if thread_ids
        else {}
    )
    rated = (
        {
            row["id"]: row
            for row in Rating.objects.for_org(org)
            .filter(pk__in=rating_ids)
            .values(
                "id",
                "value",
                **ticket,
                agent_name=F("agent__full_name"),
                agent_email=F("agent__email"),
                last=F("contact__last_name"),
                first=F("contact__first_name"),
                text=F("comment"),
            )
        }
        if rating_ids
        else {}
    )
    rows = []
    for key in keys.rows:
        is_rating = key["entry_kind"] == RATING
        row = (rated if is_rating else entries).get(key["id"])
        if row is None:  # deleted between the two reads
            continue
        rows.append(
            Interaction(
                kind=key["entry_kind"],
                at=key["created_at"],
                number=row["number"],
                subject=row["subject"],
                status=row["status"],
                status_kind=row["status_kind"],
                agent=row["agent_name"] or row["agent_email"] or "",
                contact=_name(row["last"], row["first"]),
                rating=row["value"] if is_rating else "",
                text=row["text"],
            )
        )
    keys.rows = rows
    return keys


# --- Time entries (CUS-08) ------------------------------------------------------------------
BILLING = ("all", "billable", "billed", "non_billable")


def billing_choices() -> list[tuple[str, Any]]:
    return [
        ("all", _("All time")),
        ("billable", _("Billable")),
        ("billed", _("Billed")),
        ("non_billable", _("Non-billable")),
    ]


@dataclass(frozen=True)
class TimeTotals:
    all: int = 0  # minutes
    billable: int = 0
    billed: int = 0
    non_billable: int = 0


@dataclass
class TimeTab:
    page: Page
    totals: TimeTotals


def _billing_q(billing: str) -> Q:
    if billing == "billable":
        return Q(billable=True)
    if billing == "billed":
        return Q(billed=True)
    if billing == "non_billable":
        return Q(billable=False)
    return Q()


def time_tab(
    membership: Membership,
    record: Contact | Account,
    *,
    billing: str = "all",
    start: dt.date | None = None,
    end: dt.date | None = None,
    user_id: int | None = None,
    page: int = 1,
) -> TimeTab:
    """The time entries of the record's tickets, newest day first, and the totals of all,
    billable, billed and non-billable minutes in the chosen period and of the chosen agent
    (the billing filter narrows the rows only, so the four totals stay side by side). Two
    queries."""
    entries = TimeEntry.objects.for_org(membership.org).filter(
        ticket_id__in=record_tickets(membership, record).values("pk")
    )
    if start:
        entries = entries.filter(work_date__gte=start)
    if end:
        entries = entries.filter(work_date__lte=end)
    if user_id:
        entries = entries.filter(user_id=user_id)
    sums = entries.aggregate(
        sum_all=Sum("minutes"),
        sum_billable=Sum("minutes", filter=Q(billable=True)),
        sum_billed=Sum("minutes", filter=Q(billed=True)),
        sum_non_billable=Sum("minutes", filter=Q(billable=False)),
    )
    totals = TimeTotals(**{k.removeprefix("sum_"): v or 0 for k, v in sums.items()})
    rows = (
        entries.filter(_billing_q(billing))
        .select_related("user")
        .annotate(
            number=F("ticket__number"),
            subject=F("ticket__subject"),
            status_kind=F("ticket__status_kind"),
        )
        .only(
            "work_date",
            "minutes",
            "billable",
            "billed",
            "note",
            "user__full_name",
            "user__email",
        )
        .order_by("-work_date", "-pk")
    )
    return TimeTab(page=_page(rows, page), totals=totals)


# --- Happiness (CUS-09) ---------------------------------------------------------------------
def happiness_page(membership: Membership, contact: Contact, page: int = 1) -> Page:
    """The ratings of the contact's tickets, newest first, each with who rated, the ticket,
    the value, the comment and the time. One query."""
    ratings = (
        Rating.objects.for_org(membership.org)
        .filter(ticket_id__in=record_tickets(membership, contact).values("pk"))
        .select_related("contact", "agent")
        .annotate(number=F("ticket__number"), subject=F("ticket__subject"))
        .only(
            "rated_at",
            "value",
            "comment",
            "contact__first_name",
            "contact__last_name",
            "agent__full_name",
            "agent__email",
        )
        .order_by("-rated_at", "-pk")
    )
    return _page(ratings, page)


RATING_LABELS = dict(RatingValue.choices)
