"""Reading a ticket's SLA clocks for the ticket page and the blueprint bar (BP-15, TKT-09):
time left or overdue by, paused, level reached. One query per ticket. And the tickets'
escalation levels, kept on their clocks: for the sweep's history rows and the desk's
"escalated" view (TKT-06)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Max, Q
from django.utils import timezone

from helpdesk.businesstime import working_between
from helpdesk.compiledreads import CompiledRead
from helpdesk.lookups import any_of
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.models import Ticket

from .models import Clock, Target
from .services.clocks import schedule_for

KIND_ORDER = {Target.FIRST_RESPONSE: 0, Target.RESOLUTION: 1, Target.STATE: 2}


# --- A ticket's escalation level: the highest reached among its open clocks -------------------
def _escalated_clocks(org_id: int):
    """The open clocks of the organization on which an escalation fired (the partial index
    `sla_clock_escalated`: a few rows among the open clocks)."""
    return Clock.objects.for_org(org_id).filter(stopped_at=None, level_reached__gt=0)


def ticket_levels(org_id: int, ticket_ids: Iterable[int]) -> dict[int, int]:
    """{ticket id: escalation level} of those of `ticket_ids` that have one (0: absent)."""
    return dict(
        _escalated_clocks(org_id)
        .filter(any_of("ticket_id", set(ticket_ids)))
        .values("ticket_id")
        .annotate(level=Max("level_reached"))
        .values_list("ticket_id", "level")
    )


def escalated_tickets(membership: Membership, now: dt.datetime) -> Q:
    """The tickets of the desk's "escalated" view (TKT-06; registered with
    `view_filter_register`): an escalation fired on one of their open clocks."""
    return Q(pk__in=_escalated_clocks(membership.org_id).values("ticket_id"))


@dataclass(frozen=True)
class ClockSummary:
    """One clock as a person reads it. `remaining` is the time left until `due_at` in the
    clock's own time (business hours or calendar), negative when overdue; for a paused clock,
    the time that was left when it paused. `met` is set once stopped (None: stopped without a
    verdict, its target went away)."""

    kind: str
    label: str
    due_at: dt.datetime
    remaining: dt.timedelta
    business_hours: bool
    paused: bool
    level_reached: int
    cycle: int
    state_id: int | None
    state_name: str
    stopped_at: dt.datetime | None
    met: bool | None

    @property
    def overdue(self) -> bool:
        return self.stopped_at is None and not self.paused and self.remaining < dt.timedelta(0)

    @property
    def overdue_by(self) -> dt.timedelta:
        return -self.remaining if self.remaining < dt.timedelta(0) else dt.timedelta(0)


def _summary(clock: Clock, now: dt.datetime) -> ClockSummary:
    schedule = schedule_for(clock.org_id, clock.department_id, clock.business_hours)
    if clock.stopped_at is not None:
        since = clock.stopped_at
    elif clock.paused_at is not None:
        since = clock.paused_at
    else:
        since = now
    state_name = ""
    if clock.state_id is not None and clock.state is not None:
        state_name = clock.state.status.name
    return ClockSummary(
        kind=clock.kind,
        label=str(Target(clock.kind).label),
        due_at=clock.due_at,
        remaining=working_between(since, clock.due_at, schedule),
        business_hours=clock.business_hours,
        paused=clock.paused_at is not None and clock.stopped_at is None,
        level_reached=clock.level_reached,
        cycle=clock.cycle,
        state_id=clock.state_id,
        state_name=state_name,
        stopped_at=clock.stopped_at,
        met=clock.met,
    )


_open_clocks: CompiledRead[Clock] = CompiledRead(
    lambda org_id, ticket_id: (
        Clock.objects.for_org(org_id)
        .filter(ticket_id=ticket_id, stopped_at=None)
        .select_related("state__status")
    )
)


def ticket_sla(
    ticket: Ticket, *, now: dt.datetime | None = None, include_stopped: bool = False
) -> list[ClockSummary]:
    """The ticket's open clocks (first response, resolution, the current state's), in that
    order; with `include_stopped`, also the stopped ones (newest cycle last)."""
    now = now or timezone.now()
    if include_stopped:
        clocks = list(
            Clock.objects.for_org(ticket.org_id)
            .filter(ticket_id=ticket.pk)
            .select_related("state__status")
        )
    else:  # every ticket page and blueprint bar asks: SQL compiled once per process
        clocks = _open_clocks.all(org_id=ticket.org_id, ticket_id=ticket.pk)
    ordered = sorted(
        clocks,
        key=lambda c: (c.stopped_at is None, KIND_ORDER.get(c.kind, 9), c.started_at, c.pk),
    )
    return [_summary(clock, now) for clock in ordered]
