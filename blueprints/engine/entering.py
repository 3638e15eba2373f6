"""Entering a blueprint: the pipeline's last step (TKT-09, BP-21), the "before" snapshot
(BP-16), a status moved outside transitions; stored conditions, parsed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F
from django.utils.translation import gettext as _

from helpdesk.tickets import pipeline
from helpdesk.tickets.collab.services.shares import ticket_share_for_process
from helpdesk.tickets.conditions import (
    ConditionError,
    matches,
    parse,
    schema_for,
)
from helpdesk.tickets.conditions.parse import Condition
from helpdesk.tickets.models import Ticket

from ..models import (
    Blueprint,
    BlueprintStatus,
    LogKind,
    OwnerKind,
    State,
    TicketBlueprint,
    Transition,
    TransitionLog,
    TransitionOwner,
    TransitionWindow,
)
from ..visits import state_visit
from .common import _moving  # noqa: F401


# --- Entering (BP-21) ----------------------------------------------------------------------------
def _candidates(ticket: Ticket) -> list[Blueprint]:
    """Active blueprints of the ticket's department with a state for its status, in order
    (read once per pipeline batch)."""
    return pipeline.cached(
        ("blueprints", ticket.org_id, ticket.department_id, ticket.status_id),
        lambda: list(
            Blueprint.objects.for_org(ticket.org_id)
            .filter(
                department_id=ticket.department_id,
                status=BlueprintStatus.ACTIVE,
                states__status_id=ticket.status_id,
            )
            .annotate(entry_state_id=F("states__id"))
            .order_by("position", "pk")
        ),
    )


Schemas = dict[Any, Any]


def _condition(
    org: Any, department: Any, raw: dict[str, Any], schemas: Schemas | None = None
) -> Condition | None:
    """A stored condition, parsed (None: it no longer parses, e.g. a field was removed). The
    department's schema is read once per pipeline batch, or per `schemas` memo (one engine
    call): one query however many blueprints or transitions have criteria."""
    key = ("bp-schema", org.pk, getattr(department, "pk", department))
    memo = schemas if schemas is not None else {}
    if key not in memo:
        memo[key] = pipeline.cached(key, lambda: schema_for(org, department=department))
    try:
        return parse(raw or {}, schema=memo[key], org=org, check_refs=False)
    except ConditionError:
        return None


def _meets(
    ticket: Ticket, raw: dict[str, Any], now: dt.datetime, schemas: Schemas | None = None
) -> bool:
    if not raw:
        return True
    condition = _condition(ticket.org, ticket.department_id, raw, schemas)
    return condition is not None and matches(condition, ticket, now=now)


def _before_snapshot(blueprint: Blueprint) -> dict[str, Any]:
    """Every transition's "before" settings (owners, criteria), as a ticket entering now keeps
    them (BP-16)."""
    owners: dict[int, list[dict[str, Any]]] = {}
    for o in TransitionOwner.objects.for_org(blueprint.org_id).filter(
        transition__blueprint=blueprint
    ):
        owners.setdefault(o.transition_id, []).append(
            {
                "kind": o.kind,
                "user": o.user_id,
                "role": o.role,
                "team": o.team_id,
                "department": o.department_id,
                "access": o.access,
            }
        )
    return {
        str(t.pk): {"owners": owners.get(t.pk, []), "criteria": t.criteria}
        for t in Transition.objects.for_org(blueprint.org_id).filter(blueprint=blueprint)
    }


def enter(ticket: Ticket, blueprint: Blueprint, *, now: dt.datetime, actor: Any = None) -> Any:
    state_id = getattr(blueprint, "entry_state_id", None)
    state = (
        State(pk=state_id, org_id=ticket.org_id, blueprint=blueprint, status_id=ticket.status_id)
        if state_id
        else State.objects.for_org(ticket.org_id).get(blueprint=blueprint, status=ticket.status_id)
    )
    instance = TicketBlueprint.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        blueprint=blueprint,
        state=state,
        entered_at=now,
        started_at=now,
        before=_before_snapshot(blueprint),
    )
    _share_with_owner_departments(ticket, blueprint, instance.before)
    state_visit(ticket=ticket, left_id=None, entered_id=state.pk, at=now)
    TransitionLog.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        blueprint=blueprint,
        kind=LogKind.ENTERED,
        name=blueprint.name,
        to_status_id=ticket.status_id,
        actor=actor,
        at=now,
    )
    return instance


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
    instance = (
        None
        if creating
        else TicketBlueprint.objects.for_org(ticket.org_id)
        .filter(ticket_id=ticket.pk)
        .select_related("state", "blueprint")
        .first()
    )
    if instance is not None:
        if instance.state.status_id == ticket.status_id:
            return
        _status_moved(instance, ticket, ctx)
        if TicketBlueprint.objects.for_org(ticket.org_id).filter(pk=instance.pk).exists():
            return
    candidates = _candidates(ticket)
    if not candidates:
        return
    schemas: Schemas = {}
    for blueprint in candidates:
        if not (blueprint.applies_to_all or _meets(ticket, blueprint.criteria, ctx.now, schemas)):
            continue
        removed = not creating and (
            TransitionLog.objects.for_org(ticket.org_id)
            .filter(ticket_id=ticket.pk, kind=LogKind.REMOVED, blueprint=blueprint)
            .exists()
        )
        if removed:
            continue  # an admin took the ticket out of it (BP-18): it does not come back
        enter(ticket, blueprint, now=ctx.now, actor=ctx.actor.user if ctx.actor else None)
        return


def _status_moved(instance: TicketBlueprint, ticket: Ticket, ctx: pipeline.Context) -> None:
    """The status changed outside a transition (an edit, a rule): the ticket follows it within
    its blueprint, or leaves the blueprint when the status is not one of its states."""
    state = (
        State.objects.for_org(ticket.org_id)
        .filter(blueprint_id=instance.blueprint_id, status_id=ticket.status_id)
        .first()
    )
    old_status = instance.state.status_id
    seconds = int((ctx.now - instance.entered_at).total_seconds())
    actor = ctx.actor.user if ctx.actor else None
    TransitionWindow.objects.for_org(ticket.org_id).filter(instance=instance).delete()
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
        return
    left_id = instance.state_id
    instance.state = state
    instance.entered_at = ctx.now
    instance.save(update_fields=["state", "entered_at"])
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
