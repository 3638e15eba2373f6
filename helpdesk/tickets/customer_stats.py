"""The figures of a customer's tickets (CUS-03, CRM-13, RPT-01's customer figures), for any set
of tickets: the customers' pages pass a contact's or an account's tickets that the member may
open; the CRM passes the desk tickets of its record.

**The figures** (`tickets_stats`), all computed in the database, in three queries whatever
the number of tickets:

- *total*: every ticket; *open*: tickets not closed (status kinds "open" and "on hold", the
  spec's 未完了), also split into *open_kind* and *on_hold*, which are exactly the ticket
  list's "Open tickets" and "On hold" views; *overdue*: not closed and due before now (the
  list's "Overdue tickets" view); *closed*.
- *channels*: tickets per channel and their share of the total (the donut chart).
- *satisfaction*: the share of "good" among the ratings of these tickets, as the
  satisfaction report counts it (`helpdesk.tickets.helpcenter.report.Row.percent`): good /
  (good + okay + bad); None without ratings.
- *first response*: the mean, over tickets with an agent's public reply, of the time from the
  ticket's creation to its first reply (a thread entry of kind "reply" written by an agent;
  the event that stops the SLA's first-response clock). Forwards and private comments are not
  responses.
- *response*: the mean time the customer waited for each answer. The customer's turn starts
  at the ticket's creation, or at their first message (an "incoming" thread entry) after an
  agent's reply; it ends at the next agent reply. Each answered turn counts once, so the first
  response is one of them; a customer message still waiting has no time yet.
- *resolution*: the mean, over closed tickets, of the time from creation to closing
  (`closed_at`, kept while the ticket is closed and cleared when it reopens).
Times are calendar time (the SLA app measures business time for its targets; that app sits
above this one and is not read here).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Account, Contact
from helpdesk.tenancy.models import Organization

from .helpcenter.models import Rating, RatingValue
from .models import Channel, StatusKind, Thread, Ticket

CHANNELS = tuple(Channel.values)


# --- Which tickets ------------------------------------------------------------------------
def record_scope(org: Organization, record: Contact | Account) -> Q:
    """The filter of a record's tickets (see `customers.pages.stats`). For an account, its
    contacts' ids are read first (one query): `contact_id = ANY(...) OR account_id = ...` lets
    PostgreSQL combine two index scans, where a join or a sub-select inside the OR cannot."""
    if isinstance(record, Contact):
        return Q(contact_id=record.pk)
    contact_ids = list(
        Contact.objects.for_org(org).filter(account_id=record.pk).values_list("pk", flat=True)
    )
    scope = Q(account_id=record.pk)
    return scope | Q(contact_id__in=contact_ids) if contact_ids else scope


# --- The figures -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ChannelShare:
    channel: str
    count: int
    percent: float  # of all the record's tickets, one decimal


@dataclass
class OverviewStats:
    total: int = 0
    open: int = 0
    open_kind: int = 0
    on_hold: int = 0
    closed: int = 0
    overdue: int = 0
    channels: list[ChannelShare] = field(default_factory=list)
    ratings: int = 0
    good: int = 0
    first_response: float | None = None  # seconds
    response: float | None = None
    resolution: float | None = None
    answered_tickets: int = 0  # tickets with a first response
    answered_turns: int = 0  # the customer turns that got an answer
    computed_at: dt.datetime | None = None

    @property
    def satisfaction(self) -> int | None:
        """Percentage of good ratings, rounded like the satisfaction report; None without any."""
        return round(100 * self.good / self.ratings) if self.ratings else None


def _seconds(value: dt.timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


# The customer's turns and the agents' answers, per ticket, in one pass over the threads of
# the record's tickets (see the module's docstring). `k` numbers the turns: an event belongs
# to turn k when k agent replies come before it; the turn's answer is reply number k + 1.
RESPONSE_SQL = """
WITH t AS ({tickets}),
ev AS (
    SELECT t.id AS ticket_id, t.created_at AS at, 0 AS agent FROM t
    UNION ALL
    SELECT th.ticket_id, th.created_at, CASE WHEN th.kind = %s THEN 1 ELSE 0 END
    FROM tickets_thread th JOIN t ON th.ticket_id = t.id
    WHERE th.org_id = %s
      AND (th.kind = %s OR (th.kind = %s AND th.author_id IS NOT NULL))
),
g AS (
    SELECT ticket_id, at, agent,
        SUM(agent) OVER (PARTITION BY ticket_id ORDER BY at, agent ROWS UNBOUNDED PRECEDING)
            - agent AS k
    FROM ev
),
w AS (
    SELECT k,
        MIN(at) FILTER (WHERE agent = 0) AS asked,
        MIN(at) FILTER (WHERE agent = 1) AS answered
    FROM g GROUP BY ticket_id, k
)
SELECT
    EXTRACT(EPOCH FROM AVG(answered - asked) FILTER (WHERE k = 0)),
    EXTRACT(EPOCH FROM AVG(answered - asked)),
    COUNT(*) FILTER (WHERE k = 0),
    COUNT(*)
FROM w WHERE answered IS NOT NULL AND asked IS NOT NULL
"""


def _response_times(
    org: Organization, tickets: QuerySet[Ticket]
) -> tuple[float | None, float | None, int, int]:
    """(first response, response, tickets answered, turns answered) in one query."""
    try:
        sql, params = tickets.order_by().values("id", "created_at").query.sql_with_params()
    except EmptyResultSet:  # a member who may see no ticket at all (no department)
        return None, None, 0, 0
    with connection.cursor() as cursor:
        cursor.execute(
            RESPONSE_SQL.format(tickets=sql),
            [
                *params,
                Thread.Kind.REPLY.value,
                org.pk,
                Thread.Kind.INCOMING.value,
                Thread.Kind.REPLY.value,
            ],
        )
        first, response, tickets_answered, turns = cursor.fetchone()
    return (
        float(first) if first is not None else None,
        float(response) if response is not None else None,
        tickets_answered,
        turns,
    )


def tickets_stats(
    org: Organization, tickets: QuerySet[Ticket], now: dt.datetime | None = None
) -> OverviewStats:
    """The figures of these tickets (of `org`). Three queries, whatever their number."""
    now = now or timezone.now()
    tickets = tickets.order_by()
    not_closed = ~Q(status_kind=StatusKind.CLOSED)
    counts = tickets.aggregate(
        total=Count("pk"),
        open=Count("pk", filter=not_closed),
        open_kind=Count("pk", filter=Q(status_kind=StatusKind.OPEN)),
        on_hold=Count("pk", filter=Q(status_kind=StatusKind.ON_HOLD)),
        overdue=Count("pk", filter=Q(due_at__lt=now) & not_closed),
        resolution=Avg(
            ExpressionWrapper(F("closed_at") - F("created_at"), output_field=DurationField()),
            filter=Q(closed_at__isnull=False),
        ),
        **{f"ch_{c}": Count("pk", filter=Q(channel=c)) for c in CHANNELS},
    )
    total = counts["total"]
    channels = [
        ChannelShare(
            channel=c,
            count=counts[f"ch_{c}"],
            percent=round(100 * counts[f"ch_{c}"] / total, 1) if total else 0.0,
        )
        for c in CHANNELS
        if counts[f"ch_{c}"]
    ]
    ratings = Rating.objects.for_org(org).filter(ticket__in=tickets.values("pk"))
    rated = ratings.aggregate(total=Count("pk"), good=Count("pk", filter=Q(value=RatingValue.GOOD)))
    first, response, answered_tickets, turns = _response_times(org, tickets)
    return OverviewStats(
        total=total,
        open=counts["open"],
        open_kind=counts["open_kind"],
        on_hold=counts["on_hold"],
        closed=total - counts["open"],
        overdue=counts["overdue"],
        channels=channels,
        ratings=rated["total"],
        good=rated["good"],
        first_response=first,
        response=response,
        resolution=_seconds(counts["resolution"]),
        answered_tickets=answered_tickets,
        answered_turns=turns,
        computed_at=now,
    )


# --- How the figures read -------------------------------------------------------------------
def duration_text(seconds: float | None) -> str:
    """A mean time for people: "—" without one, minutes under an hour, hours and minutes under
    a day, then days and hours (calendar time: a day is 24 hours here)."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if minutes < 1:
        return _("under 1 min")
    if minutes < 60:
        return _("%(minutes)d min") % {"minutes": minutes}
    if minutes < 24 * 60:
        return _("%(hours)d h %(minutes)02d min") % {
            "hours": minutes // 60,
            "minutes": minutes % 60,
        }
    hours = round(seconds / 3600)
    return _("%(days)d d %(hours)d h") % {"days": hours // 24, "hours": hours % 24}


# --- The donut chart of channels -----------------------------------------------------------
DONUT_SIZE = 160
DONUT_RADIUS = 60
DONUT_STROKE = 28


@dataclass(frozen=True)
class DonutSegment:
    channel: str
    dasharray: str
    dashoffset: float
    title: str


def channel_donut(shares: list[ChannelShare], total: int) -> dict:
    """The channel shares as a donut drawn in SVG on the server: one circle per channel whose
    dashed stroke covers its share of the ring, starting at the top, clockwise. The template
    gives it a title, a description and the same figures as a table."""
    labels = dict(Channel.choices)
    circumference = 2 * math.pi * DONUT_RADIUS
    segments = []
    start = 0.0
    for share in shares:
        length = circumference * share.count / total if total else 0
        segments.append(
            DonutSegment(
                channel=share.channel,
                dasharray=f"{length:.2f} {circumference - length:.2f}",
                # A dashed circle's stroke starts at 3 o'clock; the template rotates it to 12.
                dashoffset=round(-start, 2),
                title=_("%(label)s: %(count)d (%(percent)s%%)")
                % {"label": labels[share.channel], "count": share.count, "percent": share.percent},
            )
        )
        start += length
    return {
        "size": DONUT_SIZE,
        "center": DONUT_SIZE / 2,
        "radius": DONUT_RADIUS,
        "stroke": DONUT_STROKE,
        "segments": segments,
        "total": total,
    }


# --- The organization's stamp ---------------------------------------------------------------
# Reads of an index's first entry each (`ticket_updated`, `ticket_activity`, `rating_rated`,
# the history's primary key): about a millisecond however many tickets there are.
STAMP_SQL = """
SELECT (SELECT max(updated_at) FROM tickets_ticket WHERE org_id = %s),
       (SELECT max(last_activity_at) FROM tickets_ticket WHERE org_id = %s),
       (SELECT max(rated_at) FROM {ratings} WHERE org_id = %s)
"""
# Every change to a ticket's time entries (added, edited, deleted) writes a history row of
# the ticket: the newest row's id, the primary key's last entry, stamps them.
HISTORY_STAMP_SQL = ", (SELECT max(id) FROM tickets_tickethistory WHERE org_id = %s)"


def tickets_stamp(org_id: int, *, history: bool = False) -> str:
    """A stamp that changes whenever any ticket of the organization changes, gets a thread
    entry or a rating (with `history`: or any change its history records, such as its time
    entries): the key of figures cached over its tickets (the customers' tabs, the CRM's
    record ticket counts)."""
    sql = STAMP_SQL.format(ratings=Rating._meta.db_table)
    if history:
        sql = sql.rstrip() + HISTORY_STAMP_SQL
    with connection.cursor() as cursor:
        cursor.execute(sql, [org_id] * (4 if history else 3))
        row = cursor.fetchone()
    return "-".join(
        str(value.timestamp() if hasattr(value, "timestamp") else value) if value else "0"
        for value in row
    )
