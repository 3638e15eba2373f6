"""TKT-04 activities and time: the services (creating, completing, spam, links of one
organization, the timer, time totals and validation) and the history they write."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from customers.models import Account, Contact
from helpdesk.tenancy.guards import OtherOrganizationError
from helpdesk.tickets.activities.models import Activity, RunningTimer, TimeEntry
from helpdesk.tickets.activities.services import (
    ActivityInput,
    TimeInput,
    activity_create,
    activity_delete,
    activity_for_member,
    activity_set_done,
    activity_set_spam,
    activity_update,
    parse_duration,
    time_entry_create,
    time_entry_delete,
    time_entry_update,
    time_totals,
    timer_discard,
    timer_get,
    timer_pause,
    timer_seconds,
    timer_start,
    timer_stop,
)
from helpdesk.tickets.models import TicketHistory

pytestmark = pytest.mark.django_db


def task(**kwargs) -> ActivityInput:
    kwargs.setdefault("subject", "Call the customer back")
    return ActivityInput(kind="task", **kwargs)


def history(ticket) -> list[tuple[str, dict]]:
    return list(
        TicketHistory.objects.for_org(ticket.org)
        .filter(ticket=ticket)
        .exclude(action="created")
        .order_by("pk")
        .values_list("action", "changes")
    )


def test_tkt04_create_a_task_on_a_ticket_writes_history(desk):
    ticket = desk.ticket()
    due = timezone.now() + dt.timedelta(days=1)
    activity = activity_create(
        actor=desk.agent,
        data=task(owner=desk.agent.user, due_at=due, priority="high"),
        ticket=ticket,
        ip="198.51.100.7",
    )
    assert activity.ticket == ticket and activity.owner == desk.agent.user
    assert activity.due_at == due and not activity.done and activity.status == "open"
    row = TicketHistory.objects.for_org(desk.org).filter(action="activity_added").get()
    assert row.actor == desk.agent.user and row.ip_address == "198.51.100.7"
    assert row.changes == {"activity": [None, "Task: Call the customer back"]}


def test_tkt04_complete_reopen_and_spam(desk):
    ticket = desk.ticket()
    activity = activity_create(actor=desk.agent, data=task(), ticket=ticket)
    activity_set_done(actor=desk.agent, activity=activity)
    activity.refresh_from_db()
    assert activity.done and activity.status == "completed" and activity.completed_at
    activity_set_done(actor=desk.agent, activity=activity)  # twice: nothing more written
    activity_set_done(actor=desk.agent, activity=activity, done=False)
    activity.refresh_from_db()
    assert not activity.done and activity.status == "open" and activity.completed_at is None
    activity_set_spam(actor=desk.agent, activity=activity)
    assert Activity.objects.for_org(desk.org).get().spam
    assert [a for a, _c in history(ticket)] == [
        "activity_added",
        "activity_completed",
        "activity_reopened",
        "activity_spam",
    ]


def test_tkt04_status_completed_means_done(desk):
    activity = activity_create(
        actor=desk.agent, data=task(status="completed"), ticket=desk.ticket()
    )
    assert activity.done and activity.completed_at
    activity_update(actor=desk.agent, activity=activity, data=task(status="in_progress"))
    assert not activity.done and activity.status == "in_progress"


def test_tkt04_calls_and_events_are_checked_by_kind(desk):
    ticket = desk.ticket()
    start = timezone.now()
    with pytest.raises(ValidationError) as exc:
        activity_create(
            actor=desk.agent, data=ActivityInput(kind="call", subject="x"), ticket=ticket
        )
    assert set(exc.value.message_dict) == {"starts_at", "direction"}
    with pytest.raises(ValidationError) as exc:
        activity_create(
            actor=desk.agent,
            data=ActivityInput(
                kind="event", subject="x", starts_at=start, ends_at=start - dt.timedelta(hours=1)
            ),
            ticket=ticket,
        )
    assert "ends_at" in exc.value.message_dict
    call = activity_create(
        actor=desk.agent,
        data=ActivityInput(
            kind="call",
            subject="Called",
            starts_at=start,
            direction="outbound",
            call_minutes=12,
            ends_at=start + dt.timedelta(hours=5),  # not a call's: ignored
        ),
        ticket=ticket,
    )
    assert call.due_at == start and call.ends_at is None and call.call_minutes == 12
    event = activity_create(
        actor=desk.agent,
        data=ActivityInput(
            kind="event",
            subject="Visit",
            starts_at=start,
            ends_at=start + dt.timedelta(hours=2),
            direction="inbound",  # not an event's: ignored
        ),
        ticket=ticket,
    )
    assert event.due_at == event.ends_at and event.direction == ""
    assert Activity.objects.for_org(desk.org).count() == 2  # nothing half-saved


def test_tkt04_link_to_contact_or_account_of_the_same_org_only(desk, globex):
    contact_only = activity_create(actor=desk.agent, data=task(), contact=desk.contact)
    account_only = activity_create(actor=desk.agent, data=task(), account=desk.account)
    assert contact_only.ticket is None and account_only.account == desk.account
    theirs_contact = Contact.objects.create(org=globex.org, last_name="Secret")
    theirs_account = Account.objects.create(org=globex.org, name="Secret Inc")
    with pytest.raises(OtherOrganizationError):
        activity_create(actor=desk.agent, data=task(), contact=theirs_contact)
    with pytest.raises(OtherOrganizationError):
        activity_create(actor=desk.agent, data=task(), account=theirs_account)
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    theirs_ticket = ticket_create(
        actor=globex.admin, data=TicketInput(subject="x", department=globex.department)
    )
    with pytest.raises(OtherOrganizationError):
        activity_create(actor=desk.agent, data=task(), ticket=theirs_ticket)
    with pytest.raises(ValidationError):
        activity_create(actor=desk.agent, data=task())  # linked to nothing
    assert Activity.objects.for_org(desk.org).count() == 2


def test_tkt04_owner_must_be_a_member_of_the_org(desk, globex):
    with pytest.raises(ValidationError) as exc:
        activity_create(actor=desk.agent, data=task(owner=globex.admin.user), ticket=desk.ticket())
    assert "owner" in exc.value.message_dict


def test_tkt04_other_department_agent_cannot_touch_the_tickets_activities(desk):
    ticket = desk.ticket()
    activity = activity_create(actor=desk.agent, data=task(), ticket=ticket)
    with pytest.raises(PermissionDenied):
        activity_create(actor=desk.other_agent, data=task(), ticket=ticket)
    with pytest.raises(PermissionDenied):
        activity_set_done(actor=desk.other_agent, activity=activity)
    from django.http import Http404

    with pytest.raises(Http404):
        activity_for_member(desk.other_agent, activity.pk)
    # ... unless it is theirs.
    mine = activity_create(actor=desk.agent, data=task(owner=desk.other_agent.user), ticket=ticket)
    assert activity_for_member(desk.other_agent, mine.pk) == mine


def test_tkt04_delete_an_activity_keeps_a_history_row(desk):
    ticket = desk.ticket()
    activity = activity_create(actor=desk.agent, data=task(subject="Gone"), ticket=ticket)
    activity_delete(actor=desk.agent, activity=activity)
    assert not Activity.objects.for_org(desk.org).exists()
    assert history(ticket)[-1] == ("activity_deleted", {"activity": ["Task: Gone", None]})


# --- Time -------------------------------------------------------------------------------------
def test_tkt04_time_totals_billable_billed(desk):
    ticket = desk.ticket()
    today = timezone.localdate()
    time_entry_create(actor=desk.agent, ticket=ticket, data=TimeInput(minutes=30, work_date=today))
    time_entry_create(
        actor=desk.agent,
        ticket=ticket,
        data=TimeInput(minutes=45, work_date=today, billable=True, billed=True),
    )
    time_entry_create(
        actor=desk.admin,
        ticket=ticket,
        data=TimeInput(minutes=20, work_date=today, billable=False, note="internal"),
    )
    totals = time_totals(org=desk.org, ticket=ticket)
    assert (totals.total, totals.billable, totals.billed, totals.non_billable) == (95, 75, 45, 20)
    assert [a for a, _c in history(ticket)] == ["time_added"] * 3


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"minutes": 0}, "minutes"),
        ({"minutes": -5}, "minutes"),
        ({"minutes": 24 * 60 + 1}, "minutes"),
        ({"minutes": 30, "billable": False, "billed": True}, "billed"),
        ({"minutes": 30, "work_date": dt.date(1999, 12, 31)}, "work_date"),
        ({"minutes": 30, "days_ahead": 5}, "work_date"),
    ],
)
def test_tkt04_time_entry_validation(desk, data, field):
    ticket = desk.ticket()
    days = data.pop("days_ahead", 0)
    data.setdefault("work_date", timezone.localdate() + dt.timedelta(days=days))
    with pytest.raises(ValidationError) as exc:
        time_entry_create(actor=desk.agent, ticket=ticket, data=TimeInput(**data))
    assert field in exc.value.message_dict
    assert not TimeEntry.objects.for_org(desk.org).exists()


def test_tkt04_time_entries_are_changed_by_their_worker_or_an_admin(desk):
    ticket = desk.ticket()
    entry = time_entry_create(
        actor=desk.agent, ticket=ticket, data=TimeInput(minutes=30, work_date=timezone.localdate())
    )
    other = desk.restricted
    with pytest.raises(PermissionDenied):
        time_entry_update(
            actor=other, entry=entry, data=TimeInput(minutes=5, work_date=entry.work_date)
        )
    time_entry_update(
        actor=desk.admin,
        entry=entry,
        data=TimeInput(minutes=40, work_date=entry.work_date, billed=True),
    )
    entry.refresh_from_db()
    assert entry.minutes == 40 and entry.billed
    action, changes = history(ticket)[-1]
    assert action == "time_updated"
    assert changes["time"][0].startswith("0:30") and changes["time"][1].startswith("0:40")
    time_entry_delete(actor=desk.agent, entry=entry)
    assert not TimeEntry.objects.for_org(desk.org).exists()


@pytest.mark.parametrize(
    ("text", "minutes"),
    [
        ("90", 90),
        ("1:30", 90),
        ("1h30m", 90),
        ("1h", 60),
        ("45m", 45),
        ("1.5h", 90),
        ("x", None),
        ("1:75", None),
        ("", None),
        ("h", None),
    ],
)
def test_tkt04_durations_as_people_type_them(text, minutes):
    assert parse_duration(text) == minutes


# --- The timer --------------------------------------------------------------------------------
def test_tkt04_timer_start_pause_resume_stop_is_kept_on_the_server(desk):
    ticket = desk.ticket()
    timer = timer_start(actor=desk.agent, ticket=ticket)
    # Started 10 minutes ago (another tab, or before a reload): the server still has it.
    RunningTimer.objects.for_org(desk.org).update(
        started_at=timezone.now() - dt.timedelta(minutes=10)
    )
    timer = timer_get(actor=desk.agent, ticket=ticket)
    assert timer.running and 599 <= timer_seconds(timer) <= 605
    timer_start(actor=desk.agent, ticket=ticket)  # a second start keeps the first
    assert timer_seconds(timer_get(actor=desk.agent, ticket=ticket)) >= 599
    timer_pause(actor=desk.agent, ticket=ticket)
    paused = timer_get(actor=desk.agent, ticket=ticket)
    assert not paused.running and 600 <= paused.elapsed_seconds <= 605
    timer_start(actor=desk.agent, ticket=ticket)  # resume
    RunningTimer.objects.for_org(desk.org).update(
        started_at=timezone.now() - dt.timedelta(minutes=5, seconds=1)
    )
    minutes = timer_stop(actor=desk.agent, ticket=ticket)
    assert minutes == 16  # 10 + 5:01, started minutes count
    assert not timer_get(actor=desk.agent, ticket=ticket).running  # kept until logged
    time_entry_create(
        actor=desk.agent,
        ticket=ticket,
        data=TimeInput(minutes=minutes, work_date=timezone.localdate()),
        from_timer=True,
    )
    assert timer_get(actor=desk.agent, ticket=ticket) is None
    assert time_totals(org=desk.org, ticket=ticket).total == 16


def test_tkt04_timers_are_per_member(desk):
    ticket = desk.ticket()
    timer_start(actor=desk.agent, ticket=ticket)
    assert timer_get(actor=desk.admin, ticket=ticket) is None
    assert timer_stop(actor=desk.admin, ticket=ticket) == 0
    timer_discard(actor=desk.agent, ticket=ticket)
    assert not RunningTimer.objects.for_org(desk.org).exists()


def test_tkt04_timer_refuses_a_ticket_the_member_cannot_see(desk):
    ticket = desk.ticket()
    with pytest.raises(PermissionDenied):
        timer_start(actor=desk.other_agent, ticket=ticket)
