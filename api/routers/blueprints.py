"""Blueprint transitions over the API (issue 16, item 1; BP-25): those of a ticket's current
state, with whether the token's member may execute each and the reasons when not; executing
one with its during fields goes through the engine the ticket page calls
(`complete_transition`: the same owner rules, conditions, fields, actions, history, log and
after-actions)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from ninja import Router, Schema
from pydantic import ConfigDict, Field

from blueprints import engine
from blueprints.models import Transition
from helpdesk.http import client_ip
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services.access import ticket_for_member

from ..base import api, desk_member, problem_responses
from ..problems import field_errors, problem
from ..schemas import Ref, TicketOut
from .tickets import RELATED, ticket_out

router = Router(tags=["blueprints"])


class StateOut(Schema):
    id: int
    name: str = Field(description="The state's status.")


class FieldOut(Schema):
    field: str = Field(description="`priority`, `due_at` or `cf.<key>` (a custom field).")
    mandatory: bool
    missing: bool = Field(description="Mandatory and empty on the ticket now.")


class ActionOut(Schema):
    kind: str
    label: str
    done: bool


class TransitionOut(Schema):
    id: int
    name: str
    to: StateOut
    can_execute: bool = Field(description="The member is an owner and every condition holds.")
    ready: bool = Field(description="Executable now: no mandatory field or action missing.")
    reasons: list[str] = Field(description="Why the member cannot execute it.")
    owners: list[str]
    fields: list[FieldOut]
    actions: list[ActionOut] = Field(description="What must be done first, in this order.")


class TransitionsOut(Schema):
    blueprint: Ref | None
    state: StateOut | None
    transitions: list[TransitionOut]


class TransitionIn(Schema):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any] = Field(
        default_factory=dict,
        description="The transition's fields by name (`priority`, `due_at`, `cf.<key>`).",
    )
    expected_state: int | None = Field(
        None, ge=1, description="The state you saw: refused (409) if the ticket has moved."
    )


class TransitionDone(Schema):
    transition: Ref
    state: StateOut
    ticket: TicketOut


@api.exception_handler(engine.TransitionConflict)
def _conflict(request: HttpRequest, exc: engine.TransitionConflict) -> HttpResponse:
    errors = field_errors(exc)
    return problem(409, next(iter(errors.values()), [""])[0], errors)


def _ticket(membership: Membership, number: int) -> Ticket:
    """The ticket if the member sees it, or owns one of its pending transitions (BP-22), as
    on the ticket page."""
    try:
        return ticket_for_member(membership, number, related=RELATED)
    except Http404:
        ticket = (
            Ticket.objects.for_org(membership.org)
            .select_related(*RELATED)
            .filter(number=number)
            .first()
        )
        if ticket is None:
            raise
        _i, options = engine.available_transitions(ticket, membership)
        if not any(o.is_owner for o in options):
            raise
        return ticket


def _state(state) -> dict[str, Any]:
    return {"id": state.pk, "name": state.status.name}


def _option_out(option: engine.Option) -> dict[str, Any]:
    t = option.transition
    return {
        "id": t.pk,
        "name": t.name,
        "to": _state(t.to_state),
        "can_execute": option.can_execute,
        "ready": option.ready,
        "reasons": [str(r) for r in option.reasons],
        "owners": [str(o) for o in option.owners],
        "fields": [
            {
                "field": f.field,
                "mandatory": f.mandatory,
                "missing": f.field in option.missing_fields,
            }
            for f in t.fields.all()
        ],
        "actions": [
            {"kind": kind, "label": str(label), "done": done}
            for kind, label, done in option.actions
        ],
    }


@router.get(
    "/tickets/{int:number}/transitions", response={200: TransitionsOut, **problem_responses()}
)
def ticket_transitions(request: HttpRequest, number: int):
    """The transitions from the ticket's blueprint state, for the token's member."""
    membership = desk_member(request)
    ticket = _ticket(membership, number)
    instance, options = engine.available_transitions(ticket, membership)
    if instance is None:
        return {"blueprint": None, "state": None, "transitions": []}
    return {
        "blueprint": {"id": instance.blueprint.pk, "name": instance.blueprint.name},
        "state": _state(instance.state),
        "transitions": [_option_out(o) for o in options],
    }


@router.post(
    "/tickets/{int:number}/transitions/{int:transition_id}",
    response={200: TransitionDone, **problem_responses()},
)
def ticket_transition_execute(
    request: HttpRequest, number: int, transition_id: int, payload: TransitionIn
):
    """Execute the transition with its during fields (`data`). Refused with the reasons (403),
    the fields or actions missing (422), or a conflict when the ticket moved (409)."""
    membership = desk_member(request)
    ticket = _ticket(membership, number)
    transition = (
        Transition.objects.for_org(membership.org)
        .select_related("to_state__status", "blueprint")
        .filter(pk=transition_id)
        .first()
    )
    if transition is None:
        raise Http404
    engine.complete_transition(
        ticket=ticket,
        transition=transition,
        membership=membership,
        data=dict(payload.data),
        expected_state=payload.expected_state,
        ip=client_ip(request),
    )
    fresh = Ticket.objects.for_org(membership.org).select_related(*RELATED).get(pk=ticket.pk)
    return {
        "transition": {"id": transition.pk, "name": transition.name},
        "state": _state(transition.to_state),
        "ticket": ticket_out(fresh),
    }
