"""What the contact and account tabs list (CUS-06..CUS-09): the record's tickets, the
interactions on them, their time entries and ratings.

Every list reads only the record's tickets that the member may open (the ticket list's
visibility rule: `stats.record_scope_sql`, `stats.record_ticket_ids_sql`) and pages with a
LIMIT one row longer than the page (that row only tells whether a next page exists), so each
tab costs a fixed number of queries however many tickets the record has. Lists in time order
(interactions, ratings) walk an index of the organization's entries newest first and stop
once the page is full; the time entries join the record's ticket ids. The tickets tab is the
ticket list's own query (`ticket_queryset`) narrowed to the record, so its counts are the
list's counts."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Account, Contact
from helpdesk.caching import cached
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

from .stats import (
    CACHE_SECONDS,
    record_cache_key,
    record_scope_sql,
    record_ticket_ids_sql,
    serial_cursor,
)

PAGE_SIZE = 25
T = TypeVar("T")


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


# The page: each kind's newest entries of the record's tickets, read from an index in time
# order (`thread_interactions`, `rating_rated`) and checked ticket by ticket until the page is
# full (for a record with few tickets the planner reads those tickets' entries instead,
# `thread_ticket`); then only the page's rows joined to their ticket, status, author or agent
# and contact (a thread entry's contact is its ticket's, a rating's its own). Kinds and ids
# are written in (see stats.record_scope_sql).
INTERACTIONS_SQL = """
WITH k AS MATERIALIZED (
    (SELECT th.id, th.created_at, th.kind AS entry_kind, th.ticket_id FROM tickets_thread th
     WHERE th.org_id = {org} AND th.kind IN ('reply', 'comment')
       AND EXISTS (SELECT 1 FROM tickets_ticket t WHERE t.id = th.ticket_id AND {scope})
     ORDER BY th.created_at DESC, th.kind DESC, th.id DESC LIMIT {limit})
    UNION ALL
    (SELECT r.id, r.rated_at, 'rating', r.ticket_id FROM {ratings} r
     WHERE r.org_id = {org}
       AND EXISTS (SELECT 1 FROM tickets_ticket t WHERE t.id = r.ticket_id AND {scope})
     ORDER BY r.rated_at DESC, r.id DESC LIMIT {limit})
    ORDER BY created_at DESC, entry_kind DESC, id DESC LIMIT {size} OFFSET {offset}
)
SELECT k.entry_kind, k.created_at, tk.number, tk.subject, st.name, tk.status_kind,
    u.full_name, u.email, c.last_name, c.first_name, e.text, e.value
FROM k
JOIN tickets_ticket tk ON tk.org_id = {org} AND tk.id = k.ticket_id
LEFT JOIN tickets_ticketstatus st ON st.org_id = {org} AND st.id = tk.status_id
CROSS JOIN LATERAL (
    SELECT th.body AS text, '' AS value, th.author_id AS person, tk.contact_id AS contact
    FROM tickets_thread th
    WHERE k.entry_kind <> 'rating' AND th.org_id = {org} AND th.id = k.id
    UNION ALL
    SELECT r.comment, r.value, r.agent_id, r.contact_id FROM {ratings} r
    WHERE k.entry_kind = 'rating' AND r.org_id = {org} AND r.id = k.id
) e
LEFT JOIN tenancy_user u ON u.id = e.person
LEFT JOIN customers_contact c ON c.org_id = {org} AND c.id = e.contact
ORDER BY k.created_at DESC, k.entry_kind DESC, k.id DESC
"""


def interactions_page(membership: Membership, record: Contact | Account, page: int = 1) -> Page:
    """Agents' replies and private comments, and the contacts' ratings, on the record's tickets,
    newest first, with their ticket, status, author and contact. One query whatever the
    number of tickets (INTERACTIONS_SQL)."""
    assert tuple(INTERACTION_KINDS) == ("reply", "comment")  # written into the SQL
    offset = (page - 1) * PAGE_SIZE
    sql = INTERACTIONS_SQL.format(
        org=int(membership.org_id),
        scope=record_scope_sql(membership, record, "t"),
        ratings=Rating._meta.db_table,
        limit=offset + PAGE_SIZE + 1,
        size=PAGE_SIZE + 1,
        offset=offset,
    )
    with serial_cursor() as cursor:
        cursor.execute(sql)
        found = cursor.fetchall()
    rows = [
        Interaction(
            kind=kind,
            at=at,
            number=number,
            subject=subject,
            status=status or "",
            status_kind=status_kind,
            agent=agent_name or agent_email or "",
            contact=_name(last, first),
            rating=value,
            text=text or "",
        )
        for (
            kind,
            at,
            number,
            subject,
            status,
            status_kind,
            agent_name,
            agent_email,
            last,
            first,
            text,
            value,
        ) in found
    ]
    return Page(rows=rows[:PAGE_SIZE], number=page, has_next=len(rows) > PAGE_SIZE)


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


# The totals and the page's keys of the record's time entries in one pass: the entries of
# the period and agent, joined to the record's ticket ids (each once, see
# stats.record_ticket_ids_sql, so the planner knows how many there are: it reads each
# ticket's entries from the covering `timeentry_ticket` index, or the organization's entries
# against a hash of the tickets), summed in a first row (id NULL), then the page's keys of
# the billing filter.
TIME_SQL = """
WITH e AS MATERIALIZED (
    SELECT e.id, e.work_date, e.minutes, e.billable, e.billed
    FROM {entries} e JOIN ({tickets}) t ON t.id = e.ticket_id
    WHERE e.org_id = {org}{where}
),
totals AS (
    SELECT COALESCE(SUM(minutes), 0) AS all_minutes,
        COALESCE(SUM(minutes) FILTER (WHERE billable), 0) AS billable_minutes,
        COALESCE(SUM(minutes) FILTER (WHERE billed), 0) AS billed_minutes,
        COALESCE(SUM(minutes) FILTER (WHERE NOT billable), 0) AS non_billable_minutes
    FROM e
),
page AS (
    SELECT id, work_date, minutes, billable, billed FROM e WHERE TRUE{billing}
    ORDER BY work_date DESC, id DESC LIMIT {size} OFFSET {offset}
)
SELECT totals.*, p.id, p.work_date, p.minutes, p.billable, p.billed, x.note, tk.number,
    tk.subject, tk.status_kind, u.full_name, u.email
FROM totals
LEFT JOIN page p ON TRUE
LEFT JOIN {entries} x ON x.org_id = {org} AND x.id = p.id
LEFT JOIN tickets_ticket tk ON tk.org_id = {org} AND tk.id = x.ticket_id
LEFT JOIN tenancy_user u ON u.id = x.user_id
ORDER BY p.work_date DESC, p.id DESC
"""
BILLING_SQL = {
    "billable": " AND billable",
    "billed": " AND billed",
    "non_billable": " AND NOT billable",
}


@dataclass(frozen=True)
class TimeRow:
    pk: int
    work_date: dt.date
    minutes: int
    billable: bool
    billed: bool
    note: str
    number: int
    subject: str
    status_kind: str
    agent: str  # the user's name or email, "" when the user is gone


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
    (the billing filter narrows the rows only, so the four totals stay side by side). One
    query: the entries are read once, summed, and the page's rows joined to their ticket and
    agent."""
    where, params = "", list[Any]()
    if start:
        where += " AND e.work_date >= %s"
        params.append(start)
    if end:
        where += " AND e.work_date <= %s"
        params.append(end)
    if user_id:
        where += " AND e.user_id = %s"
        params.append(user_id)
    sql = TIME_SQL.format(
        entries=TimeEntry._meta.db_table,
        tickets=record_ticket_ids_sql(membership, record),
        org=int(membership.org_id),
        where=where,
        billing=BILLING_SQL.get(billing, ""),
        size=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    with serial_cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    totals = TimeTotals(*(int(value) for value in found[0][:4]))
    rows = [
        TimeRow(
            pk=row[4],
            work_date=row[5],
            minutes=row[6],
            billable=row[7],
            billed=row[8],
            note=row[9],
            number=row[10],
            subject=row[11],
            status_kind=row[12],
            agent=row[13] or row[14] or "",
        )
        for row in found
        if row[4] is not None
    ]
    result = Page(rows=rows[:PAGE_SIZE], number=page, has_next=len(rows) > PAGE_SIZE)
    return TimeTab(page=result, totals=totals)


def cached_tab(
    name: str,
    membership: Membership,
    record: Contact | Account,
    params: tuple[Any, ...],
    compute: Callable[[], T],
) -> T:
    """A tab's result (`compute()`) kept in the cache, as the Overview's figures are
    (`stats.record_cache_key`), under a stamp that sees every change to the record's tickets,
    their threads, ratings and anything their history records (time entries: each change
    writes a history row); `params` are the tab's filters and page. What no stamp sees (a
    contact moving to another account, a renamed agent) shows within CACHE_SECONDS. An
    account's time entries or interactions read tens of thousands of rows: paid once per
    change instead of on every view."""
    stamp = record_cache_key(membership, record, history=True)
    key = f"customer-{name}:{stamp}:{':'.join(map(str, params))}"
    return cached(key, compute, fresh=CACHE_SECONDS)


# --- Happiness (CUS-09) ---------------------------------------------------------------------
# The page's ratings: the organization's newest first (`rating_rated`), each checked against
# the record's tickets until the page is full (or the record's few tickets' ratings sorted).
HAPPINESS_KEYS_SQL = """
SELECT r.id FROM {ratings} r
WHERE r.org_id = {org}
  AND EXISTS (SELECT 1 FROM tickets_ticket t WHERE t.id = r.ticket_id AND {scope})
ORDER BY r.rated_at DESC, r.id DESC LIMIT {size} OFFSET {offset}
"""


def happiness_page(membership: Membership, contact: Contact, page: int = 1) -> Page:
    """The ratings of the contact's tickets, newest first, each with who rated, the ticket,
    the value, the comment and the time. One query (the page's keys a sub-select)."""
    keys = HAPPINESS_KEYS_SQL.format(
        ratings=Rating._meta.db_table,
        org=int(membership.org_id),
        scope=record_scope_sql(membership, contact, "t"),
        size=PAGE_SIZE + 1,
        offset=(page - 1) * PAGE_SIZE,
    )
    with serial_cursor():
        rows = list(
            Rating.objects.for_org(membership.org)
            .filter(pk__in=RawSQL(keys, []))  # noqa: S611 - ids are integers
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
    return Page(rows=rows[:PAGE_SIZE], number=page, has_next=len(rows) > PAGE_SIZE)


RATING_LABELS = dict(RatingValue.choices)
