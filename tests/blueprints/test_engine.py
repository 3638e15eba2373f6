"""The blueprint engine: the seed's scenarios (000: an approval process, the flight booking
that needs the meal preference, a return process with a common "Reject return"), entering in
list order, owners, the window and its ordered actions, auto-transitions, restricted mode,
reassignment and removal."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from blueprints import engine
from blueprints.models import (
    AutoTrigger,
    DuringAction,
    LogKind,
    OwnerKind,
    Restriction,
    TicketBlueprint,
    TransitionLog,
)
from blueprints.services import FieldInput, OwnerInput
from helpdesk.tickets.models import CustomField, Thread, TicketHistory
from helpdesk.tickets.services.incoming import thread_incoming_add
from helpdesk.tickets.services.threads import thread_add
from helpdesk.tickets.services.tickets import TicketInput, ticket_update

pytestmark = pytest.mark.django_db


def _state(ticket):
    return TicketBlueprint.objects.get(ticket=ticket).state


def _option(ticket, member, name):
    _i, options = engine.available_transitions(ticket, member)
    return next(o for o in options if o.transition.name == name)


def test_bp01_bp21_approval_process_awaiting_approval_to_approved(make):
    """Seed: [Awaiting approval] and [Approved] joined by the transition "Approve"."""
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Awaiting approval", "Approved"))
    make.transition(blueprint, "Submit", states["Awaiting approval"], [states["Open"]])
    make.transition(
        blueprint,
        "Approve",
        states["Approved"],
        [states["Awaiting approval"]],
        owners=[OwnerInput(kind=OwnerKind.ROLE, role="admin")],
    )
    ticket = desk.ticket()
    assert _state(ticket).status.name == "Open"  # entered on create (BP-21)
    engine.complete_transition(
        ticket=ticket, transition=blueprint.transitions.get(name="Submit"), membership=desk.agent
    )
    ticket.refresh_from_db()
    assert ticket.status.name == "Awaiting approval"
    # Bob is not an admin: he sees why he cannot approve (BP-23, BP-25).
    option = _option(ticket, desk.agent, "Approve")
    assert not option.can_execute
    assert "Only role Admin may execute this transition." in option.reasons
    with pytest.raises(PermissionDenied):
        engine.complete_transition(
            ticket=ticket,
            transition=blueprint.transitions.get(name="Approve"),
            membership=desk.agent,
        )
    engine.complete_transition(
        ticket=ticket, transition=blueprint.transitions.get(name="Approve"), membership=desk.admin
    )
    ticket.refresh_from_db()
    assert ticket.status.name == "Approved"
    log = TransitionLog.objects.filter(ticket=ticket, kind=LogKind.TRANSITION).order_by("pk")
    assert [(e.name, e.actor_id) for e in log] == [
        ("Submit", desk.agent.user_id),
        ("Approve", desk.admin.user_id),
    ]
    assert log.last().seconds_in_state is not None
    # The status change is in the ticket's history, by its actor.
    moved = TicketHistory.objects.filter(ticket=ticket, action="blueprint_transition")
    assert moved.filter(changes__has_key="status", actor=desk.admin.user).exists()


def test_bp08_cannot_book_the_flight_without_the_meal_preference(make):
    """Seed: the agent cannot book the flight without updating the customer's meal
    preference: a mandatory custom field with a validation rule and its warning."""
    desk = make.desk
    CustomField.objects.create(
        org=desk.org,
        department=desk.department,
        label="Meal preference",
        key="meal",
        type="picklist",
        choices=["none", "vegetarian", "halal", "kosher"],
    )
    blueprint, states = make.blueprint(name="Flight", statuses=("Open", "Booked"))
    book = make.transition(
        blueprint,
        "Book the flight",
        states["Booked"],
        [states["Open"]],
        fields=[
            FieldInput(
                field="cf.meal",
                mandatory=True,
                validation={"field": "cf.meal", "op": "is_not", "value": "none"},
                warning="Ask the customer for a real meal preference.",
            )
        ],
        message="Confirm the seat and the meal.",
    )
    ticket = desk.ticket()
    assert _option(ticket, desk.agent, "Book the flight").missing_fields == ["cf.meal"]
    with pytest.raises(ValidationError) as missing:
        engine.complete_transition(ticket=ticket, transition=book, membership=desk.agent)
    assert "cf.meal" in missing.value.message_dict
    with pytest.raises(ValidationError) as warned:
        engine.complete_transition(
            ticket=ticket, transition=book, membership=desk.agent, data={"cf.meal": "none"}
        )
    assert warned.value.message_dict["cf.meal"] == ["Ask the customer for a real meal preference."]
    ticket.refresh_from_db()
    assert ticket.status.name == "Open" and "meal" not in ticket.custom_fields
    engine.complete_transition(
        ticket=ticket, transition=book, membership=desk.agent, data={"cf.meal": "halal"}
    )
    ticket.refresh_from_db()
    assert ticket.status.name == "Booked"
    assert ticket.custom_fields["meal"] == "halal"
    entry = TransitionLog.objects.get(ticket=ticket, kind=LogKind.TRANSITION)
    assert entry.data == {"cf.meal": "halal"}


def test_bp12_return_process_common_reject_from_every_state(make):
    """Seed: a return process; "Reject return" is common: executable from every state."""
    desk = make.desk
    blueprint, states = make.blueprint(
        name="Return",
        statuses=("Open", "Return requested", "Item received", "Refunded", "Rejected"),
    )
    make.transition(blueprint, "Request", states["Return requested"], [states["Open"]])
    make.transition(
        blueprint, "Receive item", states["Item received"], [states["Return requested"]]
    )
    make.transition(blueprint, "Refund", states["Refunded"], [states["Item received"]])
    reject = make.transition(blueprint, "Reject return", states["Rejected"], is_common=True)
    for path in ([], ["Request"], ["Request", "Receive item"]):
        ticket = desk.ticket()
        for name in path:
            engine.complete_transition(
                ticket=ticket,
                transition=blueprint.transitions.get(name=name),
                membership=desk.agent,
            )
        names = [o.transition.name for o in engine.available_transitions(ticket, desk.agent)[1]]
        assert "Reject return" in names
        engine.complete_transition(ticket=ticket, transition=reject, membership=desk.agent)
        ticket.refresh_from_db()
        assert ticket.status.name == "Rejected"


def test_bp09_bp13_actions_count_inside_the_window_in_order(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Answered"))
    answer = make.transition(
        blueprint,
        "Answer",
        states["Answered"],
        [states["Open"]],
        actions=[DuringAction.COMMENT, DuringAction.REPLY],
    )
    ticket = desk.ticket()
    # Outside the window: does not count (BP-13).
    thread_add(actor=desk.agent, ticket=ticket, kind=Thread.Kind.COMMENT, body="early note")
    option = _option(ticket, desk.agent, "Answer")
    assert [done for *_x, done in option.actions] == [False, False]
    engine.start_transition(ticket=ticket, transition=answer, membership=desk.agent)
    # Out of order: the reply before the comment does not count (BP-09).
    thread_add(actor=desk.agent, ticket=ticket, kind=Thread.Kind.REPLY, body="Hello")
    assert [d for *_x, d in _option(ticket, desk.agent, "Answer").actions] == [False, False]
    with pytest.raises(ValidationError) as exc:
        engine.complete_transition(ticket=ticket, transition=answer, membership=desk.agent)
    assert "Comment, Reply" in exc.value.message_dict["actions"][0]
    thread_add(actor=desk.agent, ticket=ticket, kind=Thread.Kind.COMMENT, body="checked")
    thread_add(actor=desk.agent, ticket=ticket, kind=Thread.Kind.REPLY, body="Fixed")
    assert [d for *_x, d in _option(ticket, desk.agent, "Answer").actions] == [True, True]
    engine.complete_transition(ticket=ticket, transition=answer, membership=desk.agent)
    ticket.refresh_from_db()
    assert ticket.status.name == "Answered"


def test_bp03_continuous_blueprint_opens_the_next_transition(make):
    desk = make.desk
    blueprint, states = make.blueprint(
        name="Call script", statuses=("Open", "Greeted", "Verified"), is_continuous=True
    )
    greet = make.transition(blueprint, "Greet", states["Greeted"], [states["Open"]])
    verify = make.transition(blueprint, "Verify", states["Verified"], [states["Greeted"]])
    ticket = desk.ticket()
    done = engine.complete_transition(ticket=ticket, transition=greet, membership=desk.agent)
    assert done.next_window is not None and done.next_window.transition_id == verify.pk


def test_bp06_owners_ticket_owner_agent_team_and_nobody(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Done", "Checked"))
    mine = make.transition(
        blueprint,
        "Close mine",
        states["Done"],
        [states["Open"]],
        owners=[OwnerInput(kind=OwnerKind.TICKET_OWNER)],
    )
    anyone = make.transition(blueprint, "Check", states["Checked"], [states["Open"]])
    ticket = desk.ticket(owner=desk.agent.user)
    assert _option(ticket, desk.agent, "Close mine").can_execute
    assert not _option(ticket, desk.restricted, "Close mine").can_execute
    # No owner: anyone of the department; Ada (Billing) is not.
    assert _option(ticket, desk.restricted, "Check").can_execute
    with pytest.raises(PermissionDenied):
        engine.complete_transition(ticket=ticket, transition=anyone, membership=desk.other_agent)
    assert mine.pk


def test_bp07_criteria_make_a_transition_available_and_say_why_not(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Escalated"))
    make.transition(
        blueprint,
        "Escalate",
        states["Escalated"],
        [states["Open"]],
        criteria={"field": "priority", "op": "is", "value": "urgent"},
    )
    ticket = desk.ticket()
    option = _option(ticket, desk.agent, "Escalate")
    assert option.reasons == ["Condition not met: Priority is Urgent"]
    ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(priority="urgent"))
    assert _option(ticket, desk.agent, "Escalate").can_execute


def test_bp16_before_settings_are_kept_from_entry(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Done"))
    data = dict(name="Finish", to=states["Done"], froms=[states["Open"]])
    finish = make.transition(blueprint, **data)
    early = desk.ticket()
    # The admin restricts the owners afterwards: only tickets entering from now on see it.
    from blueprints import services as bp

    bp.transition_save(
        actor=desk.admin,
        blueprint=blueprint,
        transition=finish,
        data=bp.TransitionInput(
            name="Finish",
            to_state=states["Done"],
            from_states=[states["Open"]],
            owners=[OwnerInput(kind=OwnerKind.AGENT, user_id=desk.admin.user_id)],
        ),
    )
    late = desk.ticket()
    assert _option(early, desk.agent, "Finish").can_execute
    assert not _option(late, desk.agent, "Finish").can_execute


def test_bp17_bp19_bp21_drafts_inactive_and_list_order(make):
    desk = make.desk
    draft, _s = make.blueprint(name="Draft one", status="draft")
    first, _s = make.blueprint(name="First")
    second, _s = make.blueprint(name="Second")
    ticket = desk.ticket()
    assert TicketBlueprint.objects.get(ticket=ticket).blueprint == first
    from blueprints import services as bp

    bp.blueprints_reorder(
        actor=desk.admin, department=desk.department, ids=[second.pk, first.pk, draft.pk]
    )
    assert TicketBlueprint.objects.get(ticket=desk.ticket()).blueprint == second
    bp.blueprint_set_status(actor=desk.admin, blueprint=second, status="inactive")
    bp.blueprint_set_status(actor=desk.admin, blueprint=first, status="inactive")
    assert not TicketBlueprint.objects.filter(ticket=desk.ticket()).exists()
    # The tickets already in them carry on (BP-19).
    assert TicketBlueprint.objects.filter(blueprint=first).count() == 1


def test_bp05_auto_transition_on_customer_reply(
    make, django_capture_on_commit_callbacks, monkeypatch
):
    desk = make.desk
    scheduled = []
    monkeypatch.setattr("blueprints.actions.schedule_after_actions", scheduled.append)
    blueprint, states = make.blueprint(statuses=("Open", "Waiting", "Customer replied"))
    make.transition(blueprint, "Ask", states["Waiting"], [states["Open"]])
    make.transition(
        blueprint,
        "Reply received",
        states["Customer replied"],
        [states["Waiting"]],
        auto_trigger=AutoTrigger.CUSTOMER_REPLY,
    )
    ticket = desk.ticket()
    engine.complete_transition(
        ticket=ticket, transition=blueprint.transitions.get(name="Ask"), membership=desk.agent
    )
    with django_capture_on_commit_callbacks(execute=True):
        thread_incoming_add(ticket=ticket, contact=desk.contact, body="Here it is")
    ticket.refresh_from_db()
    assert ticket.status.name == "Customer replied"
    auto = TransitionLog.objects.get(ticket=ticket, kind=LogKind.AUTO)
    assert scheduled == [auto]  # its after-actions, after commit (BP-11)


def test_bp05_a_reply_with_no_auto_transition_to_run_costs_one_read_and_no_lock(make):
    """Every incoming message asks for an auto-transition: a ticket in no blueprint, or in a
    state none leaves automatically, costs one read and locks nothing."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    desk = make.desk
    outside = desk.ticket()
    blueprint, states = make.blueprint(statuses=("Open", "Waiting"))
    make.transition(
        blueprint,
        "Reply received",
        states["Open"],
        [states["Waiting"]],
        auto_trigger=AutoTrigger.CUSTOMER_REPLY,
    )
    inside = desk.ticket()  # in "Open", which no auto-transition leaves
    assert TicketBlueprint.objects.filter(ticket=inside).exists()
    for ticket in (outside, inside):
        with CaptureQueriesContext(connection) as queries:
            engine.auto_transition(desk.org.pk, ticket.pk, AutoTrigger.CUSTOMER_REPLY)
        assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
        assert "FOR UPDATE" not in queries.captured_queries[0]["sql"]


def test_bp02_restricted_mode_refuses_actions_outside_a_transition(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Answered"), restriction=Restriction.ALL)
    answer = make.transition(
        blueprint, "Answer", states["Answered"], [states["Open"]], actions=[DuringAction.REPLY]
    )
    ticket = desk.ticket()
    with pytest.raises(PermissionDenied, match="restricted mode"):
        thread_add(actor=desk.agent, ticket=ticket, kind=Thread.Kind.REPLY, body="Hi")
    with pytest.raises(PermissionDenied):
        ticket_update(actor=desk.agent, ticket=ticket, data=TicketInput(priority="high"))
    engine.start_transition(ticket=ticket, transition=answer, membership=desk.agent)
    fresh = type(ticket).objects.get(pk=ticket.pk)
    thread_add(actor=desk.agent, ticket=fresh, kind=Thread.Kind.REPLY, body="Inside")
    engine.complete_transition(ticket=fresh, transition=answer, membership=desk.agent)


def test_bp14_reassign_a_pending_transition(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Done"), dynamic_reassignment=True)
    finish = make.transition(
        blueprint,
        "Finish",
        states["Done"],
        [states["Open"]],
        owners=[OwnerInput(kind=OwnerKind.AGENT, user_id=desk.agent.user_id)],
    )
    ticket = desk.ticket()
    with pytest.raises(PermissionDenied):
        engine.reassign_owner(
            ticket=ticket,
            transition=finish,
            membership=desk.restricted,
            user_id=desk.restricted.user_id,
        )
    engine.reassign_owner(
        ticket=ticket, transition=finish, membership=desk.agent, user_id=desk.other_agent.user_id
    )
    assert not _option(ticket, desk.agent, "Finish").can_execute
    # Ada works in another department: she executes the transition (BP-14, BP-22).
    engine.complete_transition(ticket=ticket, transition=finish, membership=desk.other_agent)
    ticket.refresh_from_db()
    assert ticket.status.name == "Done"


def test_bp18_remove_from_one_ticket_admins_only_with_history(make):
    desk = make.desk
    make.blueprint(statuses=("Open",))
    ticket = desk.ticket()
    with pytest.raises(PermissionDenied):
        engine.blueprint_remove(ticket=ticket, membership=desk.agent)
    engine.blueprint_remove(ticket=ticket, membership=desk.admin)
    assert not TicketBlueprint.objects.filter(ticket=ticket).exists()
    assert TicketHistory.objects.filter(ticket=ticket, action="blueprint_removed").exists()
    # It does not come back on the next update.
    ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(priority="high"))
    assert not TicketBlueprint.objects.filter(ticket=ticket).exists()


def test_bp06_owners_of_another_department_get_the_ticket_shared(make):
    """Owners from another department: the ticket is shared with it at the chosen access level
    when it enters the blueprint, and the history names the blueprint."""
    from helpdesk.tickets.collab.models import TicketShare

    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Checked"))
    make.transition(
        blueprint,
        "Billing check",
        states["Checked"],
        [states["Open"]],
        owners=[OwnerInput(kind=OwnerKind.DEPARTMENT, department=desk.other_department, access=2)],
    )
    ticket = desk.ticket()
    share = TicketShare.objects.get(ticket=ticket)
    assert (share.department, share.level) == (desk.other_department, 2)
    row = TicketHistory.objects.get(ticket=ticket, action="share_granted")
    assert row.changes["_rule"] == "Blueprint: Approval" and row.actor is None
    # Ada of Billing owns the transition and executes it.
    engine.complete_transition(
        ticket=ticket,
        transition=blueprint.transitions.get(name="Billing check"),
        membership=desk.other_agent,
    )
    ticket.refresh_from_db()
    assert ticket.status.name == "Checked"


def test_bp05_the_message_that_opens_a_ticket_is_no_customer_reply(
    make, django_capture_on_commit_callbacks
):
    """The seed's auto-transition runs "when a customer's reply arrives": a ticket a customer
    opens by mail (or in the help center, with files) stays in the state it entered; their
    next message moves it."""
    from helpdesk.tickets.models import Ticket
    from helpdesk.tickets.services.incoming import IncomingMessage, ticket_create_with_message

    desk = make.desk
    make.reply_blueprint()
    with django_capture_on_commit_callbacks(execute=True):
        thread = ticket_create_with_message(
            org=desk.org,
            contact=desk.contact,
            department=desk.department,
            subject="Printer on fire",
            message=IncomingMessage(body="It smokes."),
        )
    ticket = Ticket.objects.get(pk=thread.ticket_id)
    assert _state(ticket).status.name == "Open"
    assert not TransitionLog.objects.filter(ticket=ticket, kind=LogKind.AUTO).exists()
    with django_capture_on_commit_callbacks(execute=True):
        thread_incoming_add(ticket=ticket, contact=desk.contact, body="Still smoking.")
    assert _state(ticket).status.name == "Customer replied"
