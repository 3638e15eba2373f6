"""Reads of a CRM record's related list of desk tickets (CRM-08, CRM-09, CRM-13).

**Which tickets** a record has is `crmsync.desk_tickets.record_tickets` (its linked desk
contact's or account's tickets, or a deal's linked tickets); this module pages them by view
and counts them. The views are the desk list's
(`helpdesk.tickets.selectors.view_filter`), with the same meaning: "open" is the status kind
open (not on hold); "overdue", "escalated" and "high" leave closed tickets out.

**Cost**: a page of the list is the record's scope (one or two queries), one aggregate with
the count of every view, and one query for the page's rows with their status and owner,
whatever the number of tickets. The statistics are `tickets_stats`, the customers overview's
three queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import Membership
from helpdesk.tickets.customer_stats import OverviewStats, tickets_stats
from helpdesk.tickets.models import StatusKind, Ticket
from helpdesk.tickets.selectors import view_filter

from .desk_tickets import CrmRecord, DeskView, record_tickets
from .models import CrmAccount, CrmContact, TicketModule

PER_PAGE = 25

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


@dataclass
class TicketListPage:
    view: str
    counts: dict[str, int]
    rows: list[TicketRow]
    number: int  # the page's number, 1-based
    pages: int
    per_page: int = PER_PAGE
    extra: dict = field(default_factory=dict)

    @property
    def count(self) -> int:
        return self.counts[self.view]

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_next(self) -> bool:
        return self.number < self.pages


def _row(ticket: Ticket, now: dt.datetime) -> TicketRow:
    closed = ticket.status_kind == StatusKind.CLOSED
    return TicketRow(
        number=ticket.number,
        subject=ticket.subject,
        status=ticket.status.name,
        status_kind=ticket.status_kind,
        priority=ticket.priority,
        priority_label=str(ticket.get_priority_display()),
        owner=ticket.owner.display_name if ticket.owner else "",
        due_at=ticket.due_at,
        created_at=ticket.created_at,
        overdue=bool(ticket.due_at and ticket.due_at < now and not closed),
    )


def record_ticket_page(
    desk: DeskView,
    record: CrmRecord,
    *,
    actor: Membership,
    view: str = DEFAULT_VIEW,
    page: int = 1,
    now: dt.datetime | None = None,
) -> TicketListPage:
    """One page (newest first) of the record's desk tickets in `view` (a key of VIEWS, else
    all), with the count of every view. A page past the last shows the last."""
    now = now or timezone.now()
    view = view if view in VIEWS else DEFAULT_VIEW
    tickets = record_tickets(desk, record).order_by()
    with desk.scope():
        counts = tickets.aggregate(
            **{
                key: Count("pk", filter=view_filter(key, actor, now))
                if key != "all"
                else Count("pk")
                for key in VIEWS
            }
        )
        pages = max(1, -(-counts[view] // PER_PAGE))
        number = min(max(1, page), pages)
        start = (number - 1) * PER_PAGE
        chosen = (
            tickets.filter(view_filter(view, actor, now))
            .select_related("status", "owner")
            .order_by("-created_at", "-id")[start : start + PER_PAGE]
            if counts[view]
            else []
        )
        rows = [_row(ticket, now) for ticket in chosen]
    return TicketListPage(view=view, counts=counts, rows=rows, number=number, pages=pages)


def record_ticket_stats(
    desk: DeskView, record: CrmRecord, now: dt.datetime | None = None
) -> OverviewStats:
    """The customer service statistics of the record's desk tickets (CRM-13): the customers
    overview's figures (`tickets_stats`), in the desk's scope."""
    tickets = record_tickets(desk, record)
    with desk.scope():
        return tickets_stats(desk.desk_org, tickets, now)
