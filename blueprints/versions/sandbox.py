"""Try a blueprint before publishing it: a sample ticket in memory, never saved, run through the
blueprint's transitions as a chosen member.

The run is plain data (`Run`): the ticket's fields, the state it is in, who acts, the steps
taken. The page carries it signed in a hidden field, so the trial writes nothing: no ticket, no
blueprint instance, no history, no log, no mail, no after-action. Each step rebuilds the
ticket and a blueprint instance in memory and asks the engine's own `available_transitions`
which transitions the member may take and why not, and validates the during fields with the
engine's own rules (`_during_values`). During actions (reply, comment, …) cannot be done on a
ticket that does not exist: the trial lists them and counts them as done."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.fields import validate_custom_values
from helpdesk.tickets.models import CustomField, Priority, Ticket

from ..engine import definitions as compiled_definitions
from ..engine.moving import _during_values
from ..engine.options import Option, available_transitions
from ..models import Blueprint, TicketBlueprint

SALT = "blueprints.sandbox"


@dataclass
class Run:
    """A trial: the sample ticket's fields, its state, the member acting and the steps taken."""

    blueprint: int
    state: int  # a State of the blueprint
    actor: int  # the user id of the member acting
    priority: str = Priority.MEDIUM
    owner: int | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)
    due_at: str | None = None
    template: int | None = None  # the number of the real ticket copied, if any
    steps: list[dict[str, Any]] = field(default_factory=list)


def dump(run: Run) -> str:
    return signing.dumps(asdict(run), salt=SALT, compress=True)


def load(blueprint: Blueprint, token: str) -> Run:
    """The run the page carries; ValidationError when it was changed or is of another
    blueprint."""
    try:
        data = signing.loads(token or "", salt=SALT)
        run = Run(**data)
    except (signing.BadSignature, TypeError):
        raise ValidationError(_("The trial could not be read; start it again.")) from None
    if run.blueprint != blueprint.pk:
        raise ValidationError(_("The trial could not be read; start it again."))
    return run


def _compiled(blueprint: Blueprint) -> Any:
    defs = compiled_definitions.current(blueprint.org_id)
    compiled = defs.blueprint(blueprint.pk)
    if compiled is None:  # saved a moment ago, the token not yet read again
        defs = compiled_definitions.current(blueprint.org_id, fresh=True)
        compiled = defs.blueprint(blueprint.pk)
    return defs, compiled


def _member(actor: Membership, user_id: Any) -> Membership:
    found = (
        Membership.objects.filter(org=actor.org, user_id=user_id, status=Membership.Status.ACTIVE)
        .select_related("user", "org")
        .first()
        if str(user_id or "").isdigit()
        else None
    )
    if found is None:
        raise ValidationError({"actor": [_("Choose a member of your organization.")]})
    return found


def start(
    *,
    actor: Membership,
    blueprint: Blueprint,
    template: str = "",
    state: Any = None,
    priority: str = "",
    owner: Any = None,
    custom_fields: dict[str, Any] | None = None,
    act_as: Any = None,
) -> Run:
    """A new trial: the fields of a real ticket of the department (`template`, its number), or
    those given by hand. Nothing is written."""
    ensure_same_org(actor.org, blueprint)
    _defs, compiled = _compiled(blueprint)
    if not compiled.states:
        raise ValidationError(_("Add the blueprint's states first."))
    errors: dict[str, list[str]] = {}
    member = None
    try:
        member = _member(actor, act_as)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    template = (template or "").strip().lstrip("#")
    if template:
        ticket = (
            Ticket.objects.for_org(actor.org)
            .filter(number=template, department_id=blueprint.department_id)
            .first()
            if template.isdigit()
            else None
        )
        if ticket is None:
            errors["template"] = [
                _("There is no ticket #%(number)s in the department %(department)s.")
                % {"number": template, "department": blueprint.department.name}
            ]
        elif ticket.status_id not in compiled.state_by_status:
            errors["template"] = [
                _("Ticket #%(number)s is in a status that is not a state of this blueprint.")
                % {"number": template}
            ]
        if errors:
            raise ValidationError(errors)
        assert ticket is not None and member is not None
        return Run(
            blueprint=blueprint.pk,
            state=compiled.state_by_status[ticket.status_id].pk,
            actor=member.user_id,
            priority=ticket.priority,
            owner=ticket.owner_id,
            custom_fields=dict(ticket.custom_fields or {}),
            due_at=ticket.due_at.isoformat() if ticket.due_at else None,
            template=ticket.number,
        )
    state_id = int(state) if str(state or "").isdigit() else None
    if state_id not in compiled.state_by_id:
        errors["state"] = [_("Choose one of the blueprint's states.")]
    if priority not in Priority.values:
        errors["priority"] = [_("Choose a priority.")]
    owner_id = None
    if owner not in (None, ""):
        try:
            owner_id = _member(actor, owner).user_id
        except ValidationError:
            errors["owner"] = [_("Choose a member of your organization.")]
    definitions = CustomField.objects.for_org(actor.org).filter(
        department_id=blueprint.department_id
    )
    given = {k: v for k, v in (custom_fields or {}).items() if v not in (None, "")}
    custom: dict[str, Any] = {}
    try:
        custom = validate_custom_values(list(definitions), given, partial=True)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors[f"cf.{key}"] = messages
    if errors:
        raise ValidationError(errors)
    assert member is not None and state_id is not None
    return Run(
        blueprint=blueprint.pk,
        state=state_id,
        actor=member.user_id,
        priority=priority,
        owner=owner_id,
        custom_fields=_json(custom),
    )


def _json(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else v for k, v in values.items()
    }


def sample(blueprint: Blueprint, run: Run, compiled: Any) -> Ticket:
    """The run's ticket, in memory only."""
    state = compiled.state_by_id[run.state]
    ticket = Ticket(
        org=blueprint.org,
        number=run.template or 0,
        subject=_("Trial ticket"),
        department=blueprint.department,
        status=state.status,
        status_kind=state.status.kind,
        priority=run.priority or Priority.values[0],
        owner_id=run.owner,
        custom_fields=dict(run.custom_fields),
        due_at=dt.datetime.fromisoformat(run.due_at) if run.due_at else None,
    )
    return ticket


def _instance(blueprint: Blueprint, run: Run, defs: Any, compiled: Any) -> TicketBlueprint:
    """A blueprint instance in memory, as a ticket entering now would have it. Its id 0 is no
    row's: the engine's look-ups of overrides and windows find none."""
    instance = TicketBlueprint(
        id=0,
        org_id=blueprint.org_id,
        blueprint_id=blueprint.pk,
        state_id=run.state,
        entered_at=timezone.now(),
        started_at=timezone.now(),
        before=compiled.before(),
    )
    compiled_definitions.attach(instance, defs)
    return instance


@dataclass
class View:
    """What the trial page shows: the sample ticket, its state and every transition from it
    with whether the member may take it and why not."""

    run: Run
    ticket: Ticket
    state_name: str
    member: Membership
    options: list[Option]


def view(*, actor: Membership, blueprint: Blueprint, run: Run) -> View:
    ensure_same_org(actor.org, blueprint)
    defs, compiled = _compiled(blueprint)
    if run.state not in compiled.state_by_id:
        raise ValidationError(
            _("That state was removed from the blueprint; start the trial again.")
        )
    member = _member(actor, run.actor)
    ticket = sample(blueprint, run, compiled)
    instance = _instance(blueprint, run, defs, compiled)
    _i, options = available_transitions(ticket, member, instance=instance)
    for option in options:  # during actions cannot be done on a sample ticket: counted done
        option.actions = [(kind, label, True) for kind, label, _done in option.actions]
    return View(
        run=run,
        ticket=ticket,
        state_name=compiled.state_by_id[run.state].status.name,
        member=member,
        options=options,
    )


def take(
    *, actor: Membership, blueprint: Blueprint, run: Run, transition: Any, data: dict[str, Any]
) -> Run:
    """The run after the member takes `transition` (its id) with the during fields `data`,
    checked as the engine checks them; nothing is written."""
    current = view(actor=actor, blueprint=blueprint, run=run)
    option = next(
        (o for o in current.options if str(o.transition.pk) == str(transition or "")), None
    )
    if option is None:
        raise ValidationError(
            {"transition": [_("That transition does not start from the current state.")]}
        )
    if not option.can_execute:
        raise ValidationError({"transition": option.reasons})
    defs, compiled = _compiled(blueprint)
    values, errors = _during_values(current.ticket, option.transition, data, defs)
    if errors:
        raise ValidationError(errors)
    target = option.transition.to_state
    custom = {**run.custom_fields, **_json(values.get("custom_fields", {}))}
    due = values.get("due_at")
    return Run(
        blueprint=run.blueprint,
        state=target.pk,
        actor=run.actor,
        priority=values.get("priority", run.priority),
        owner=run.owner,
        custom_fields=custom,
        due_at=due.isoformat() if due else run.due_at,
        template=run.template,
        steps=[
            *run.steps,
            {
                "transition": option.transition.name,
                "from": current.state_name,
                "to": target.status.name,
                "values": {k: str(v) for k, v in data.items() if v not in (None, "")},
                "after_actions": getattr(option.transition, "after_action_count", 0),
            },
        ],
    )
