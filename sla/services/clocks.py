"""SLA clocks (BP-15, TKT-09): start, stop, pause, resume and re-plan them, and plan their due
rows (`ClockDue`) from the escalation levels.

Invariants, for every function here:
* A clock is due `target_minutes` of its own time (business hours of its department's
  schedule, or calendar time) after `started_at`, plus `paused_total` (the time it spent paused,
  measured in that same time): `due_at = add_working(started_at, target + paused_total)`. So
  resuming moves the due time by exactly the paused business time, and re-planning (a new
  target, a new department) recomputes it from the start, never from "now".
* An open, running clock has one unfired due row per escalation level of its target; a
  paused or stopped clock has none (the rows are deleted, so nothing fires). Fired rows stay:
  re-planning never writes a level again that fired (and the ledger's unique key would refuse
  it anyway).
* Every write names the clock's organization; callers pass objects of one organization (the
  ticket's) and run inside their transaction.
* A due row planned before the next sweep asks the sweep for an exact-time wake-up
  (`sla.tasks.schedule_wakeup`, after commit)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext

from helpdesk.businesstime import Schedule, add_working, working_between
from helpdesk.tickets import pipeline
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services.due import tickets_due_set

from ..models import Clock, ClockDue, EscalationLevel, SlaPolicy, StateSla, Target, When
from ..queue import schedule_wakeup

REPLAN_BATCH = 1000
POLICY_KINDS: tuple[str, str] = (Target.FIRST_RESPONSE.value, Target.RESOLUTION.value)


# --- Plans of escalation levels -----------------------------------------------------------------
@dataclass(frozen=True)
class LevelPlan:
    """When level `level` fires: `offset` from the due time (negative: before)."""

    level: int
    offset: dt.timedelta


def level_plans(levels: Iterable[EscalationLevel], target: str) -> tuple[LevelPlan, ...]:
    """The plans of the levels of `target`, by level."""
    plans = []
    for level in levels:
        if level.target != target:
            continue
        minutes = 0 if level.when == When.AT else level.offset_minutes
        sign = -1 if level.when == When.BEFORE else 1
        plans.append(LevelPlan(level=level.level, offset=dt.timedelta(minutes=sign * minutes)))
    return tuple(sorted(plans, key=lambda p: p.level))


def schedule_for(org_id: int, department_id: int, business_hours: bool) -> Schedule | None:
    """The schedule a clock counts in: the department's business hours, or None (calendar
    time). Read once per pipeline batch (and cached by the tenancy selector)."""
    if not business_hours:
        return None
    from helpdesk.tenancy.selectors import department_schedule

    return pipeline.cached(
        ("sla-schedule", org_id, department_id),
        lambda: department_schedule(org_id, department_id),
    )


def _schedule_of(clock: Clock) -> Schedule | None:
    return schedule_for(clock.org_id, clock.department_id, clock.business_hours)


def planned_due(clock: Clock, schedule: Schedule | None) -> dt.datetime:
    """The clock's due time (see the module's invariants)."""
    amount = dt.timedelta(minutes=clock.target_minutes) + clock.paused_total
    return add_working(clock.started_at, amount, schedule)


# --- Due rows ------------------------------------------------------------------------------------
_UNSET: Any = object()


def due_rows_for(
    clock: Clock,
    *,
    plans: Sequence[LevelPlan] | None = None,
    schedule: Schedule | None = _UNSET,
) -> list[ClockDue]:
    """The due rows of an open, running clock (unsaved): one per level, at its offset from
    the due time in the clock's own time (an offset of business hours skips nights and
    holidays like the target). None for a paused or stopped clock. `plans` and `schedule` are
    read when not given."""
    if clock.stopped_at is not None or clock.paused_at is not None:
        return []
    if plans is None:
        plans = level_plans(_levels_of_clock(clock), clock.kind)
    if schedule is _UNSET:
        schedule = _schedule_of(clock)
    return [
        ClockDue(
            org_id=clock.org_id,
            clock=clock,
            ticket_id=clock.ticket_id,
            level=plan.level,
            due_at=add_working(clock.due_at, plan.offset, schedule)
            if plan.offset
            else clock.due_at,
        )
        for plan in plans
    ]


def _levels_of_clock(clock: Clock) -> list[EscalationLevel]:
    owner: dict[str, Any] = (
        {"state_sla_id": clock.state_sla_id}
        if clock.kind == Target.STATE
        else {"policy_id": clock.policy_id}
    )
    if not any(owner.values()):
        return []
    return list(EscalationLevel.objects.for_org(clock.org_id).filter(**owner))


def _dues_clear(org_id: int, clock_ids: Iterable[int]) -> None:
    """Delete the unfired due rows of these clocks (claimed ones too: the sweep re-checks its
    rows under lock, and the ledger refuses a second firing)."""
    ids = list(clock_ids)
    if ids:
        ClockDue.objects.for_org(org_id).filter(clock_id__in=ids, fired_at=None).delete()


def dues_write(rows: list[ClockDue]) -> None:
    """Insert due rows (a level that already has a row, fired, is skipped) and ask for a
    wake-up when the earliest falls before the next sweep."""
    if not rows:
        return
    ClockDue.objects.bulk_create(rows, ignore_conflicts=True, batch_size=REPLAN_BATCH)
    _wake(min(row.due_at for row in rows))


def _wake(due_at: dt.datetime) -> None:
    schedule_wakeup(due_at)


# --- One clock -----------------------------------------------------------------------------------
def clock_start(
    *,
    ticket: Ticket,
    kind: str,
    minutes: int,
    business_hours: bool,
    now: dt.datetime,
    plans: Sequence[LevelPlan],
    policy: SlaPolicy | None = None,
    state_sla: StateSla | None = None,
    cycle: int = 1,
    paused: bool = False,
    dues_out: list[ClockDue] | None = None,
) -> Clock:
    """Start a clock on `ticket` (of the same organization as its policy or state SLA), with
    its due rows unless it starts paused (a ticket created on hold). With `dues_out`, the due
    rows are added to it for the caller to write with others (`dues_write`), in one insert."""
    schedule = schedule_for(ticket.org_id, ticket.department_id, business_hours)
    clock = Clock(
        org_id=ticket.org_id,
        ticket=ticket,
        kind=kind,
        policy=policy,
        state_sla=state_sla,
        state_id=state_sla.state_id if state_sla is not None else None,
        department_id=ticket.department_id,
        cycle=cycle,
        target_minutes=minutes,
        business_hours=business_hours,
        started_at=now,
        paused_at=now if paused else None,
    )
    clock.due_at = planned_due(clock, schedule)
    clock.save(force_insert=True)
    rows = due_rows_for(clock, plans=plans, schedule=schedule)
    if dues_out is not None:
        dues_out.extend(rows)
    else:
        dues_write(rows)
    return clock


def _account_pause(clock: Clock, now: dt.datetime, schedule: Schedule | None) -> None:
    """Add the pause that ends now to `paused_total` and move the due time by it."""
    if clock.paused_at is None:
        return
    paused = working_between(clock.paused_at, max(now, clock.paused_at), schedule)
    clock.paused_total += max(paused, dt.timedelta(0))
    clock.paused_at = None
    clock.due_at = planned_due(clock, schedule)


def clock_stop(
    *, clock: Clock, now: dt.datetime, owner_id: int | None, measured: bool = True
) -> None:
    """Stop an open clock: met when stopped by its due time (a pause ending now counts as
    paused). `measured=False` when its target went away (the ticket moved to a department or
    priority without one): it stops without a verdict. Its unfired due rows go."""
    if clock.stopped_at is not None:
        return
    if clock.paused_at is not None:
        _account_pause(clock, now, _schedule_of(clock))
    clock.stopped_at = now
    clock.met = (now <= clock.due_at) if measured else None
    clock.owner_id = owner_id
    clock.save(update_fields=["paused_at", "paused_total", "due_at", "stopped_at", "met", "owner"])
    _dues_clear(clock.org_id, [clock.pk])


def clock_pause(*, clock: Clock, now: dt.datetime) -> None:
    """Pause an open clock (the ticket went on hold): no escalation fires while paused."""
    if clock.stopped_at is not None or clock.paused_at is not None:
        return
    clock.paused_at = now
    clock.save(update_fields=["paused_at"])
    _dues_clear(clock.org_id, [clock.pk])


def clock_resume(
    *, clock: Clock, now: dt.datetime, plans: Sequence[LevelPlan] | None = None
) -> None:
    """Resume a paused clock: its due time moves by the paused time (business time when the
    clock counts business hours) and its levels are planned again."""
    if clock.stopped_at is not None or clock.paused_at is None:
        return
    schedule = _schedule_of(clock)
    _account_pause(clock, now, schedule)
    clock.save(update_fields=["paused_at", "paused_total", "due_at"])
    dues_write(due_rows_for(clock, plans=plans, schedule=schedule))


def clock_replan(
    *,
    clock: Clock,
    minutes: int,
    business_hours: bool,
    department_id: int,
    plans: Sequence[LevelPlan],
    policy: SlaPolicy | None = None,
) -> None:
    """Give an open clock a new target, time or department (a policy changed, or the ticket
    moved): its due time is computed again from its start, its levels planned again."""
    clock.target_minutes = minutes
    clock.business_hours = business_hours
    clock.department_id = department_id
    if policy is not None:
        clock.policy = policy
    schedule = _schedule_of(clock)
    clock.due_at = planned_due(clock, schedule)
    clock.save(update_fields=["target_minutes", "business_hours", "department", "policy", "due_at"])
    _dues_clear(clock.org_id, [clock.pk])
    dues_write(due_rows_for(clock, plans=plans, schedule=schedule))


def next_cycle(org_id: int, ticket_id: int, kind: str, state_id: int | None = None) -> int:
    """1 + the cycles this clock kind (of this state) already ran on the ticket."""
    query = Clock.objects.for_org(org_id).filter(ticket_id=ticket_id, kind=kind)
    if state_id is not None:
        query = query.filter(state_id=state_id)
    return (query.aggregate(m=Max("cycle"))["m"] or 0) + 1


# --- Settings changed: re-plan every open clock of a policy or state SLA --------------------
def replan_policy(policy: SlaPolicy, *, removed: bool = False) -> int:
    """Re-plan the open clocks of `policy` after its settings changed (called by the settings'
    services after commit), in batches of REPLAN_BATCH, each in its own transaction. A target
    that was removed, or a policy switched off or about to be deleted (`removed`: call it
    before deleting), stops its clocks without a verdict. Tickets whose resolution due time
    moved get it as their due date. Returns the clocks re-planned or stopped."""
    done = after = 0
    while True:
        with transaction.atomic():
            fresh = (
                None
                if removed
                else SlaPolicy.objects.for_org(policy.org_id)
                .filter(pk=policy.pk)
                .prefetch_related("levels")
                .first()
            )
            clocks = list(
                Clock.objects.for_org(policy.org_id)
                .filter(policy_id=policy.pk, stopped_at=None, pk__gt=after)
                .order_by("pk")[:REPLAN_BATCH]
            )
            if not clocks:
                return done
            after = clocks[-1].pk
            levels = list(fresh.levels.all()) if fresh is not None else []
            plans = {kind: level_plans(levels, kind) for kind in POLICY_KINDS}
            keep, stop = [], []
            for clock in clocks:
                minutes = fresh.minutes_for(clock.kind) if fresh and fresh.is_active else None
                if fresh is None or minutes is None:
                    stop.append(clock)
                    continue
                clock.target_minutes = minutes
                clock.business_hours = fresh.business_hours
                clock.due_at = planned_due(clock, _schedule_of(clock))
                keep.append(clock)
            _apply_batch(policy.org_id, keep, stop, plans)
            done += len(clocks)


def replan_state_sla(state_sla: StateSla, *, removed: bool = False) -> int:
    """Re-plan the open clocks of a state's SLA after its settings changed (see
    `replan_policy`); an SLA about to be deleted (`removed`, called before deleting) stops
    them without a verdict. Clocks are found by their state, so an SLA deleted and made again
    takes over the clocks of the old one."""
    done = after = 0
    while True:
        with transaction.atomic():
            fresh = (
                None
                if removed
                else StateSla.objects.for_org(state_sla.org_id)
                .filter(pk=state_sla.pk)
                .prefetch_related("levels")
                .first()
            )
            clocks = list(
                Clock.objects.for_org(state_sla.org_id)
                .filter(
                    kind=Target.STATE, state_id=state_sla.state_id, stopped_at=None, pk__gt=after
                )
                .order_by("pk")[:REPLAN_BATCH]
            )
            if not clocks:
                return done
            after = clocks[-1].pk
            levels = list(fresh.levels.all()) if fresh is not None else []
            plans = {Target.STATE.value: level_plans(levels, Target.STATE)}
            keep, stop = [], []
            for clock in clocks:
                if fresh is None:
                    stop.append(clock)
                    continue
                clock.state_sla = fresh
                clock.target_minutes = fresh.minutes
                clock.business_hours = fresh.business_hours
                clock.due_at = planned_due(clock, _schedule_of(clock))
                keep.append(clock)
            _apply_batch(state_sla.org_id, keep, stop, plans)
            done += len(clocks)


def replan_department(org_id: int, department_id: int) -> int:
    """Re-plan the open business-hours clocks of a department after its schedule changed
    (business hours, holidays or time zone; called by the task the schedule listener
    enqueues): each clock's due time is computed again from its start under the new schedule,
    and its levels' due rows with it. Calendar-time clocks are not touched. In batches of
    REPLAN_BATCH, each in its own transaction. Returns the clocks re-planned."""
    done = after = 0
    levels_cache: dict[tuple[str, int | None, int | None], tuple[LevelPlan, ...]] = {}
    while True:
        with transaction.atomic():
            clocks = list(
                Clock.objects.for_org(org_id)
                .filter(
                    department_id=department_id,
                    business_hours=True,
                    stopped_at=None,
                    pk__gt=after,
                )
                .order_by("pk")[:REPLAN_BATCH]
            )
            if not clocks:
                return done
            after = clocks[-1].pk
            groups: dict[tuple[str, int | None, int | None], list[Clock]] = {}
            for clock in clocks:
                clock.due_at = planned_due(clock, _schedule_of(clock))
                owner = (clock.kind, clock.policy_id, clock.state_sla_id)
                if owner not in levels_cache:
                    levels_cache[owner] = level_plans(_levels_of_clock(clock), clock.kind)
                groups.setdefault(owner, []).append(clock)
            for (kind, _policy, _state_sla), group in groups.items():
                _apply_batch(org_id, group, [], {kind: levels_cache[(kind, _policy, _state_sla)]})
            done += len(clocks)


def _apply_batch(
    org_id: int,
    keep: list[Clock],
    stop: list[Clock],
    plans: dict[str, tuple[LevelPlan, ...]],
) -> None:
    """Write a batch of re-planned clocks: their fields, their due rows and the tickets' due
    dates (resolution clocks); the stopped ones without a verdict."""
    now = timezone.now()
    # The due dates stopped resolution clocks gave their tickets: cleared below, unless a
    # person changed them since.
    shown = {
        c.ticket_id: None if c.paused_at is not None else c.due_at
        for c in stop
        if c.kind == Target.RESOLUTION
    }
    for clock in stop:
        if clock.paused_at is not None:
            _account_pause(clock, now, _schedule_of(clock))
        clock.stopped_at, clock.met = now, None
    _clocks_update(org_id, keep + stop)
    _dues_clear(org_id, [c.pk for c in keep + stop])
    rows: list[ClockDue] = []
    for clock in keep:
        rows += due_rows_for(clock, plans=plans[clock.kind], schedule=_schedule_of(clock))
    dues_write(rows)
    dues: dict[int, dt.datetime | None] = {
        clock.ticket_id: None if clock.paused_at is not None else clock.due_at
        for clock in keep
        if clock.kind == Target.RESOLUTION
    }
    cleared = {ticket_id: None for ticket_id, due in shown.items() if due is not None}
    if dues or cleared:
        tickets_due_set(
            org_id=org_id,
            dues={**cleared, **dues},
            reason=gettext("SLA policy"),
            expected={t: shown[t] for t in cleared},
        )


# The columns a re-plan writes, with their PostgreSQL array types.
_REPLAN_COLUMNS = (
    ("target_minutes", "integer"),
    ("business_hours", "boolean"),
    ("due_at", "timestamptz"),
    ("paused_at", "timestamptz"),
    ("paused_total", "interval"),
    ("state_sla_id", "bigint"),
    ("stopped_at", "timestamptz"),
    ("met", "boolean"),
)


def _clocks_update(org_id: int, clocks: list[Clock]) -> None:
    """Write the re-planned fields of many clocks in one UPDATE ... FROM unnest(arrays):
    Django's bulk_update builds a CASE per row and field, a hundred times slower here."""
    if not clocks:
        return
    names = [name for name, _type in _REPLAN_COLUMNS]
    arrays = [[c.pk for c in clocks]] + [[getattr(c, n) for c in clocks] for n in names]
    casts = ", ".join(f"%s::{kind}[]" for _name, kind in (("id", "bigint"), *_REPLAN_COLUMNS))
    sets = ", ".join(f"{name} = v.{name}" for name in names)
    sql = (
        f"UPDATE {Clock._meta.db_table} AS c SET {sets}"  # noqa: S608 - constants only
        f" FROM unnest({casts}) AS v(id, {', '.join(names)})"
        " WHERE c.org_id = %s AND c.id = v.id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*arrays, org_id])
