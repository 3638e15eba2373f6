"""The statistics of a contact's or an account's tickets (CUS-03, RPT-01's customer figures).

**Which tickets.** A contact's tickets are those whose contact it is. An account's tickets are
those whose account it is *or* whose contact belongs to it now (a ticket keeps the account
its contact had when it was created; a contact who joined the account later brings their
older tickets along). Either way only the tickets the member may open count: the same
`visible_tickets` rule as the ticket list (an agent sees the departments they work in), so a
figure never counts a ticket the reader could not open.

**The figures** are `helpdesk.tickets.customer_stats.tickets_stats` (read there what each
means), of the record's tickets that the member may open.
"""

from __future__ import annotations

import datetime as dt

from django.db import connection
from django.db.models import QuerySet

from customers.models import Account, Contact
from helpdesk.caching import cached
from helpdesk.tenancy.models import Membership, Organization
from helpdesk.tickets.customer_stats import OverviewStats, record_scope, tickets_stats
from helpdesk.tickets.helpcenter.models import Rating
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services.access import department_ids, visible_tickets


# --- Which tickets ------------------------------------------------------------------------
def record_tickets(membership: Membership, record: Contact | Account) -> QuerySet[Ticket]:
    """The record's tickets that this member may open."""
    return visible_tickets(membership).filter(record_scope(membership.org, record))


def overview_stats(
    membership: Membership, record: Contact | Account, now: dt.datetime | None = None
) -> OverviewStats:
    """The overview's figures of the record's tickets that this member may open. Three queries
    (an account's contact ids make a fourth), whatever the number of tickets."""
    return tickets_stats(membership.org, record_tickets(membership, record), now)


# --- The figures, cached -------------------------------------------------------------------
CACHE_SECONDS = 60

VERSION_SQL = """
SELECT (SELECT max(updated_at) FROM tickets_ticket WHERE org_id = %s),
       (SELECT max(last_activity_at) FROM tickets_ticket WHERE org_id = %s),
       (SELECT max(rated_at) FROM {ratings} WHERE org_id = %s)
"""


def _org_version(org: Organization) -> str:
    """A stamp that changes whenever any ticket of the organization changes, gets a thread
    entry or a rating: three reads of an index's first entry (`ticket_updated`,
    `ticket_activity`, `rating_rated`), about a millisecond however many tickets there are."""
    with connection.cursor() as cursor:
        cursor.execute(VERSION_SQL.format(ratings=Rating._meta.db_table), [org.pk] * 3)
        row = cursor.fetchone()
    return "-".join(str(value.timestamp()) if value else "0" for value in row)


def overview_stats_cached(membership: Membership, record: Contact | Account) -> OverviewStats:
    """`overview_stats`, kept in the cache (like the dashboard's figures,
    helpdesk.caching.cached) under a key holding what changes them: the record, the
    departments the member sees, and the organization's stamp (`_org_version`), so a change to
    any ticket, thread or rating is counted on the next view. What the stamp does not see (a
    contact moving to another account) shows within CACHE_SECONDS."""
    depts = department_ids(membership)
    scope = "all" if depts is None else ",".join(map(str, sorted(depts)))
    kind = "contact" if isinstance(record, Contact) else "account"
    key = (
        f"customer-stats:{membership.org_id}:{kind}:{record.pk}:{scope}:"
        f"{_org_version(membership.org)}"
    )
    return cached(key, lambda: overview_stats(membership, record), fresh=CACHE_SECONDS)
