"""Business time (BP-15 state SLAs and the SLA policies of TKT-09, under DEP-03's business hours
and holidays): adding working time and measuring it, checked against the wall clock.

The properties compare the module with what a person reads on the wall clock of the
department's zone: an instant is working time when the clock then shows a time inside an
interval of a non-holiday day. Zones include two with daylight-saving time in different
halves of the year and Lord Howe Island, whose clocks move by half an hour."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpdesk.businesstime import Schedule, add_working, working_between

T = dt.time
UTC = dt.UTC
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")
TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")
ZONES = [
    zoneinfo.ZoneInfo(key)
    for key in ("UTC", "Asia/Tokyo", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe")
]
NINE_TO_SIX = ((T(9), T(18)),)
WEEKDAYS_9_18 = (NINE_TO_SIX,) * 5 + ((), ())
MINUTE = dt.timedelta(minutes=1)
ONE_US = dt.timedelta(microseconds=1)


# --- Strategies ---------------------------------------------------------------------------------
@st.composite
def days(draw) -> tuple[tuple[dt.time, dt.time], ...]:
    """A day's intervals on whole minutes: sorted, disjoint, 24:00 written as time(0, 0)."""
    marks = sorted(draw(st.sets(st.integers(0, 1440), max_size=6)))
    if len(marks) % 2:
        marks = marks[:-1]

    def clock(minute: int) -> dt.time:
        return T(0) if minute == 1440 else T(minute // 60, minute % 60)

    return tuple((clock(a), clock(b)) for a, b in zip(marks[::2], marks[1::2], strict=True))


# Starts near the daylight-saving changes of 2026 (US: 8 March, 1 November; EU: 29 March,
# 25 October; Lord Howe: 5 April, 4 October) as well as anywhere in 2024-2028.
CHANGES = [
    dt.datetime(2026, m, d) for m, d in ((3, 8), (3, 29), (4, 5), (10, 4), (10, 25), (11, 1))
]
near_changes = st.builds(
    lambda base, minutes: base + dt.timedelta(minutes=minutes),
    st.sampled_from(CHANGES),
    st.integers(-4 * 1440, 2 * 1440),
)
anywhere = st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2028, 12, 31))
moments = st.one_of(near_changes, anywhere).map(lambda naive: naive.replace(tzinfo=UTC))


@st.composite
def schedules(draw) -> Schedule:
    week = tuple(draw(days()) for _ in range(7))
    holidays = draw(
        st.frozensets(
            st.builds(
                lambda base, n: (base + dt.timedelta(days=n)).date(),
                st.sampled_from(CHANGES),
                st.integers(-5, 5),
            ),
            max_size=4,
        )
    )
    return Schedule(tz=draw(st.sampled_from(ZONES)), week=week, holidays=holidays)


durations = st.integers(0, 120 * 60).map(lambda minutes: dt.timedelta(minutes=minutes))
fine_durations = st.integers(0, 10**12).map(lambda us: dt.timedelta(microseconds=us))


def is_working(moment: dt.datetime, schedule: Schedule) -> bool:
    """What the wall clock says: the instant falls in an interval of a non-holiday day."""
    local = moment.astimezone(schedule.tz)
    if local.date() in schedule.holidays:
        return False
    week = schedule.week if any(schedule.week) else (((T(0), T(0)),),) * 7
    now = local.time().replace(tzinfo=None, fold=0)
    return any(start <= now and (now < end or end == T(0)) for start, end in week[local.weekday()])


def minutes_worked(a: dt.datetime, b: dt.datetime, schedule: Schedule) -> dt.timedelta:
    """The slow reading, minute by minute (intervals and zone changes fall on whole minutes)."""
    total = dt.timedelta(0)
    moment = a
    while moment < b:
        if is_working(moment, schedule):
            total += MINUTE
        moment += MINUTE
    return total


PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- Properties ---------------------------------------------------------------------------------
@PROPERTY
@given(schedule=schedules(), start=moments, delta=fine_durations)
def test_bp15_adding_then_measuring_gives_back_the_input(schedule, start, delta):
    """Forwards and backwards, to the microsecond, across DST changes and holidays."""
    later = add_working(start, delta, schedule)
    assert working_between(start, later, schedule) == delta
    earlier = add_working(start, -delta, schedule)
    assert working_between(earlier, start, schedule) == delta
    assert working_between(start, earlier, schedule) == -delta


@PROPERTY
@given(schedule=schedules(), start=moments, delta=fine_durations)
def test_bp15_results_never_fall_outside_working_time(schedule, start, delta):
    """Adding ends on working time (the instant just before the result is working: an
    interval's end counts); going back ends on the start of working time."""
    assume(delta > dt.timedelta(0))
    later = add_working(start, delta, schedule)
    assert later > start
    assert is_working(later - ONE_US, schedule)
    assert later.tzinfo is UTC
    earlier = add_working(start, -delta, schedule)
    assert earlier < start
    assert is_working(earlier, schedule)
    assert earlier.tzinfo is UTC


@PROPERTY
@given(schedule=schedules(), start=moments, minutes=st.integers(0, 3 * 1440))
def test_dep03_working_time_is_what_the_wall_clock_shows(schedule, start, minutes):
    """Measured against a minute-by-minute reading of the wall clock in the zone."""
    start = start.replace(second=0, microsecond=0)
    end = start + dt.timedelta(minutes=minutes)
    assert working_between(start, end, schedule) == minutes_worked(start, end, schedule)


@PROPERTY
@given(schedule=schedules(), start=moments, first=durations, second=durations)
def test_bp15_adding_is_monotonic_and_measuring_additive(schedule, start, first, second):
    small, large = sorted([first, second])
    assert add_working(start, small, schedule) <= add_working(start, large, schedule)
    assert add_working(start, -large, schedule) <= add_working(start, -small, schedule)
    middle = start + small
    end = start + large
    assert working_between(start, middle, schedule) + working_between(
        middle, end, schedule
    ) == working_between(start, end, schedule)
    assert dt.timedelta(0) <= working_between(start, middle, schedule) <= small


@settings(max_examples=200, deadline=None)
@given(start=moments, delta=st.integers(-(10**13), 10**13), zone=st.sampled_from(ZONES))
def test_bp15_calendar_mode_is_plain_arithmetic(start, delta, zone):
    """Elapsed time, whatever the zone of the input (24 hours even across a DST change)."""
    local = start.astimezone(zone)
    step = dt.timedelta(microseconds=delta)
    assert add_working(local, step, None) == start + step
    assert add_working(local, step, None).tzinfo is UTC
    assert working_between(local, (start + step).astimezone(zone), None) == step


# --- Concrete cases -----------------------------------------------------------------------------
def test_bp15_friday_evening_plus_an_hour_lands_on_monday_morning():
    """9-18 on weekdays: 30 minutes on Friday, the other 30 on Monday."""
    schedule = Schedule(tz=TOKYO, week=WEEKDAYS_9_18, holidays=frozenset())
    friday = dt.datetime(2026, 11, 27, 17, 30, tzinfo=TOKYO)
    due = add_working(friday, dt.timedelta(hours=1), schedule)
    assert due == dt.datetime(2026, 11, 30, 9, 30, tzinfo=TOKYO)
    assert due.tzinfo is UTC
    assert working_between(friday, due, schedule) == dt.timedelta(hours=1)
    # And back: the latest instant an hour of work before Monday 9:30 is Friday 17:30.
    assert add_working(due, -dt.timedelta(hours=1), schedule) == friday


def test_bp15_a_friday_evening_start_outside_hours_waits_for_monday():
    schedule = Schedule(tz=TOKYO, week=WEEKDAYS_9_18, holidays=frozenset())
    friday_night = dt.datetime(2026, 11, 27, 22, 0, tzinfo=TOKYO)
    due = add_working(friday_night, dt.timedelta(minutes=15), schedule)
    assert due == dt.datetime(2026, 11, 30, 9, 15, tzinfo=TOKYO)


def test_dep03_a_holiday_is_skipped():
    """Monday 30 November is a holiday: Friday's last half hour, then Tuesday."""
    schedule = Schedule(tz=TOKYO, week=WEEKDAYS_9_18, holidays=frozenset({dt.date(2026, 11, 30)}))
    friday = dt.datetime(2026, 11, 27, 17, 30, tzinfo=TOKYO)
    due = add_working(friday, dt.timedelta(hours=1), schedule)
    assert due == dt.datetime(2026, 12, 1, 9, 30, tzinfo=TOKYO)
    # Nothing counts on the holiday itself.
    holiday = dt.datetime(2026, 11, 30, 0, 0, tzinfo=TOKYO)
    assert working_between(holiday, holiday + dt.timedelta(days=1), schedule) == dt.timedelta(0)


def test_dep03_several_holidays_and_weeks_are_jumped():
    """Ten working days of 9 hours from a Monday, with Wednesday and the next Monday off."""
    holidays = frozenset({dt.date(2026, 12, 2), dt.date(2026, 12, 7)})
    schedule = Schedule(tz=TOKYO, week=WEEKDAYS_9_18, holidays=holidays)
    monday = dt.datetime(2026, 11, 30, 9, 0, tzinfo=TOKYO)
    due = add_working(monday, dt.timedelta(hours=90), schedule)
    assert due == dt.datetime(2026, 12, 15, 18, 0, tzinfo=TOKYO)
    assert working_between(monday, due, schedule) == dt.timedelta(hours=90)


@pytest.mark.parametrize(
    ("zone", "day", "real_hours"),
    [
        (NEW_YORK, dt.date(2026, 3, 8), 23),  # clocks go forward: 02:00 -> 03:00
        (NEW_YORK, dt.date(2026, 11, 1), 25),  # clocks go back: 02:00 -> 01:00
        (BERLIN, dt.date(2026, 3, 29), 23),
        (BERLIN, dt.date(2026, 10, 25), 25),
    ],
)
def test_dep03_a_whole_working_day_across_a_dst_change_is_real_time(zone, day, real_hours):
    schedule = Schedule(tz=zone, week=(((T(0), T(0)),),) * 7, holidays=frozenset())
    midnight = dt.datetime.combine(day, T(0), tzinfo=zone)
    next_midnight = dt.datetime.combine(day + dt.timedelta(days=1), T(0), tzinfo=zone)
    assert working_between(midnight, next_midnight, schedule) == dt.timedelta(hours=real_hours)


def test_dep03_nine_to_six_is_nine_hours_on_dst_days():
    """A Sunday desk in New York: 9-18 is still 9 real hours on both change days."""
    schedule = Schedule(tz=NEW_YORK, week=(NINE_TO_SIX,) * 7, holidays=frozenset())
    for day in (dt.date(2026, 3, 8), dt.date(2026, 11, 1)):
        start = dt.datetime.combine(day, T(9), tzinfo=NEW_YORK)
        due = add_working(start, dt.timedelta(hours=9), schedule)
        assert due.astimezone(NEW_YORK).replace(tzinfo=None) == dt.datetime.combine(day, T(18))


def test_dep03_wall_times_that_do_not_exist_count_for_nothing():
    """On 8 March 2026 New York's clocks jump from 02:00 to 03:00: an interval 01:30-03:30 is
    one real hour (01:30-02:00 and 03:00-03:30), and an hour of work from 01:30 ends at 03:30."""
    schedule = Schedule(tz=NEW_YORK, week=(((T(1, 30), T(3, 30)),),) * 7, holidays=frozenset())
    start = dt.datetime(2026, 3, 8, 1, 30, tzinfo=NEW_YORK)
    due = add_working(start, dt.timedelta(hours=1), schedule)
    assert due == dt.datetime(2026, 3, 8, 3, 30, tzinfo=NEW_YORK)
    assert due - start == dt.timedelta(hours=1)
    # An interval wholly inside the gap has no working time that night.
    gap = Schedule(tz=NEW_YORK, week=(((T(2, 10), T(2, 40)),),) * 7, holidays=frozenset())
    midnight = dt.datetime(2026, 3, 8, 0, 0, tzinfo=NEW_YORK)
    assert working_between(midnight, midnight + dt.timedelta(hours=24), gap) == dt.timedelta(0)
    assert add_working(midnight, dt.timedelta(minutes=10), gap) == dt.datetime(
        2026, 3, 9, 2, 20, tzinfo=NEW_YORK
    )


def test_dep03_repeated_wall_times_count_twice():
    """On 1 November 2026 New York's clocks go back from 02:00 to 01:00: the interval 01:00-02:00
    is two real hours, and the second half hour of work ends at 01:30 standard time."""
    schedule = Schedule(tz=NEW_YORK, week=(((T(1), T(2)),),) * 7, holidays=frozenset())
    midnight = dt.datetime(2026, 11, 1, 0, 0, tzinfo=NEW_YORK)
    assert working_between(midnight, midnight + dt.timedelta(hours=25), schedule) == dt.timedelta(
        hours=2
    )
    due = add_working(midnight, dt.timedelta(minutes=90), schedule)
    assert due == dt.datetime(2026, 11, 1, 6, 30, tzinfo=UTC)  # 01:30 EST, the second 01:30


def test_dep03_lunch_break_is_not_working_time():
    """9-12 and 13-18: a two-hour job started at 11:00 is due at 14:00."""
    schedule = Schedule(
        tz=BERLIN, week=(((T(9), T(12)), (T(13), T(18))),) * 5 + ((), ()), holidays=frozenset()
    )
    start = dt.datetime(2026, 12, 1, 11, 0, tzinfo=BERLIN)
    due = add_working(start, dt.timedelta(hours=2), schedule)
    assert due == dt.datetime(2026, 12, 1, 14, 0, tzinfo=BERLIN)
    # Exactly the morning's hour ends at noon (the end of the interval), not at 13:00.
    assert add_working(start, dt.timedelta(hours=1), schedule) == dt.datetime(
        2026, 12, 1, 12, 0, tzinfo=BERLIN
    )
    assert working_between(start, due, schedule) == dt.timedelta(hours=2)


def test_dep03_no_intervals_means_around_the_clock_but_holidays_stay_off():
    schedule = Schedule(tz=TOKYO, week=((),) * 7, holidays=frozenset({dt.date(2026, 12, 25)}))
    start = dt.datetime(2026, 12, 24, 20, 0, tzinfo=TOKYO)
    # Four hours on the 24th, none on the 25th, two on the 26th.
    assert add_working(start, dt.timedelta(hours=6), schedule) == dt.datetime(
        2026, 12, 26, 2, 0, tzinfo=TOKYO
    )
    plain = Schedule(tz=TOKYO, week=((),) * 7, holidays=frozenset())
    assert add_working(start, dt.timedelta(hours=100), plain) == start + dt.timedelta(hours=100)


def test_bp15_a_long_target_crosses_years_and_dst_changes():
    """A thousand working hours from New Year's Eve: measured back exactly."""
    schedule = Schedule(tz=NEW_YORK, week=WEEKDAYS_9_18, holidays=frozenset())
    start = dt.datetime(2026, 12, 31, 12, 0, tzinfo=NEW_YORK)
    due = add_working(start, dt.timedelta(hours=1000), schedule)
    assert working_between(start, due, schedule) == dt.timedelta(hours=1000)
    assert is_working(due - ONE_US, schedule)


def test_dep03_schedules_refuse_overlaps_and_naive_datetimes():
    with pytest.raises(ValueError, match="overlap"):
        Schedule(tz=TOKYO, week=(((T(9), T(12)), (T(11), T(13))),) + ((),) * 6)
    with pytest.raises(ValueError, match="end after"):
        Schedule(tz=TOKYO, week=(((T(12), T(9)),),) + ((),) * 6)
    schedule = Schedule(tz=TOKYO, week=WEEKDAYS_9_18)
    with pytest.raises(ValueError, match="aware"):
        add_working(dt.datetime(2026, 1, 1), dt.timedelta(hours=1), schedule)
