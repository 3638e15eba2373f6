"""Setup → Blueprints (BP-01..BP-12, BP-16..BP-21, BP-24): the list per department, the forms of
a blueprint, its states and transitions, their errors (nothing half-saved), order, activate /
deactivate, delete refused with the count, and the remove-from-all-tickets job."""

from __future__ import annotations

import html
import json

import pytest
from django.urls import reverse

from blueprints import services as bp
from blueprints.models import (
    Blueprint,
    BlueprintStatus,
    State,
    TicketBlueprint,
    Transition,
    TransitionAction,
    TransitionField,
    TransitionOwner,
)
from blueprints.removal.models import RemovalJob, RemovalStatus
from blueprints.removal.services import removal_run
from helpdesk.tickets.models import CustomField, StatusKind, TicketHistory, TicketStatus
from tests.conftest import login
from tests.integration.test_celery_worker import redis_worker  # noqa: F401 (a fixture)
from tests.tickets.conftest import Desk
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture


@pytest.fixture
def ent(desk: Desk) -> Desk:
    """Acme on the Enterprise plan (blueprints need Professional or Enterprise, BP-20)."""
    desk.org.plan = "enterprise"
    desk.org.save(update_fields=["plan"])
    return desk


def _status(desk: Desk, name: str, department=None) -> TicketStatus:
    department = department or desk.department
    found = TicketStatus.objects.for_org(desk.org).filter(department=department, name=name).first()
    return found or TicketStatus.objects.create(
        org=desk.org, department=department, name=name, kind=StatusKind.OPEN, order=20
    )


def _blueprint(desk: Desk, name="Approval", statuses=("Open",), status="active") -> Blueprint:
    data = bp.BlueprintInput(name=name, department=desk.department)
    blueprint = bp.blueprint_save(actor=desk.admin, data=data, status="draft")
    for s in statuses:
        bp.state_add(actor=desk.admin, blueprint=blueprint, status=_status(desk, s))
    if status == "active":
        bp.blueprint_set_status(actor=desk.admin, blueprint=blueprint, status="active")
    blueprint.refresh_from_db()
    return blueprint


def _url(desk: Desk, name: str, **kwargs) -> str:
    return reverse(f"blueprints:{name}", kwargs={"portal": desk.org.portal, **kwargs})


def _admin(client, desk: Desk):
    return login(client, desk.admin)


def _transition_post(desk: Desk, blueprint: Blueprint, **over) -> dict:
    states = {s.status.name: s for s in blueprint.states.select_related("status")}
    data = {
        "name": "Approve",
        "description": "",
        "from_states": [states["Open"].pk],
        "to_state": states["Approved"].pk if "Approved" in states else "",
        "auto_trigger": "",
        "thread_scope": "all",
        "owner_ticket_owner": "on",
        "criteria": "",
        "message": "",
        "fields-TOTAL_FORMS": "2",
        "fields-INITIAL_FORMS": "0",
        "fields-MIN_NUM_FORMS": "0",
        "fields-MAX_NUM_FORMS": "100",
    }
    data.update(over)
    return data


# --- The list --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_bp21_list_shows_order_status_and_ticket_counts(client, ent):
    first = _blueprint(ent, "Approval", ("Open", "Approved"))
    _blueprint(ent, "Returns", ("Open",), status="draft")
    ent.ticket()  # enters "Approval" (first active, its states include Open)
    page = _admin(client, ent).get(_url(ent, "department", dept_id=ent.department.pk))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("Approval") < html.index("Returns")
    assert TicketBlueprint.objects.for_org(ent.org).filter(blueprint=first).count() == 1
    row = html[html.index('data-blueprint="Approval"') : html.index('data-blueprint="Returns"')]
    assert '<td class="count">1</td>' in row
    assert "Deactivate" in row
    # Delete is refused with the count: the button is disabled and says why (BP-19).
    assert "disabled" in row and "1 ticket is in this blueprint" in row
    assert "Remove from all tickets" in row
    # The Setup menu leads here.
    assert 'href="/acme/setup/blueprints/"' in html or "blueprints" in html


@pytest.mark.django_db
def test_bp20_list_on_a_plan_without_blueprints_says_so(client, desk):
    page = _admin(client, desk).get(_url(desk, "list"))
    assert page.status_code == 200
    assert b"Blueprints need the Professional or Enterprise plan" in page.content
    assert b"New blueprint" not in page.content


@pytest.mark.django_db
def test_bp_settings_are_for_desk_admins_only(client, ent):
    login(client, ent.agent)
    assert client.get(_url(ent, "list")).status_code == 403


@pytest.mark.django_db
def test_bp21_order_changes_with_up_and_down_buttons(client, ent):
    a = _blueprint(ent, "A", status="draft")
    b = _blueprint(ent, "B", status="draft")
    c = _blueprint(ent, "C", status="draft")
    _admin(client, ent)
    response = client.post(_url(ent, "action", blueprint_id=c.pk), {"action": "up"})
    assert response.status_code == 302
    order = list(
        Blueprint.objects.for_org(ent.org).order_by("position").values_list("name", flat=True)
    )
    assert order == ["A", "C", "B"]
    client.post(_url(ent, "action", blueprint_id=a.pk), {"action": "down"})
    client.post(_url(ent, "action", blueprint_id=a.pk), {"action": "down"})
    order = list(
        Blueprint.objects.for_org(ent.org).order_by("position").values_list("name", flat=True)
    )
    assert order == ["C", "B", "A"]
    page = client.get(_url(ent, "department", dept_id=ent.department.pk)).content.decode()
    assert page.index('data-blueprint="C"') < page.index('data-blueprint="B"')
    del b


@pytest.mark.django_db
def test_bp19_deactivate_and_reactivate(client, ent):
    blueprint = _blueprint(ent)
    _admin(client, ent)
    response = client.post(
        _url(ent, "action", blueprint_id=blueprint.pk), {"action": "deactivate"}, follow=True
    )
    blueprint.refresh_from_db()
    assert blueprint.status == BlueprintStatus.INACTIVE
    assert "no new tickets enter it" in response.content.decode()
    assert "Reactivate" in response.content.decode()
    client.post(_url(ent, "action", blueprint_id=blueprint.pk), {"action": "activate"})
    blueprint.refresh_from_db()
    assert blueprint.status == BlueprintStatus.ACTIVE


@pytest.mark.django_db
def test_bp20_activating_over_the_plan_limit_is_refused_with_a_message(client, ent):
    ent.org.plan = "professional"  # one active blueprint per department
    ent.org.save(update_fields=["plan"])
    _blueprint(ent, "First")
    second = _blueprint(ent, "Second", status="draft")
    response = _admin(client, ent).post(
        _url(ent, "action", blueprint_id=second.pk), {"action": "activate"}, follow=True
    )
    assert "Your plan allows 1 active blueprint per department" in response.content.decode()
    second.refresh_from_db()
    assert second.status == BlueprintStatus.DRAFT


@pytest.mark.django_db
def test_bp19_delete_refused_with_the_count_then_allowed(client, ent):
    blueprint = _blueprint(ent)
    ent.ticket()
    ent.ticket(subject="Second")
    response = _admin(client, ent).post(
        _url(ent, "action", blueprint_id=blueprint.pk), {"action": "delete"}, follow=True
    )
    assert "2 tickets are in this blueprint: it cannot be deleted." in response.content.decode()
    assert Blueprint.objects.for_org(ent.org).filter(pk=blueprint.pk).exists()
    empty = _blueprint(ent, "Unused", status="draft")
    response = client.post(
        _url(ent, "action", blueprint_id=empty.pk), {"action": "delete"}, follow=True
    )
    assert "“Unused” deleted." in response.content.decode()
    assert not Blueprint.objects.for_org(ent.org).filter(pk=empty.pk).exists()


# --- Remove from all tickets (BP-18) -----------------------------------------------------------
@pytest.mark.django_db
def test_bp18_remove_from_all_tickets_runs_as_a_job_with_progress_and_history(
    client, ent, django_capture_on_commit_callbacks
):
    blueprint = _blueprint(ent)
    tickets = [ent.ticket(subject=f"T{n}") for n in range(3)]
    assert TicketBlueprint.objects.for_org(ent.org).filter(blueprint=blueprint).count() == 3
    _admin(client, ent)
    # Tasks run eagerly in tests: the request's commit runs the job through the real task.
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(_url(ent, "remove_all", blueprint_id=blueprint.pk))
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 200
    job = RemovalJob.objects.for_org(ent.org).get(blueprint=blueprint)
    assert (job.status, job.done, job.total) == (RemovalStatus.DONE, 3, 3)
    assert not TicketBlueprint.objects.for_org(ent.org).filter(blueprint=blueprint).exists()
    for ticket in tickets:
        row = TicketHistory.objects.for_org(ent.org).get(ticket=ticket, action="blueprint_removed")
        assert row.actor_id == ent.admin.user_id
    html = response.content.decode()
    assert "3 of 3 tickets" in html and "<progress" in html
    # The progress fragment (what htmx polls) stops polling once the job is done.
    fragment = client.get(_url(ent, "removal", removal_id=job.pk), HTTP_HX_REQUEST="true")
    assert b"3 of 3 tickets" in fragment.content
    assert b"hx-trigger" not in fragment.content
    # The blueprint can now be deleted.
    client.post(_url(ent, "action", blueprint_id=blueprint.pk), {"action": "delete"})
    assert not Blueprint.objects.for_org(ent.org).filter(pk=blueprint.pk).exists()


@pytest.mark.django_db
def test_bp18_a_queued_job_polls_and_counts_progress(client, ent):
    """While the job waits for the worker, its fragment polls; the run counts each ticket.
    (Without the commit callbacks the task is not sent: the job stays queued.)"""
    blueprint = _blueprint(ent)
    ent.ticket(subject="One")
    ent.ticket(subject="Two")
    _admin(client, ent).post(_url(ent, "remove_all", blueprint_id=blueprint.pk))
    job = RemovalJob.objects.for_org(ent.org).get(blueprint=blueprint)
    assert job.status == RemovalStatus.QUEUED and job.total == 2
    fragment = client.get(_url(ent, "removal", removal_id=job.pk), HTTP_HX_REQUEST="true")
    assert b'hx-trigger="every 1s"' in fragment.content
    assert b"0 of 2 tickets" in fragment.content
    # Asking again while it waits gives the same job, not a second one.
    client.post(_url(ent, "remove_all", blueprint_id=blueprint.pk))
    assert RemovalJob.objects.for_org(ent.org).filter(blueprint=blueprint).count() == 1
    done = removal_run(org_id=ent.org.pk, job_id=job.pk)
    assert done is not None and (done.done, done.total, done.status) == (2, 2, "done")
    assert removal_run(org_id=ent.org.pk, job_id=job.pk) is None  # claimed once only
    page = client.get(_url(ent, "removal", removal_id=job.pk))
    assert b"2 of 2 tickets" in page.content


# --- A blueprint's information ----------------------------------------------------------------
@pytest.mark.django_db
def test_bp01_bp17_create_a_draft_with_criteria_and_restricted_mode(client, ent):
    _admin(client, ent)
    page = client.get(_url(ent, "create", dept_id=ent.department.pk))
    assert page.status_code == 200
    assert b'id="condition-schema"' in page.content and b"conditions.js" in page.content
    criteria = {"all": [{"field": "priority", "op": "is", "value": "high"}]}
    response = client.post(
        _url(ent, "create", dept_id=ent.department.pk),
        {
            "name": "Flight booking",
            "description": "Book with the meal preference",
            "department": ent.department.pk,
            "applies": "criteria",
            "criteria": json.dumps(criteria),
            "restriction": "specific",
            "restricted_actions": ["reply", "edit"],
            "is_continuous": "on",
            "dynamic_reassignment": "on",
            "save": "draft",
        },
    )
    blueprint = Blueprint.objects.for_org(ent.org).get(name="Flight booking")
    assert response.status_code == 302
    assert response["Location"] == _url(ent, "process", blueprint_id=blueprint.pk)
    assert blueprint.status == BlueprintStatus.DRAFT
    assert blueprint.applies_to_all is False and blueprint.criteria == criteria
    assert blueprint.restriction == "specific"
    assert blueprint.restricted_actions == ["reply", "edit"]
    assert blueprint.is_continuous and blueprint.dynamic_reassignment
    # The edit form shows what was saved.
    page = client.get(_url(ent, "edit", blueprint_id=blueprint.pk)).content.decode()
    assert "Flight booking" in page and "Save and activate" in page


@pytest.mark.django_db
def test_bp01_criteria_that_do_not_parse_are_refused_and_nothing_saved(client, ent):
    _admin(client, ent)
    base = {
        "name": "Broken",
        "department": ent.department.pk,
        "applies": "criteria",
        "restriction": "off",
        "save": "draft",
    }
    response = client.post(
        _url(ent, "create", dept_id=ent.department.pk), {**base, "criteria": "{"}
    )
    assert response.status_code == 400
    assert "The criteria are not valid JSON" in response.content.decode()
    bad_field = json.dumps({"all": [{"field": "colour", "op": "is", "value": "red"}]})
    response = client.post(
        _url(ent, "create", dept_id=ent.department.pk), {**base, "criteria": bad_field}
    )
    assert response.status_code == 400
    assert "colour" in response.content.decode()
    assert not Blueprint.objects.for_org(ent.org).exists()


@pytest.mark.django_db
def test_bp24_save_and_activate_makes_a_draft_live(client, ent):
    blueprint = _blueprint(ent, status="draft")
    response = _admin(client, ent).post(
        _url(ent, "edit", blueprint_id=blueprint.pk),
        {
            "name": "Approval v2",
            "department": ent.department.pk,
            "applies": "all",
            "restriction": "off",
            "save": "active",
        },
    )
    assert response.status_code == 302
    blueprint.refresh_from_db()
    assert (blueprint.name, blueprint.status) == ("Approval v2", BlueprintStatus.ACTIVE)


# --- States --------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_bp01_add_states_from_the_department_statuses(client, ent):
    blueprint = _blueprint(ent, statuses=(), status="draft")
    approved = _status(ent, "Approved")
    open_ = _status(ent, "Open")
    _admin(client, ent)
    page = client.get(_url(ent, "process", blueprint_id=blueprint.pk)).content.decode()
    assert "Approved" in page and "Add states" in page
    response = client.post(
        _url(ent, "process", blueprint_id=blueprint.pk), {"statuses": [open_.pk, approved.pk]}
    )
    assert response.status_code == 302
    assert set(
        State.objects.for_org(ent.org).filter(blueprint=blueprint).values_list("status", flat=True)
    ) == {open_.pk, approved.pk}


@pytest.mark.django_db
def test_bp05_a_status_of_another_department_is_refused_and_nothing_added(client, ent):
    blueprint = _blueprint(ent, statuses=(), status="draft")
    mine = _status(ent, "Open")
    theirs = _status(ent, "Refunded", department=ent.other_department)
    response = _admin(client, ent).post(
        _url(ent, "process", blueprint_id=blueprint.pk), {"statuses": [mine.pk, theirs.pk]}
    )
    assert response.status_code == 400
    text = html.unescape(response.content.decode())
    assert text.count("“Refunded” is not a status of this blueprint's department.") == 1
    assert not State.objects.for_org(ent.org).filter(blueprint=blueprint).exists()


@pytest.mark.django_db
def test_bp16_a_state_in_use_cannot_be_removed(client, ent):
    blueprint = _blueprint(ent, statuses=("Open", "Approved"))
    ent.ticket()
    open_state = State.objects.for_org(ent.org).get(blueprint=blueprint, status__name="Open")
    _admin(client, ent)
    page = client.get(_url(ent, "process", blueprint_id=blueprint.pk)).content.decode()
    assert "1 ticket is in this state." in page
    response = client.post(
        _url(ent, "state_delete", blueprint_id=blueprint.pk, state_id=open_state.pk), follow=True
    )
    assert "1 ticket is in this state: it cannot be deleted." in response.content.decode()
    assert State.objects.for_org(ent.org).filter(pk=open_state.pk).exists()


# --- Transitions ----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_bp05_to_bp11_create_a_transition_with_before_during_after(client, ent):
    blueprint = _blueprint(ent, statuses=("Open", "Approved"), status="draft")
    meal = CustomField.objects.create(
        org=ent.org, department=ent.department, label="Meal preference", key="meal", type="text"
    )
    rule = {"all": [{"field": "cf.meal", "op": "is_not_empty"}]}
    _admin(client, ent)
    page = client.get(_url(ent, "transition_create", blueprint_id=blueprint.pk))
    assert page.status_code == 200
    assert b"Meal preference" in page.content and b"Billing" in page.content
    data = _transition_post(
        ent,
        blueprint,
        description="Manager approves",
        owner_agents=[ent.agent.user_id],
        owner_roles=["admin"],
        **{
            f"dept_{ent.other_department.pk}": "1",
            "criteria": json.dumps({"all": [{"field": "priority", "op": "is", "value": "high"}]}),
            "fields-0-field": f"cf.{meal.key}",
            "fields-0-mandatory": "on",
            "fields-0-validation": json.dumps(rule),
            "fields-0-warning": "Ask the customer for the meal",
            "action_1": "comment",
            "action_2": "reply",
            "message": "Check the budget first.",
            "auto_trigger": "reply",
            "thread_scope": "public",
        },
    )
    response = client.post(_url(ent, "transition_create", blueprint_id=blueprint.pk), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    transition = Transition.objects.for_org(ent.org).get(blueprint=blueprint)
    assert (transition.name, transition.message) == ("Approve", "Check the budget first.")
    assert (transition.auto_trigger, transition.thread_scope) == ("reply", "public")
    kinds = sorted(
        TransitionOwner.objects.for_org(ent.org)
        .filter(transition=transition)
        .values_list("kind", flat=True)
    )
    assert kinds == ["agent", "department", "role", "ticket_owner"]
    field = TransitionField.objects.for_org(ent.org).get(transition=transition)
    assert (field.field, field.mandatory, field.validation) == ("cf.meal", True, rule)
    assert field.warning == "Ask the customer for the meal"
    assert list(
        TransitionAction.objects.for_org(ent.org)
        .filter(transition=transition)
        .order_by("position")
        .values_list("kind", flat=True)
    ) == ["comment", "reply"]
    # Editing shows it back, and the process page lists it.
    page = client.get(
        _url(ent, "transition_edit", blueprint_id=blueprint.pk, transition_id=transition.pk)
    ).content.decode()
    assert "Check the budget first." in page and "Ask the customer for the meal" in page
    process = client.get(_url(ent, "process", blueprint_id=blueprint.pk)).content.decode()
    assert 'data-transition="Approve"' in process


@pytest.mark.django_db
def test_bp12_a_common_transition_from_every_state(client, ent):
    blueprint = _blueprint(ent, statuses=("Open", "Approved", "Rejected"), status="draft")
    rejected = State.objects.for_org(ent.org).get(blueprint=blueprint, status__name="Rejected")
    response = _admin(client, ent).post(
        _url(ent, "transition_create", blueprint_id=blueprint.pk),
        _transition_post(
            ent,
            blueprint,
            name="Reject return",
            from_states=[],
            is_common="on",
            to_state=rejected.pk,
        ),
    )
    assert response.status_code == 302
    transition = Transition.objects.for_org(ent.org).get(name="Reject return")
    assert transition.is_common
    process = client.get(_url(ent, "process", blueprint_id=blueprint.pk)).content.decode()
    assert "Every state" in process and "Common" in process


@pytest.mark.django_db
def test_bp10_a_message_of_256_characters_is_refused_and_nothing_saved(client, ent):
    blueprint = _blueprint(ent, statuses=("Open", "Approved"), status="draft")
    response = _admin(client, ent).post(
        _url(ent, "transition_create", blueprint_id=blueprint.pk),
        _transition_post(ent, blueprint, message="x" * 256, **{"fields-0-field": "priority"}),
    )
    assert response.status_code == 400
    assert "The message has 256 characters; use at most 255." in response.content.decode()
    assert not Transition.objects.for_org(ent.org).exists()
    assert not TransitionField.objects.for_org(ent.org).exists()


@pytest.mark.django_db
def test_bp05_a_transition_to_a_state_outside_the_blueprint_is_refused(client, ent):
    blueprint = _blueprint(ent, statuses=("Open", "Approved"), status="draft")
    other = _blueprint(ent, "Other", statuses=("Closed",), status="draft")
    foreign = State.objects.for_org(ent.org).get(blueprint=other)
    response = _admin(client, ent).post(
        _url(ent, "transition_create", blueprint_id=blueprint.pk),
        _transition_post(ent, blueprint, to_state=foreign.pk),
    )
    assert response.status_code == 400
    assert "Choose a state of this blueprint." in response.content.decode()
    assert not Transition.objects.for_org(ent.org).exists()


@pytest.mark.django_db
def test_bp08_a_validation_rule_that_does_not_parse_is_refused(client, ent):
    blueprint = _blueprint(ent, statuses=("Open", "Approved"), status="draft")
    response = _admin(client, ent).post(
        _url(ent, "transition_create", blueprint_id=blueprint.pk),
        _transition_post(
            ent,
            blueprint,
            criteria="[not json",
            **{"fields-0-field": "priority", "fields-0-validation": "{oops"},
        ),
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert html.count("The criteria are not valid JSON") >= 2  # criteria and the rule
    assert not Transition.objects.for_org(ent.org).exists()


@pytest.mark.django_db
def test_bp20_a_seventeenth_connection_from_one_state_is_refused(client, ent):
    names = ["Open"] + [f"Step {n}" for n in range(1, 18)]
    blueprint = _blueprint(ent, statuses=names, status="draft")
    states = {s.status.name: s for s in blueprint.states.select_related("status")}
    for n in range(1, 17):
        bp.transition_save(
            actor=ent.admin,
            blueprint=blueprint,
            data=bp.TransitionInput(
                name=f"To {n}", to_state=states[f"Step {n}"], from_states=[states["Open"]]
            ),
        )
    response = _admin(client, ent).post(
        _url(ent, "transition_create", blueprint_id=blueprint.pk),
        _transition_post(
            ent,
            blueprint,
            name="To 17",
            from_states=[states["Open"].pk],
            to_state=states["Step 17"].pk,
        ),
    )
    assert response.status_code == 400
    assert "“Open” would connect to 17 states; a state connects to at most 16." in (
        response.content.decode()
    )
    assert Transition.objects.for_org(ent.org).filter(blueprint=blueprint).count() == 16


@pytest.mark.django_db
def test_bp20_transitions_over_the_plan_limit_are_refused(client, ent):
    ent.org.plan = "professional"  # 1 common transition per blueprint
    ent.org.save(update_fields=["plan"])
    blueprint = _blueprint(ent, statuses=("Open", "Approved", "Rejected"), status="draft")
    states = {s.status.name: s for s in blueprint.states.select_related("status")}
    bp.transition_save(
        actor=ent.admin,
        blueprint=blueprint,
        data=bp.TransitionInput(name="Reject", to_state=states["Rejected"], is_common=True),
    )
    response = _admin(client, ent).post(
        _url(ent, "transition_create", blueprint_id=blueprint.pk),
        _transition_post(ent, blueprint, name="Cancel", is_common="on", from_states=[]),
    )
    assert response.status_code == 400
    assert "Your plan allows 1 common transitions per blueprint." in response.content.decode()
    assert Transition.objects.for_org(ent.org).count() == 1


@pytest.mark.django_db
def test_bp16_delete_a_transition(client, ent):
    blueprint = _blueprint(ent, statuses=("Open", "Approved"), status="draft")
    states = {s.status.name: s for s in blueprint.states.select_related("status")}
    transition = bp.transition_save(
        actor=ent.admin,
        blueprint=blueprint,
        data=bp.TransitionInput(
            name="Approve", to_state=states["Approved"], from_states=[states["Open"]]
        ),
    )
    response = _admin(client, ent).post(
        _url(ent, "transition_delete", blueprint_id=blueprint.pk, transition_id=transition.pk),
        follow=True,
    )
    assert "Transition “Approve” deleted." in response.content.decode()
    assert not Transition.objects.for_org(ent.org).exists()


@pytest.mark.django_db
def test_bp_settings_pages_answer_in_japanese(client, ent):
    blueprint = _blueprint(ent, statuses=("Open", "Approved"), status="draft")
    ent.admin.user.language = "ja"
    ent.admin.user.save(update_fields=["language"])
    _admin(client, ent)
    page = client.get(_url(ent, "department", dept_id=ent.department.pk), HTTP_ACCEPT_LANGUAGE="ja")
    assert "ブループリント" in page.content.decode()
    page = client.get(_url(ent, "process", blueprint_id=blueprint.pk), HTTP_ACCEPT_LANGUAGE="ja")
    assert "遷移" in page.content.decode()


@pytest.mark.django_db
def test_bp11_link_reusable_after_actions_of_the_department(client, ent):
    from blueprints.models import AfterAction, TransitionAfterAction

    blueprint = _blueprint(ent, statuses=("Open", "Approved"), status="draft")
    mail = AfterAction.objects.create(
        org=ent.org, department=ent.department, name="Tell the customer", type="email"
    )
    AfterAction.objects.create(
        org=ent.org, department=ent.other_department, name="Billing only", type="task"
    )
    _admin(client, ent)
    page = client.get(_url(ent, "transition_create", blueprint_id=blueprint.pk)).content.decode()
    assert "Tell the customer" in page and "Billing only" not in page
    for name in ("Approve", "Approve again"):
        response = client.post(
            _url(ent, "transition_create", blueprint_id=blueprint.pk),
            _transition_post(ent, blueprint, name=name, after_actions=[mail.pk]),
        )
        assert response.status_code == 302
    # One action serves both transitions (BP-11: existing actions are reused).
    assert TransitionAfterAction.objects.for_org(ent.org).filter(action=mail).count() == 2


@pytest.mark.django_db(transaction=True)
def test_bp18_the_removal_job_runs_on_a_real_worker(client, ent, redis_worker):  # noqa: F811
    """The list's button queues the job after commit; a Celery worker over Redis (ScopedTask,
    row-level security) takes every ticket out, and the progress fragment shows it done."""
    import time

    blueprint = _blueprint(ent)
    for n in range(3):
        ent.ticket(subject=f"Worker {n}")
    _admin(client, ent).post(_url(ent, "remove_all", blueprint_id=blueprint.pk))
    job = RemovalJob.objects.for_org(ent.org).get(blueprint=blueprint)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.finished:
            break
        time.sleep(0.2)
    assert (job.status, job.done, job.total) == (RemovalStatus.DONE, 3, 3)
    assert not TicketBlueprint.objects.for_org(ent.org).filter(blueprint=blueprint).exists()
    assert TicketHistory.objects.for_org(ent.org).filter(action="blueprint_removed").count() == 3
    fragment = client.get(_url(ent, "removal", removal_id=job.pk), HTTP_HX_REQUEST="true")
    assert b"3 of 3 tickets" in fragment.content


@pytest.mark.django_db
def test_bp20_save_and_activate_over_the_plan_limit_saves_nothing(client, ent):
    ent.org.plan = "professional"
    ent.org.save(update_fields=["plan"])
    _blueprint(ent, "First")
    second = _blueprint(ent, "Second", status="draft")
    response = _admin(client, ent).post(
        _url(ent, "edit", blueprint_id=second.pk),
        {
            "name": "Second, renamed",
            "department": ent.department.pk,
            "applies": "all",
            "restriction": "off",
            "save": "active",
        },
    )
    assert response.status_code == 400
    assert "Your plan allows 1 active blueprint per department" in response.content.decode()
    second.refresh_from_db()
    assert (second.name, second.status) == ("Second", BlueprintStatus.DRAFT)


@pytest.mark.django_db
def test_bp21_after_a_move_the_focus_stays_on_the_moved_blueprint(client, ent):
    _blueprint(ent, "A", status="draft")
    b = _blueprint(ent, "B", status="draft")
    _admin(client, ent)
    response = client.post(_url(ent, "action", blueprint_id=b.pk), {"action": "up"}, follow=True)
    html = response.content.decode()
    row = html[html.index('data-blueprint="B"') : html.index('data-blueprint="A"')]
    assert "autofocus" in row and "Move B down" in row
