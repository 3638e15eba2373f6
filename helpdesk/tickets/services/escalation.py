"""SLA escalations on tickets (BP-15, TKT-06): the history rows of the escalations the SLA
sweep fires, many tickets at a time. Written here, so that the SLA app never writes the
tickets' tables itself.

A ticket's escalation level is not stored on the ticket: it is the highest level reached
among its open SLA clocks, which the SLA app keeps (and the "escalated" view reads through
`selectors.view_filter_register`). A level on the ticket's row would make every escalation
an update of the desk's widest table, with every one of its indexes written again (an index
names the level, so the update cannot be HOT): about half of the sweep's database time
(README, SLA benchmark)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction

from helpdesk.lookups import any_of

from ..models import Ticket, TicketHistory
from .history import history_record_many

ACTION = "escalated"


@dataclass(frozen=True)
class Escalation:
    """Level `level` of an SLA fired on ticket `ticket_id`; `target` says which SLA
    ("first_response", "resolution" or "state"), for the history row."""

    ticket_id: int
    level: int
    target: str


def tickets_lock_for_escalation(*, org_id: int, ticket_ids: Iterable[int]) -> set[int]:
    """Lock the tickets an escalation is about to be recorded on (`FOR NO KEY UPDATE SKIP
    LOCKED`: a ticket someone is changing is skipped, never waited for, and its escalations
    wait for the next sweep); the ids of the tickets locked. While the sweep holds them, no
    change of the ticket stops its clocks, so the levels it reads stay true until it
    commits."""
    return set(
        Ticket.objects.for_org(org_id)
        .filter(any_of("pk", set(ticket_ids)))
        .select_for_update(skip_locked=True, no_key=True, of=("self",))
        .values_list("pk", flat=True)
    )


@transaction.atomic
def tickets_escalate(
    *,
    org_id: int,
    escalations: Iterable[Escalation],
    levels_before: Mapping[int, int] | None = None,
) -> dict[int, int]:
    """Record escalations that fired, on tickets of organization `org_id` (the history's
    composite key refuses another's): each writes a history row ("Escalated"), and the one
    that raised its ticket's level (the highest among its open clocks, `levels_before`, 0
    where absent) also the level's change. Returns {ticket id: new level} of the raised
    ones."""
    escalations = list(escalations)
    if not escalations:
        return {}
    before = levels_before or {}
    highest: dict[int, int] = {}
    for e in escalations:
        highest[e.ticket_id] = max(highest.get(e.ticket_id, 0), e.level)
    raised = {t: lvl for t, lvl in highest.items() if lvl > before.get(t, 0)}
    rows = []
    for e in escalations:
        changes: dict[str, list[object]] = {"sla_escalation": [None, f"{e.target}:{e.level}"]}
        if raised.get(e.ticket_id) == e.level:
            changes["escalation_level"] = [before.get(e.ticket_id, 0), e.level]
        rows.append(
            TicketHistory(
                org_id=org_id, ticket_id=e.ticket_id, actor=None, action=ACTION, changes=changes
            )
        )
    history_record_many(rows)
    return raised
