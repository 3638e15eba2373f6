"""Tickets' due dates set by a process (TKT-09's SLA step re-planning many tickets after an
SLA policy changed): written here, with the tickets' history, so that the SLA app never
writes the tickets' table itself. A single ticket inside the pipeline goes through
`rules.changes.rule_change` instead."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.db import connection, transaction

from ..models import Ticket, TicketHistory
from .history import diff, history_record_many


@transaction.atomic
def tickets_due_set(
    *,
    org_id: int,
    dues: Mapping[int, dt.datetime | None],
    reason: str,
    expected: Mapping[int, dt.datetime | None] | None = None,
) -> list[int]:
    """Set the due date of each ticket in `dues` ({ticket id: due date}) of organization
    `org_id`; tickets whose date does not change are left alone, and so are those named in
    `expected` whose date is not the one expected (a person changed it since the process set
    it). Each change writes a history row naming `reason` as the rule ("Rule: <reason>").
    Returns the ids of the tickets changed."""
    expected = expected or {}
    current = dict(
        Ticket.objects.for_org(org_id).filter(pk__in=list(dues)).values_list("pk", "due_at")
    )
    changed = {
        pk: due
        for pk, due in dues.items()
        if pk in current
        and current[pk] != due
        and (pk not in expected or current[pk] == expected[pk])
    }
    if not changed:
        return []
    # One UPDATE from arrays: Django's bulk_update builds a CASE per row, far slower.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE tickets_ticket AS t SET due_at = v.due_at"
            " FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, due_at)"
            " WHERE t.org_id = %s AND t.id = v.id",
            [list(changed), list(changed.values()), org_id],
        )
    history_record_many(
        [
            TicketHistory(
                org_id=org_id,
                ticket_id=pk,
                actor=None,
                action="rule",
                changes={**diff({"due_at": current[pk]}, {"due_at": due}), "_rule": reason},
            )
            for pk, due in changed.items()
        ]
    )
    return list(changed)
