"""The statistics of a contact's or an account's tickets (CUS-03, RPT-01's customer figures).

**Which tickets.** A contact's tickets are those whose contact it is. An account's tickets are
those whose account it is *or* whose contact belongs to it now (a ticket keeps the account
its contact had when it was created; a contact who joined the account later brings their
older tickets along). Either way only the tickets the member may open count: the same
`visible_tickets` rule as the ticket list (an agent sees the departments they work in), so a
figure never counts a ticket the reader could not open.

An account's tickets are read as two index scans joined by UNION ALL (`record_ticket_sets`):
its own tickets (the `ticket_account_recent` index), then its contacts' tickets of another
account or none (`ticket_contact_recent`, which carries the ticket's account for that test),
so no ticket is read twice and the planner has no OR to answer with a scan of the whole
organization.

**The figures** are those of `helpdesk.tickets.customer_stats.tickets_stats` (read there what
each means), of the record's tickets that the member may open, computed here in one query
from columns the indexes above carry: the counts, the channels and the resolution time from
the ticket's own fields, the response times from the waits each ticket keeps
(`Ticket.first_response`, `answered_turns`, `answered_wait`, written by the thread service
when an agent replies) instead of walking every thread, and the satisfaction from the
ratings (one per ticket at most).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import QuerySet
from django.utils import timezone

from customers.models import Account, Contact
from helpdesk.caching import cached
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.customer_stats import (
    CHANNELS,
    ChannelShare,
    OverviewStats,
    tickets_stamp,
)
from helpdesk.tickets.helpcenter.models import Rating, RatingValue
from helpdesk.tickets.models import StatusKind, Ticket
from helpdesk.tickets.services.access import can, department_ids, visible_tickets


# --- Which tickets ------------------------------------------------------------------------
def record_ticket_sets(membership: Membership, record: Contact | Account) -> list[QuerySet[Ticket]]:
    """The record's tickets that this member may open, as querysets with no ticket in two of
    them: a contact's one; an account's own tickets, then its contacts' tickets whose account
    is another or none. No query is run here (the account's contacts are a sub-select)."""
    visible = visible_tickets(membership).order_by()
    if isinstance(record, Contact):
        return [visible.filter(contact_id=record.pk)]
    contacts = Contact.objects.for_org(membership.org).filter(account_id=record.pk).values("pk")
    return [
        visible.filter(account_id=record.pk),
        visible.filter(contact_id__in=contacts).exclude(account_id=record.pk),
    ]


# An account's tickets: its own, or of its contacts (their ids an array, so PostgreSQL can
# combine two index scans); a visible-departments filter when the member has one.
ACCOUNT_SCOPE_SQL = (
    "({t}.account_id = {account} OR {t}.contact_id = ANY(ARRAY("
    "SELECT id FROM customers_contact WHERE org_id = {org} AND account_id = {account})))"
)
DEPARTMENTS_SQL = " AND {t}.department_id = ANY('{{{ids}}}'::bigint[])"
# Each of an account's tickets once: its own, then its contacts' of another account or none.
CONTACT_IDS_SQL = (
    "SELECT id FROM tickets_ticket t WHERE t.org_id = {org} AND t.contact_id = {contact}{visible}"
)
ACCOUNT_IDS_SQL = (
    "SELECT id FROM tickets_ticket t WHERE t.org_id = {org} AND t.account_id = {account}"
    "{visible} UNION ALL "
    "SELECT id FROM tickets_ticket t WHERE t.org_id = {org} AND t.contact_id IN ("
    "SELECT id FROM customers_contact WHERE org_id = {org} AND account_id = {account}) "
    "AND t.account_id IS DISTINCT FROM {account}{visible}"
)
NO_TICKETS_SQL = "SELECT NULL::bigint AS id WHERE FALSE"


def _visible_sql(membership: Membership, alias: str) -> str:
    depts = department_ids(membership)
    if depts is None:
        return ""
    return DEPARTMENTS_SQL.format(t=alias, ids=",".join(str(int(d)) for d in depts))


def record_scope_sql(membership: Membership, record: Contact | Account, alias: str) -> str:
    """The SQL condition on tickets `alias` that keeps the record's tickets this member may
    open ("FALSE" for a member who may open none). Ids are written in as integers, not
    parameters: the best plan depends on how many tickets the record has (walk an index in
    time order and stop, or read the record's few tickets), and a prepared statement's
    generic plan would pick one for every record."""
    if not can(membership, "view"):
        return "FALSE"
    org = int(membership.org_id)
    if isinstance(record, Contact):
        scope = f"{alias}.contact_id = {int(record.pk)}"
    else:
        scope = ACCOUNT_SCOPE_SQL.format(t=alias, org=org, account=int(record.pk))
    return f"{alias}.org_id = {org} AND {scope}{_visible_sql(membership, alias)}"


def record_ticket_ids_sql(membership: Membership, record: Contact | Account) -> str:
    """A SELECT of the ids of the record's tickets this member may open, each once, to JOIN
    on (a join, unlike `IN`, lets the planner count them). Ids written in, as
    `record_scope_sql`."""
    if not can(membership, "view"):
        return NO_TICKETS_SQL
    org, visible = int(membership.org_id), _visible_sql(membership, "t")
    if isinstance(record, Contact):
        return CONTACT_IDS_SQL.format(org=org, contact=int(record.pk), visible=visible)
    return ACCOUNT_IDS_SQL.format(org=org, account=int(record.pk), visible=visible)


def _union_sql(querysets: list[QuerySet], fields: tuple[str, ...]) -> tuple[str, list]:
    """SELECT `fields` of every queryset, joined by UNION ALL: (sql, params); EmptyResultSet
    when none can have a row (a member who sees no department)."""
    parts: list[str] = []
    params: list[Any] = []
    for qs in querysets:
        try:
            sql, part_params = qs.values(*fields).query.sql_with_params()
        except EmptyResultSet:
            continue
        parts.append(f"({sql})")
        params.extend(part_params)
    if not parts:
        raise EmptyResultSet
    return " UNION ALL ".join(parts), params


@contextmanager
def serial_cursor() -> Iterator[CursorWrapper]:
    """A cursor whose statements PostgreSQL runs in one process (a transaction with
    `SET LOCAL max_parallel_workers_per_gather = 0`). A walk in time order that stops after a
    page, split across workers, reads many times the entries it needs (each worker runs on
    until told to stop), and the aggregates over a record's tickets take more CPU in three
    processes than in one; the app serves one page at a time per process on few cores, where
    a page's workers only take CPU from the other pages."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield cursor


# --- The figures -----------------------------------------------------------------------------
STATS_FIELDS = (
    "id",
    "status_kind",
    "channel",
    "due_at",
    "created_at",
    "closed_at",
    "first_response",
    "answered_turns",
    "answered_wait",
)

# One pass over the record's tickets (index-only) with their ratings, at most one per ticket
# (`rating_one_per_ticket`), so the join adds no row. Average times as `tickets_stats` has
# them: the mean of the tickets' first waits; the summed waits of every answered turn over
# their number (what AVG over the turns computes, to the microsecond).
STATS_SQL = """
SELECT
    COUNT(*),
    COUNT(*) FILTER (WHERE t.status_kind <> %s),
    COUNT(*) FILTER (WHERE t.status_kind = %s),
    COUNT(*) FILTER (WHERE t.status_kind = %s),
    COUNT(*) FILTER (WHERE t.due_at < %s AND t.status_kind <> %s),
    EXTRACT(EPOCH FROM AVG(t.closed_at - t.created_at) FILTER (WHERE t.closed_at IS NOT NULL)),
    EXTRACT(EPOCH FROM AVG(t.first_response)),
    COUNT(t.first_response),
    EXTRACT(EPOCH FROM SUM(t.answered_wait) / NULLIF(SUM(t.answered_turns), 0)::float8),
    COALESCE(SUM(t.answered_turns), 0),
    COUNT(r.id),
    COUNT(r.id) FILTER (WHERE r.value = %s),
    {channels}
FROM ({tickets}) t
LEFT JOIN {ratings} r ON r.org_id = %s AND r.ticket_id = t.id
"""


def _float(value) -> float | None:
    return float(value) if value is not None else None


def overview_stats(
    membership: Membership, record: Contact | Account, now: dt.datetime | None = None
) -> OverviewStats:
    """The overview's figures of the record's tickets that this member may open. One query,
    whatever the number of tickets."""
    now = now or timezone.now()
    try:
        tickets, ticket_params = _union_sql(record_ticket_sets(membership, record), STATS_FIELDS)
    except EmptyResultSet:
        return OverviewStats(computed_at=now)
    closed, open_, on_hold_ = StatusKind.CLOSED, StatusKind.OPEN, StatusKind.ON_HOLD
    sql = STATS_SQL.format(
        channels=", ".join("COUNT(*) FILTER (WHERE t.channel = %s)" for _ in CHANNELS),
        tickets=tickets,
        ratings=Rating._meta.db_table,
    )
    kinds = [str(closed), str(open_), str(on_hold_)]
    params: list[Any] = [*kinds, now, str(closed), str(RatingValue.GOOD), *CHANNELS]
    params += [*ticket_params, membership.org_id]
    with serial_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    total, not_closed, open_kind, on_hold, overdue, resolution = row[:6]
    first, answered_tickets, response, turns, ratings, good = row[6:12]
    counts = dict(zip(CHANNELS, row[12:], strict=True))
    return OverviewStats(
        total=total,
        open=not_closed,
        open_kind=open_kind,
        on_hold=on_hold,
        closed=total - not_closed,
        overdue=overdue,
        channels=[
            ChannelShare(
                channel=c,
                count=counts[c],
                percent=round(100 * counts[c] / total, 1) if total else 0.0,
            )
            for c in CHANNELS
            if counts[c]
        ],
        ratings=ratings,
        good=good,
        first_response=_float(first),
        response=_float(response),
        resolution=_float(resolution),
        answered_tickets=answered_tickets,
        answered_turns=int(turns),
        computed_at=now,
    )


# --- The figures, cached -------------------------------------------------------------------
CACHE_SECONDS = 60


def record_cache_key(membership: Membership, record: Contact | Account, *, history: bool) -> str:
    """What a record's cached figures depend on: the record, the departments the member sees
    and the organization's stamp (`customer_stats.tickets_stamp`)."""
    depts = department_ids(membership)
    scope = "all" if depts is None else ",".join(map(str, sorted(depts)))
    kind = "contact" if isinstance(record, Contact) else "account"
    version = tickets_stamp(membership.org_id, history=history)
    return f"{membership.org_id}:{kind}:{record.pk}:{scope}:{version}"


def overview_stats_cached(membership: Membership, record: Contact | Account) -> OverviewStats:
    """`overview_stats`, kept in the cache (like the dashboard's figures,
    helpdesk.caching.cached) under a key holding what changes them (`record_cache_key`), so
    a change to any ticket, thread or rating is counted on the next view. What the stamp does
    not see (a contact moving to another account) shows within CACHE_SECONDS."""
    key = f"customer-stats:{record_cache_key(membership, record, history=False)}"
    return cached(key, lambda: overview_stats(membership, record), fresh=CACHE_SECONDS)
