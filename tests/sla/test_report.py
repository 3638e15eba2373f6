"""The SLA report (RPT-01): met against missed per target, department, policy, state and
agent over a period, on known clocks; six queries whatever the data; the chart and the table
say the same; Desk admins see everything, supervisors their departments, agents 403."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from helpdesk.tenancy.models import Membership
from sla.models import Clock, Target
from sla.selectors_report import sla_report
from tests.conftest import login

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 10, 3, 0, tzinfo=dt.UTC)
START = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def _clock(sla, ticket, kind, *, met=None, stopped=None, due, owner=None, **kw) -> Clock:
    return Clock.objects.create(
        org=sla.org,
        ticket=ticket,
        kind=kind,
        department=ticket.department,
        target_minutes=60,
        business_hours=False,
        started_at=due - dt.timedelta(hours=1),
        due_at=due,
        stopped_at=stopped,
        met=met,
        owner=owner,
        **kw,
    )


@pytest.fixture
def known(sla, make):
    """Support (default department) and Billing, in December:
    - Support, high policy: resolution met twice (Bob), missed once (Ada's ticket in Support);
      first response missed once (Bob);
    - Billing, urgent policy: resolution missed, still open past its due time (owner: Ada);
    - a state clock of "Open": met (Bob);
    - not counted: a clock stopped without a verdict, one stopped in November, one open and not
      yet due, one paused past its due time."""
    desk = sla.desk
    high = sla.policy(priority="high", resolution_minutes=60, first_response_minutes=30)
    urgent = sla.policy(department=desk.other_department, priority="urgent", resolution_minutes=60)
    bob, ada = desk.agent.user, desk.other_agent.user
    support = desk.ticket(subject="support")
    billing = desk.ticket(subject="billing", department=desk.other_department, owner=ada)
    Clock.objects.all().delete()  # the pipeline's own clocks: the test sets each one
    day = dt.timedelta(days=1)
    at = START + 2 * day
    _clock(sla, support, "resolution", policy=high, met=True, stopped=at, due=at, owner=bob)
    _clock(
        sla, support, "resolution", policy=high, met=True, stopped=at, due=at, owner=bob, cycle=2
    )
    _clock(
        sla, support, "resolution", policy=high, met=False, stopped=at, due=at, owner=ada, cycle=3
    )
    _clock(sla, support, "first_response", policy=high, met=False, stopped=at, due=at, owner=bob)
    _clock(sla, billing, "resolution", policy=urgent, due=NOW - day)
    _blueprint, states = make.blueprint(statuses=("Open",))
    _clock(sla, support, "state", state=states["Open"], met=True, stopped=at, due=at, owner=bob)
    # Not counted:
    _clock(sla, support, "state", state=states["Open"], met=None, stopped=at, due=at, cycle=2)
    november = START - 5 * day
    _clock(sla, billing, "first_response", policy=urgent, met=False, stopped=november, due=november)
    _clock(sla, support, "first_response", policy=high, due=NOW + day, cycle=2)
    _clock(sla, billing, "state", state=states["Open"], due=NOW - day, paused_at=NOW - 2 * day)
    return {"high": high, "urgent": urgent, "bob": bob, "ada": ada, "state": states["Open"]}


def _figures(rows) -> dict:
    return {r.name: (r.met, r.missed) for r in rows}


def test_rpt01_sla_report_counts_met_and_missed_per_group(sla, known):
    support, billing = sla.desk.department.name, sla.desk.other_department.name
    report = sla_report(org=sla.org, start=START, end=NOW + dt.timedelta(days=1), now=NOW)
    assert (report.overall.met, report.overall.missed) == (3, 3)
    assert report.overall.met_percent == 50
    assert _figures(report.targets) == {
        "First response": (0, 1),
        "Resolution": (2, 2),
        "Time in state": (1, 0),
    }
    assert [r.key for r in report.targets] == ["first_response", "resolution", "state"]
    assert _figures(report.departments) == {support: (3, 2), billing: (0, 1)}
    assert _figures(report.policies) == {f"{support}, High": (2, 2), f"{billing}, Urgent": (0, 1)}
    assert _figures(report.states) == {"Approval: Open": (1, 0)}
    assert _figures(report.agents) == {"Bob": (3, 1), "Ada": (0, 2)}
    # Narrowed: one department, one agent, one target.
    only = sla_report(
        org=sla.org,
        start=START,
        end=NOW,
        now=NOW,
        department_id=sla.desk.other_department.pk,
    )
    assert (only.overall.met, only.overall.missed) == (0, 1)
    bob = sla_report(org=sla.org, start=START, end=NOW, now=NOW, agent_id=known["bob"].pk)
    assert (bob.overall.met, bob.overall.missed) == (3, 1)
    states = sla_report(org=sla.org, start=START, end=NOW, now=NOW, target=Target.STATE)
    assert (states.overall.met, states.overall.missed) == (1, 0)
    # November alone: the clock stopped then.
    november = sla_report(org=sla.org, start=START - dt.timedelta(days=30), end=START, now=NOW)
    assert (november.overall.met, november.overall.missed) == (0, 1)


def test_rpt01_report_queries_do_not_grow_with_the_data(sla, known):
    with CaptureQueriesContext(connection) as queries:
        sla_report(org=sla.org, start=START, end=NOW, now=NOW)
    assert len(queries) == 5
    ticket = sla.desk.ticket(subject="more")
    for n in range(20):
        _clock(sla, ticket, "resolution", met=n % 2 == 0, stopped=START, due=START, cycle=n + 1)
    with CaptureQueriesContext(connection) as more:
        sla_report(org=sla.org, start=START, end=NOW, now=NOW)
    assert len(more) == 5


def test_rpt01_report_page_chart_and_tables(client, sla, known, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    login(client, sla.desk.admin)
    response = client.get(
        reverse("sla_desk:report", kwargs={"portal": "acme"}),
        {"period": "custom", "date_from": "2026-12-01", "date_to": "2026-12-10"},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-chart="sla"' in html and "<title" in html
    assert "Overall: 3 met, 3 missed." in html
    assert "6 clocks" in html
    for key in ("targets", "departments", "policies", "states", "agents"):
        assert f'data-testid="sla-{key}"' in html
    assert 'class="sla-met"' in html and 'class="sla-missed"' in html
    bad = client.get(
        reverse("sla_desk:report", kwargs={"portal": "acme"}),
        {"period": "custom", "date_from": "2026-12-10", "date_to": "2026-12-01"},
    )
    assert bad.status_code == 400
    assert "The period&#x27;s start is after its end." in bad.content.decode()


def test_rpt01_who_sees_the_sla_report(client, sla, known, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    page = reverse("sla_desk:report", kwargs={"portal": "acme"})
    login(client, sla.desk.agent)
    assert client.get(page).status_code == 403
    # Ada becomes Bob's manager: a supervisor, who sees her own department (Billing) only.
    Membership.objects.filter(pk=sla.desk.agent.pk).update(reports_to=sla.desk.other_agent)
    login(client, sla.desk.other_agent)
    html = client.get(
        page, {"period": "custom", "date_from": "2026-12-01", "date_to": "2026-12-10"}
    )
    text = html.content.decode()
    assert html.status_code == 200
    assert "1 clock" in text and "Overall: 0 met, 1 missed." in text
