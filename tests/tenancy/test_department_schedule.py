"""A department's business-time schedule (DEP-03, for BP-15's and TKT-09's SLA clocks): read
from its time zone, business hours and holidays, kept per process, and seen again as soon as
Setup changes any of them."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core.cache import cache

from helpdesk.businesstime import Schedule, add_working
from helpdesk.tenancy import selectors
from helpdesk.tenancy.models import BusinessInterval, Department
from helpdesk.tenancy.selectors import department_schedule
from helpdesk.tenancy.services import departments as services
from tests.factories import DepartmentFactory

T = dt.time
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def sales(acme):
    return DepartmentFactory(org=acme.org, name="Sales")


@pytest.fixture(autouse=True)
def _fresh_memo():
    selectors._schedules.clear()
    cache.clear()
    yield
    selectors._schedules.clear()


def hours(acme, sales, intervals, zone="America/New_York", *, callbacks):
    with callbacks(execute=True):
        services.business_hours_set(
            actor=acme.admin, department=sales, time_zone=zone, intervals=intervals
        )


def test_dep03_schedule_reads_zone_intervals_and_holidays(
    acme, sales, django_capture_on_commit_callbacks
):
    hours(
        acme,
        sales,
        [(0, T(13), T(18)), (0, T(9), T(12)), (4, T(9), T(18))],
        callbacks=django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=True):
        services.holiday_add(
            actor=acme.admin, department=sales, date=dt.date(2026, 12, 25), name="Christmas"
        )
    schedule = department_schedule(acme.org.pk, sales.pk)
    assert schedule == Schedule(
        tz=NEW_YORK,
        week=(((T(9), T(12)), (T(13), T(18))), (), (), (), ((T(9), T(18)),), (), ()),
        holidays=frozenset({dt.date(2026, 12, 25)}),
    )


def test_dep03_changing_business_hours_is_seen_at_once(
    acme, sales, django_capture_on_commit_callbacks, django_assert_num_queries
):
    """Kept between calls (no query), rebuilt after Setup saves new hours or a holiday."""
    hours(acme, sales, [(4, T(9), T(18))], callbacks=django_capture_on_commit_callbacks)
    friday = dt.datetime(2026, 11, 27, 17, 30, tzinfo=NEW_YORK)
    first = department_schedule(acme.org.pk, sales.pk)
    # Friday only: the next working hour after Friday 17:30 is the next Friday.
    assert add_working(friday, dt.timedelta(hours=1), first) == dt.datetime(
        2026, 12, 4, 9, 30, tzinfo=NEW_YORK
    )
    with django_assert_num_queries(0):
        assert department_schedule(acme.org.pk, sales.pk) is first

    hours(
        acme,
        sales,
        [(day, T(9), T(18)) for day in range(5)],
        callbacks=django_capture_on_commit_callbacks,
    )
    second = department_schedule(acme.org.pk, sales.pk)
    assert add_working(friday, dt.timedelta(hours=1), second) == dt.datetime(
        2026, 11, 30, 9, 30, tzinfo=NEW_YORK
    )

    with django_capture_on_commit_callbacks(execute=True):
        services.holiday_add(
            actor=acme.admin, department=sales, date=dt.date(2026, 11, 30), name="Closed"
        )
    third = department_schedule(acme.org.pk, sales.pk)
    assert add_working(friday, dt.timedelta(hours=1), third) == dt.datetime(
        2026, 12, 1, 9, 30, tzinfo=NEW_YORK
    )


def test_dep03_another_process_sees_the_change_after_its_recheck(
    acme, sales, django_capture_on_commit_callbacks, monkeypatch
):
    """Another process's memo is dropped when the cache's token changes: simulated by a
    schedule written behind this process's back and the token bumped in the cache only."""
    hours(acme, sales, [(0, T(9), T(18))], callbacks=django_capture_on_commit_callbacks)
    assert department_schedule(acme.org.pk, sales.pk).week[1] == ()
    BusinessInterval.objects.create(
        org=acme.org, department=sales, weekday=1, start=T(10), end=T(11)
    )
    monkeypatch.setattr(selectors, "SCHEDULE_RECHECK", 0)
    assert department_schedule(acme.org.pk, sales.pk).week[1] == ()  # same token: kept
    cache.set(selectors._schedule_token_key(acme.org.pk, sales.pk), "elsewhere")
    assert department_schedule(acme.org.pk, sales.pk).week[1] == ((T(10), T(11)),)


def test_dep03_time_zone_change_on_the_department_form_is_seen(
    acme, sales, django_capture_on_commit_callbacks
):
    hours(acme, sales, [(0, T(9), T(18))], callbacks=django_capture_on_commit_callbacks)
    assert department_schedule(acme.org.pk, sales.pk).tz == NEW_YORK
    sales.time_zone = "Europe/Berlin"
    with django_capture_on_commit_callbacks(execute=True):
        services.department_save(actor=acme.admin, department=sales)
    assert department_schedule(acme.org.pk, sales.pk).tz == zoneinfo.ZoneInfo("Europe/Berlin")


def test_dep03_no_intervals_is_around_the_clock(acme, sales):
    schedule = department_schedule(acme.org.pk, sales.pk)
    start = dt.datetime(2026, 11, 28, 23, 0, tzinfo=dt.UTC)  # a Saturday night
    assert add_working(start, dt.timedelta(hours=5), schedule) == start + dt.timedelta(hours=5)


def test_dep03_another_organizations_department_is_not_read(acme, globex, sales):
    with pytest.raises(Department.DoesNotExist):
        department_schedule(globex.org.pk, sales.pk)
