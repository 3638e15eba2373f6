"""Reads of a CRM record's related list of desk tickets (CRM-08, CRM-09, CRM-13).

**Which tickets** a record has is `crmsync.desk_tickets.record_tickets` (its linked desk
contact's or account's tickets, or a deal's linked tickets); this module pages them by view
and counts them. The views are the desk list's
(`helpdesk.tickets.selectors.view_filter`), with the same meaning: "open" is the status kind
open (not on hold); "overdue", "escalated" and "high" leave closed tickets out.

**Cost**: a page of the list is the record's scope (one or two queries), one query with the
count of every view, and one query for the page's rows (values, with their status and owner
joined), whatever the number of tickets. Counts are capped as the desk's ticket list caps them
(`helpdesk.tickets.selectors.COUNT_CAP`): each view counts at most COUNT_CAP + 1 tickets, so
an account with 50,000 tickets neither counts nor sorts them all before its first page; past
the cap the list says "1,000+" and pages on without a total. The statistics are
`tickets_stats`, the customers overview's three queries."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.caching import cached
from helpdesk.planning import execute_for_values, values_for_values
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.customer_stats import OverviewStats, tickets_stamp, tickets_stats
from helpdesk.tickets.models import Priority, StatusKind
from helpdesk.tickets.selectors import COUNT_CAP, local_minute, view_filter

from .desk_tickets import (
    CrmRecord,
    DeskView,
    record_scope_q,
    record_tickets,
    scope_branches,
    tickets_in,
)
from .models import CrmAccount, CrmContact, TicketModule

PER_PAGE = 25
COUNTS_FRESH = 30  # seconds a record's cached view counts are trusted as they are
PRIORITY_LABELS = dict(Priority.choices)

# The related list's views (CRM-09), in the order of its tabs.
VIEWS: dict[str, object] = {
    "all": _("All"),
    "open": _("Open"),
    "overdue": _("Overdue"),
    "closed": _("Closed"),
    "escalated": _("Escalated"),
    "high": _("High priority"),
}
DEFAULT_VIEW = "all"


def module_of(record: CrmRecord) -> str:
    """The CRM module (TicketModule) a record belongs to."""
    if isinstance(record, CrmAccount):
        return TicketModule.ACCOUNTS
    if isinstance(record, CrmContact):
        return TicketModule.CONTACTS
    return TicketModule.DEALS


@dataclass(frozen=True)
class TicketRow:
    """One ticket as the related list shows it (read inside the desk's scope)."""

    number: int
    subject: str
    status: str
    status_kind: str
    priority: str
    priority_label: str
    owner: str
    due_at: dt.datetime | None
    created_at: dt.datetime
    overdue: bool
    url: str = ""  # its page in the CRM
    unlink_url: str = ""  # on a deal's list, where "Unlink" posts

    @property
    def due_text(self) -> str:
        return local_minute(self.due_at)

    @property
    def created_text(self) -> str:
        return local_minute(self.created_at)


@dataclass
class TicketListPage:
    view: str
    counts: dict[str, int]  # exact up to COUNT_CAP; COUNT_CAP + 1 means more
    rows: list[TicketRow]
    number: int  # the page's number, 1-based
    has_next: bool
    cap: int
    per_page: int = PER_PAGE
    extra: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return min(self.counts[self.view], self.cap)

    @property
    def capped(self) -> bool:
        return self.counts[self.view] > self.cap

    @property
    def pages(self) -> int | None:
        """The number of pages, None when the count is capped."""
        return None if self.capped else max(1, -(-self.count // self.per_page))

    @property
    def has_previous(self) -> bool:
        return self.number > 1


ROW_FIELDS = (
    "number",
    "subject",
    "status__name",
    "status_kind",
    "priority",
    "owner__full_name",
    "owner__email",
    "due_at",
    "created_at",
)


def _row(v: dict, now: dt.datetime, url_of: Callable[[int], str] | None) -> TicketRow:
    due = v["due_at"]
    return TicketRow(
        url=url_of(v["number"]) if url_of else "",
        number=v["number"],
        subject=v["subject"],
        status=v["status__name"],
        status_kind=v["status_kind"],
        priority=v["priority"],
        priority_label=str(PRIORITY_LABELS.get(v["priority"], v["priority"])),
        owner=v["owner__full_name"] or v["owner__email"] or "",  # User.display_name
        due_at=due,
        created_at=v["created_at"],
        overdue=bool(due and due < now and v["status_kind"] != StatusKind.CLOSED),
    )


def capped_counts(views: dict[str, list[QuerySet]]) -> dict[str, int]:
    """The number of rows of each view, exact up to COUNT_CAP (COUNT_CAP + 1 means more), in
    one query. A view is the union of its branches (`desk_tickets.scope_branches`), each read
    through its own index up to COUNT_CAP + 1 rows:
    `SELECT (SELECT count(*) FROM ((... LIMIT cap + 1) UNION (... LIMIT cap + 1))), ...`.
    One OR over the branches would let PostgreSQL walk the organization's every ticket in
    the hope of meeting COUNT_CAP of them early (bench/crm_pages.py: 0.5 s and more)."""
    parts: list[str] = []
    params: list = []
    for branches in views.values():
        sqls = []
        for rows in branches:
            try:
                sql, branch_params = (
                    rows.order_by().values("pk")[: COUNT_CAP + 1].query.sql_with_params()
                )
            except EmptyResultSet:  # `.none()`
                continue
            sqls.append(f"({sql})")
            params.extend(branch_params)
        if not sqls:
            parts.append("0")
            continue
        union = " UNION ".join(sqls)
        parts.append(f"(SELECT count(*) FROM ({union}) AS capped)")  # noqa: S608 - Django's SQL
    # Planned for the record's values: a generic plan of these counts read an account's
    # 50,000 tickets three times slower (helpdesk.planning).
    with connection.cursor() as cursor:
        execute_for_values(cursor, f"SELECT {', '.join(parts)}", params)  # noqa: S608
        return {
            key: min(count, COUNT_CAP + 1)
            for key, count in zip(views, cursor.fetchone(), strict=True)
        }


def view_counts(
    desk: DeskView,
    scope: Q | None,
    branches: list[QuerySet],
    actor: Membership,
    now: dt.datetime,
) -> dict[str, int]:
    """The count of every view, capped. First the record's tickets up to COUNT_CAP + 1: when
    there are no more than COUNT_CAP, one aggregate over them counts every view exactly (one
    pass over at most COUNT_CAP tickets); else each view counts up to COUNT_CAP + 1
    (`capped_counts`). Two queries either way (one for a record without tickets)."""
    total = capped_counts({DEFAULT_VIEW: branches})[DEFAULT_VIEW]
    if total > COUNT_CAP:
        capped = capped_counts(
            {
                key: [rows.filter(view_filter(key, actor, now)) for rows in branches]
                for key in VIEWS
                if key != DEFAULT_VIEW
            }
        )
        return {DEFAULT_VIEW: total, **capped}
    if not total:
        return dict.fromkeys(VIEWS, 0)
    return tickets_in(desk, scope).aggregate(
        **{
            key: Count("pk", filter=view_filter(key, actor, now))
            if key != DEFAULT_VIEW
            else Count("pk")
            for key in VIEWS
        }
    )


def record_ticket_page(
    desk: DeskView,
    record: CrmRecord,
    *,
    actor: Membership,
    view: str = DEFAULT_VIEW,
    page: int = 1,
    now: dt.datetime | None = None,
    url_of: Callable[[int], str] | None = None,
) -> TicketListPage:
    """One page (newest first) of the record's desk tickets in `view` (a key of VIEWS, else
    all), with the count of every view (capped). A page past the last shows the last while
    the count is exact; past a capped count, an empty page. `url_of`: a ticket number's
    address in the CRM (TicketRow.url)."""
    now = now or timezone.now()
    view = view if view in VIEWS else DEFAULT_VIEW
    scope = record_scope_q(desk, record)
    branches = [tickets_in(desk, branch) for branch in scope_branches(scope)]
    with desk.scope():
        # Kept in the cache under the desk's stamp (any ticket changed, replied to or rated
        # there counts at once), the record's scope (its linked contact or tickets) and the
        # member: an account's 50,000 tickets are counted once per change. What the key does
        # not see (a ticket falling overdue as time passes, the member's departments) shows
        # within COUNTS_FRESH seconds, as the desk's own view counts do.
        desk_org_id = desk.integration.desk_org_id
        spelt = hashlib.sha256(repr(scope).encode()).hexdigest()[:16]
        key = (
            f"crm-ticket-counts:{desk_org_id}:{type(record).__name__}:{record.pk}:{spelt}:"
            f"{actor.org_id}:{actor.user_id}:{tickets_stamp(desk_org_id)}"
        )
        counts = cached(
            key, lambda: view_counts(desk, scope, branches, actor, now), fresh=COUNTS_FRESH
        )
        count = counts[view]
        number = max(1, page)
        if count <= COUNT_CAP:
            number = min(number, max(1, -(-count // PER_PAGE)))
        start = (number - 1) * PER_PAGE
        # One row more than the page tells whether there is a next page, counted or not.
        # Planned for the record's values (helpdesk.planning): a generic plan of this page
        # walked the organization's tickets newest first instead of the record's index.
        values = (
            values_for_values(
                tickets_in(desk, scope)
                .filter(view_filter(view, actor, now))
                .order_by("-created_at", "-id")
                .values(*ROW_FIELDS)[start : start + PER_PAGE + 1]
            )
            if count
            else []
        )
    return TicketListPage(
        view=view,
        counts=counts,
        rows=[_row(v, now, url_of) for v in values[:PER_PAGE]],
        number=number,
        has_next=len(values) > PER_PAGE,
        cap=COUNT_CAP,
    )


def record_ticket_stats(
    desk: DeskView, record: CrmRecord, now: dt.datetime | None = None
) -> OverviewStats:
    """The customer service statistics of the record's desk tickets (CRM-13): the customers
    overview's figures (`tickets_stats`), in the desk's scope."""
    tickets = record_tickets(desk, record)
    with desk.scope():
        return tickets_stats(desk.desk_org, tickets, now)
