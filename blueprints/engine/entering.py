"""Entering a blueprint: the pipeline's last step (TKT-09, BP-21), the "before" snapshot
(BP-16), a status moved outside transitions; stored conditions, parsed. Definitions come from
the organization's compiled, cached definitions (`definitions`): the step reads only the
version token, and writes the instance and its log entry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext as _

from helpdesk.bulkinsert import insert_together
from helpdesk.tickets import pipeline
from helpdesk.tickets.collab.services.shares import ticket_share_for_process
from helpdesk.tickets.conditions import matches
from helpdesk.tickets.conditions.parse import Condition
from helpdesk.tickets.models import Ticket

from ..models import (
    Blueprint,
    LogKind,
    OwnerKind,
    TicketBlueprint,
    TransitionLog,
)
from ..visits import state_visit
from . import definitions
from .common import _moving, close_windows, move_instance  # noqa: F401
from .definitions import Compiled, Definitions


# --- Entering (BP-21) ----------------------------------------------------------------------------
def _candidates(ticket: Ticket, defs: Definitions) -> list[Compiled]:
    """Active blueprints of the ticket's department with a state for its status, in order."""
    return [c for c in defs.active(ticket.department_id) if ticket.status_id in c.state_by_status]


# The compiled definitions one engine call works with (None: read them for the organization).
Schemas = Definitions | None


def _condition(
    org: Any, department: Any, raw: dict[str, Any], schemas: Schemas = None, name: Any = None
) -> Condition | None:
    """A stored condition, parsed (None: it no longer parses, e.g. a field was removed), from
    the organization's compiled definitions: parsed once per process and definition version,
    not per ticket."""
    defs = schemas if schemas is not None else definitions.current(org.pk)
    return defs.condition(org, getattr(department, "pk", department), raw, name)


def _meets(
    ticket: Ticket,
    raw: dict[str, Any],
    now: dt.datetime,
    schemas: Schemas = None,
    name: Any = None,
) -> bool:
    """Whether the ticket meets a stored condition (`name`: see `Definitions.condition`)."""
    if not raw:
        return True
    condition = _condition(ticket.org, ticket.department_id, raw, schemas, name)
    return condition is not None and matches(condition, ticket, now=now)


def enter(
    ticket: Ticket,
    blueprint: Blueprint | Compiled,
    *,
    now: dt.datetime,
    actor: Any = None,
    defs: Definitions | None = None,
    first: bool = False,
) -> Any:
    """The ticket enters the blueprint in the state of its status, keeping the "before"
    snapshot (BP-16) of the compiled definition; logged. `first`: the ticket is being
    created (the state-visit listeners need not look for an earlier visit)."""
    compiled = (
        blueprint
        if isinstance(blueprint, Compiled)
        else (defs or definitions.current(ticket.org_id)).blueprint(blueprint.pk)
    )
    assert compiled is not None
    blueprint = compiled.blueprint
    state = compiled.state_by_status[ticket.status_id]
    instance = TicketBlueprint(
        org_id=ticket.org_id,
        ticket=ticket,
        blueprint=blueprint,
        state=state,
        entered_at=now,
        started_at=now,
        before=compiled.before(),
    )
    entry = TransitionLog(
        org_id=ticket.org_id,
        ticket=ticket,
        blueprint=blueprint,
        kind=LogKind.ENTERED,
        name=blueprint.name,
        to_status_id=ticket.status_id,
        actor=actor,
        at=now,
        data=_version_data(defs or definitions.current(ticket.org_id), blueprint.pk),
    )
    insert_together(instance, entry)  # one round trip for both
    _share_with_owner_departments(ticket, blueprint, instance.before)
    state_visit(ticket=ticket, left_id=None, entered_id=state.pk, at=now, first=first)
    return instance


def _version_data(defs: Definitions, blueprint_id: int) -> dict[str, Any]:
    """The version the ticket entered under, for its log (the blueprint panel names it)."""
    number = defs.version_number(blueprint_id)
    return {} if number is None else {"version": number}


def _share_with_owner_departments(
    ticket: Ticket, blueprint: Blueprint, before: dict[str, Any]
) -> None:
    """Owners of another department (BP-06): the ticket is shared with it at the owner rule's
    access level (the widest, if several), through the sharing service."""
    levels: dict[int, int] = {}
    for settings in before.values():
        for rule in settings["owners"]:
            if rule["kind"] == OwnerKind.DEPARTMENT and rule.get("department"):
                levels[rule["department"]] = max(levels.get(rule["department"], 0), rule["access"])
    if not levels:
        return
    from helpdesk.tenancy.models import Department

    process = _("Blueprint: %(name)s") % {"name": blueprint.name}
    for department in Department.objects.for_org(ticket.org_id).filter(pk__in=levels):
        ticket_share_for_process(
            ticket=ticket, department=department, level=levels[department.pk], process=process
        )


def blueprint_step(ctx: pipeline.Context) -> None:
    """The pipeline's last step (TKT-09)."""
    ticket = ctx.ticket
    if ticket.pk in _moving.get() or not ticket.org.limit("blueprints_per_department"):
        return
    # A ticket being created is in no blueprint yet, and was never removed from one.
    creating = ctx.event == "create" and ctx.depth == 0
    instance = None if creating else definitions.instance_for(ticket)
    if instance is not None:
        if instance.state.status_id == ticket.status_id:
            return
        if _status_moved(instance, ticket, ctx):
            return  # it followed the status within its blueprint
    defs = (
        instance.definitions  # type: ignore[attr-defined]
        if instance is not None
        else definitions.current(ticket.org_id)
    )
    candidates = _candidates(ticket, defs)
    if not candidates:
        return
    for compiled in candidates:
        blueprint = compiled.blueprint
        if not (
            blueprint.applies_to_all
            or _meets(ticket, blueprint.criteria, ctx.now, defs, ("blueprint", blueprint.pk))
        ):
            continue
        removed = not creating and (
            TransitionLog.objects.for_org(ticket.org_id)
            .filter(ticket_id=ticket.pk, kind=LogKind.REMOVED, blueprint=blueprint)
            .exists()
        )
        if removed:
            continue  # an admin took the ticket out of it (BP-18): it does not come back
        actor = ctx.actor.user if ctx.actor else None
        enter(ticket, compiled, now=ctx.now, actor=actor, defs=defs, first=creating)
        return


def _status_moved(instance: TicketBlueprint, ticket: Ticket, ctx: pipeline.Context) -> bool:
    """The status changed outside a transition (an edit, a rule): the ticket follows it within
    its blueprint (True), or leaves the blueprint when the status is not one of its states
    (False). `instance` comes from `definitions.instance_for`."""
    state = instance.compiled.state_by_status.get(ticket.status_id)  # type: ignore[attr-defined]
    old_status = instance.state.status_id
    seconds = int((ctx.now - instance.entered_at).total_seconds())
    actor = ctx.actor.user if ctx.actor else None
    close_windows(ticket.org_id, instance.pk)
    if state is None:
        instance.delete()
        state_visit(ticket=ticket, left_id=instance.state_id, entered_id=None, at=ctx.now)
        TransitionLog.objects.create(
            org_id=ticket.org_id,
            ticket=ticket,
            blueprint_id=instance.blueprint_id,
            kind=LogKind.LEFT,
            name=instance.blueprint.name,
            from_status_id=old_status,
            to_status_id=ticket.status_id,
            actor=actor,
            at=ctx.now,
            seconds_in_state=max(seconds, 0),
        )
        return False
    left_id = instance.state_id
    instance.state = state
    instance.entered_at = ctx.now
    move_instance(ticket.org_id, instance.pk, state.pk, ctx.now)
    state_visit(ticket=ticket, left_id=left_id, entered_id=state.pk, at=ctx.now)
    TransitionLog.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        blueprint_id=instance.blueprint_id,
        kind=LogKind.TRANSITION,
        name="",
        from_status_id=old_status,
        to_status_id=ticket.status_id,
        actor=actor,
        at=ctx.now,
        seconds_in_state=max(seconds, 0),
    )
    return True
