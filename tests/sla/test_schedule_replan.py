"""DEP-03, BP-15: when a department's business hours or holidays change, its open
business-hours SLA clocks are planned again under the new schedule (a task enqueued after
commit); calendar-time clocks and other departments' clocks keep their due times."""

from __future__ import annotations

import datetime as dt

import pytest

from helpdesk.tenancy.models import Holiday
from helpdesk.tenancy.services.departments import holiday_add, holiday_delete
from helpdesk.tickets.models import Ticket
from sla.models import Clock, ClockDue, Target

from .conftest import MONDAY_10_TOKYO

pytestmark = pytest.mark.django_db
TUESDAY_10_TOKYO = MONDAY_10_TOKYO + dt.timedelta(days=1)


def _resolution(ticket: Ticket) -> Clock:
    return Clock.objects.for_org(ticket.org_id).get(ticket=ticket, kind=Target.RESOLUTION)


def test_dep03_bp15_a_new_holiday_moves_the_open_business_hours_clocks(
    sla, now, django_capture_on_commit_callbacks
):
    """9 working hours from Monday 10:00 (9-18 on weekdays, Tokyo) is Tuesday 10:00; a holiday
    added on Tuesday moves it, its level and the ticket's due date to Wednesday 10:00.
    Removing the holiday puts them back."""
    sla.nine_to_six()
    policy = sla.policy(resolution_minutes=9 * 60, business_hours=True)
    sla.level(policy, target=Target.RESOLUTION, level=1, when="after", offset=60)
    ticket = sla.desk.ticket()
    clock = _resolution(ticket)
    assert clock.due_at == TUESDAY_10_TOKYO

    with django_capture_on_commit_callbacks(execute=True):
        holiday_add(
            actor=sla.desk.admin,
            department=sla.desk.department,
            date=dt.date(2026, 12, 8),
            name="Founders' day",
        )
    wednesday_10 = TUESDAY_10_TOKYO + dt.timedelta(days=1)
    clock.refresh_from_db()
    ticket.refresh_from_db()
    assert clock.due_at == wednesday_10
    assert ticket.due_at == wednesday_10
    assert ClockDue.objects.get(clock=clock).due_at == wednesday_10 + dt.timedelta(hours=1)

    holiday = Holiday.objects.for_org(sla.org).get()
    with django_capture_on_commit_callbacks(execute=True):
        holiday_delete(actor=sla.desk.admin, holiday=holiday)
    clock.refresh_from_db()
    assert clock.due_at == TUESDAY_10_TOKYO
    assert ClockDue.objects.get(clock=clock).due_at == TUESDAY_10_TOKYO + dt.timedelta(hours=1)


def test_dep03_calendar_clocks_and_other_departments_keep_their_due_times(
    sla, now, django_capture_on_commit_callbacks
):
    sla.nine_to_six()
    sla.policy(resolution_minutes=9 * 60, business_hours=False)
    sla.policy(department=sla.desk.other_department, resolution_minutes=9 * 60, business_hours=True)
    calendar = _resolution(sla.desk.ticket())
    billing = _resolution(sla.desk.ticket(department=sla.desk.other_department))
    before = {calendar.pk: calendar.due_at, billing.pk: billing.due_at}
    with django_capture_on_commit_callbacks(execute=True):
        holiday_add(
            actor=sla.desk.admin,
            department=sla.desk.department,
            date=dt.date(2026, 12, 8),
            name="Founders' day",
        )
    after = dict(Clock.objects.for_org(sla.org).filter(pk__in=before).values_list("pk", "due_at"))
    assert after == before
