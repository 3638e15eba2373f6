"""The SLA report (RPT-01, TKT-09, BP-15): met against missed per target, department, policy,
state and agent over a period, and the chart that shows it.

Which clocks count in [start, end): those whose verdict fell in the period. A clock stopped in
the period counts as met or missed by its `met` (stopped in time or not); an open clock whose
due time passed in the period (and before now), and that is not paused, is already missed. A
clock stopped without a verdict (its policy switched off, its state's SLA removed) counts
nowhere. "Per agent" is the ticket's owner when the clock stopped (`Clock.owner`), or its owner
now for a clock still running.

Five queries whatever the data: one scan of the clocks grouped by the ids of the combinations
that occur (summed up per grouping in Python), then the names of the departments, policies,
states and agents by id. The chart is SVG drawn on the
server, as the satisfaction report's: a title, a description and the same figures in a table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import BigIntegerField, Count, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from blueprints.models import State
from helpdesk.tenancy.models import Department, Organization
from helpdesk.tickets.models import Priority, Ticket

from .models import Clock, SlaPolicy, Target

MET = Q(met=True, stopped_at__isnull=False)


@dataclass
class Row:
    """Met and missed clocks of one group (a target, a department, a policy, a state, an
    agent, or all)."""

    key: int | str | None
    name: str
    met: int = 0
    missed: int = 0

    @property
    def total(self) -> int:
        return self.met + self.missed

    @property
    def met_percent(self) -> int:
        """The share met, rounded; 0 with no clocks."""
        return round(100 * self.met / self.total) if self.total else 0

    @property
    def missed_percent(self) -> int:
        return 100 - self.met_percent if self.total else 0


@dataclass
class Report:
    overall: Row
    targets: list[Row]
    departments: list[Row]
    policies: list[Row]
    states: list[Row]
    agents: list[Row]


def counted_clocks(
    *,
    org: Organization,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
    department_ids: list[int] | None = None,
    department_id: int | None = None,
    agent_id: int | None = None,
    target: str | None = None,
) -> QuerySet[Clock]:
    """The clocks whose verdict fell in [start, end), narrowed as asked; `department_ids`
    (None: all) is what the reader may see. Only the agent's filter joins the tickets."""
    now = now or timezone.now()
    decided = Q(stopped_at__gte=start, stopped_at__lt=end, met__isnull=False)
    breached = Q(
        stopped_at__isnull=True,
        paused_at__isnull=True,
        due_at__gte=start,
        due_at__lt=min(end, now),
    )
    clocks = Clock.objects.for_org(org).filter(decided | breached)
    if department_ids is not None:
        clocks = clocks.filter(department_id__in=department_ids)
    if department_id is not None:
        clocks = clocks.filter(department_id=department_id)
    if agent_id is not None:  # the owner at the stop, else the ticket's owner now
        clocks = clocks.filter(
            Q(owner_id=agent_id) | Q(owner_id__isnull=True, ticket__owner_id=agent_id)
        )
    if target:
        clocks = clocks.filter(kind=target)
    return clocks


def _add(groups: dict, key: object, name: str, entry: dict) -> None:
    row = groups.get(key)
    if row is None:
        row = groups[key] = Row(key=key, name=name)  # type: ignore[arg-type]
    row.met += entry["met_n"]
    row.missed += entry["missed_n"]


def _by_name(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: r.name.lower())


GROUPINGS = ("targets", "departments", "policies", "states", "agents")


def _name_rows(org: Organization, groups: dict[str, dict]) -> None:
    """The names of the report's rows, by id: one small query per kind of row."""
    departments = groups["departments"]
    for pk, name in (
        Department.objects.for_org(org).filter(pk__in=list(departments)).values_list("pk", "name")
    ):
        departments[pk].name = name
    priorities = dict(Priority.choices)
    policies = groups["policies"]
    named = SlaPolicy.objects.for_org(org).filter(pk__in=[k for k in policies if k is not None])
    for pk, priority, department in named.values_list("pk", "priority", "department__name"):
        policies[pk].name = _("%(department)s, %(priority)s") % {
            "department": department,
            "priority": priorities.get(priority, priority),
        }
    states = groups["states"]
    named_states = State.objects.for_org(org).filter(pk__in=[k for k in states if k is not None])
    for pk, status, blueprint in named_states.values_list("pk", "status__name", "blueprint__name"):
        states[pk].name = f"{blueprint}: {status}"
    agents = groups["agents"]
    users = get_user_model().objects.filter(pk__in=[k for k in agents if k is not None])
    for user in users.only("pk", "full_name", "email"):
        agents[user.pk].name = user.display_name
    for rows, missing in (
        (policies, _("Deleted policies")),
        (states, _("Deleted states")),
        (agents, _("Unassigned")),
    ):
        for row in rows.values():
            row.name = row.name or str(missing)


def sla_report(
    *,
    org: Organization,
    start: dt.datetime,
    end: dt.datetime,
    now: dt.datetime | None = None,
    department_ids: list[int] | None = None,
    department_id: int | None = None,
    agent_id: int | None = None,
    target: str | None = None,
) -> Report:
    """Met and missed clocks of `org` in [start, end), in total and per group.

    One scan of the clocks, grouped by every combination of target, department, policy, state
    and agent that occurs (a few thousand rows at most: a policy or state belongs to one
    department), summed up per grouping here; then the names. The ticket's owner is read (by
    primary key) only for clocks without an owner of their own: running ones."""
    clocks = counted_clocks(
        org=org,
        start=start,
        end=end,
        now=now,
        department_ids=department_ids,
        department_id=department_id,
        agent_id=agent_id,
        target=target,
    )
    ticket_owner = Subquery(
        Ticket.objects.for_org(org).filter(pk=OuterRef("ticket_id")).values("owner_id")[:1]
    )
    # Grouped by ids only: a narrow hash aggregate; the names come after, by id.
    combinations = list(
        clocks.order_by()
        .annotate(agent=Coalesce(F("owner_id"), ticket_owner, output_field=BigIntegerField()))
        .values("kind", "department_id", "policy_id", "state_id", "agent")
        .annotate(met_n=Count("id", filter=MET), missed_n=Count("id", filter=~MET))
    )
    labels = dict(Target.choices)
    overall = Row(key=None, name=_("All"))
    groups: dict[str, dict] = {name: {} for name in GROUPINGS}
    for e in combinations:
        overall.met += e["met_n"]
        overall.missed += e["missed_n"]
        _add(groups["targets"], e["kind"], str(labels.get(e["kind"], e["kind"])), e)
        _add(groups["departments"], e["department_id"], "", e)
        if e["kind"] == Target.STATE:
            _add(groups["states"], e["state_id"], "", e)
        else:
            _add(groups["policies"], e["policy_id"], "", e)
        _add(groups["agents"], e["agent"], "", e)
    _name_rows(org, groups)
    order = {value: n for n, value in enumerate(Target.values)}
    return Report(
        overall=overall,
        targets=sorted(groups["targets"].values(), key=lambda r: order.get(str(r.key), 9)),
        departments=_by_name(groups["departments"].values()),
        policies=_by_name(groups["policies"].values()),
        states=_by_name(groups["states"].values()),
        agents=sorted(groups["agents"].values(), key=lambda r: (-r.total, r.name.lower())),
    )


# --- The chart ----------------------------------------------------------------------------------
WIDTH, LABEL_W, BAR_H, GAP, TOP = 720, 200, 22, 12, 8


@dataclass(frozen=True)
class Segment:
    value: str  # "met" or "missed"
    x: float
    width: float
    title: str


@dataclass(frozen=True)
class ChartRow:
    name: str
    y: float
    text_y: float
    segments: list[Segment]
    total: int


def met_chart(rows: list[Row]) -> dict:
    """One stacked bar per row: the share met and missed, each segment titled with its count
    and percentage."""
    plot_w = WIDTH - LABEL_W - 8
    chart_rows = []
    for index, row in enumerate(rows):
        y = TOP + index * (BAR_H + GAP)
        x = float(LABEL_W)
        segments = []
        for value, count, percent, label in (
            ("met", row.met, row.met_percent, _("met")),
            ("missed", row.missed, row.missed_percent, _("missed")),
        ):
            width = plot_w * count / row.total if row.total else 0
            segments.append(
                Segment(
                    value=value,
                    x=round(x, 1),
                    width=round(width, 1),
                    title=_("%(name)s: %(count)d %(label)s (%(percent)d%%)")
                    % {"name": row.name, "count": count, "label": label, "percent": percent},
                )
            )
            x += width
        chart_rows.append(
            ChartRow(name=row.name, y=y, text_y=y + BAR_H / 2, segments=segments, total=row.total)
        )
    return {
        "width": WIDTH,
        "height": TOP * 2 + max(1, len(rows)) * (BAR_H + GAP),
        "label_x": LABEL_W - 8,
        "bar_h": BAR_H,
        "rows": chart_rows,
    }
