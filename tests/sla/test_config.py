"""SLA settings services (TKT-09's SLA step, BP-15): policies per department and priority and
a state's SLA, with escalation levels 1 to 3. Bad input is refused with a message that says
what to fix, and nothing is saved; changed settings reach the open clocks (re-planning after
commit); only Desk admins change them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from helpdesk.tickets.mailtemplates.models import MailTemplate
from sla.models import Clock, ClockDue, EscalationLevel, EscalationUser, SlaPolicy, StateSla
from sla.services.config import (
    LevelInput,
    PolicyInput,
    sla_policy_delete,
    sla_policy_save,
    state_sla_delete,
    state_sla_save,
)
from tests.sla.conftest import MONDAY_10_TOKYO

pytestmark = pytest.mark.django_db


def _level(sla, n=1, target="resolution", when="before", offset=30, **kw) -> LevelInput:
    kw.setdefault("notify_owner", True)
    kw.setdefault("template", sla.template)
    return LevelInput(level=n, target=target, when=when, offset_minutes=offset, **kw)


def _policy(sla, levels=(), **kw) -> PolicyInput:
    data = {
        "department": sla.desk.department,
        "priority": "high",
        "first_response_minutes": 60,
        "resolution_minutes": 8 * 60,
        "business_hours": False,
    }
    data.update(kw)
    return PolicyInput(levels=list(levels), **data)


def _refused(call, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        call(**kwargs)
    return info.value.message_dict


def _nothing_saved(org) -> None:
    assert not SlaPolicy.objects.for_org(org).exists()
    assert not StateSla.objects.for_org(org).exists()
    assert not EscalationLevel.objects.for_org(org).exists()


def test_tkt09_policy_saved_with_levels_and_recipients(sla):
    data = _policy(
        sla,
        levels=[
            _level(sla, 1, users=[sla.desk.agent.user], notify_owner=False),
            _level(sla, 2, when="at", offset=0, notify_manager=True, roles=["admin"]),
            _level(sla, 1, target="first_response", when="after", offset=15),
        ],
    )
    policy = sla_policy_save(actor=sla.desk.admin, data=data)
    levels = {(lv.target, lv.level): lv for lv in policy.levels.all()}
    assert set(levels) == {("resolution", 1), ("resolution", 2), ("first_response", 1)}
    assert list(levels["resolution", 1].users.all()) == [sla.desk.agent.user]
    assert levels["resolution", 2].roles == ["admin"]
    assert levels["resolution", 2].notify_manager


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        ({"resolution_minutes": 0}, "resolution", "The resolution target must be at least one"),
        ({"first_response_minutes": -5}, "first_response", "must be at least one minute"),
        (
            {"first_response_minutes": None, "resolution_minutes": None},
            "first_response",
            "Set a first response target, a resolution target, or both.",
        ),
        ({"priority": "ultra"}, "priority", "Choose a priority."),
        ({"resolution_minutes": 10**7}, "resolution", "must be at most 366 days"),
    ],
)
def test_tkt09_bad_targets_are_refused_and_nothing_is_saved(sla, changes, key, message):
    errors = _refused(sla_policy_save, actor=sla.desk.admin, data=_policy(sla, **changes))
    assert any(message in text for text in errors[key]), errors
    _nothing_saved(sla.org)


@pytest.mark.parametrize(
    ("level", "key", "message"),
    [
        ({"n": 4}, "levels", "Escalation levels go from 1 to 3; there is no level 4."),
        ({"when": "at", "offset": 30}, "resolution-1", "A level at the due time has no offset"),
        ({"when": "after", "offset": 0}, "resolution-1", "Give the offset of a level"),
        ({"offset": 8 * 60}, "resolution-1", "Level 1 would fire when the clock starts"),
        ({"template": None}, "resolution-1", "Choose a mail template."),
        ({"notify_owner": False}, "resolution-1", "Choose who level 1 notifies"),
        ({"roles": ["god"]}, "resolution-1", "Choose Desk roles."),
        ({"when": "soon"}, "resolution-1", "Choose before, at or after the due time."),
    ],
)
def test_bp15_bad_levels_are_refused_and_nothing_is_saved(sla, level, key, message):
    data = _policy(sla, levels=[_level(sla, **level)])
    errors = _refused(sla_policy_save, actor=sla.desk.admin, data=data)
    assert any(message in text for text in errors[key]), errors
    _nothing_saved(sla.org)


def test_bp15_levels_must_follow_each_other(sla):
    gap = _policy(sla, levels=[_level(sla, 2)])
    errors = _refused(sla_policy_save, actor=sla.desk.admin, data=gap)
    assert errors["resolution-2"] == ["Set level 1 before level 2."]
    backwards = _policy(sla, levels=[_level(sla, 1, when="after", offset=60), _level(sla, 2)])
    errors = _refused(sla_policy_save, actor=sla.desk.admin, data=backwards)
    assert errors["resolution-2"] == ["Level 2 must fire after level 1."]
    no_target = _policy(
        sla, first_response_minutes=None, levels=[_level(sla, target="first_response")]
    )
    errors = _refused(sla_policy_save, actor=sla.desk.admin, data=no_target)
    assert "First response has no target" in errors["first_response-1"][0]
    _nothing_saved(sla.org)


def test_org01_objects_of_another_organization_are_refused(sla, globex):
    theirs = MailTemplate.objects.create(org=globex.org, name="Theirs", subject="s", body="b")
    errors = _refused(
        sla_policy_save,
        actor=sla.desk.admin,
        data=_policy(sla, levels=[_level(sla, template=theirs)]),
    )
    assert errors["resolution-1"] == ["Choose a mail template of your organization."]
    errors = _refused(
        sla_policy_save, actor=sla.desk.admin, data=_policy(sla, department=globex.department)
    )
    assert errors["department"] == ["Choose a department of your organization."]
    errors = _refused(
        sla_policy_save,
        actor=sla.desk.admin,
        data=_policy(sla, levels=[_level(sla, users=[globex.admin.user], notify_owner=False)]),
    )
    assert errors["resolution-1"] == ["Choose active Desk members of your organization."]
    _nothing_saved(sla.org)
    assert not EscalationUser.objects.exists()


def test_tkt09_one_policy_per_department_and_priority(sla):
    sla_policy_save(actor=sla.desk.admin, data=_policy(sla))
    errors = _refused(sla_policy_save, actor=sla.desk.admin, data=_policy(sla))
    assert errors["priority"] == [
        f"{sla.desk.department.name} already has an SLA policy for High priority: edit that one."
    ]


def test_org04_only_desk_admins_change_slas(sla):
    with pytest.raises(PermissionDenied):
        sla_policy_save(actor=sla.desk.agent, data=_policy(sla))
    _nothing_saved(sla.org)


def test_tkt09_changing_a_policy_replans_its_open_clocks(
    sla, now, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        policy = sla_policy_save(actor=sla.desk.admin, data=_policy(sla, priority="medium"))
    ticket = sla.desk.ticket()
    clock = Clock.objects.get(ticket=ticket, kind="resolution")
    assert clock.due_at == MONDAY_10_TOKYO + dt.timedelta(hours=8)
    with django_capture_on_commit_callbacks(execute=True):
        sla_policy_save(
            actor=sla.desk.admin,
            data=_policy(sla, priority="medium", resolution_minutes=120, levels=[_level(sla)]),
            policy=policy,
        )
    clock.refresh_from_db()
    ticket.refresh_from_db()
    assert clock.due_at == MONDAY_10_TOKYO + dt.timedelta(hours=2)
    assert ticket.due_at == clock.due_at
    due = ClockDue.objects.get(clock=clock)
    assert (due.level, due.due_at) == (1, MONDAY_10_TOKYO + dt.timedelta(minutes=90))


def test_tkt09_deleting_a_policy_stops_its_clocks_without_a_verdict(sla, now):
    policy = sla_policy_save(
        actor=sla.desk.admin, data=_policy(sla, priority="medium", levels=[_level(sla)])
    )
    ticket = sla.desk.ticket()
    assert ClockDue.objects.filter(ticket=ticket).exists()
    sla_policy_delete(actor=sla.desk.admin, policy=policy)
    assert not SlaPolicy.objects.exists()
    clocks = Clock.objects.filter(ticket=ticket)
    assert clocks.count() == 2
    assert all(c.stopped_at is not None and c.met is None for c in clocks)
    assert not ClockDue.objects.filter(ticket=ticket, fired_at__isnull=True).exists()


# --- State SLAs (BP-15) --------------------------------------------------------------------------
def test_bp15_state_sla_saved_changed_and_removed(
    sla, make, now, django_capture_on_commit_callbacks
):
    blueprint, states = make.blueprint(statuses=("Open", "Waiting"))
    state = states["Open"]
    with django_capture_on_commit_callbacks(execute=True):
        saved = state_sla_save(
            actor=sla.desk.admin,
            state=state,
            minutes=90,
            business_hours=False,
            levels=[_level(sla, target="state", when="after", offset=10)],
        )
    assert (saved.minutes, saved.business_hours) == (90, False)
    ticket = sla.desk.ticket()
    clock = Clock.objects.get(ticket=ticket, kind="state")
    assert clock.due_at == MONDAY_10_TOKYO + dt.timedelta(minutes=90)
    with django_capture_on_commit_callbacks(execute=True):
        again = state_sla_save(actor=sla.desk.admin, state=state, minutes=30, business_hours=False)
    assert again.pk == saved.pk and not again.levels.exists()
    clock.refresh_from_db()
    assert clock.due_at == MONDAY_10_TOKYO + dt.timedelta(minutes=30)
    with django_capture_on_commit_callbacks(execute=True):
        state_sla_delete(actor=sla.desk.admin, state_sla=again)
    clock.refresh_from_db()
    assert clock.stopped_at is not None and clock.met is None
    assert not StateSla.objects.exists()


def test_bp15_state_sla_bad_input_is_refused(sla, make):
    _blueprint, states = make.blueprint(statuses=("Open",))
    for minutes, message in ((0, "at least one minute"), (-3, "at least one minute")):
        errors = _refused(
            state_sla_save, actor=sla.desk.admin, state=states["Open"], minutes=minutes
        )
        assert message in errors["minutes"][0]
    errors = _refused(
        state_sla_save,
        actor=sla.desk.admin,
        state=states["Open"],
        minutes=60,
        levels=[_level(sla, target="state", when="at", offset=5)],
    )
    assert "A level at the due time has no offset" in errors["state-1"][0]
    _nothing_saved(sla.org)


def test_org07_state_slas_need_a_plan_with_blueprints(sla, make):
    _blueprint, states = make.blueprint(statuses=("Open",))
    sla.org.plan = "trial"
    sla.org.save(update_fields=["plan"])
    sla.desk.admin.org = sla.org
    with pytest.raises(PermissionDenied):
        state_sla_save(actor=sla.desk.admin, state=states["Open"], minutes=60)
    _nothing_saved(sla.org)
