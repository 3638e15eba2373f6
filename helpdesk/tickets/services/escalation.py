"""A ticket's escalation level (BP-15, TKT-06): raised by the SLA sweep when an escalation
fires, many tickets at a time. Written here, with the ticket's history, so that the SLA app
never writes the tickets' tables itself."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.db import transaction

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


def tickets_lock_for_escalation(*, org_id: int, ticket_ids: Iterable[int]) -> dict[int, int]:
    """Lock the tickets an escalation is about to raise (`FOR NO KEY UPDATE SKIP LOCKED`: a
    ticket someone is changing is skipped, never waited for) and read their levels in the
    same statement; {ticket id: escalation level} of the tickets locked, for
    `tickets_escalate(current=...)`."""
    return dict(
        Ticket.objects.for_org(org_id)
        .filter(pk__in=set(ticket_ids))
        .select_for_update(skip_locked=True, no_key=True, of=("self",))
        .values_list("pk", "escalation_level")
    )


@transaction.atomic
def tickets_escalate(
    *,
    org_id: int,
    escalations: Iterable[Escalation],
    current: Mapping[int, int] | None = None,
) -> dict[int, int]:
    """Record escalations that fired: each ticket's `escalation_level` rises to the highest
    level fired (never falls here: clocks stopping lower it, see `ticket_escalation_set`) and
    each escalation writes a history row ("Escalated", with the level's change when it rose).
    The caller holds the tickets' row locks (the sweep takes them with SKIP LOCKED, so that it
    never waits on a ticket being edited); `current` is their levels as read under those locks
    (`tickets_lock_for_escalation`), else they are read here. Returns {ticket id: new level}
    of the raised ones."""
    escalations = list(escalations)
    if not escalations:
        return {}
    if current is None:
        current = dict(
            Ticket.objects.for_org(org_id)
            .filter(pk__in={e.ticket_id for e in escalations})
            .values_list("pk", "escalation_level")
        )
    highest: dict[int, int] = {}
    for e in escalations:
        if e.ticket_id in current:
            highest[e.ticket_id] = max(highest.get(e.ticket_id, 0), e.level)
    raised = {t: lvl for t, lvl in highest.items() if lvl > current[t]}
    by_level: dict[int, list[int]] = {}
    for ticket_id, level in raised.items():
        by_level.setdefault(level, []).append(ticket_id)
    for level, ids in by_level.items():
        Ticket.objects.for_org(org_id).filter(pk__in=ids, escalation_level__lt=level).update(
            escalation_level=level
        )
    rows = []
    for e in escalations:
        if e.ticket_id not in current:
            continue
        changes: dict[str, list[object]] = {"sla_escalation": [None, f"{e.target}:{e.level}"]}
        if raised.get(e.ticket_id) == e.level:
            changes["escalation_level"] = [current[e.ticket_id], e.level]
        rows.append(
            TicketHistory(
                org_id=org_id, ticket_id=e.ticket_id, actor=None, action=ACTION, changes=changes
            )
        )
    history_record_many(rows)
    return raised


@transaction.atomic
def ticket_escalation_set(*, org_id: int, ticket_id: int, level: int) -> bool:
    """Set a ticket's escalation level to `level` (the highest among its open clocks, computed
    by the SLA app when a clock stops or is re-planned); no history row, since the clock's own
    change is what the reader sees. Returns whether it changed."""
    return bool(
        Ticket.objects.for_org(org_id)
        .filter(pk=ticket_id)
        .exclude(escalation_level=level)
        .update(escalation_level=level)
    )
