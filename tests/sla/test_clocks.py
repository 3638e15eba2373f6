"""SLA clocks (TKT-09's SLA step, BP-15): a policy sets the due date in business or calendar
time; on hold pauses the resolution clock and resuming moves the due date by the pause;
closing and the first reply stop clocks (met or missed); a state SLA's clock runs while the
ticket is in the state, and leaving it just before the due time fires nothing; changing a
policy re-plans open clocks; one organization's policy never touches another's tickets; the
SLA step's queries do not grow with the clocks and levels."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from blueprints import engine
from helpdesk.businesstime import add_working, working_between
from helpdesk.tickets.models import Ticket, TicketHistory
from helpdesk.tickets.selectors import view_filter
from helpdesk.tickets.services.threads import thread_add
from helpdesk.tickets.services.tickets import TicketInput, ticket_update
from sla.models import Clock, ClockDue, EscalationFired, Target
from sla.selectors import ticket_sla
from sla.services.clocks import replan_policy, replan_state_sla, schedule_for
from sla.sweep import sweep_org
from sla.tasks import sla_replan_task
from tests.sla.conftest import MONDAY_10_TOKYO, level_of

pytestmark = pytest.mark.django_db

UTC = dt.UTC


def _clock(ticket, kind, **filters) -> Clock:
    return Clock.objects.get(ticket=ticket, kind=kind, **filters)


def _set(desk, ticket, **data) -> Ticket:
    locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
    ticket_update(actor=desk.admin, ticket=locked, data=TicketInput(**data))
    locked.refresh_from_db()
    return locked


# --- The pipeline's SLA step (TKT-09) -----------------------------------------------------------
def test_tkt09_new_ticket_due_date_from_policy_calendar_time(sla, now):
    policy = sla.policy(first_response_minutes=30, resolution_minutes=8 * 60)
    sla.level(policy, target=Target.RESOLUTION, level=1, when="before", offset=60)
    sla.level(policy, target=Target.RESOLUTION, level=2, when="after", offset=30)
    ticket = sla.desk.ticket()
    ticket.refresh_from_db()
    assert ticket.due_at == MONDAY_10_TOKYO + dt.timedelta(hours=8)
    first = _clock(ticket, Target.FIRST_RESPONSE)
    assert first.due_at == MONDAY_10_TOKYO + dt.timedelta(minutes=30)
    resolution = _clock(ticket, Target.RESOLUTION)
    dues = dict(ClockDue.objects.filter(clock=resolution).values_list("level", "due_at"))
    assert dues == {
        1: MONDAY_10_TOKYO + dt.timedelta(hours=7),
        2: MONDAY_10_TOKYO + dt.timedelta(hours=8, minutes=30),
    }
    # The due date is the SLA's change, in the ticket's history (TKT-05).
    row = TicketHistory.objects.filter(ticket=ticket, action="rule").get()
    assert row.changes["_rule"] == "SLA" and "due_at" in row.changes


def test_tkt09_dep03_due_date_in_business_hours_skips_the_night(sla, now):
    """Monday 10:00 in Tokyo with 9 working hours to go, 9-18 on weekdays: due Tuesday 10:00;
    a level 2 hours after lands after Tuesday's 12:00, not in the night."""
    sla.nine_to_six()
    policy = sla.policy(resolution_minutes=9 * 60, business_hours=True)
    sla.level(policy, target=Target.RESOLUTION, level=1, when="after", offset=120)
    ticket = sla.desk.ticket()
    ticket.refresh_from_db()
    tuesday_10_tokyo = MONDAY_10_TOKYO + dt.timedelta(days=1)
    assert ticket.due_at == tuesday_10_tokyo
    due = ClockDue.objects.get(clock__ticket=ticket)
    assert due.due_at == tuesday_10_tokyo + dt.timedelta(hours=2)


def test_tkt09_no_policy_no_clock_and_the_due_date_is_left_alone(sla, now):
    sla.policy(priority="urgent", resolution_minutes=60)
    due = MONDAY_10_TOKYO + dt.timedelta(days=3)
    ticket = sla.desk.ticket(due_at=due)
    ticket.refresh_from_db()
    assert ticket.due_at == due
    assert not Clock.objects.filter(ticket=ticket).exists()
    # Raising the priority brings the policy in: the clocks start, the due date follows.
    now.advance(minutes=10)
    ticket = _set(sla.desk, ticket, priority="urgent")
    assert ticket.due_at == now.value + dt.timedelta(minutes=60)


def test_tkt09_on_hold_pauses_and_resuming_moves_the_due_date_by_the_pause(sla, now):
    """Business hours: on hold from Monday 17:00 to Tuesday 11:00 (Tokyo) is 3 working hours
    of pause (17-18, 9-11): the due date moves by exactly that."""
    sla.nine_to_six()
    policy = sla.policy(resolution_minutes=4 * 60, business_hours=True)
    sla.level(policy, target=Target.RESOLUTION, level=1)
    ticket = sla.desk.ticket()
    ticket.refresh_from_db()
    due_before = ticket.due_at
    assert due_before == MONDAY_10_TOKYO + dt.timedelta(hours=4)  # Monday 14:00
    now.advance(hours=7)  # Monday 17:00 in Tokyo
    ticket = _set(sla.desk, ticket, status=sla.desk.status("On Hold"))
    clock = _clock(ticket, Target.RESOLUTION)
    assert clock.paused_at == now.value
    assert ticket.due_at is None  # paused: no due date, not overdue
    assert not ClockDue.objects.filter(clock=clock).exists()  # nothing fires while paused
    assert not Ticket.objects.filter(view_filter("overdue", sla.desk.admin, now.value)).exists()
    paused_from = now.value
    now.advance(hours=18)  # Tuesday 11:00 in Tokyo
    ticket = _set(sla.desk, ticket, status=sla.desk.status("Open"))
    schedule = schedule_for(sla.org.pk, sla.desk.department.pk, True)
    pause = working_between(paused_from, now.value, schedule)
    assert pause == dt.timedelta(hours=3)
    clock.refresh_from_db()
    assert clock.paused_at is None and clock.paused_total == pause
    assert ticket.due_at == add_working(due_before, pause, schedule) == clock.due_at
    assert ticket.due_at == MONDAY_10_TOKYO + dt.timedelta(hours=7)  # Monday 17:00
    assert ClockDue.objects.get(clock=clock).due_at == ticket.due_at


def test_tkt09_closing_stops_the_clocks_met_or_missed(sla, now):
    policy = sla.policy(first_response_minutes=30, resolution_minutes=60)
    sla.level(policy, target=Target.RESOLUTION, level=1)
    on_time = sla.desk.ticket()
    late = sla.desk.ticket()
    now.advance(minutes=45)
    _set(sla.desk, on_time, status=sla.desk.status("Closed"))
    now.advance(minutes=30)
    _set(sla.desk, late, status=sla.desk.status("Closed"))
    assert _clock(on_time, Target.RESOLUTION).met is True
    assert _clock(late, Target.RESOLUTION).met is False
    assert _clock(late, Target.RESOLUTION).stopped_at == now.value
    # No first reply came: the first-response clock stopped with the ticket, late.
    assert _clock(on_time, Target.FIRST_RESPONSE).met is False
    assert not ClockDue.objects.filter(ticket__in=[on_time, late]).exists()


def test_tkt09_reopening_starts_a_new_resolution_cycle(sla, now):
    sla.policy(resolution_minutes=60)
    ticket = sla.desk.ticket()
    now.advance(minutes=10)
    ticket = _set(sla.desk, ticket, status=sla.desk.status("Closed"))
    now.advance(minutes=10)
    ticket = _set(sla.desk, ticket, status=sla.desk.status("Open"))
    clocks = list(Clock.objects.filter(ticket=ticket).order_by("cycle"))
    assert [(c.cycle, c.met) for c in clocks] == [(1, True), (2, None)]
    assert ticket.due_at == now.value + dt.timedelta(minutes=60)


def test_tkt09_first_public_reply_stops_first_response(sla, now):
    policy = sla.policy(first_response_minutes=30, resolution_minutes=120)
    sla.level(policy, target=Target.FIRST_RESPONSE, level=1)
    ticket = sla.desk.ticket()
    now.advance(minutes=10)
    thread_add(actor=sla.desk.agent, ticket=ticket, kind="comment", body="Looking into it")
    assert _clock(ticket, Target.FIRST_RESPONSE).stopped_at is None  # private: not a reply
    now.advance(minutes=5)
    thread_add(actor=sla.desk.agent, ticket=ticket, kind="reply", body="On it")
    first = _clock(ticket, Target.FIRST_RESPONSE)
    assert (first.stopped_at, first.met, first.owner_id) == (
        now.value,
        True,
        sla.desk.agent.user_id,
    )
    assert not ClockDue.objects.filter(clock=first).exists()
    assert _clock(ticket, Target.RESOLUTION).stopped_at is None
    summary = {s.kind: s for s in ticket_sla(ticket)}
    assert set(summary) == {Target.RESOLUTION}
    assert summary[Target.RESOLUTION].remaining == dt.timedelta(minutes=105)


def test_tkt09_priority_change_replans_from_the_start(sla, now):
    sla.policy(priority="medium", resolution_minutes=8 * 60)
    urgent = sla.policy(priority="urgent", resolution_minutes=60)
    sla.level(urgent, target=Target.RESOLUTION, level=1)
    ticket = sla.desk.ticket()
    now.advance(minutes=20)
    ticket = _set(sla.desk, ticket, priority="urgent")
    clock = _clock(ticket, Target.RESOLUTION)
    assert (clock.policy_id, clock.started_at) == (urgent.pk, MONDAY_10_TOKYO)
    assert ticket.due_at == MONDAY_10_TOKYO + dt.timedelta(minutes=60)
    assert ClockDue.objects.get(clock=clock).due_at == ticket.due_at


def test_tkt09_moving_to_another_department_follows_its_policy_and_schedule(sla, now):
    """Billing counts business hours (9-18 weekdays); the ticket moves there on Monday at
    17:00 in Tokyo, 7 hours after it came in: its resolution clock is re-planned from the
    start under Billing's policy and schedule."""
    billing = sla.desk.other_department
    sla.nine_to_six(billing)
    sla.policy(resolution_minutes=60)
    theirs = sla.policy(department=billing, resolution_minutes=3 * 60, business_hours=True)
    ticket = sla.desk.ticket()
    now.advance(hours=7)
    ticket = _set(sla.desk, ticket, department=billing)
    clock = _clock(ticket, Target.RESOLUTION)
    assert (clock.policy_id, clock.department_id) == (theirs.pk, billing.pk)
    # Started Monday 10:00: 3 working hours end Monday 13:00, whatever the move's time.
    assert ticket.due_at == MONDAY_10_TOKYO + dt.timedelta(hours=3)
    # Moving to a department without a policy stops the clock without a verdict, and the
    # due date it gave goes with it.
    ticket = _set(sla.desk, ticket, department=sla.desk.department, priority="low")
    clock.refresh_from_db()
    assert clock.stopped_at == now.value and clock.met is None
    assert ticket.due_at is None


def test_tkt09_a_ticket_created_on_hold_starts_paused(sla, now):
    sla.policy(resolution_minutes=60)
    ticket = sla.desk.ticket(status=sla.desk.status("On Hold"))
    clock = _clock(ticket, Target.RESOLUTION)
    assert clock.paused_at == now.value and not ClockDue.objects.filter(clock=clock).exists()
    now.advance(hours=2)
    ticket = _set(sla.desk, ticket, status=sla.desk.status("Open"))
    assert ticket.due_at == now.value + dt.timedelta(minutes=60)


# --- State SLAs (BP-15) -------------------------------------------------------------------------
def test_bp15_state_clock_starts_on_entering_and_stops_on_leaving(sla, make, now):
    blueprint, states = make.blueprint(statuses=("Open", "Awaiting approval", "Approved"))
    submit = make.transition(blueprint, "Submit", states["Awaiting approval"], [states["Open"]])
    approve = make.transition(
        blueprint, "Approve", states["Approved"], [states["Awaiting approval"]]
    )
    waiting = sla.state_sla(states["Awaiting approval"], minutes=120)
    sla.level(waiting, target=Target.STATE, level=1, when="before", offset=30)
    sla.level(waiting, target=Target.STATE, level=2, when="after", offset=60)
    ticket = sla.desk.ticket()
    assert not Clock.objects.filter(ticket=ticket).exists()  # "Open" has no SLA
    now.advance(minutes=5)
    engine.complete_transition(ticket=ticket, transition=submit, membership=sla.desk.agent)
    clock = _clock(ticket, Target.STATE)
    assert (clock.started_at, clock.due_at) == (now.value, now.value + dt.timedelta(hours=2))
    assert clock.state_id == states["Awaiting approval"].pk and clock.cycle == 1
    assert sorted(ClockDue.objects.filter(clock=clock).values_list("level", "due_at")) == [
        (1, now.value + dt.timedelta(minutes=90)),
        (2, now.value + dt.timedelta(minutes=180)),
    ]
    [summary] = ticket_sla(ticket)
    assert (summary.kind, summary.state_name) == (Target.STATE, "Awaiting approval")
    assert summary.remaining == dt.timedelta(hours=2) and summary.level_reached == 0
    now.advance(minutes=100)
    ticket.refresh_from_db()
    engine.complete_transition(ticket=ticket, transition=approve, membership=sla.desk.admin)
    clock.refresh_from_db()
    assert (clock.stopped_at, clock.met) == (now.value, True)
    assert not ClockDue.objects.filter(clock=clock).exists()
    assert ticket_sla(ticket) == []


def test_bp15_leaving_the_state_just_before_the_due_time_fires_nothing(sla, make, now):
    """The level is due at 10:30; the ticket leaves at 10:29:59: its due row is gone, and a
    sweep after the due time finds nothing to fire."""
    blueprint, states = make.blueprint(statuses=("Open", "Waiting"))
    wait = make.transition(blueprint, "Wait", states["Waiting"], [states["Open"]])
    back = make.transition(blueprint, "Back", states["Open"], [states["Waiting"]])
    waiting = sla.state_sla(states["Waiting"], minutes=30)
    sla.level(waiting, target=Target.STATE, level=1)
    ticket = sla.desk.ticket()
    engine.complete_transition(ticket=ticket, transition=wait, membership=sla.desk.agent)
    clock = _clock(ticket, Target.STATE)
    assert ClockDue.objects.filter(clock=clock, fired_at=None).count() == 1
    now.advance(minutes=29, seconds=59)
    ticket.refresh_from_db()
    engine.complete_transition(ticket=ticket, transition=back, membership=sla.desk.agent)
    assert not ClockDue.objects.filter(clock=clock).exists()
    now.advance(minutes=5)
    sweep_org(org_id=sla.org.pk, now=now.value)
    assert not EscalationFired.objects.filter(ticket=ticket).exists()
    assert level_of(ticket) == 0
    # Entering again starts the next cycle.
    engine.complete_transition(ticket=ticket, transition=wait, membership=sla.desk.agent)
    assert _clock(ticket, Target.STATE, stopped_at=None).cycle == 2


def test_bp15_entering_on_create_and_removal_from_the_blueprint(sla, make, now):
    """A new ticket entering the blueprint in a state with an SLA starts its clock at once;
    an admin removing the ticket from the blueprint (BP-18) stops it."""
    _blueprint, states = make.blueprint(statuses=("Open", "Closed"))
    sla.state_sla(states["Open"], minutes=45)
    ticket = sla.desk.ticket()
    clock = _clock(ticket, Target.STATE)
    assert clock.due_at == MONDAY_10_TOKYO + dt.timedelta(minutes=45)
    now.advance(minutes=50)
    engine.blueprint_remove(ticket=ticket, membership=sla.desk.admin)
    clock.refresh_from_db()
    assert (clock.stopped_at, clock.met) == (now.value, False)


def test_bp15_changing_a_state_sla_replans_its_open_clocks(sla, make, now):
    blueprint, states = make.blueprint(statuses=("Open", "Waiting"))
    wait = make.transition(blueprint, "Wait", states["Waiting"], [states["Open"]])
    waiting = sla.state_sla(states["Waiting"], minutes=60)
    sla.level(waiting, target=Target.STATE, level=1)
    ticket = sla.desk.ticket()
    engine.complete_transition(ticket=ticket, transition=wait, membership=sla.desk.agent)
    waiting.minutes = 90
    waiting.save()
    assert replan_state_sla(waiting) == 1
    clock = _clock(ticket, Target.STATE)
    assert clock.due_at == MONDAY_10_TOKYO + dt.timedelta(minutes=90)
    assert ClockDue.objects.get(clock=clock).due_at == clock.due_at
    assert replan_state_sla(waiting, removed=True) == 1
    clock.refresh_from_db()
    assert clock.stopped_at is not None and clock.met is None


# --- Changing a policy --------------------------------------------------------------------------
def test_tkt09_changing_a_policy_replans_its_open_clocks(sla, now):
    policy = sla.policy(first_response_minutes=30, resolution_minutes=60)
    sla.level(policy, target=Target.RESOLUTION, level=1)
    tickets = [sla.desk.ticket() for _ in range(3)]
    closed = _set(sla.desk, tickets[2], status=sla.desk.status("Closed"))
    policy.resolution_minutes = 240
    policy.first_response_minutes = None
    policy.save()
    # The settings page's task, in the organization's row-level-security scope.
    assert sla_replan_task.delay(sla.org.pk, policy_id=policy.pk).get() == 4  # 2 tickets x 2
    for ticket in tickets[:2]:
        ticket.refresh_from_db()
        assert ticket.due_at == MONDAY_10_TOKYO + dt.timedelta(hours=4)
        assert ClockDue.objects.get(clock__ticket=ticket).due_at == ticket.due_at
        first = _clock(ticket, Target.FIRST_RESPONSE)
        assert first.stopped_at is not None and first.met is None  # target removed
    closed_clock = _clock(closed, Target.RESOLUTION)
    assert closed_clock.target_minutes == 60  # stopped clocks keep their history
    # Switched off: the open clocks stop without a verdict and the due dates they gave go,
    # except one an agent set since.
    agent_due = MONDAY_10_TOKYO + dt.timedelta(days=2)
    _set(sla.desk, tickets[1], due_at=agent_due)
    policy.is_active = False
    policy.save()
    assert replan_policy(policy) == 2
    assert [
        t.due_at
        for t in Ticket.objects.filter(pk__in=[tickets[0].pk, tickets[1].pk]).order_by("pk")
    ] == [None, agent_due]
    assert not Clock.objects.filter(policy=policy, stopped_at=None).exists()


# --- Tenancy --------------------------------------------------------------------------------------
def test_org01_a_policy_never_applies_to_another_organizations_tickets(sla, globex, now):
    """Globex has a policy for its own department and the same priority; Acme's tickets get
    Acme's policy only, and re-planning Globex's policy never touches them."""
    from helpdesk.tickets.services.layouts import layout_create_defaults
    from helpdesk.tickets.services.tickets import ticket_create
    from sla.models import SlaPolicy

    acme_policy = sla.policy(resolution_minutes=60)
    layout_create_defaults(department=globex.department)
    theirs = SlaPolicy.objects.create(
        org=globex.org,
        department=globex.department,
        priority="medium",
        resolution_minutes=5,
        business_hours=False,
    )
    ticket = sla.desk.ticket()
    globex.admin.org = globex.org
    their_ticket = ticket_create(
        actor=globex.admin,
        data=TicketInput(subject="Elsewhere", department=globex.department),
    )
    assert _clock(ticket, Target.RESOLUTION).policy_id == acme_policy.pk
    assert _clock(their_ticket, Target.RESOLUTION).policy_id == theirs.pk
    theirs.resolution_minutes = 500
    theirs.save()
    assert replan_policy(theirs) == 1
    ticket.refresh_from_db()
    assert ticket.due_at == MONDAY_10_TOKYO + dt.timedelta(minutes=60)
    assert {c.org_id for c in Clock.objects.filter(policy=theirs)} == {globex.org.pk}


# --- From the clock to the mail, and the escalated view (TKT-06) ----------------------------------
def test_bp15_tkt06_a_policy_level_fires_once_and_the_reply_takes_the_ticket_out(
    sla, now, django_capture_on_commit_callbacks
):
    """The first-response level is due 30 minutes after the ticket came in: a sweep then
    fires it once (mail to the owner, level 1, the "escalated" view); the agent's reply stops
    the clock and the ticket leaves the view."""
    from django.core import mail

    policy = sla.policy(first_response_minutes=30, resolution_minutes=8 * 60)
    sla.level(policy, target=Target.FIRST_RESPONSE, level=1)
    ticket = sla.desk.ticket(owner=sla.desk.agent.user)
    now.advance(minutes=29)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_org(org_id=sla.org.pk, now=now.value)
    assert not EscalationFired.objects.exists() and mail.outbox == []
    now.advance(minutes=2)
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            sweep_org(org_id=sla.org.pk, now=now.value)
    fired = EscalationFired.objects.get(ticket=ticket)
    assert (fired.level, fired.cycle) == (1, 1)
    assert [m.to for m in mail.outbox] == [["bob@acme.test"]]
    assert level_of(ticket) == 1

    def escalated():
        return list(Ticket.objects.filter(view_filter("escalated", sla.desk.admin, now.value)))

    assert escalated() == [ticket]
    [first, _resolution] = ticket_sla(ticket)
    assert first.level_reached == 1 and first.overdue_by == dt.timedelta(minutes=1)
    thread_add(actor=sla.desk.agent, ticket=ticket, kind="reply", body="Sorry for the wait")
    assert level_of(ticket) == 0
    assert escalated() == []
    assert _clock(ticket, Target.FIRST_RESPONSE).met is False


def test_tkt06_escalated_view_lists_open_tickets_an_escalation_reached(sla, now):
    sla.policy(resolution_minutes=60)
    escalated, calm = sla.desk.ticket(), sla.desk.ticket()
    Clock.objects.filter(ticket=escalated, kind=Target.RESOLUTION).update(level_reached=2)
    shown = Ticket.objects.filter(view_filter("escalated", sla.desk.admin, now.value))
    assert list(shown) == [escalated]
    assert calm not in shown
    # Resolved: the ticket leaves the view with its clocks.
    _set(sla.desk, escalated, status=sla.desk.status("Closed"))
    assert level_of(escalated) == 0
    assert not Ticket.objects.filter(view_filter("escalated", sla.desk.admin, now.value)).exists()


# --- Query counts -------------------------------------------------------------------------------
def _queries(callable_) -> int:
    with CaptureQueriesContext(connection) as captured:
        callable_()
    return len(captured.captured_queries)


def test_tkt09_sla_step_queries_do_not_grow_with_levels_or_tickets(sla, now):
    """Creating a ticket under a policy of one level costs what it costs under three levels,
    the tenth ticket what the first did; putting on hold and resuming likewise."""
    policy = sla.policy(first_response_minutes=30, resolution_minutes=60)
    sla.level(policy, target=Target.RESOLUTION, level=1)
    # The policies are read once per process and settings version (every change renews it):
    # one ticket reads them, the next ones count.
    sla.desk.ticket()
    first = _queries(sla.desk.ticket)
    for _ in range(8):
        sla.desk.ticket()
    tenth = _queries(sla.desk.ticket)
    sla.level(policy, target=Target.RESOLUTION, level=2, when="after", offset=10)
    sla.level(policy, target=Target.FIRST_RESPONSE, level=1)
    sla.desk.ticket()
    three_levels = _queries(sla.desk.ticket)
    assert first == tenth == three_levels
    tickets = list(Ticket.objects.filter(org=sla.org).order_by("pk")[:2])
    hold, open_ = sla.desk.status("On Hold"), sla.desk.status("Open")
    costs = []
    for ticket in tickets:
        costs.append(_queries(lambda t=ticket: _set(sla.desk, t, status=hold)))
        costs.append(_queries(lambda t=ticket: _set(sla.desk, t, status=open_)))
    assert costs[0] == costs[2] and costs[1] == costs[3]
    # A change the SLA does not watch (the subject) costs the SLA step no query at all.
    with CaptureQueriesContext(connection) as captured:
        _set(sla.desk, tickets[0], subject="Renamed")
    assert not any("sla_" in q["sql"] for q in captured.captured_queries)


def test_org01_the_sla_step_runs_under_row_level_security(sla, make, now):
    """As in a request: the runtime role, scoped to the organization. Creating, pausing,
    resuming, a state visit and a reply all read and write only the organization's rows."""
    from helpdesk.tenancy.rls import current_org_id, tenant_scope

    policy = sla.policy(first_response_minutes=30, resolution_minutes=60)
    sla.level(policy, target=Target.RESOLUTION, level=1)
    blueprint, states = make.blueprint(statuses=("Open", "On Hold"))
    sla.state_sla(states["On Hold"], minutes=30)
    with tenant_scope(sla.org.pk):
        assert current_org_id() == sla.org.pk
        ticket = sla.desk.ticket()
        ticket = _set(sla.desk, ticket, status=sla.desk.status("On Hold"))
        now.advance(minutes=10)
        ticket = _set(sla.desk, ticket, status=sla.desk.status("Open"))
        thread_add(actor=sla.desk.agent, ticket=ticket, kind="reply", body="Hello")
        kinds = sorted(Clock.objects.filter(ticket=ticket).values_list("kind", "met"))
    assert kinds == [("first_response", True), ("resolution", None), ("state", True)]
    ticket.refresh_from_db()
    assert ticket.due_at == MONDAY_10_TOKYO + dt.timedelta(minutes=70)
