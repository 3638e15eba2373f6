"""The satisfaction report (RPT-01): ratings by department, agent and period, the share of
good / okay / bad, and the comments. Three queries whatever the data (the counts by
department, by agent, and the latest comments). The chart is drawn on the server as SVG,
like the dashboard's: no JavaScript, with a title, a description and the same figures as a
table."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import Organization

from .models import Rating, RatingValue

COMMENTS_SHOWN = 50
VALUES = tuple(RatingValue.values)  # good, okay, bad


@dataclass
class Row:
    """Counts of one department or agent (or all)."""

    key: int | None
    name: str
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(VALUES, 0))

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def percent(self, value: str) -> int:
        """The share of `value`, rounded; 0 with no ratings."""
        return round(100 * self.counts[value] / self.total) if self.total else 0

    @property
    def shares(self) -> list[tuple[str, int, int]]:
        """(value, count, percent) in the order good, okay, bad."""
        return [(v, self.counts[v], self.percent(v)) for v in VALUES]


@dataclass(frozen=True)
class Comment:
    rated_at: dt.datetime
    value: str
    comment: str
    number: int
    subject: str
    contact: str
    agent: str


@dataclass
class Report:
    overall: Row
    departments: list[Row]
    agents: list[Row]
    comments: list[Comment]


def satisfaction_report(
    *,
    org: Organization,
    start: dt.datetime,
    end: dt.datetime,
    department_id: int | None = None,
    agent_id: int | None = None,
    department_ids: list[int] | None = None,
) -> Report:
    """Ratings of `org` last given in [start, end), narrowed to a department and an agent;
    `department_ids` (None: all) is what the reader may see."""
    scope = Q(rated_at__gte=start, rated_at__lt=end)
    if department_ids is not None:
        scope &= Q(department_id__in=department_ids)
    if department_id is not None:
        scope &= Q(department_id=department_id)
    if agent_id is not None:
        scope &= Q(agent_id=agent_id)
    ratings = Rating.objects.for_org(org).filter(scope)
    overall = Row(key=None, name=_("All"))
    departments: dict[int | None, Row] = {}
    for entry in ratings.values("department_id", "department__name", "value").annotate(
        n=Count("id")
    ):
        key = entry["department_id"]
        row = departments.setdefault(
            key, Row(key=key, name=entry["department__name"] or _("No department"))
        )
        row.counts[entry["value"]] += entry["n"]
        overall.counts[entry["value"]] += entry["n"]
    agents: dict[int | None, Row] = {}
    for entry in ratings.values("agent_id", "agent__full_name", "agent__email", "value").annotate(
        n=Count("id")
    ):
        key = entry["agent_id"]
        name = entry["agent__full_name"] or entry["agent__email"] or _("Unassigned")
        agents.setdefault(key, Row(key=key, name=name)).counts[entry["value"]] += entry["n"]
    comments = [
        Comment(
            rated_at=r.rated_at,
            value=r.value,
            comment=r.comment,
            number=r.ticket.number,
            subject=r.ticket.subject,
            contact=r.contact.name if r.contact else "",
            agent=r.agent.display_name if r.agent else "",
        )
        for r in ratings.exclude(comment="")
        .select_related("ticket", "contact", "agent")
        .only(
            "rated_at",
            "value",
            "comment",
            "ticket__number",
            "ticket__subject",
            "contact__first_name",
            "contact__last_name",
            "agent__full_name",
            "agent__email",
        )
        .order_by("-rated_at", "-id")[:COMMENTS_SHOWN]
    ]
    by_name = sorted(departments.values(), key=lambda r: r.name.lower())
    return Report(
        overall=overall,
        departments=by_name,
        agents=sorted(agents.values(), key=lambda r: (-r.total, r.name.lower())),
        comments=comments,
    )


# --- The chart -----------------------------------------------------------------------------------
WIDTH, LABEL_W, BAR_H, GAP, TOP = 720, 180, 22, 12, 8


@dataclass(frozen=True)
class Segment:
    value: str
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


def share_chart(rows: list[Row]) -> dict:
    """One stacked bar per row (all, then each department): the share of good, okay and bad,
    each segment titled with its count and percentage."""
    labels = dict(RatingValue.choices)
    plot_w = WIDTH - LABEL_W - 8
    chart_rows = []
    for index, row in enumerate(rows):
        y = TOP + index * (BAR_H + GAP)
        x = float(LABEL_W)
        segments = []
        for value, count, percent in row.shares:
            width = plot_w * count / row.total if row.total else 0
            segments.append(
                Segment(
                    value=value,
                    x=round(x, 1),
                    width=round(width, 1),
                    title=_("%(name)s: %(label)s %(count)d (%(percent)d%%)")
                    % {
                        "name": row.name,
                        "label": labels[value],
                        "count": count,
                        "percent": percent,
                    },
                )
            )
            x += width
        chart_rows.append(
            ChartRow(
                name=row.name,
                y=y,
                text_y=y + BAR_H / 2,
                segments=segments,
                total=row.total,
            )
        )
    return {
        "width": WIDTH,
        "height": TOP * 2 + max(1, len(rows)) * (BAR_H + GAP),
        "label_x": LABEL_W - 8,
        "bar_h": BAR_H,
        "rows": chart_rows,
    }
