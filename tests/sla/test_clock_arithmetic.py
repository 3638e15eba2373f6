"""The clocks' arithmetic (no database): however a clock is paused and resumed, its due time
is the first due time moved by exactly the paused business time, and a paused clock's time
left does not run (BP-15, TKT-09; ARCHITECTURE "Time, SLAs and escalations")."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.businesstime import Schedule, add_working, working_between
from sla.models import Clock
from sla.services.clocks import _account_pause, planned_due

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
NINE_TO_SIX = Schedule(
    tz=TOKYO,
    week=tuple(((dt.time(9), dt.time(18)),) if day < 5 else () for day in range(7)),
    holidays=frozenset({dt.date(2026, 12, 9)}),
)
START = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)  # Monday 10:00 in Tokyo

schedules = st.sampled_from([NINE_TO_SIX, None])
minutes = st.integers(min_value=1, max_value=5 * 24 * 60)
# Gaps between events (running, then paused, then running ...), in minutes.
gaps = st.lists(st.integers(min_value=0, max_value=3 * 24 * 60), min_size=0, max_size=8)


def _clock(target: int, business: bool) -> Clock:
    return Clock(started_at=START, target_minutes=target, business_hours=business)


@settings(max_examples=200, deadline=None)
@given(schedule=schedules, target=minutes, steps=gaps)
def test_bp15_tkt09_due_moves_by_exactly_the_paused_business_time(schedule, target, steps):
    clock = _clock(target, schedule is not None)
    clock.due_at = planned_due(clock, schedule)
    first_due = clock.due_at
    now, paused = START, dt.timedelta(0)
    for index, gap in enumerate(steps):
        now += dt.timedelta(minutes=gap)
        if index % 2 == 0:  # pause
            clock.paused_at = now
            left = working_between(now, clock.due_at, schedule)
        else:  # resume
            paused += working_between(clock.paused_at, now, schedule)
            _account_pause(clock, now, schedule)
            # What was left when it paused is what is left when it resumes.
            assert working_between(now, clock.due_at, schedule) == left
    if clock.paused_at is not None:
        paused += working_between(clock.paused_at, now, schedule)
        _account_pause(clock, now, schedule)
    assert clock.paused_total == paused
    assert clock.due_at == add_working(first_due, paused, schedule)
    assert clock.due_at == planned_due(clock, schedule)


def test_bp15_a_pause_over_a_night_and_a_holiday_costs_only_working_time():
    """16 working hours from Monday 10:00 in Tokyo: due Tuesday 17:00. Paused from Tuesday
    12:00 to Thursday 10:00, Wednesday a holiday: 7 working hours (Tuesday 12-18, Thursday
    9-10), so due Thursday 15:00 (Tuesday 17-18, then Thursday 9-15)."""
    clock = _clock(16 * 60, True)
    clock.due_at = planned_due(clock, NINE_TO_SIX)
    assert clock.due_at == dt.datetime(2026, 12, 8, 8, 0, tzinfo=dt.UTC)  # Tuesday 17:00
    clock.paused_at = dt.datetime(2026, 12, 8, 3, 0, tzinfo=dt.UTC)  # Tuesday 12:00
    _account_pause(clock, dt.datetime(2026, 12, 10, 1, 0, tzinfo=dt.UTC), NINE_TO_SIX)
    assert clock.paused_total == dt.timedelta(hours=7)
    assert clock.due_at == dt.datetime(2026, 12, 10, 6, 0, tzinfo=dt.UTC)  # Thursday 15:00
