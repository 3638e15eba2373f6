"""Reading people of an organization, and a department's business-time schedule."""

from __future__ import annotations

import time
import zoneinfo
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.db.models import QuerySet

from helpdesk.businesstime import Schedule

from .models import BusinessInterval, Department, Holiday, Membership, Organization, User


def desk_users(org: Organization, *, statuses: Iterable[str] | None = None) -> QuerySet[User]:
    """People with Desk access in `org`, by name; only those whose membership has one of
    `statuses` when given."""
    members = Membership.objects.for_org(org).exclude(desk_role="")
    if statuses is not None:
        members = members.filter(status__in=list(statuses))
    return User.objects.filter(memberships__in=members).order_by("full_name", "email")


# --- Business time (DEP-03, BP-15) -----------------------------------------------------------
# Each process keeps the schedules it built, tagged with a version token the cache (Redis)
# holds per department; the department services put a new token there after their commit.
# A process looks at the token at most once every SCHEDULE_RECHECK seconds per department, so
# the SLA clocks (a million of them) do not pay a cache round trip each, and a change of
# business hours, holidays or time zone is seen by every process within that time (at once
# by the process that made it).
SCHEDULE_RECHECK = 1.0
SCHEDULE_TOKEN_TIMEOUT = 7 * 24 * 3600
_SCHEDULES_KEPT = 10_000
_schedules: dict[tuple[int, int], tuple[object, float, Schedule]] = {}


def _schedule_token_key(org_id: int, department_id: int) -> str:
    return f"businesstime:schedule:{org_id}:{department_id}"


def _schedule_token(org_id: int, department_id: int) -> object:
    """The department's current version token; a new one when the cache lost it (any value
    differs from the tokens processes hold, so they rebuild)."""
    key = _schedule_token_key(org_id, department_id)
    token = cache.get(key)
    if token is None:
        cache.add(key, time.time_ns(), SCHEDULE_TOKEN_TIMEOUT)
        token = cache.get(key)
    return token


# Apps above tenancy that keep times computed under a schedule (the SLA clocks) register here
# to hear of a change: a registry, so tenancy imports none of them.
_schedule_listeners: list[Callable[[int, int], None]] = []


def schedule_listen(listener: Callable[[int, int], None]) -> None:
    """Call `listener(org_id, department_id)` after a department's schedule changed
    (idempotent per listener)."""
    if listener not in _schedule_listeners:
        _schedule_listeners.append(listener)


def department_schedule_changed(org_id: int, department_id: int) -> None:
    """Tell every process that the department's schedule changed (call after commit), and the
    listeners (the SLA app re-plans its business-hours clocks)."""
    _schedules.pop((org_id, department_id), None)
    cache.set(_schedule_token_key(org_id, department_id), time.time_ns(), SCHEDULE_TOKEN_TIMEOUT)
    for listener in _schedule_listeners:
        listener(org_id, department_id)


def _schedule_from_database(org_id: int, department_id: int) -> Schedule:
    department = Department.objects.for_org(org_id).get(pk=department_id)
    try:
        tz = zoneinfo.ZoneInfo(department.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")  # a zone tzdata no longer knows: UTC, never a crash
    week: list[list[tuple]] = [[] for _ in range(7)]
    intervals = BusinessInterval.objects.for_org(org_id).filter(department_id=department_id)
    for weekday, start, end in intervals.values_list("weekday", "start", "end"):
        week[weekday].append((start, end))
    holidays = Holiday.objects.for_org(org_id).filter(department_id=department_id)
    return Schedule(
        tz=tz,
        week=tuple(tuple(sorted(day)) for day in week),
        holidays=frozenset(holidays.values_list("date", flat=True)),
    )


def department_schedule(org_id: int, department_id: int) -> Schedule:
    """The department's weekly schedule, time zone and holidays for business time.
    Department.DoesNotExist when the department is not one of `org_id`'s."""
    now = time.monotonic()
    memo = _schedules.get((org_id, department_id))
    if memo is not None and now - memo[1] < SCHEDULE_RECHECK:
        return memo[2]
    token = _schedule_token(org_id, department_id)
    if memo is not None and memo[0] == token:
        _schedules[org_id, department_id] = (token, now, memo[2])
        return memo[2]
    schedule = _schedule_from_database(org_id, department_id)
    if len(_schedules) >= _SCHEDULES_KEPT:
        _schedules.clear()
    _schedules[org_id, department_id] = (token, now, schedule)
    return schedule
