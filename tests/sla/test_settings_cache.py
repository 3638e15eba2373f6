"""BP-15, TKT-09 (issue 10, performance): the SLA step and the state-visit listener read the
organization's policies and state SLAs once per process and settings version; every change of
a policy, a level or a state SLA reaches the next ticket and the next transition at once, and
a transition reads none of them once they are cached."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from blueprints import engine
from blueprints.models import TicketBlueprint
from sla.models import Clock, Target
from sla.services.config import sla_policy_delete, state_sla_delete

pytestmark = pytest.mark.django_db


def _open(ticket, kind):
    return Clock.objects.filter(ticket=ticket, kind=kind, stopped_at=None).first()


def test_tkt09_a_policy_change_reaches_the_next_ticket(sla, now):
    policy = sla.policy(first_response_minutes=30, resolution_minutes=60)
    first = sla.desk.ticket()  # reads and keeps the policies
    assert first.due_at == now.value + dt.timedelta(minutes=60)
    policy.resolution_minutes = 90
    policy.save()
    assert sla.desk.ticket().due_at == now.value + dt.timedelta(minutes=90)
    sla.level(policy, target=Target.RESOLUTION, level=1, when="before", offset=10)
    third = sla.desk.ticket()
    assert list(_open(third, Target.RESOLUTION).dues.values_list("level", flat=True)) == [1]
    sla_policy_delete(actor=sla.desk.admin, policy=policy)
    fourth = sla.desk.ticket()
    assert fourth.due_at is None and not Clock.objects.filter(ticket=fourth).exists()
    sla.policy(priority="high", resolution_minutes=15)  # the organization has one again
    assert sla.desk.ticket(priority="high").due_at == now.value + dt.timedelta(minutes=15)


def _bounce(make):
    blueprint, states = make.blueprint(statuses=("Open", "Waiting"))
    go = make.transition(blueprint, "Wait", states["Waiting"], [states["Open"]])
    back = make.transition(blueprint, "Resume", states["Open"], [states["Waiting"]])
    return states, go, back


def _move(ticket, transition, member):
    ticket.refresh_from_db()
    engine.complete_transition(ticket=ticket, transition=transition, membership=member)


def test_bp15_a_state_sla_change_reaches_the_next_transition(sla, make, now):
    states, go, back = _bounce(make)
    ticket = sla.desk.ticket()
    _move(ticket, go, sla.desk.admin)  # "Waiting" has no SLA yet: cached so
    assert _open(ticket, Target.STATE) is None
    _move(ticket, back, sla.desk.admin)
    waiting = sla.state_sla(states["Waiting"], minutes=120)
    _move(ticket, go, sla.desk.admin)
    clock = _open(ticket, Target.STATE)
    assert clock.due_at == now.value + dt.timedelta(minutes=120)
    _move(ticket, back, sla.desk.admin)
    waiting.minutes = 30
    waiting.save()
    _move(ticket, go, sla.desk.admin)
    assert _open(ticket, Target.STATE).due_at == now.value + dt.timedelta(minutes=30)
    state_sla_delete(actor=sla.desk.admin, state_sla=waiting)
    assert _open(ticket, Target.STATE) is None  # stopped by the deletion
    _move(ticket, back, sla.desk.admin)
    _move(ticket, go, sla.desk.admin)
    assert _open(ticket, Target.STATE) is None


def test_bp15_a_transition_reads_no_settings_once_they_are_cached(sla, make, now):
    """The rules, the policies, the state SLAs and the blueprint's version number are read
    once per version; the settings token comes with the ticket's instance."""
    sla.policy(resolution_minutes=60)
    states, go, back = _bounce(make)
    sla.state_sla(states["Waiting"], minutes=120)
    ticket = sla.desk.ticket()
    _move(ticket, go, sla.desk.admin)
    _move(ticket, back, sla.desk.admin)
    ticket.refresh_from_db()
    with CaptureQueriesContext(connection) as captured:
        engine.complete_transition(ticket=ticket, transition=go, membership=sla.desk.admin)
    sql = " ".join(q["sql"] for q in captured.captured_queries)
    for table in (
        "rules_workflowrule",
        "sla_slapolicy",
        "sla_statesla",
        "sla_escalationlevel",
        "blueprints_blueprintversion",
    ):
        assert table not in sql, table
    assert sql.count("rules_settingsversion") == 1  # in the instance's query
    assert TicketBlueprint.objects.get(ticket=ticket).state_id == states["Waiting"].pk
    assert _open(ticket, Target.STATE).due_at == now.value + dt.timedelta(minutes=120)
