"""The SLA app's places in the apps below it (registered by `sla.hooks`):

* `sla_step`, the pipeline's "sla" slot (TKT-09): on a new ticket, the active policy of its
  department and priority starts the first-response and resolution clocks; on a change of
  status, priority or department the ticket's policy clocks follow: closing stops them
  (met or missed), an on-hold status pauses the resolution clock and leaving it resumes it,
  another policy re-plans them, reopening starts a new resolution cycle. The ticket's due date
  is the resolution clock's due time (none while paused).
* `reply_recorded`, a ticket-history listener: the first public reply of an agent stops the
  first-response clock.
* `state_visited`, a blueprint-visit listener (BP-15): entering a state with an SLA starts a
  state clock, leaving the state stops it (and its unfired escalations with it).

Each reads its settings once per process and settings version (`_policies`, `state_sla_for`),
and a ticket change that touches none of status, priority and department costs no query."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext

from blueprints.visits import Visit
from helpdesk.tickets import pipeline
from helpdesk.tickets.models import StatusKind, Thread, Ticket, TicketHistory
from helpdesk.tickets.rules import version

from ..models import Clock, ClockDue, EscalationLevel, SlaPolicy, StateSla, Target
from .clocks import (
    POLICY_KINDS,
    clock_pause,
    clock_replan,
    clock_resume,
    clock_start,
    clock_stop,
    dues_write,
    level_plans,
    next_cycle,
)

WATCHED = ("status", "priority", "department")
_KEEP: Any = object()


# --- Settings, read once per process and settings version -----------------------------------------
# The organization's policies and state SLAs with their levels are read once per process and
# renewed with the pipeline's settings version (`helpdesk.tickets.rules.version`: every save
# and delete of a policy, a level or a state SLA renews it, `watch` below). The objects are
# shared by every request of the process: read them, never change them.
def _policies(org_id: int) -> dict[tuple[int, str], SlaPolicy]:
    """The organization's active policies by (department, priority), with their levels."""

    def read() -> dict[tuple[int, str], SlaPolicy]:
        found: dict[tuple[int, str], SlaPolicy] = {}
        for policy in (
            SlaPolicy.objects.for_org(org_id)
            .filter(is_active=True)
            .order_by("pk")
            .prefetch_related(
                Prefetch("levels", queryset=EscalationLevel.objects.for_org(org_id), to_attr="plan")
            )
        ):
            found.setdefault((policy.department_id, policy.priority), policy)
        return found

    return version.settings(org_id, "sla-policies", read)


def policy_for(ticket: Ticket) -> SlaPolicy | None:
    """The active policy of the ticket's department and priority, with its levels."""
    return _policies(ticket.org_id).get((ticket.department_id, ticket.priority))


def state_sla_for(org_id: int, state_id: int) -> StateSla | None:
    """The SLA of a blueprint state, with its levels."""

    def read() -> dict[int, StateSla]:
        return {
            sla.state_id: sla
            for sla in StateSla.objects.for_org(org_id)
            .order_by("pk")
            .prefetch_related(
                Prefetch("levels", queryset=EscalationLevel.objects.for_org(org_id), to_attr="plan")
            )
        }

    return version.settings(org_id, "sla-states", read).get(state_id)


def _org_has_policies(org_id: int) -> bool:
    """Whether the organization has any SLA policy (active or not), so an organization
    without policies reads nothing per ticket."""
    return version.settings(
        org_id, "sla-any-policy", lambda: SlaPolicy.objects.for_org(org_id).exists()
    )


version.watch(SlaPolicy, EscalationLevel, StateSla)


def _plan(owner: SlaPolicy | StateSla) -> list[EscalationLevel]:
    """The levels prefetched with a policy or state SLA (`policy_for`, `state_sla_for`)."""
    return getattr(owner, "plan", [])


def _rule_name() -> str:
    return gettext("SLA")


# --- The pipeline's step --------------------------------------------------------------------------
def sla_step(ctx: pipeline.Context) -> None:
    """The pipeline's "sla" slot (TKT-09); see the module's docstring."""
    ticket = ctx.ticket
    creating = ctx.event == "create" and ctx.depth == 0
    if not creating and not any(ctx.changed(name) for name in WATCHED):
        return
    if not _org_has_policies(ticket.org_id):
        return  # no policy, so no policy clock either (deleting one stops its clocks first)
    clocks: list[Clock] = (
        []
        if creating
        else list(
            Clock.objects.for_org(ticket.org_id).filter(ticket_id=ticket.pk, kind__in=POLICY_KINDS)
        )
    )
    open_clocks = {c.kind: c for c in clocks if c.stopped_at is None}
    if ticket.status_kind == StatusKind.CLOSED:
        for running in open_clocks.values():
            clock_stop(clock=running, now=ctx.now, owner_id=ticket.owner_id)
        return
    policy = policy_for(ticket)
    on_hold = ticket.status_kind == StatusKind.ON_HOLD
    due: Any = _KEEP  # the ticket's new due date, if the SLA gives it one
    dues: list[ClockDue] = []
    for kind in POLICY_KINDS:
        clock = open_clocks.get(kind)
        minutes = policy.minutes_for(kind) if policy is not None else None
        plans = level_plans(_plan(policy), kind) if policy is not None else ()
        if clock is None:
            if (
                policy is not None
                and minutes is not None
                and _may_start(ticket, kind, clocks, creating)
            ):
                open_clocks[kind] = clock_start(
                    ticket=ticket,
                    kind=kind,
                    minutes=minutes,
                    business_hours=policy.business_hours,
                    now=ctx.now,
                    plans=plans,
                    policy=policy,
                    cycle=1 + sum(1 for c in clocks if c.kind == kind),
                    paused=on_hold and kind == Target.RESOLUTION,
                    dues_out=dues,
                )
            continue
        if policy is None or minutes is None:
            # The ticket moved to a department or priority without this target; the due
            # date this clock gave it goes with it (one an agent set stays).
            if kind == Target.RESOLUTION and ticket.due_at == clock.due_at:
                due = None
            clock_stop(clock=clock, now=ctx.now, owner_id=ticket.owner_id, measured=False)
            del open_clocks[kind]
            continue
        if (
            clock.policy_id != policy.pk
            or clock.department_id != ticket.department_id
            or clock.target_minutes != minutes
            or clock.business_hours != policy.business_hours
        ):
            clock_replan(
                clock=clock,
                minutes=minutes,
                business_hours=policy.business_hours,
                department_id=ticket.department_id,
                plans=plans,
                policy=policy,
            )
        if kind == Target.RESOLUTION:
            if on_hold:
                clock_pause(clock=clock, now=ctx.now)
            else:
                clock_resume(clock=clock, now=ctx.now, plans=plans)
    dues_write(dues)
    resolution = open_clocks.get(Target.RESOLUTION)
    if resolution is not None:
        due = None if resolution.paused_at is not None else resolution.due_at
    if due is not _KEEP and due != ticket.due_at:
        from helpdesk.tickets.rules.changes import rule_change

        rule_change(ctx, rule_name=_rule_name(), values={"due_at": due})


def _may_start(ticket: Ticket, kind: str, clocks: list[Clock], creating: bool) -> bool:
    """A resolution clock starts whenever a policy target applies and none runs (a new
    ticket, a reopened one, one moved under a policy). A first-response clock starts once per
    ticket, and not when an agent already replied."""
    if creating or kind == Target.RESOLUTION:
        return True
    if any(c.kind == kind for c in clocks):
        return False
    return not (
        Thread.objects.for_org(ticket.org_id)
        .filter(ticket_id=ticket.pk, kind=Thread.Kind.REPLY)
        .exists()
    )


# --- History: the first public reply ----------------------------------------------------------
def reply_recorded(row: TicketHistory) -> None:
    """The first public reply of an agent stops the first-response clock (met if in time)."""
    if row.action != "reply" or row.actor_id is None:
        return
    clock = (
        Clock.objects.for_org(row.org_id)
        .filter(ticket_id=row.ticket_id, kind=Target.FIRST_RESPONSE, stopped_at=None)
        .first()
    )
    if clock is None:
        return
    clock_stop(clock=clock, now=row.created_at, owner_id=row.actor_id)


# --- Blueprint states (BP-15) -------------------------------------------------------------------
# The ticket's open state clock (at most one), read on every blueprint transition. In SQL: the
# ORM's building of the statement cost several times its running (bench/blueprints.py).
_OPEN_STATE_CLOCK = (
    "SELECT "  # noqa: S608 - the model's column names, no input
    + ", ".join(f'"{f.column}"' for f in Clock._meta.concrete_fields)
    + f" FROM {Clock._meta.db_table}"
    " WHERE org_id = %s AND ticket_id = %s AND kind = %s AND stopped_at IS NULL"
    " ORDER BY started_at, id LIMIT 1"
)


def state_visited(visit: Visit) -> None:
    """Leaving a state stops its clock (its unfired escalations go); entering a state with
    an SLA starts one."""
    ticket = visit.ticket
    if visit.left_id is not None:
        clock = next(
            iter(Clock.objects.raw(_OPEN_STATE_CLOCK, [ticket.org_id, ticket.pk, Target.STATE])),
            None,
        )
        if clock is not None:
            clock_stop(clock=clock, now=visit.at, owner_id=ticket.owner_id)
    if visit.entered_id is None:
        return
    sla = state_sla_for(ticket.org_id, visit.entered_id)
    if sla is None:
        return
    clock_start(
        ticket=ticket,
        kind=Target.STATE,
        minutes=sla.minutes,
        business_hours=sla.business_hours,
        now=visit.at,
        plans=level_plans(_plan(sla), Target.STATE),
        state_sla=sla,
        cycle=next_cycle(ticket.org_id, ticket.pk, Target.STATE, visit.entered_id),
    )
