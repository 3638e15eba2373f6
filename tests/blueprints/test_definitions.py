"""The engine's compiled definitions (BPPERF): cached per organization under a version that
every configuration change renews in its transaction, so an admin's change reaches the next
ticket at once (BP-16, BP-17, BP-19, BP-21, BP-24); a rolled-back change leaves nothing
behind; and the work per ticket does not grow with the number of blueprints or transitions
(issue 10, Performance: a fixed number of queries per ticket)."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from blueprints import engine
from blueprints import services as bp
from blueprints.models import Blueprint, DefinitionVersion, LogKind, TicketBlueprint, TransitionLog
from helpdesk.tickets.models import CustomField, TicketHistory

pytestmark = pytest.mark.django_db


def _token(org):
    return DefinitionVersion.objects.filter(org=org).values_list("token", flat=True).first()


def _names(ticket, member):
    _i, options = engine.available_transitions(ticket, member)
    return [o.transition.name for o in options]


def _compiled(blueprint):
    return engine.definitions.current(blueprint.org_id).blueprint(blueprint.pk)


def _blueprint_of(ticket):
    found = TicketBlueprint.objects.filter(ticket=ticket).select_related("blueprint").first()
    return found.blueprint.name if found else None


def test_bp16_every_configuration_change_renews_the_version_and_reaches_tickets(make):
    desk = make.desk
    blueprint, states = make.blueprint(name="Returns", statuses=("Open", "Checked", "Done"))
    ticket = desk.ticket()
    assert _blueprint_of(ticket) == "Returns"
    assert _names(ticket, desk.admin) == []  # compiled now, with no transition

    seen = {_token(desk.org)}

    def renewed():
        token = _token(desk.org)
        assert token not in seen
        seen.add(token)

    check = make.transition(blueprint, "Check", states["Checked"], [states["Open"]])
    renewed()
    assert _names(ticket, desk.admin) == ["Check"]

    bp.transition_save(
        actor=desk.admin,
        blueprint=blueprint,
        transition=check,
        data=bp.TransitionInput(
            name="Inspect", to_state=states["Checked"], from_states=[states["Open"]]
        ),
    )
    renewed()
    assert _names(ticket, desk.admin) == ["Inspect"]

    close = make.transition(blueprint, "Close", states["Done"], [states["Checked"]])
    renewed()
    assert [t.name for t in _compiled(blueprint).transitions] == ["Inspect", "Close"]
    bp.transition_delete(actor=desk.admin, transition=close)
    renewed()
    assert [t.name for t in _compiled(blueprint).transitions] == ["Inspect"]

    bp.state_move(actor=desk.admin, state=states["Done"], x=40, y=80)
    renewed()

    # Deactivated: new tickets no longer enter; reactivated: they do again (BP-19, BP-24).
    bp.blueprint_set_status(actor=desk.admin, blueprint=blueprint, status="inactive")
    renewed()
    assert _blueprint_of(desk.ticket()) is None
    bp.blueprint_set_status(actor=desk.admin, blueprint=blueprint, status="active")
    renewed()
    assert _blueprint_of(desk.ticket()) == "Returns"

    # A second blueprint for the same status, then the list order changed (BP-21).
    second, _s = make.blueprint(name="Approvals", statuses=("Open",))
    renewed()
    assert _blueprint_of(desk.ticket()) == "Returns"
    bp.blueprints_reorder(
        actor=desk.admin, department=desk.department, ids=[second.pk, blueprint.pk]
    )
    renewed()
    assert _blueprint_of(desk.ticket()) == "Approvals"

    # A state added for another status: a ticket of that status enters.
    pending = make.status("Pending")
    state = bp.state_add(actor=desk.admin, blueprint=second, status=pending)
    renewed()
    assert _blueprint_of(desk.ticket(status=pending)) == "Approvals"
    TicketBlueprint.objects.filter(blueprint=second, state=state).delete()
    bp.state_delete(actor=desk.admin, state=state)
    renewed()
    assert _blueprint_of(desk.ticket(status=pending)) is None

    bp.blueprint_save(
        actor=desk.admin,
        blueprint=second,
        data=bp.BlueprintInput(name="Approvals 2", department=desk.department),
    )
    renewed()
    TicketBlueprint.objects.filter(blueprint=second).delete()
    bp.blueprint_delete(actor=desk.admin, blueprint=second)
    renewed()
    assert _blueprint_of(desk.ticket()) == "Returns"


def test_bp16_status_and_custom_field_changes_of_the_tickets_app_reach_the_engine(make):
    """Status names and the condition schema are compiled in: the tickets app's settings
    renew the version through signals."""
    desk = make.desk
    meal = CustomField.objects.create(
        org=desk.org, department=desk.department, label="Meal", key="meal", type="text"
    )
    blueprint, states = make.blueprint(statuses=("Open", "Booked"))
    make.transition(
        blueprint,
        "Book",
        states["Booked"],
        [states["Open"]],
        criteria={"all": [{"field": "cf.meal", "op": "is_not_empty"}]},
    )
    ticket = desk.ticket()
    _i, (option,) = engine.available_transitions(ticket, desk.admin)
    assert option.transition.to_state.status.name == "Booked"
    assert any("Condition not met" in r for r in option.reasons)

    booked = states["Booked"].status
    booked.name = "Flight booked"
    booked.save()
    meal.delete()
    _i, (option,) = engine.available_transitions(ticket, desk.admin)
    assert option.transition.to_state.status.name == "Flight booked"
    assert "Its condition no longer applies to this department's fields." in option.reasons


def test_bp16_a_rolled_back_change_leaves_nothing_in_the_cache(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Done"))
    ticket = desk.ticket()
    assert _names(ticket, desk.admin) == []
    with pytest.raises(RuntimeError), transaction.atomic():
        make.transition(blueprint, "Finish", states["Done"], [states["Open"]])
        assert _names(ticket, desk.admin) == ["Finish"]  # compiled inside the transaction
        raise RuntimeError("the admin's request failed")
    assert _names(ticket, desk.admin) == []


def _queries(function) -> int:
    with CaptureQueriesContext(connection) as captured:
        function()
    return len(captured.captured_queries)


def test_bp21_entering_costs_the_same_queries_with_1_or_20_blueprints(make):
    """Issue 10, Performance: matching adds a fixed number of queries per ticket; 19
    blueprints whose criteria the ticket does not meet are evaluated without a query."""
    desk = make.desk
    last, states = make.blueprint(name="Every ticket", statuses=("Open", "Doing"))
    make.transition(last, "Go", states["Doing"], [states["Open"]])
    desk.ticket()  # compiles the definitions
    one = _queries(desk.ticket)
    for n in range(19):
        make.blueprint(
            name=f"Never {n}",
            statuses=("Open",),
            applies_to_all=False,
            criteria={"all": [{"field": "subject", "op": "contains", "value": f"zz-{n}"}]},
        )
    bp.blueprints_reorder(
        actor=desk.admin,
        department=desk.department,
        ids=[
            *Blueprint.objects.filter(org=desk.org)
            .exclude(pk=last.pk)
            .values_list("pk", flat=True),
            last.pk,
        ],
    )
    desk.ticket()
    twenty = _queries(desk.ticket)
    assert twenty == one
    assert _blueprint_of(desk.ticket()) == "Every ticket"


def test_bp03_a_transition_costs_the_same_queries_with_2_or_20_transitions(make):
    """No query per transition of the blueprint; one history row per transition."""
    desk = make.desk

    def per_transition(name, extra):
        blueprint, states = make.blueprint(name=name, statuses=("Open", "Doing"))
        go = make.transition(blueprint, "Go", states["Doing"], [states["Open"]])
        back = make.transition(blueprint, "Back", states["Open"], [states["Doing"]])
        for n in range(extra):
            make.transition(blueprint, f"Undo {n}", states["Open"], [states["Doing"]])
        ticket = desk.ticket()
        engine.complete_transition(ticket=ticket, transition=go, membership=desk.admin)
        count = _queries(
            lambda: engine.complete_transition(
                ticket=ticket, transition=back, membership=desk.admin
            )
        )
        bp.blueprint_set_status(actor=desk.admin, blueprint=blueprint, status="inactive")
        return ticket, count

    ticket, two = per_transition("Two", 0)
    _t, twenty = per_transition("Twenty", 18)
    assert twenty == two
    rows = TicketHistory.objects.filter(ticket=ticket, action="blueprint_transition")
    assert [sorted(r.changes) for r in rows.order_by("pk")] == [
        ["blueprint_version", "status", "transition"],
        ["blueprint_version", "status", "transition"],
    ]
    assert TransitionLog.objects.filter(ticket=ticket, kind=LogKind.TRANSITION).count() == 2


def test_bp21_an_update_costs_the_step_one_query_in_a_blueprint_or_in_none(make):
    """Issue 10, Performance: on a ticket update the step reads the ticket's instance with
    the definitions' and the pipeline's settings tokens in one query, whether the ticket is
    in a blueprint or in none (then nothing else: it enters none)."""
    from helpdesk.tickets import pipeline
    from helpdesk.tickets.services.tickets import TicketInput, ticket_update

    desk = make.desk
    make.blueprint(statuses=("Open", "Doing"))
    waiting = make.status("Waiting")  # in no blueprint
    inside, outside = desk.ticket(), desk.ticket()

    def update(ticket, priority):
        ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(priority=priority))

    ticket_update(actor=desk.admin, ticket=outside, data=TicketInput(status=waiting))
    assert _blueprint_of(inside) == "Approval" and _blueprint_of(outside) is None

    for ticket in (inside, outside):
        update(ticket, "high")  # the settings and definitions are cached now
        pipeline.unregister("blueprints", engine.blueprint_step)
        try:
            without = _queries(lambda t=ticket: update(t, "low"))
        finally:
            pipeline.register("blueprints", engine.blueprint_step)
        with_step = _queries(lambda t=ticket: update(t, "high"))
        assert with_step - without == 1, ticket
    assert _blueprint_of(outside) is None


def test_bp21_entering_on_create_costs_the_step_two_queries(make):
    """Issue 10, Performance: a ticket entering a blueprint as it is created costs the step
    one statement writing its instance and its log entry, and the blueprint report's visit
    (no read of an earlier visit: a new ticket has none); the definitions' token comes in the
    statement that reads the rules' token (`pipeline.token`). The entry is logged and the
    report's visit opened all the same."""
    from helpdesk.tickets import pipeline
    from reports.models import StateVisit

    desk = make.desk
    make.blueprint(name="Every ticket", statuses=("Open", "Doing"))
    desk.ticket()  # compiles the definitions
    pipeline.unregister("blueprints", engine.blueprint_step)
    try:
        without = _queries(desk.ticket)
    finally:
        pipeline.register("blueprints", engine.blueprint_step)
    tickets = []
    with_step = _queries(lambda: tickets.append(desk.ticket()))
    assert with_step - without == 2
    (ticket,) = tickets
    assert _blueprint_of(ticket) == "Every ticket"
    entry = TransitionLog.objects.get(ticket=ticket)
    assert (entry.kind, entry.name) == (LogKind.ENTERED, "Every ticket")
    visit = StateVisit.objects.get(ticket=ticket)
    assert visit.left_at is None and visit.state.status.name == "Open"
