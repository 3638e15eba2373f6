"""Business time (BP-15, DEP-03): add working time to an instant and measure the working time
between two instants under a department's weekly schedule, time zone and holidays.

A pure module: it imports no app, reads no database and keeps no state besides a small
per-zone table of daylight-saving transitions. `helpdesk.tenancy.selectors.department_schedule`
builds the `Schedule` of a department; the SLA clocks call `add_working` and `working_between`
for every clock they plan, so both are arithmetic, never a walk over minutes or days:

* Time is handled as integer microseconds (exact: adding then measuring gives back the input).
* Inside a stretch of constant UTC offset, the wall clock is the UTC instant plus the offset, so
  working time there is working time of *wall-clock* time, which has a closed form: whole weeks
  times the weekly total, plus the days before the weekday, plus the intervals before the time
  of day, minus the holidays before (a bisect into their prefix sums).
* A computation crosses at most a handful of such stretches (the zone's daylight-saving changes,
  and each new year, where the transition table is cut); adding working time also hops holiday
  by holiday, because no closed form inverts "minus the holidays".

Decisions where the contract left a choice:

* An interval's end `time(0, 0)` means midnight at the *end* of the day (24:00); any other end
  must come after the start. A day's intervals are sorted here; overlapping ones are refused.
* A schedule with no interval on any day works around the clock (the BusinessInterval
  docstring); its holidays are still days off.
* Intervals are wall-clock times in the schedule's zone. An instant is working time when the
  zone's wall clock then shows a time inside an interval of a non-holiday day. So on the
  night the clocks go forward a wall time in the gap does not exist and counts for nothing
  (an interval 01:30-03:30 in New York is 1 real hour that night), and when they go back a
  repeated wall time counts twice (01:00-02:00 is 2 real hours). Nothing crashes and no
  working instant shows a wall time outside the intervals.
* Working time is real elapsed time (a 9-18 day is 9 hours on the DST days too).
* `add_working` with a positive delta returns the *earliest* instant at which that much
  working time has passed (the end of an interval rather than the start of the next one); with
  a negative delta it goes back and returns the *latest* such instant (the start of an interval
  rather than the end of the previous one); a zero delta returns the start unchanged. Both
  return aware datetimes in UTC; `working_between(a, b)` is negative when b is before a.
* `schedule=None` is calendar time: plain arithmetic on elapsed (UTC) time; a day is 24
  hours even across a DST change.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import cached_property, lru_cache

__all__ = ["Schedule", "add_working", "working_between"]

Interval = tuple[dt.time, dt.time]

SECOND = 1_000_000  # integers below are microseconds
DAY = 86_400 * SECOND
WEEK = 7 * DAY
UTC = dt.UTC
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
ONE_US = dt.timedelta(microseconds=1)
# Wall-clock instants are microseconds since 1970-01-01 00:00 on the wall clock. That day was
# a Thursday: shifting by three days makes the week index and the weekday plain divisions.
MONDAY_SHIFT = 3 * DAY


def _time_us(value: dt.time) -> int:
    return ((value.hour * 60 + value.minute) * 60 + value.second) * SECOND + value.microsecond


@dataclass(frozen=True)
class Schedule:
    """A weekly schedule in a time zone, with holidays.

    `week` has seven entries, Monday first; each is a tuple of (start, end) wall-clock
    intervals of that day (end `time(0, 0)` = midnight at the end of the day). All seven empty
    = working around the clock. `holidays` are local dates without working time."""

    tz: zoneinfo.ZoneInfo
    week: tuple[tuple[Interval, ...], ...]
    holidays: frozenset[dt.date] = frozenset()

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise ValueError("A schedule has seven days, Monday first.")
        for day in self.week:
            spans = sorted((_time_us(s), _time_us(e) or DAY) for s, e in day)
            for start, end in spans:
                if start >= end:
                    raise ValueError("A working interval must end after it starts.")
            for (_s1, end1), (start2, _e2) in zip(spans, spans[1:], strict=False):
                if start2 < end1:
                    raise ValueError("Working intervals of a day must not overlap.")

    @cached_property
    def _plan(self) -> _Plan:
        return _Plan.of(self)


@dataclass(frozen=True)
class _Plan:
    """A schedule as integers, computed once per Schedule object."""

    days: tuple[tuple[tuple[int, int], ...], ...]  # per weekday: (start, end) in µs of the day
    day_total: tuple[int, ...]  # working µs of each weekday
    before_day: tuple[int, ...]  # working µs of the week before each weekday
    week_total: int
    holiday_days: tuple[int, ...]  # sorted wall-clock day numbers (days since 1970-01-01)
    holiday_before: tuple[int, ...]  # working µs of the holidays before holiday_days[i]
    holiday_set: frozenset[int]
    # The week's intervals in order: where each starts in the week, and the working µs of the
    # week up to its end (for a bisect from working time back to the wall clock).
    week_starts: tuple[int, ...]
    week_ends_worked: tuple[int, ...]

    @classmethod
    def of(cls, schedule: Schedule) -> _Plan:
        days = tuple(
            tuple(sorted((_time_us(s), _time_us(e) or DAY) for s, e in day))
            for day in schedule.week
        )
        if not any(days):
            days = tuple(((0, DAY),) for _ in range(7))  # no intervals: around the clock
        day_total = tuple(sum(e - s for s, e in day) for day in days)
        before_day = tuple(sum(day_total[:i]) for i in range(7))
        epoch = dt.date(1970, 1, 1)
        holiday_days = tuple(sorted((d - epoch).days for d in schedule.holidays))
        week_starts: list[int] = []
        week_ends_worked: list[int] = []
        for weekday, intervals in enumerate(days):
            for start, end in intervals:
                week_starts.append(weekday * DAY + start)
                week_ends_worked.append((week_ends_worked or [0])[-1] + end - start)
        holiday_before = [0]
        for day in holiday_days:
            holiday_before.append(holiday_before[-1] + day_total[(day + 3) % 7])
        return cls(
            days=days,
            day_total=day_total,
            before_day=before_day,
            week_total=sum(day_total),
            holiday_days=holiday_days,
            holiday_before=tuple(holiday_before),
            holiday_set=frozenset(holiday_days),
            week_starts=tuple(week_starts),
            week_ends_worked=tuple(week_ends_worked),
        )

    # --- Wall-clock time without holidays (G) and with them (F) -----------------------------
    def _within(self, weekday: int, tod: int) -> int:
        """Working µs of `weekday` before the time of day `tod`."""
        total = 0
        for start, end in self.days[weekday]:
            if tod <= start:
                break
            total += (end if end < tod else tod) - start
        return total

    def plain(self, wall: int) -> int:
        """Working µs from the wall-clock epoch to `wall`, holidays ignored (G)."""
        week, rest = divmod(wall + MONDAY_SHIFT, WEEK)
        weekday, tod = divmod(rest, DAY)
        return week * self.week_total + self.before_day[weekday] + self._within(weekday, tod)

    def worked(self, wall: int) -> int:
        """Working µs from the wall-clock epoch to `wall`, holidays off (F)."""
        total = self.plain(wall)
        if not self.holiday_days:
            return total
        day = wall // DAY
        index = bisect_left(self.holiday_days, day)
        total -= self.holiday_before[index]
        if day in self.holiday_set:
            total -= self._within((day + 3) % 7, wall - day * DAY)
        return total

    def _locate(self, week: int, rest: int, *, earliest: bool) -> int:
        """The wall instant `rest` working µs into week `week` (holidays ignored): at the end
        of an interval when `earliest` and `rest` ends one, else at the next one's start."""
        ends = self.week_ends_worked
        index = bisect_left(ends, rest) if earliest else bisect_right(ends, rest)
        before = ends[index - 1] if index else 0
        return week * WEEK - MONDAY_SHIFT + self.week_starts[index] + rest - before

    def plain_earliest(self, value: int) -> int:
        """The earliest wall instant at which G reaches `value`."""
        week, rest = divmod(value, self.week_total)
        if rest == 0:
            week, rest = week - 1, self.week_total
        return self._locate(week, rest, earliest=True)

    def plain_latest(self, value: int) -> int:
        """The latest wall instant at which G is still `value`."""
        week, rest = divmod(value, self.week_total)
        return self._locate(week, rest, earliest=False)

    # --- Adding working time on the wall clock, holiday by holiday ---------------------------
    def forward(self, wall: int, amount: int) -> int:
        """The earliest wall instant with `amount` (> 0) working µs after `wall`."""
        holidays = self.holiday_days
        while True:
            day = wall // DAY
            if day in self.holiday_set:
                wall = (day + 1) * DAY
                continue
            done = self.plain(wall)
            found = self.plain_earliest(done + amount)
            index = bisect_right(holidays, day)
            if index == len(holidays) or found <= holidays[index] * DAY:
                return found
            limit = holidays[index] * DAY  # the next holiday comes first: work up to it
            amount -= self.plain(limit) - done
            wall = limit

    def backward(self, wall: int, amount: int) -> int:
        """The latest wall instant with `amount` (> 0) working µs before `wall`."""
        holidays = self.holiday_days
        while True:
            day = (wall - 1) // DAY  # the day of the instant just before `wall`
            if day in self.holiday_set:
                wall = day * DAY
                continue
            done = self.plain(wall)
            found = self.plain_latest(done - amount)
            index = bisect_left(holidays, day)
            if index == 0 or found >= (holidays[index - 1] + 1) * DAY:
                return found
            limit = (holidays[index - 1] + 1) * DAY  # the previous holiday comes first
            amount -= done - self.plain(limit)
            wall = limit


# --- Time zones: stretches of constant UTC offset ---------------------------------------------
@lru_cache(maxsize=4096)
def _year_offsets(tz: zoneinfo.ZoneInfo, year: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The zone's UTC offset changes during a (UTC) year: (instants, offsets), where
    offsets[i] holds from instants[i] on; instants[0] is the start of the year. Found by
    sampling every three hours and bisecting each change to the second (tzdata's changes
    fall on whole seconds, at most one in three hours)."""

    def offset(second: int) -> int:
        moment = dt.datetime.fromtimestamp(second, tz)
        delta = moment.utcoffset() or dt.timedelta(0)
        return delta // ONE_US

    start = int((dt.datetime(year, 1, 1, tzinfo=UTC) - EPOCH).total_seconds())
    end = int((dt.datetime(year + 1, 1, 1, tzinfo=UTC) - EPOCH).total_seconds())
    instants, offsets = [start * SECOND], [offset(start)]
    step = 3 * 3600
    previous = start
    for sample in range(start + step, end + step, step):
        sample = min(sample, end - 1)
        current = offset(sample)
        if current != offsets[-1]:
            low, high = previous, sample  # offset(low) is the old one, offset(high) the new
            while high - low > 1:
                middle = (low + high) // 2
                if offset(middle) == current:
                    high = middle
                else:
                    low = middle
            instants.append(high * SECOND)
            offsets.append(current)
        previous = sample
    return tuple(instants), tuple(offsets)


_FIRST_YEAR = 1900
_YEAR_STARTS = [
    (dt.datetime(year, 1, 1, tzinfo=UTC) - EPOCH) // ONE_US for year in range(_FIRST_YEAR, 2302)
]


def _year_of(instant: int) -> int:
    index = bisect_right(_YEAR_STARTS, instant) - 1
    if 0 <= index < len(_YEAR_STARTS) - 1:
        return _FIRST_YEAR + index
    return (EPOCH + dt.timedelta(microseconds=instant)).year


def _stretch(tz: zoneinfo.ZoneInfo, instant: int) -> tuple[int, int, int]:
    """(start, end, offset): the stretch of constant offset [start, end) holding `instant`.
    Stretches are also cut at each new UTC year (where the transition table is cut)."""
    year = _year_of(instant)
    instants, offsets = _year_offsets(tz, year)
    index = bisect_right(instants, instant) - 1
    if index + 1 < len(instants):
        end = instants[index + 1]
    else:
        end = (dt.datetime(year + 1, 1, 1, tzinfo=UTC) - EPOCH) // ONE_US
    return instants[index], end, offsets[index]


# --- The API ----------------------------------------------------------------------------------
def _micros(moment: dt.datetime) -> int:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Business time needs aware datetimes.")
    return (moment - EPOCH) // ONE_US


def _moment(instant: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=instant)


def working_between(a: dt.datetime, b: dt.datetime, schedule: Schedule | None) -> dt.timedelta:
    """Working time from `a` to `b` under `schedule` (calendar time when None); negative when
    `b` is before `a`. Each stretch of constant UTC offset is measured on the wall clock."""
    if schedule is None:  # in UTC: Python subtracts two times of one zone on the wall clock
        return b.astimezone(UTC) - a.astimezone(UTC)
    start, end = _micros(a), _micros(b)
    if end < start:
        return -working_between(b, a, schedule)
    plan = schedule._plan
    total = 0
    cursor = start
    while cursor < end:
        _first, stretch_end, offset = _stretch(schedule.tz, cursor)
        stop = min(stretch_end, end)
        total += plan.worked(stop + offset) - plan.worked(cursor + offset)
        cursor = stop
    return dt.timedelta(microseconds=total)


def add_working(start: dt.datetime, delta: dt.timedelta, schedule: Schedule | None) -> dt.datetime:
    """The instant `delta` of working time after `start` (before it when negative), in UTC.
    Positive: the earliest such instant; negative: the latest; zero: `start` itself."""
    if schedule is None:  # elapsed time: in UTC (in a zone, Python adds on the wall clock)
        return start.astimezone(UTC) + delta
    instant, amount = _micros(start), delta // ONE_US
    if amount == 0:
        return start.astimezone(UTC)
    plan = schedule._plan
    # On the wall clock of the stretch holding the start; when the answer lies beyond the
    # stretch, the stretch's working time is spent and the next stretch takes over.
    if amount > 0:
        while True:
            _first, stretch_end, offset = _stretch(schedule.tz, instant)
            wall = plan.forward(instant + offset, amount)
            if wall <= stretch_end + offset:
                return _moment(wall - offset)
            amount -= plan.worked(stretch_end + offset) - plan.worked(instant + offset)
            instant = stretch_end
    amount = -amount
    while True:
        # The stretch holding the instant just before: going back from a transition, the
        # wall clock reads the offset that held until then.
        stretch_start, _end, offset = _stretch(schedule.tz, instant - 1)
        wall = plan.backward(instant + offset, amount)
        if wall >= stretch_start + offset:
            return _moment(wall - offset)
        amount -= plan.worked(instant + offset) - plan.worked(stretch_start + offset)
        instant = stretch_start
