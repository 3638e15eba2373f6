"""Recording state visits for the blueprint report (BP-26): a listener of the engine's
state-visit registry (`blueprints.visits`), called inside the moving service's transaction
with the ticket row locked, so a ticket's visits never overlap.

Leaving a state closes the ticket's open visit and stores its length in calendar and in
business seconds (the department's schedule, DEP-03); entering a state opens a new one. At
most three small indexed queries per move (read the open visit, close it, open the next);
one when a ticket enters its first state as it is created."""

from __future__ import annotations

import datetime as dt

from django.db import connection

from blueprints.models import State
from blueprints.visits import Visit
from helpdesk.businesstime import working_between
from helpdesk.tenancy.models import Department
from helpdesk.tenancy.selectors import department_schedule

from .models import StateVisit


def business_seconds(org_id: int, department_id: int, start: dt.datetime, end: dt.datetime) -> int:
    """Working seconds between `start` and `end` under the department's schedule (0 if the
    department is gone)."""
    try:
        schedule = department_schedule(org_id, department_id)
    except Department.DoesNotExist:
        return 0
    return max(int(working_between(start, end, schedule).total_seconds()), 0)


def visit_recorded(visit: Visit) -> None:
    """Close the ticket's open visit and open one if it entered a state. The open visit is
    closed even on an entry (left_id None): a visit left open by a path that told no one
    must not keep the ticket's next visit out; a ticket entering its first state on its
    creation has none (`visit.first`: no read)."""
    ticket = visit.ticket
    open_visit = None
    with connection.cursor() as cursor:
        if not visit.first:
            cursor.execute(READ_OPEN_SQL, [ticket.org_id, ticket.pk])
            open_visit = cursor.fetchone()
        if open_visit is not None:
            pk, entered_at, department_id = open_visit
            cursor.execute(
                CLOSE_SQL,
                [
                    visit.at,
                    visit.transition_id is not None,
                    visit.transition_id,
                    visit.actor_id,
                    max(int((visit.at - entered_at).total_seconds()), 0),
                    business_seconds(ticket.org_id, department_id, entered_at, visit.at),
                    ticket.org_id,
                    pk,
                ],
            )
    if visit.entered_id is not None:
        _open(ticket.org_id, ticket.pk, ticket.department_id, visit.entered_id, visit.at)


# Every move runs these, in SQL: the ORM's building of them cost more CPU than running them
# (bench/blueprints.py --profile).
READ_OPEN_SQL = f"""
SELECT id, entered_at, department_id FROM {StateVisit._meta.db_table}
WHERE org_id = %s AND ticket_id = %s AND left_at IS NULL
ORDER BY entered_at, id LIMIT 1
"""  # noqa: S608 - constants only
CLOSE_SQL = f"""
UPDATE {StateVisit._meta.db_table}
SET left_at = %s, by_transition = %s, transition_id = %s, actor_id = %s, seconds = %s,
    business_seconds = %s
WHERE org_id = %s AND id = %s
"""  # noqa: S608 - constants only


# The entered state's blueprint is read in the INSERT itself: one statement, whichever
# blueprint the ticket came from.
OPEN_SQL = f"""
INSERT INTO {StateVisit._meta.db_table}
    (org_id, ticket_id, blueprint_id, state_id, department_id, entered_at, by_transition)
SELECT org_id, %s, blueprint_id, id, %s, %s, false FROM {State._meta.db_table}
WHERE org_id = %s AND id = %s
ON CONFLICT (org_id, ticket_id) WHERE left_at IS NULL DO NOTHING
"""  # noqa: S608 - constants only


def _open(org_id: int, ticket_id: int, department_id: int, state_id: int, at: dt.datetime) -> None:
    with connection.cursor() as cursor:
        cursor.execute(OPEN_SQL, [ticket_id, department_id, at, org_id, state_id])
