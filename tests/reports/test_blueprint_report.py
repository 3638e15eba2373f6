"""The blueprint report (BP-26, RPT-01): durations of state visits and transitions on a
constructed history, in calendar and in business hours; percentiles on known data; the
tickets stuck longest per state, oldest first; state SLAs met and missed; the CSV says what
the page says; bad input answers with a clear message; who may read it."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from blueprints import engine
from blueprints.models import TicketBlueprint, TransitionLog
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.selectors import department_schedule_changed
from reports.models import StateVisit
from reports.selectors import blueprint_report
from sla.models import Clock, Target
from tests.conftest import login

pytestmark = pytest.mark.django_db

UTC = dt.UTC
# Friday 17:00 in Tokyo (the default department's zone), one hour before closing time.
FRIDAY_17_TOKYO = dt.datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
DECEMBER = (dt.datetime(2026, 12, 1, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC))
HOUR = 3600


@pytest.fixture
def returns(sla, make):
    """A return-approval process: Open → Awaiting approval → Approved, and Send back; the
    department works Monday to Friday, 9:00-18:00 in Tokyo."""
    sla.nine_to_six()
    department_schedule_changed(sla.org.pk, sla.desk.department.pk)
    blueprint, states = make.blueprint(
        name="Returns", statuses=("Open", "Awaiting approval", "Approved")
    )
    submit = make.transition(blueprint, "Submit", states["Awaiting approval"], [states["Open"]])
    approve = make.transition(
        blueprint, "Approve", states["Approved"], [states["Awaiting approval"]]
    )
    back = make.transition(blueprint, "Send back", states["Open"], [states["Awaiting approval"]])
    return blueprint, states, {"submit": submit, "approve": approve, "back": back}


def _report(blueprint, **kwargs):
    start, end = DECEMBER
    return blueprint_report(blueprint=blueprint, start=start, end=end, **kwargs)


def _row(rows, name):
    return next(r for r in rows if r.name == name)


# --- Durations through the engine ---------------------------------------------------------------
def test_bp26_visit_durations_in_calendar_and_business_hours(sla, returns, now):
    """A ticket enters "Open" on Friday 17:00 and is submitted on Monday 10:00 (65 calendar
    hours, 2 business hours under 9-18); approved at 12:30 (2.5 hours of both)."""
    blueprint, states, t = returns
    now.value = FRIDAY_17_TOKYO
    ticket = sla.desk.ticket()
    assert TicketBlueprint.objects.get(ticket=ticket).state == states["Open"]
    now.value = dt.datetime(2026, 12, 7, 1, 0, tzinfo=UTC)  # Monday 10:00 in Tokyo
    engine.complete_transition(ticket=ticket, transition=t["submit"], membership=sla.desk.agent)
    now.advance(hours=2, minutes=30)
    ticket.refresh_from_db()
    engine.complete_transition(ticket=ticket, transition=t["approve"], membership=sla.desk.admin)

    visits = list(StateVisit.objects.filter(ticket=ticket).order_by("entered_at"))
    assert [(v.state_id, v.seconds, v.business_seconds) for v in visits] == [
        (states["Open"].pk, 65 * HOUR, 2 * HOUR),
        (states["Awaiting approval"].pk, 9000, 9000),
        (states["Approved"].pk, None, None),  # still there
    ]

    report = _report(blueprint, now=now.value)
    opened = _row(report.states, "Open").durations
    assert (opened.count, opened.avg, opened.median, opened.p90) == (
        1,
        65 * HOUR,
        65 * HOUR,
        65 * HOUR,
    )
    assert (opened.business_avg, opened.business_median, opened.business_p90) == (
        2 * HOUR,
        2 * HOUR,
        2 * HOUR,
    )
    waiting = _row(report.states, "Awaiting approval").durations
    assert (waiting.count, waiting.median, waiting.business_median) == (1, 9000, 9000)
    assert _row(report.states, "Approved").durations.count == 0
    assert _row(report.states, "Approved").open_now == 1

    submit = _row(report.transitions, "Submit").durations
    assert (submit.count, submit.median, submit.business_median) == (1, 65 * HOUR, 2 * HOUR)
    assert _row(report.transitions, "Approve").durations.business_p90 == 9000
    assert _row(report.transitions, "Send back").durations.count == 0  # listed, never taken
    agents = [(a.name, a.transition, a.durations.business_median) for a in report.agents]
    alice = sla.desk.admin.user.display_name  # "Acme Admin"
    assert agents == [(alice, "Approve", 9000), ("Bob", "Submit", 2 * HOUR)]


def test_bp26_a_period_counts_the_visits_that_ended_in_it(sla, returns, now):
    blueprint, states, t = returns
    now.value = FRIDAY_17_TOKYO
    ticket = sla.desk.ticket()
    now.value = dt.datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    engine.complete_transition(ticket=ticket, transition=t["submit"], membership=sla.desk.agent)
    before = blueprint_report(
        blueprint=blueprint,
        start=dt.datetime(2026, 11, 1, tzinfo=UTC),
        end=dt.datetime(2026, 12, 7, 0, 0, tzinfo=UTC),  # ends before the visit did
    )
    assert before.visits == 0 and _row(before.transitions, "Submit").durations.count == 0


def test_bp26_status_moved_outside_a_transition_counts_for_the_state_not_a_transition(
    sla, returns, now
):
    from helpdesk.tickets.services.tickets import TicketInput, ticket_update

    blueprint, states, _t = returns
    ticket = sla.desk.ticket()
    now.advance(hours=1)
    ticket_update(
        actor=sla.desk.admin,
        ticket=ticket,
        data=TicketInput(status=states["Approved"].status),
    )
    report = _report(blueprint, now=now.value)
    assert _row(report.states, "Open").durations.median == HOUR
    assert all(row.durations.count == 0 for row in report.transitions)
    assert report.agents == []


# --- Known data --------------------------------------------------------------------------------
def _history(sla, blueprint, state, transition, hours_by_actor: dict, *, at):
    """Visits of `state` ended by `transition`, one per length (in hours), each with its log
    row, as the engine leaves them; business time is half the calendar time."""
    n = 0
    for actor, lengths in hours_by_actor.items():
        for length in lengths:
            n += 1
            ticket = sla.desk.ticket(subject=f"known {n}")
            left = at + dt.timedelta(minutes=n)
            StateVisit.objects.create(
                org=sla.org,
                ticket=ticket,
                blueprint=blueprint,
                state=state,
                department=ticket.department,
                entered_at=left - dt.timedelta(hours=length),
                left_at=left,
                seconds=length * HOUR,
                business_seconds=length * HOUR // 2,
                by_transition=True,
                transition=transition,
                actor=actor,
            )
            TransitionLog.objects.create(
                org=sla.org,
                ticket=ticket,
                blueprint=blueprint,
                transition=transition,
                kind="transition",
                name=transition.name,
                actor=actor,
                at=left,
            )


def test_bp26_average_median_and_90th_percentile_on_known_data(sla, returns):
    blueprint, states, t = returns
    bob, ada = sla.desk.agent.user, sla.desk.other_agent.user
    _history(
        sla,
        blueprint,
        states["Awaiting approval"],
        t["approve"],
        {bob: [1, 2, 3, 4, 5], ada: [6, 7, 8, 9, 10]},
        at=dt.datetime(2026, 12, 8, tzinfo=UTC),
    )
    report = _report(blueprint)
    waiting = _row(report.states, "Awaiting approval").durations
    # percentile_cont interpolates: the 90th of 1..10 lies at 9 + 0.1 × (10 − 9).
    assert waiting.count == 10
    assert (waiting.avg, waiting.median, waiting.p90) == (5.5 * HOUR, 5.5 * HOUR, 9.1 * HOUR)
    assert (waiting.business_median, waiting.business_p90) == (2.75 * HOUR, 4.55 * HOUR)
    approve = _row(report.transitions, "Approve").durations
    assert (approve.count, approve.median) == (10, 5.5 * HOUR)
    per_agent = {(a.name, a.transition): a.durations for a in report.agents}
    assert per_agent["Bob", "Approve"].median == 3 * HOUR
    assert per_agent["Bob", "Approve"].p90 == pytest.approx(4.6 * HOUR)
    assert per_agent["Ada", "Approve"].median == 8 * HOUR
    assert [a.name for a in report.agents] == ["Ada", "Bob"]


def test_bp26_stuck_tickets_oldest_first_top_n_per_state(sla, returns, now):
    blueprint, states, _t = returns
    tickets = [sla.desk.ticket(subject=f"stuck {n}") for n in range(4)]
    ages = [3, 30, 10, 20]  # hours in "Awaiting approval"
    for ticket, hours in zip(tickets, ages, strict=True):
        TicketBlueprint.objects.filter(ticket=ticket).update(
            state=states["Awaiting approval"], entered_at=now.value - dt.timedelta(hours=hours)
        )
    report = _report(blueprint, now=now.value, stuck=3)
    waiting = _row(report.states, "Awaiting approval")
    assert waiting.open_now == 4
    assert [s.subject for s in waiting.stuck] == ["stuck 1", "stuck 3", "stuck 2"]
    assert [s.seconds for s in waiting.stuck] == [30 * HOUR, 20 * HOUR, 10 * HOUR]
    # Monday 10:00: 30 hours back is Sunday 4:00, so one business hour (Monday 9-10).
    assert waiting.stuck[0].business_seconds == HOUR
    assert _row(report.states, "Open").stuck == []


def test_bp26_state_sla_met_and_missed_per_state(sla, returns, make, now):
    blueprint, states, _t = returns
    other, other_states = make.blueprint(name="Other", statuses=("Open",))
    ticket = sla.desk.ticket()
    stopped = dt.datetime(2026, 12, 8, tzinfo=UTC)

    def clock(state, met, stop=stopped, due=stopped):
        Clock.objects.create(
            org=sla.org,
            ticket=ticket,
            kind=Target.STATE,
            state=state,
            department=ticket.department,
            target_minutes=60,
            started_at=stop - dt.timedelta(hours=2),
            due_at=due,
            stopped_at=stop,
            met=met,
        )

    clock(states["Awaiting approval"], True)
    clock(states["Awaiting approval"], True)
    clock(states["Awaiting approval"], False)
    clock(states["Open"], False)
    clock(other_states["Open"], True)  # another blueprint's state
    clock(states["Open"], True, stop=dt.datetime(2026, 11, 20, tzinfo=UTC))  # before the period
    report = _report(blueprint, now=dt.datetime(2026, 12, 10, tzinfo=UTC))
    waiting = _row(report.states, "Awaiting approval")
    assert (waiting.sla_met, waiting.sla_missed, waiting.sla_met_percent) == (2, 1, 67)
    opened = _row(report.states, "Open")
    assert (opened.sla_met, opened.sla_missed) == (0, 1)
    assert _row(report.states, "Approved").sla_met_percent is None


def test_bp26_report_queries_do_not_grow_with_the_data(sla, returns, now):
    blueprint, states, t = returns
    bob = sla.desk.agent.user
    _history(sla, blueprint, states["Open"], t["submit"], {bob: [1]}, at=now.value)
    _report(blueprint, now=now.value)  # reads blueprint.org once, as the view's select does
    with CaptureQueriesContext(connection) as few:
        _report(blueprint, now=now.value)
    few = _report_queries(few)
    _history(
        sla,
        blueprint,
        states["Open"],
        t["submit"],
        {bob: [1, 2], sla.desk.admin.user: [3]},
        at=now.value,
    )
    with CaptureQueriesContext(connection) as more:
        _report(blueprint, now=now.value)
    assert len(_report_queries(more)) == len(few) <= 10  # with the savepoint and SET LOCAL


def _report_queries(captured) -> list[str]:
    """The report's own queries: a department's schedule is read once per process and kept
    (helpdesk.tenancy.selectors), so its reads are not the report's."""
    schedule = ("tenancy_department", "tenancy_businessinterval", "tenancy_holiday")
    return [q["sql"] for q in captured.captured_queries if not any(t in q["sql"] for t in schedule)]


# --- Pages and CSV ------------------------------------------------------------------------------
def _url(name, org, bp=None, **query):
    kwargs = {"portal": org.portal}
    if bp is not None:
        kwargs["blueprint_id"] = bp.pk
    url = reverse(f"reports:{name}", kwargs=kwargs)
    if query:
        from urllib.parse import urlencode

        url += "?" + urlencode(query)
    return url


DECEMBER_QUERY = {"period": "custom", "date_from": "2026-12-01", "date_to": "2026-12-31"}


def test_bp26_page_shows_the_figures_chart_and_stuck_links(client, sla, returns, now):
    blueprint, states, t = returns
    bob, ada = sla.desk.agent.user, sla.desk.other_agent.user
    _history(
        sla,
        blueprint,
        states["Awaiting approval"],
        t["approve"],
        {bob: [1, 3], ada: [8]},
        at=dt.datetime(2026, 12, 8, tzinfo=UTC),
    )
    stuck = sla.desk.ticket(subject="Waiting for the warehouse")
    login(client, sla.desk.admin)
    response = client.get(_url("blueprint", sla.org, blueprint, **DECEMBER_QUERY))
    assert response.status_code == 200
    page = response.content.decode()
    assert "<h1>Returns</h1>" in page
    assert 'data-chart="business"' in page and 'data-chart="calendar"' in page
    assert "Awaiting approval: median 3 h 00 min" in page  # the bar's title
    assert "Awaiting approval: 90th percentile 7 h 00 min" in page  # 3 + 0.8 × (8 − 3)
    assert f"/desk/tickets/{stuck.number}/" in page and "Waiting for the warehouse" in page
    assert "3 stays ended" in page


def test_bp26_csv_has_the_page_figures(client, sla, returns):
    blueprint, states, t = returns
    bob = sla.desk.agent.user
    _history(
        sla,
        blueprint,
        states["Awaiting approval"],
        t["approve"],
        {bob: [1, 2, 3, 4, 5]},
        at=dt.datetime(2026, 12, 8, tzinfo=UTC),
    )
    stuck = sla.desk.ticket(subject="=HYPERLINK(evil)")
    login(client, sla.desk.admin)
    response = client.get(_url("blueprint_csv", sla.org, blueprint, **DECEMBER_QUERY))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="returns-20261201-20261231.csv"' in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header = rows[0]
    assert header[:4] == ["section", "name", "transition", "count"]
    by_key = {(r[0], r[1], r[2]): dict(zip(header, r, strict=False)) for r in rows[1:] if r}
    waiting = by_key["state", "Awaiting approval", ""]
    assert (waiting["count"], waiting["average (h)"], waiting["median (h)"]) == (
        "5",
        "3.00",
        "3.00",
    )
    assert waiting["90th percentile (h)"] == "4.60"
    assert waiting["business median (h)"] == "1.50"
    assert by_key["transition", "Approve", ""]["count"] == "5"
    assert by_key["agent", "Bob", "Approve"]["median (h)"] == "3.00"
    assert by_key["state", "Open", ""]["open now"] == "6"  # the five above and this one
    stuck_rows = [r for r in rows if r and r[0] == "stuck"]
    assert [r[2] for r in stuck_rows] == ["1", "2", "3", "4", "5"]  # oldest first, top 5
    assert [stuck_rows[0][1], stuck_rows[0][3]] == ["Open", "known 1"]
    response = client.get(_url("blueprint_csv", sla.org, blueprint, stuck="10", **DECEMBER_QUERY))
    stuck_rows = [
        r for r in csv.reader(io.StringIO(response.content.decode())) if r[:1] == ["stuck"]
    ]
    # Typed text stays text in a spreadsheet (no formula).
    assert stuck_rows[-1][2:4] == [str(stuck.number), "'=HYPERLINK(evil)"]


def test_bp26_bad_input_is_answered_with_a_clear_message(client, sla, returns, globex):
    blueprint, _states, _t = returns
    login(client, sla.desk.admin)
    backwards = {"period": "custom", "date_from": "2026-12-31", "date_to": "2026-12-01"}
    response = client.get(_url("blueprint", sla.org, blueprint, **backwards))
    assert response.status_code == 400
    assert "The period&#x27;s start is after its end." in response.content.decode()
    response = client.get(_url("blueprint_csv", sla.org, blueprint, **backwards))
    assert response.status_code == 400
    assert response.content.decode() == "The period's start is after its end."
    response = client.get(_url("blueprint_index", sla.org, blueprint="x", **backwards))
    assert response.status_code == 400

    from blueprints.models import Blueprint

    foreign = Blueprint.objects.create(
        org=globex.org, name="Globex process", department=globex.department, status="active"
    )
    response = client.get(_url("blueprint_index", sla.org, blueprint=foreign.pk))
    assert response.status_code == 400
    assert "this one does not exist or is not in your departments" in response.content.decode()
    assert "Globex" not in response.content.decode()
    for name in ("blueprint", "blueprint_csv"):
        assert client.get(_url(name, sla.org, foreign)).status_code == 404


def test_bp26_chooser_opens_the_blueprints_report_with_its_period(client, sla, returns):
    blueprint, _states, _t = returns
    login(client, sla.desk.admin)
    response = client.get(_url("blueprint_index", sla.org))
    assert response.status_code == 200 and "Returns" in response.content.decode()
    response = client.get(
        _url("blueprint_index", sla.org, blueprint=blueprint.pk, period="90", stuck="10")
    )
    assert response.status_code == 302
    assert response["Location"] == _url("blueprint", sla.org, blueprint, period="90", stuck="10")


def test_bp26_agents_get_403_supervisors_their_departments(client, sla, returns, make):
    blueprint, _states, _t = returns
    desk = sla.desk
    login(client, desk.agent)
    assert client.get(_url("blueprint", desk.org, blueprint)).status_code == 403
    assert client.get(_url("blueprint_index", desk.org)).status_code == 403
    # Ada (Billing) supervises Rita: she sees Billing's blueprints, not Support's.
    Membership.objects.filter(pk=desk.restricted.pk).update(reports_to=desk.other_agent)
    login(client, desk.other_agent)
    assert client.get(_url("blueprint", desk.org, blueprint)).status_code == 404
    response = client.get(_url("blueprint_index", desk.org))
    assert response.status_code == 200 and "Returns" not in response.content.decode()


def test_bp26_history_before_the_report_is_rebuilt_from_the_log(sla, returns, now):
    """The migration that brings older history into the report (LEAD over the log) gives the
    visits the listener records, business seconds included."""
    import importlib

    from django.apps import apps

    blueprint, states, t = returns
    now.value = FRIDAY_17_TOKYO
    ticket = sla.desk.ticket()
    now.value = dt.datetime(2026, 12, 7, 1, 0, tzinfo=UTC)
    engine.complete_transition(ticket=ticket, transition=t["submit"], membership=sla.desk.agent)
    now.advance(hours=1)
    ticket.refresh_from_db()
    engine.complete_transition(ticket=ticket, transition=t["back"], membership=sla.desk.admin)
    fields = (
        "state_id",
        "department_id",
        "entered_at",
        "left_at",
        "seconds",
        "business_seconds",
        "by_transition",
        "transition_id",
        "actor_id",
    )
    recorded = list(StateVisit.objects.order_by("entered_at").values_list(*fields))
    submit, back = t["submit"].pk, t["back"].pk
    assert [r[4:] for r in recorded] == [
        (65 * HOUR, 2 * HOUR, True, submit, sla.desk.agent.user_id),
        (HOUR, HOUR, True, back, sla.desk.admin.user_id),
        (None, None, False, None, None),
    ]
    StateVisit.objects.all().delete()

    migration = importlib.import_module("reports.migrations.0003_visits_from_log")

    class Editor:
        connection = connection

    migration.forwards(apps, Editor())
    assert list(StateVisit.objects.order_by("entered_at").values_list(*fields)) == recorded
    migration.forwards(apps, Editor())  # a ticket with visits is left alone
    assert StateVisit.objects.count() == 3


def test_bp26_page_reads_in_japanese(client, sla, returns):
    blueprint, states, t = returns
    _history(
        sla,
        blueprint,
        states["Awaiting approval"],
        t["approve"],
        {sla.desk.agent.user: [3]},
        at=dt.datetime(2026, 12, 8, tzinfo=UTC),
    )
    user = sla.desk.admin.user
    user.language = "ja"
    user.save(update_fields=["language"])
    login(client, sla.desk.admin)
    page = client.get(_url("blueprint", sla.org, blueprint, **DECEMBER_QUERY)).content.decode()
    assert "各状態での滞在時間" in page and "3時間00分" in page
    assert "Time in each state" not in page
