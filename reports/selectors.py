"""The blueprint report (BP-26, RPT-01): for one blueprint and a period, how long tickets
stay in each state and how long each transition takes to be taken, per agent, in calendar and
in business hours; the tickets stuck longest in each state now; and the state SLAs met and
missed.

Which figures count in [start, end):
* Time in a state: the visits (`StateVisit`) that *ended* in the period; a visit still open is
  not a duration yet (it shows among the stuck tickets).
* Time per transition: the visits ended by that transition, i.e. the time the ticket spent in
  the state the transition left. "By agent" is who completed it (the transition log's actor,
  kept on the visit); automatic transitions have none. Status changes made outside any
  transition (an edit, a rule) count for the states, not for a transition.
* SLA met or missed per state: the SLA app's state clocks whose verdict fell in the period,
  as the SLA report counts them (`sla.selectors_report.counted_clocks`).

Averages, medians and 90th percentiles are computed by PostgreSQL (`avg`,
`percentile_cont`) over the stored visit lengths; calendar and business seconds were stored
once when each visit ended (`reports.visits`). A fixed number of queries whatever the data:
the durations by state, by transition and by transition and agent (one pass, GROUPING
SETS), open visits per state, stuck tickets (a ROW_NUMBER window), SLA clocks; plus the
names of states, transitions and people."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext as _

from blueprints.models import Blueprint, State, TicketBlueprint, Transition
from sla.models import Target
from sla.selectors_report import MET, counted_clocks

from .models import StateVisit
from .visits import business_seconds

STUCK_DEFAULT = 5


@dataclass(frozen=True)
class Durations:
    """Lengths of a group of visits, in seconds: calendar and business. None without visits."""

    count: int = 0
    avg: float | None = None
    median: float | None = None
    p90: float | None = None
    business_avg: float | None = None
    business_median: float | None = None
    business_p90: float | None = None

    def figures(self, business: bool) -> tuple[float | None, float | None, float | None]:
        if business:
            return self.business_avg, self.business_median, self.business_p90
        return self.avg, self.median, self.p90


@dataclass
class StuckTicket:
    number: int
    subject: str
    owner_id: int | None
    entered_at: dt.datetime
    seconds: int
    business_seconds: int
    owner: str = ""


@dataclass
class StateRow:
    key: int | None
    name: str
    durations: Durations = field(default_factory=Durations)
    open_now: int = 0
    sla_met: int = 0
    sla_missed: int = 0
    stuck: list[StuckTicket] = field(default_factory=list)

    @property
    def sla_total(self) -> int:
        return self.sla_met + self.sla_missed

    @property
    def sla_met_percent(self) -> int | None:
        return round(100 * self.sla_met / self.sla_total) if self.sla_total else None


@dataclass
class TransitionRow:
    key: int | None
    name: str
    durations: Durations = field(default_factory=Durations)


@dataclass
class AgentRow:
    """An agent's (None: automatic) takes of one transition."""

    key: int | None
    name: str
    transition: str
    durations: Durations = field(default_factory=Durations)


@dataclass
class BlueprintReport:
    blueprint: Blueprint
    start: dt.datetime
    end: dt.datetime
    states: list[StateRow]
    transitions: list[TransitionRow]
    agents: list[AgentRow]  # per agent in total, then each agent's transitions

    @property
    def visits(self) -> int:
        return sum(row.durations.count for row in self.states)

    @property
    def stuck_count(self) -> int:
        return sum(len(row.stuck) for row in self.states)


# --- SQL aggregates -----------------------------------------------------------------------------
AGGREGATES = """
    count(*),
    avg(v.seconds)::float8,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY v.seconds),
    avg(v.business_seconds)::float8,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY v.business_seconds)
"""
# One pass over the period's visits, grouped three ways at once: by state, by the transition
# that ended the visit (0: since deleted; -1: not ended by a transition), and by transition
# and agent. The visit rows carry how they ended, so no join to the transition log.
DURATIONS_SQL = f"""
SELECT v.state_id, t.key, v.actor_id, GROUPING(v.state_id), GROUPING(v.actor_id),
    count(*),
    avg(v.seconds)::float8,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY v.seconds),
    avg(v.business_seconds)::float8,
    percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY v.business_seconds)
FROM {StateVisit._meta.db_table} v
CROSS JOIN LATERAL (
    SELECT CASE WHEN v.by_transition THEN coalesce(v.transition_id, 0) ELSE -1 END AS key
) t
WHERE v.org_id = %(org)s AND v.blueprint_id = %(blueprint)s
    AND v.left_at >= %(start)s AND v.left_at < %(end)s
GROUP BY GROUPING SETS ((v.state_id), (t.key), (t.key, v.actor_id))
"""  # noqa: S608 - constants only
# The sorts of a year of visits fit in memory with this (the default 4 MB spills to disk).
WORK_MEM = "SET LOCAL work_mem = '64MB'"


def _durations(row: tuple) -> Durations:
    count, avg, (median, p90), b_avg, (b_median, b_p90) = row
    return Durations(
        count=count,
        avg=avg,
        median=median,
        p90=p90,
        business_avg=b_avg,
        business_median=b_median,
        business_p90=b_p90,
    )


def _duration_rows(params: dict) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(WORK_MEM)
        cursor.execute(DURATIONS_SQL, params)
        return cursor.fetchall()


def _user_names(ids: set[int]) -> dict[int, str]:
    users = get_user_model().objects.filter(pk__in=ids)
    return {u.pk: u.display_name for u in users}


# --- The report ---------------------------------------------------------------------------------
def blueprint_report(
    *,
    blueprint: Blueprint,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
    stuck: int = STUCK_DEFAULT,
) -> BlueprintReport:
    """The report of `blueprint` (already read through the reader's organization and scope)
    over [start, end), with the `stuck` oldest open visits of each state."""
    now = now or timezone.now()
    org_id = blueprint.org_id
    params = {"org": org_id, "blueprint": blueprint.pk, "start": start, "end": end}
    results = _duration_rows(params)
    states = _state_rows(blueprint, params, now, stuck, [r for r in results if r[3] == 0])
    transitions, agents = _transition_rows(blueprint, [r for r in results if r[3] == 1])
    # Owners of stuck tickets and agents of transitions: their names in one query.
    stuck_tickets = [ticket for row in states for ticket in row.stuck]
    names = _user_names(
        {t.owner_id for t in stuck_tickets if t.owner_id}
        | {a.key for a in agents if a.key is not None}
    )
    for ticket in stuck_tickets:
        ticket.owner = names.get(ticket.owner_id, "") if ticket.owner_id else ""
    for agent in agents:
        if agent.key is not None:
            agent.name = names.get(agent.key, "")
    agents = _agents_in_order(agents)
    return BlueprintReport(
        blueprint=blueprint,
        start=start,
        end=end,
        states=states,
        transitions=transitions,
        agents=agents,
    )


def _state_rows(
    blueprint: Blueprint, params: dict, now: dt.datetime, stuck: int, results: list[tuple]
) -> list[StateRow]:
    """One row per state of the blueprint (in the order they were added), and one for
    visits of states since deleted, if any."""
    org_id = blueprint.org_id
    rows: dict[int | None, StateRow] = {
        s.pk: StateRow(key=s.pk, name=s.status.name)
        for s in State.objects.for_org(org_id)
        .filter(blueprint=blueprint)
        .select_related("status")
        .order_by("pk")
    }
    for state_id, _key, _actor, _by_state, _by_actor, *figures in results:
        row = rows.get(state_id)
        if row is None:
            row = rows.setdefault(None, StateRow(key=None, name=_("Deleted states")))
        row.durations = _durations(tuple(figures))
    instances = TicketBlueprint.objects.for_org(org_id).filter(blueprint=blueprint)
    for entry in instances.order_by().values("state_id").annotate(n=Count("id")):
        if entry["state_id"] in rows:
            rows[entry["state_id"]].open_now = entry["n"]
    for state_id, ticket in _stuck(blueprint, now, stuck):
        if state_id in rows:
            rows[state_id].stuck.append(ticket)
    clocks = counted_clocks(
        org=blueprint.org,
        start=params["start"],
        end=params["end"],
        now=now,
        target=Target.STATE,
    ).filter(state__blueprint_id=blueprint.pk)
    for entry in (
        clocks.order_by()
        .values("state_id")
        .annotate(met_n=Count("id", filter=MET), missed_n=Count("id", filter=~MET))
    ):
        if entry["state_id"] in rows:
            rows[entry["state_id"]].sla_met = entry["met_n"]
            rows[entry["state_id"]].sla_missed = entry["missed_n"]
    return list(rows.values())


def _stuck(blueprint: Blueprint, now: dt.datetime, top: int) -> list[tuple[int, StuckTicket]]:
    """The `top` tickets in each state of the blueprint that entered it longest ago (oldest
    first): ROW_NUMBER over each state's open instances, filtered in the database."""
    ranked = (
        TicketBlueprint.objects.for_org(blueprint.org_id)
        .filter(blueprint=blueprint)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("state_id")],
                order_by=[F("entered_at").asc(), F("ticket_id").asc()],
            )
        )
        .filter(rank__lte=top)
        .order_by("state_id", "rank")
        .values(
            "state_id",
            "entered_at",
            "ticket__number",
            "ticket__subject",
            "ticket__owner_id",
            "ticket__department_id",
        )
    )
    result = []
    for e in ranked:
        ticket = StuckTicket(
            number=e["ticket__number"],
            subject=e["ticket__subject"],
            owner_id=e["ticket__owner_id"],
            entered_at=e["entered_at"],
            seconds=max(int((now - e["entered_at"]).total_seconds()), 0),
            business_seconds=business_seconds(
                blueprint.org_id, e["ticket__department_id"], e["entered_at"], now
            ),
        )
        result.append((e["state_id"], ticket))
    return result


def _transition_rows(
    blueprint: Blueprint, results: list[tuple]
) -> tuple[list[TransitionRow], list[AgentRow]]:
    """Per transition (in the blueprint's order, those never taken too) and per agent and
    transition; `results` are the durations query's rows grouped by transition."""
    names = {
        t.pk: t.name
        for t in Transition.objects.for_org(blueprint.org_id)
        .filter(blueprint=blueprint)
        .order_by("position", "pk")
    }
    order = {pk: n for n, pk in enumerate(names)}
    deleted = _("Deleted transitions")
    automatic = _("Automatic")
    transitions: list[TransitionRow] = []
    agents: list[AgentRow] = []
    for _state, key, actor_id, _by_state, by_actor, *figures in sorted(
        results, key=lambda r: order.get(r[1], len(order))
    ):
        if key == -1:  # stays not ended by a transition
            continue
        durations = _durations(tuple(figures))
        transition = names.get(key, deleted)
        if by_actor:  # the transition's total
            transitions.append(TransitionRow(key=key or None, name=transition, durations=durations))
        else:  # the agent's name is read with the stuck tickets' owners
            name = "" if actor_id else automatic
            agents.append(
                AgentRow(key=actor_id, name=name, transition=transition, durations=durations)
            )
    taken = {r.key for r in transitions}
    transitions += [  # transitions never taken in the period
        TransitionRow(key=pk, name=name) for pk, name in names.items() if pk not in taken
    ]
    transitions.sort(key=lambda r: order.get(r.key, len(order)))
    return transitions, agents  # names and order: `_agents_in_order`


def _agents_in_order(rows: list[AgentRow]) -> list[AgentRow]:
    """By agent name ("Automatic" last), each agent's transitions in the blueprint's order
    (the order `rows` come in)."""
    position = {id(r): n for n, r in enumerate(rows)}
    return sorted(rows, key=lambda r: (r.key is None, r.name.lower(), position[id(r)]))
