"""Business time, calls per second (BP-15, DEP-03): how fast the SLA clocks can be planned.

    python bench/businesstime.py [--calls 200000] [--seed 11]

A realistic schedule: Monday to Friday 9:00-12:00 and 13:00-18:00 (a lunch break), with the
public holidays of 2026 and 2027 (the `holidays` package: Japan for Tokyo, the United States
for New York, where daylight-saving time changes twice a year). Starts are spread over 2026
(seeded), targets from 1 to 40 working hours, so some cross weekends, holidays, the DST changes
and the new year. Each zone is timed for `add_working`, `working_between` (over the span just
added) and, for comparison, calendar mode (schedule None). Pure Python in one process: no
database. Timed in CPU seconds of this process (`time.process_time`), so other work on a busy
machine does not count; the figure for a million clocks is the CPU time to plan their due times
and measure them back in one process."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
import zoneinfo
from pathlib import Path

import holidays as holidays_lib

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpdesk.businesstime import Schedule, add_working, working_between  # noqa: E402

T = dt.time
DAY = ((T(9), T(12)), (T(13), T(18)))
ZONES = {"Asia/Tokyo": "JP", "America/New_York": "US"}


def schedule_for(zone: str, country: str) -> Schedule:
    days = holidays_lib.country_holidays(country, years=[2026, 2027])
    return Schedule(
        tz=zoneinfo.ZoneInfo(zone), week=(DAY,) * 5 + ((), ()), holidays=frozenset(days)
    )


def rate(calls: int, seconds: float) -> str:
    return f"{calls / seconds:>10,.0f} calls/s  ({seconds / calls * 1e6:5.1f} µs a call)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    year = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    starts = [year + dt.timedelta(seconds=rng.randrange(365 * 86400)) for _ in range(args.calls)]
    deltas = [dt.timedelta(minutes=rng.randrange(60, 40 * 60)) for _ in range(args.calls)]
    print(f"{args.calls:,} calls each; Monday-Friday 9-12 and 13-18 with public holidays")
    for zone, country in ZONES.items():
        schedule = schedule_for(zone, country)
        add_working(starts[0], deltas[0], schedule)  # the zone's transition table, once
        began = time.process_time()
        dues = [add_working(s, d, schedule) for s, d in zip(starts, deltas, strict=True)]
        adding = time.process_time() - began
        began = time.process_time()
        spans = [working_between(s, e, schedule) for s, e in zip(starts, dues, strict=True)]
        measuring = time.process_time() - began
        assert spans == deltas, "adding then measuring must give back the input"
        began = time.process_time()
        for s, d in zip(starts, deltas, strict=True):
            add_working(s, d, None)
        calendar = time.process_time() - began
        million = (adding + measuring) / args.calls * 1_000_000
        print(f"{zone}:")
        print(f"  add_working       {rate(args.calls, adding)}")
        print(f"  working_between   {rate(args.calls, measuring)}")
        print(f"  calendar mode     {rate(args.calls, calendar)}")
        print(f"  1,000,000 clocks planned and measured: {million:.1f} CPU s in one process")


if __name__ == "__main__":
    main()
