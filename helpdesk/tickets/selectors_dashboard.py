"""The Desk's home page: what is on my plate, where the team stands, and the last 30 days
(TKT-06).

A fixed set of queries whatever the data: one grouped count of the team's unresolved tickets
(my figures, status, priority and department are summed from its rows in Python), one
grouped count per day for created and for closed tickets, and the names of the statuses and
departments. The member's visibility applies to all of them (agents see their
departments' tickets, `services.access`). Days are counted in the current time zone, which
the tenant middleware sets to the user's or the organization's.

Every figure carries the ticket list's query parameters that select exactly its tickets
(`selectors.ticket_queryset`), so a number on the dashboard and the list it links to agree."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from helpdesk.tenancy.models import Membership

from .models import Priority, StatusKind, TicketStatus
from .services.access import department_ids, departments_for, visible_tickets

CHART_DAYS = 30


@dataclass(frozen=True)
class Figure:
    """One number and the list parameters that show its tickets."""

    label: str
    count: int
    params: dict[str, str]


@dataclass(frozen=True)
class Day:
    date: dt.date
    created: int
    closed: int


@dataclass
class Dashboard:
    today: dt.date
    mine_open: Figure
    mine_overdue: Figure
    mine_due_today: Figure
    team: list[Figure] = field(default_factory=list)  # open, on hold, overdue, unassigned
    by_status: list[Figure] = field(default_factory=list)
    by_priority: list[Figure] = field(default_factory=list)
    by_department: list[Figure] = field(default_factory=list)
    days: list[Day] = field(default_factory=list)

    @property
    def created_total(self) -> int:
        return sum(d.created for d in self.days)

    @property
    def closed_total(self) -> int:
        return sum(d.closed for d in self.days)


def _day_bounds(day: dt.date, tz: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=tz)


def dashboard_for(membership: Membership, now: dt.datetime | None = None) -> Dashboard:
    """The member's dashboard. Labels of statuses and departments are their stored names;
    the others are keys (a priority's value, "open", "mine_overdue"...) that the page
    translates, so a cached dashboard serves either language."""
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    today = timezone.localdate(now, tz)
    today_start, tomorrow_start = _day_bounds(today, tz)
    user_id = membership.user_id
    visible = visible_tickets(membership)
    unresolved = visible.exclude(status_kind=StatusKind.CLOSED)

    # 1. The team's unresolved tickets grouped once (mine among them); each figure and
    # breakdown is a sum over the groups. Only columns of the `ticket_unresolved` index are
    # read (counting `status_kind`, never NULL, rather than the id), so PostgreSQL reads the
    # index alone.
    mine_q = Q(owner_id=user_id)
    groups = list(
        unresolved.values("status_id", "status_kind", "priority", "department_id")
        .annotate(
            n=Count("status_kind"),
            overdue=Count("status_kind", filter=Q(due_at__lt=now)),
            unassigned=Count(
                "status_kind", filter=Q(owner__isnull=True, status_kind=StatusKind.OPEN)
            ),
            mine=Count("status_kind", filter=mine_q),
            mine_overdue=Count("status_kind", filter=mine_q & Q(due_at__lt=now)),
            mine_due_today=Count(
                "status_kind", filter=mine_q & Q(due_at__gte=today_start, due_at__lt=tomorrow_start)
            ),
        )
        .order_by()
    )
    mine = {key: sum(g[key] for g in groups) for key in ("mine", "mine_overdue", "mine_due_today")}
    day = today.isoformat()
    # 2 and 3. Statuses and departments by name (only those the member sees).
    dept_names = dict(departments_for(membership).values_list("pk", "name"))
    statuses = TicketStatus.objects.for_org(membership.org).exclude(kind=StatusKind.CLOSED)
    if department_ids(membership) is not None:  # agents: their departments' statuses only
        statuses = statuses.filter(department_id__in=list(dept_names))
    status_rows = list(statuses.order_by("order", "pk").values_list("pk", "name", "kind"))

    def total(kind: str | None = None, **match: object) -> int:
        return sum(
            g["n"]
            for g in groups
            if (kind is None or g["status_kind"] == kind)
            and all(g[k] == v for k, v in match.items())
        )

    # The list filters statuses by name (any department), so statuses group by name and kind.
    status_counts: dict[tuple[str, str], int] = {}
    for g in groups:
        name = next((n for pk, n, _k in status_rows if pk == g["status_id"]), None)
        if name is not None:
            key = (name.lower(), g["status_kind"])
            status_counts[key] = status_counts.get(key, 0) + g["n"]
    by_status: list[Figure] = []
    seen: set[tuple[str, str]] = set()
    for _pk, name, kind in status_rows:
        key = (name.lower(), kind)
        if key in seen or not status_counts.get(key):
            continue
        seen.add(key)
        by_status.append(Figure(name, status_counts[key], {"view": kind, "status": name}))

    open_kind = StatusKind.OPEN
    by_priority = [
        Figure(value, total(open_kind, priority=value), {"view": "open", "priority": value})
        for value in reversed(Priority.values)
    ]
    by_department = [
        Figure(name, total(open_kind, department_id=pk), {"view": "open", "department": str(pk)})
        for pk, name in sorted(dept_names.items(), key=lambda item: item[1].lower())
    ]
    team = [
        Figure("open", total(open_kind), {"view": "open"}),
        Figure("on_hold", total(StatusKind.ON_HOLD), {"view": "on_hold"}),
        Figure("overdue", sum(g["overdue"] for g in groups), {"view": "overdue"}),
        Figure(
            "unassigned", sum(g["unassigned"] for g in groups), {"view": "open", "owner": "none"}
        ),
    ]

    # 4 and 5. Created and closed per day over the last CHART_DAYS days (today included).
    first_day = today - dt.timedelta(days=CHART_DAYS - 1)
    since, _ = _day_bounds(first_day, tz)
    created = dict(
        visible.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("day", "n")
    )
    # `closed_at` is set exactly while a ticket is closed: the `ticket_closed` index alone
    # answers.
    closed = dict(
        visible.filter(closed_at__gte=since)
        .annotate(day=TruncDate("closed_at", tzinfo=tz))
        .values("day")
        .annotate(n=Count("closed_at"))
        .order_by()
        .values_list("day", "n")
    )
    days = []
    for offset in range(CHART_DAYS):
        date = first_day + dt.timedelta(days=offset)
        days.append(Day(date, created.get(date, 0), closed.get(date, 0)))

    return Dashboard(
        today=today,
        mine_open=Figure("mine_open", mine["mine"], {"view": "mine"}),
        mine_overdue=Figure(
            "mine_overdue", mine["mine_overdue"], {"view": "overdue", "owner": str(user_id)}
        ),
        mine_due_today=Figure(
            "mine_due_today",
            mine["mine_due_today"],
            {"view": "mine", "due_from": day, "due_to": day},
        ),
        team=team,
        by_status=by_status,
        by_priority=by_priority,
        by_department=by_department,
        days=days,
    )
