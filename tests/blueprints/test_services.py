"""Configuring blueprints: bad input gives clear errors and saves nothing (BP-10, BP-20), the
plan gates blueprints (ORG-07), deletions in use are refused with the count (BP-16, BP-19),
and organizations never see each other's blueprints (ORG-01)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from blueprints import services as bp
from blueprints.models import Blueprint, State, TicketBlueprint, Transition, TransitionOwner
from helpdesk.tenancy.guards import OtherOrganizationError
from helpdesk.tickets.models import TicketStatus
from helpdesk.tickets.services.layouts import layout_create_defaults
from helpdesk.tickets.services.tickets import TicketInput, ticket_create

pytestmark = pytest.mark.django_db


def _counts():
    return (
        Blueprint.objects.count(),
        State.objects.count(),
        Transition.objects.count(),
        TransitionOwner.objects.count(),
    )


def test_bp20_blueprints_need_a_plan_that_has_them(desk):
    desk.admin.org = desk.org  # the trial plan
    with pytest.raises(PermissionDenied, match="Professional or Enterprise"):
        bp.blueprint_save(
            actor=desk.admin, data=bp.BlueprintInput(name="X", department=desk.department)
        )


def test_bp20_active_blueprints_per_department_follow_the_plan(make):
    desk = make.desk
    desk.org.plan = "professional"
    desk.org.save()
    make.blueprint(name="One")
    second, _s = make.blueprint(name="Two", status="draft")
    with pytest.raises(ValidationError) as exc:
        bp.blueprint_set_status(actor=desk.admin, blueprint=second, status="active")
    assert "1 active blueprint per department" in exc.value.message_dict["status"][0]
    second.refresh_from_db()
    assert second.status == "draft"


def test_bp10_message_of_256_characters_is_refused_and_nothing_saved(make):
    blueprint, states = make.blueprint(statuses=("Open", "Done"))
    before = _counts()
    with pytest.raises(ValidationError) as exc:
        make.transition(
            blueprint,
            "Finish",
            states["Done"],
            [states["Open"]],
            message="x" * 256,
            owners=[bp.OwnerInput(kind="ticket_owner")],
        )
    assert exc.value.message_dict["message"] == ["The message has 256 characters; use at most 255."]
    assert _counts() == before
    make.transition(blueprint, "Finish", states["Done"], [states["Open"]], message="x" * 255)


def test_bp20_seventeenth_connection_from_one_state(make):
    names = [f"S{n}" for n in range(18)]
    blueprint, states = make.blueprint(statuses=("Open", *names), status="draft")
    for name in names[:16]:
        make.transition(blueprint, f"To {name}", states[name], [states["Open"]])
    before = _counts()
    with pytest.raises(ValidationError) as exc:
        make.transition(blueprint, "To S16", states["S16"], [states["Open"]])
    assert exc.value.message_dict["to_state"] == [
        "“Open” would connect to 17 states; a state connects to at most 16."
    ]
    assert _counts() == before


def test_bp20_transition_limits_and_names(make):
    desk = make.desk
    desk.org.plan = "professional"
    desk.org.save()
    blueprint, states = make.blueprint(statuses=("Open", "A", "B"), status="draft")
    make.transition(blueprint, "Reject", states["B"], is_common=True)
    with pytest.raises(ValidationError) as exc:
        make.transition(blueprint, "Cancel", states["A"], is_common=True)
    assert exc.value.message_dict["is_common"] == [
        "Your plan allows 1 common transitions per blueprint."
    ]
    with pytest.raises(ValidationError) as exc:
        make.transition(blueprint, "x" * 31, states["A"], [states["Open"]])
    assert exc.value.message_dict["name"] == ["Use at most 30 characters."]


def test_bp01_a_status_of_another_department_is_not_a_state(make):
    desk = make.desk
    blueprint, _s = make.blueprint(status="draft")
    foreign = TicketStatus.objects.for_org(desk.org).get(
        department=desk.other_department, name="Closed"
    )
    with pytest.raises(ValidationError) as exc:
        bp.state_add(actor=desk.admin, blueprint=blueprint, status=foreign)
    assert exc.value.message_dict["status"] == [
        "“Closed” is not a status of this blueprint's department."
    ]
    assert State.objects.filter(blueprint=blueprint).count() == 1


@pytest.mark.parametrize(
    "criteria, message",
    [
        ('{"field": "priority", "op": ', "The criteria are not valid JSON"),
        ({"field": "nope", "op": "is", "value": 1}, "Unknown field “nope”."),
        ({"field": "priority", "op": "is", "value": "soon"}, "Priority is: choose one of"),
    ],
)
def test_bp01_criteria_that_do_not_parse(make, criteria, message):
    desk = make.desk
    before = _counts()
    with pytest.raises(ValidationError) as exc:
        bp.blueprint_save(
            actor=desk.admin,
            data=bp.BlueprintInput(
                name="Bad", department=desk.department, applies_to_all=False, criteria=criteria
            ),
        )
    assert exc.value.message_dict["criteria"][0].startswith(message)
    assert _counts() == before


def test_bp16_bp19_deleting_what_tickets_use_is_refused_with_the_count(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Done"))
    finish = make.transition(blueprint, "Finish", states["Done"], [states["Open"]])
    desk.ticket()
    desk.ticket()
    with pytest.raises(ValidationError, match="2 tickets are in this blueprint"):
        bp.blueprint_delete(actor=desk.admin, blueprint=blueprint)
    with pytest.raises(ValidationError, match="2 tickets are in this state"):
        bp.state_delete(actor=desk.admin, state=states["Open"])
    with pytest.raises(ValidationError, match="2 tickets are in this transition"):
        bp.transition_delete(actor=desk.admin, transition=finish)
    bp.state_delete(actor=desk.admin, state=states["Done"])  # nobody there: allowed
    assert not Transition.objects.filter(pk=finish.pk).exists()


def test_org01_a_blueprint_of_one_organization_never_applies_to_another(make, globex):
    desk = make.desk
    make.blueprint(name="Acme process")
    globex.org.plan = "enterprise"
    globex.org.save()
    department = globex.department
    layout_create_defaults(department=department)
    globex.admin.org = globex.org
    theirs = ticket_create(
        actor=globex.admin, data=TicketInput(subject="Hello", department=department)
    )
    assert not TicketBlueprint.objects.filter(ticket=theirs).exists()
    assert TicketBlueprint.objects.filter(ticket=desk.ticket()).exists()
    # Their admin cannot touch ours, nor add our statuses.
    ours = Blueprint.objects.get(name="Acme process")
    with pytest.raises(OtherOrganizationError):
        bp.blueprint_set_status(actor=globex.admin, blueprint=ours, status="inactive")
    with pytest.raises(OtherOrganizationError):
        bp.blueprint_save(
            actor=globex.admin, data=bp.BlueprintInput(name="X", department=desk.department)
        )
