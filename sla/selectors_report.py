"""The SLA report (RPT-01, TKT-09, BP-15): met against missed per target, department, policy,
state and agent over a period, and the chart that shows it.

Which clocks count in [start, end): those whose verdict fell in the period. A clock stopped in
the period counts as met or missed by its `met` (stopped in time or not); an open clock whose
due time passed in the period (and before now), and that is not paused, is already missed. A
clock stopped without a verdict (its policy switched off, its state's SLA removed) counts
nowhere. "Per agent" is the ticket's owner when the clock stopped (`Clock.owner`), or its owner
now for a clock still running.

Six queries whatever the data: one aggregate per grouping (target, department, policy, state,
agent) and one for the agents' names. The chart is SVG drawn on the server, as the
satisfaction report's: a title, a description and the same figures in a table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import Organization
from helpdesk.tickets.models import Priority

from .models import Clock, Target

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
    (None: all) is what the reader may see. Annotated with `agent_id`."""
    now = now or timezone.now()
    decided = Q(stopped_at__gte=start, stopped_at__lt=end, met__isnull=False)
    breached = Q(
        stopped_at__isnull=True,
        paused_at__isnull=True,
        due_at__gte=start,
        due_at__lt=min(end, now),
    )
    clocks = (
        Clock.objects.for_org(org)
        .filter(decided | breached)
        .annotate(agent_id=Coalesce(F("owner_id"), F("ticket__owner_id")))
    )
    if department_ids is not None:
        clocks = clocks.filter(department_id__in=department_ids)
    if department_id is not None:
        clocks = clocks.filter(department_id=department_id)
    if agent_id is not None:
        clocks = clocks.filter(agent_id=agent_id)
    if target:
        clocks = clocks.filter(kind=target)
    return clocks


def _counts(clocks: QuerySet[Clock], *fields: str) -> Iterable[dict]:
    return (
        clocks.order_by()
        .values(*fields)
        .annotate(met_n=Count("id", filter=MET), missed_n=Count("id", filter=~MET))
    )


def _row(key: int | str | None, name: str, entry: dict) -> Row:
    return Row(key=key, name=name, met=entry["met_n"], missed=entry["missed_n"])


def _by_name(rows: Iterable[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: r.name.lower())


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
    """Met and missed clocks of `org` in [start, end), in total and per group."""
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
    labels = dict(Target.choices)
    overall = Row(key=None, name=_("All"))
    targets = []
    for entry in _counts(clocks, "kind"):
        row = _row(entry["kind"], str(labels.get(entry["kind"], entry["kind"])), entry)
        overall.met += row.met
        overall.missed += row.missed
        targets.append(row)
    order = {value: n for n, value in enumerate(Target.values)}
    targets.sort(key=lambda r: order.get(str(r.key), 9))
    departments = _by_name(
        _row(e["department_id"], e["department__name"], e)
        for e in _counts(clocks, "department_id", "department__name")
    )
    priorities = dict(Priority.choices)
    policies = []
    for e in _counts(
        clocks.exclude(kind=Target.STATE),
        "policy_id",
        "policy__priority",
        "policy__department__name",
    ):
        if e["policy_id"] is None:
            name = _("Deleted policies")
        else:
            name = _("%(department)s, %(priority)s") % {
                "department": e["policy__department__name"],
                "priority": priorities.get(e["policy__priority"], e["policy__priority"]),
            }
        policies.append(_row(e["policy_id"], name, e))
    states = []
    for e in _counts(
        clocks.filter(kind=Target.STATE),
        "state_id",
        "state__status__name",
        "state__blueprint__name",
    ):
        if e["state_id"] is None:
            name = _("Deleted states")
        else:
            name = f"{e['state__blueprint__name']}: {e['state__status__name']}"
        states.append(_row(e["state_id"], name, e))
    agent_counts = list(_counts(clocks, "agent_id"))
    users = {
        u.pk: u.display_name
        for u in get_user_model().objects.filter(
            pk__in=[e["agent_id"] for e in agent_counts if e["agent_id"] is not None]
        )
    }
    agents = [
        _row(e["agent_id"], users.get(e["agent_id"]) or _("Unassigned"), e) for e in agent_counts
    ]
    return Report(
        overall=overall,
        targets=targets,
        departments=departments,
        policies=_by_name(policies),
        states=_by_name(states),
        agents=sorted(agents, key=lambda r: (-r.total, r.name.lower())),
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
