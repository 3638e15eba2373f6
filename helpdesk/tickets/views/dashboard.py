"""The Desk's home page (TKT-06): my tickets, the team's, and created against closed over 30
days as a server-rendered SVG chart (no JavaScript; a title, a description and a table of
the same figures for screen readers and text browsers)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from helpdesk.caching import cached
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..models import Priority
from ..selectors_dashboard import Dashboard, Day, Figure, dashboard_for
from ..services.access import can, department_ids

CACHE_SECONDS = 30

# The chart's drawing area, in SVG user units (the SVG scales to the page's width).
WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 28


@dataclass(frozen=True)
class Link:
    label: str
    count: int
    url: str
    key: str = ""


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str
    url: str


def _labels() -> dict[str, str]:
    return {
        "mine_open": _("My open tickets"),
        "mine_overdue": _("My overdue tickets"),
        "mine_due_today": _("My tickets due today"),
        "open": _("Open"),
        "on_hold": _("On hold"),
        "overdue": _("Overdue"),
        "unassigned": _("Unassigned"),
        **{value: str(label) for value, label in Priority.choices},
    }


def _link(base: str, figure: Figure, labels: dict[str, str]) -> Link:
    return Link(
        label=labels.get(figure.label, figure.label),
        count=figure.count,
        url=f"{base}?{urlencode(figure.params)}",
        key=figure.label,
    )


def _nice_top(value: int) -> int:
    """A round top for the y axis at or above `value` (1, 2, 5, 10, 20, 50, ...)."""
    top = 1
    while True:
        for step in (1, 2, 5):
            if step * top >= value:
                return step * top
        top *= 10


def _chart(days: list[Day], base: str) -> dict:
    top = _nice_top(max([1] + [max(d.created, d.closed) for d in days]))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / len(days)
    bar_w = slot * 0.38
    created_bars, closed_bars, ticks = [], [], []
    for index, day in enumerate(days):
        x = LEFT + index * slot + slot * 0.1
        date = day.date.isoformat()
        label = day.date.strftime("%m/%d")
        for value, bars, offset, text, params in (
            (
                day.created,
                created_bars,
                0.0,
                _("%(date)s: %(count)d created"),
                {"created_from": date, "created_to": date},
            ),
            (
                day.closed,
                closed_bars,
                bar_w,
                _("%(date)s: %(count)d closed"),
                {"view": "closed", "closed_from": date, "closed_to": date},
            ),
        ):
            height = plot_h * value / top
            bars.append(
                Bar(
                    x=round(x + offset, 1),
                    y=round(TOP + plot_h - height, 1),
                    width=round(bar_w, 1),
                    height=round(height, 1),
                    title=text % {"date": label, "count": value},
                    url=f"{base}?{urlencode(params)}",
                )
            )
        if index % 5 == 4 or index == len(days) - 1:
            ticks.append({"x": round(x + bar_w, 1), "label": label})
    # Gridlines at 0, the middle (when it is a whole number) and the top.
    grid = [
        {"y": round(TOP + plot_h - plot_h * f, 1), "label": int(top * f)}
        for f in (0, 0.5, 1)
        if float(top * f).is_integer()
    ]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "baseline": TOP + plot_h,
        "label_y": HEIGHT - 8,
        "created": created_bars,
        "closed": closed_bars,
        "ticks": ticks,
        "grid": grid,
    }


def _dashboard(request: HttpRequest) -> Dashboard:
    """The member's figures, cached briefly like the list's view counts. The key holds what
    changes the figures: the member, their departments, the time zone and the day."""
    membership = request.membership
    now = timezone.now()
    zone = timezone.get_current_timezone_name()
    depts = department_ids(membership)
    scope = "all" if depts is None else ",".join(map(str, sorted(depts)))
    today = timezone.localdate(now).isoformat()
    key = f"dashboard:{membership.org_id}:{membership.user_id}:{scope}:{zone}:{today}"
    return cached(key, lambda: dashboard_for(membership, now), fresh=CACHE_SECONDS)


@require_app(App.DESK)
def dashboard(request: HttpRequest) -> HttpResponse:
    board = _dashboard(request)
    base = reverse("desk:home", kwargs={"portal": request.org.portal})
    labels = _labels()
    mine = [_link(base, f, labels) for f in (board.mine_open, board.mine_overdue)]
    mine.append(_link(base, board.mine_due_today, labels))
    return render(
        request,
        "tickets/dashboard.html",
        {
            "board": board,
            "list_url": base,
            "mine": mine,
            "team": [_link(base, f, labels) for f in board.team],
            "by_status": [_link(base, f, labels) for f in board.by_status],
            "by_priority": [_link(base, f, labels) for f in board.by_priority],
            "by_department": [_link(base, f, labels) for f in board.by_department],
            "days": [
                {
                    "day": d,
                    "created_url": f"{base}?created_from={d.date}&created_to={d.date}",
                    "closed_url": f"{base}?view=closed&closed_from={d.date}&closed_to={d.date}",
                }
                for d in board.days
            ],
            "chart": _chart(board.days, base),
            "chart_range": pgettext("chart range", "%(first)s – %(last)s")
            % {"first": board.days[0].date, "last": board.days[-1].date},
            "can_create": can(request.membership, "create"),
        },
    )
