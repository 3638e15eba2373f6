"""A blueprint as a graph (BP-04, BP-12, BP-20): read it for the editor, save a drawn one.

Saving goes through the configuration services (`blueprints.services`): they keep the plan's
limits, the 16-connection rule, the tenancy checks and the engine's refusals (a state or a
transition tickets are in is not deleted). The whole drawing is checked first against the
limits, so the admin reads one clear message per problem; then every change runs in its own
savepoint, its refusals collected with the name of the state or transition; any error rolls
back the whole save, so nothing of a refused drawing is kept."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.models import StatusKind, TicketStatus

from .. import services as bp
from ..engine.definitions import bump
from ..models import (
    TRANSITION_NAME_MAX,
    Blueprint,
    BlueprintStatus,
    OwnerKind,
    State,
    Transition,
)
from ..panels import state_columns
from ..versions.services import one_save
from .graph import Edge, outgoing, warnings


# --- Reading --------------------------------------------------------------------------------------
def _limits(org: Any) -> dict[str, int]:
    return {
        "transitions": int(org.limit("blueprint_transitions") or 0),
        "common": int(org.limit("blueprint_common_transitions") or 0),
        "connections": bp.MAX_CONNECTIONS,
    }


def graph_read(blueprint: Blueprint, portal: str) -> dict[str, Any]:
    """Everything the editor draws, keyed by status id (a status is a state once per
    blueprint): the department's statuses (the palette), the states with their positions,
    tickets in them and the notes the apps above add (their SLA), the transitions, the plan's
    limits and the drawing's warnings. Five queries, whatever the size of the blueprint."""
    org_id = blueprint.org_id
    statuses = list(
        TicketStatus.objects.for_org(org_id)
        .filter(department_id=blueprint.department_id)
        .order_by("order", "pk")
        .values("pk", "name", "kind", "is_default")
    )
    states = list(
        State.objects.for_org(org_id)
        .filter(blueprint=blueprint)
        .annotate(tickets=Count("instances"))
        .values("pk", "status_id", "x", "y", "tickets")
        .order_by("pk")
    )
    by_state = {s["pk"]: s["status_id"] for s in states}
    transitions = list(
        Transition.objects.for_org(org_id)
        .filter(blueprint=blueprint)
        .prefetch_related("sources")
        .annotate(field_count=Count("fields", distinct=True))
        .order_by("position", "pk")
    )
    columns = state_columns(org_id, portal, list(by_state))
    names = {s["pk"]: s["name"] for s in statuses}
    connections = [
        {
            "id": t.pk,
            "name": t.name,
            "from": [] if t.is_common else [by_state[s.state_id] for s in t.sources.all()],
            "to": by_state[t.to_state_id],
            "common": t.is_common,
            "fields": t.field_count,
        }
        for t in transitions
    ]
    kinds = {s["pk"]: s["kind"] for s in statuses}
    default = next((s["pk"] for s in statuses if s["is_default"]), None)
    drawn = [s["status_id"] for s in states]
    return {
        "blueprint": {
            "id": blueprint.pk,
            "name": blueprint.name,
            "status": blueprint.status,
            "status_label": str(blueprint.get_status_display()),
        },
        "limits": _limits(blueprint.org),
        "entry": default,
        "palette": [
            {
                "status": s["pk"],
                "name": s["name"],
                "kind": s["kind"],
                "kind_label": str(StatusKind(s["kind"]).label),
            }
            for s in statuses
        ],
        "states": [
            {
                "status": s["status_id"],
                "name": names.get(s["status_id"], ""),
                "kind": kinds.get(s["status_id"], ""),
                "x": s["x"],
                "y": s["y"],
                "tickets": s["tickets"],
                "notes": [
                    {
                        "heading": h,
                        "text": n.text,
                        "details": list(n.details),
                        "link_text": n.link_text,
                        "url": n.url,
                    }
                    for h, n in zip(columns.headings, columns.notes[s["pk"]], strict=True)
                    if n is not None
                ],
            }
            for s in states
        ],
        "connections": connections,
        "warnings": [
            {"status": w.state, "kind": w.kind, "message": w.message}
            for w in drawing_warnings(
                {pk: names.get(pk, "") for pk in drawn},
                connections,
                entry=default,
                closed={pk for pk in drawn if kinds.get(pk) == StatusKind.CLOSED},
            )
        ],
    }


def drawing_warnings(
    states: Mapping[int, str],
    connections: list[dict[str, Any]],
    *,
    entry: int | None,
    closed: set[int],
) -> list[Any]:
    edges = [Edge(tuple(c["from"]), c["to"], bool(c["common"])) for c in connections]
    return warnings(states, edges, entry=entry, ends=closed)


# --- Saving ---------------------------------------------------------------------------------------
@dataclass
class DrawnConnection:
    id: int | None
    name: str
    sources: list[int]  # status ids
    target: int
    common: bool
    owners: list[int] | None  # agents' user ids, when the drawing names them


@dataclass
class Drawing:
    states: dict[int, tuple[int, int]]  # status id -> (x, y)
    connections: list[DrawnConnection]
    status: str | None  # "draft", "active" or None (keep)


_UNREADABLE = gettext_noop("The drawing could not be read; reload the page and draw it again.")


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError
    return int(value)


def drawing_parse(raw: Any) -> Drawing:
    """The JSON the editor posts, or ValidationError: {"states": [{"status", "x", "y"}],
    "connections": [{"id"?, "name", "from": [status], "to": status, "common", "owners"?}],
    "status"?: "draft" | "active"}."""
    try:
        states = {}
        for item in raw["states"]:
            states[_int(item["status"])] = (
                max(-100000, min(100000, _int(item.get("x", 0)))),
                max(-100000, min(100000, _int(item.get("y", 0)))),
            )
        connections = []
        for item in raw["connections"]:
            owners = item.get("owners")
            connections.append(
                DrawnConnection(
                    id=None if item.get("id") in (None, "") else _int(item["id"]),
                    name=str(item.get("name") or ""),
                    sources=[_int(s) for s in item.get("from") or []],
                    target=_int(item["to"]),
                    common=bool(item.get("common")),
                    owners=None if owners is None else [_int(u) for u in owners],
                )
            )
        status = raw.get("status") or None
    except (KeyError, TypeError, ValueError, AttributeError):
        raise ValidationError(_(_UNREADABLE)) from None
    if status not in (None, BlueprintStatus.DRAFT, BlueprintStatus.ACTIVE):
        raise ValidationError(_(_UNREADABLE))
    return Drawing(states=states, connections=connections, status=status)


def _check_drawing(
    blueprint: Blueprint, drawing: Drawing, statuses: dict[int, TicketStatus]
) -> list[str]:
    """The drawing as a whole against the plan's limits and the connection rule (BP-20), and
    its parts against the organization: messages naming what to change."""
    org = blueprint.org
    errors: list[str] = []
    foreign = [pk for pk in drawing.states if pk not in statuses]
    if foreign:
        errors.append(
            _("The drawing names statuses that are not this organization's; reload the page.")
        )
    for pk in drawing.states:
        status = statuses.get(pk)
        if status is not None and status.department_id != blueprint.department_id:
            errors.append(
                _("“%(status)s” is not a status of this blueprint's department.")
                % {"status": status.name}
            )

    def name(pk: int) -> str:
        return statuses[pk].name if pk in statuses else str(pk)

    for c in drawing.connections:
        ends = [c.target] if c.common else [*c.sources, c.target]
        if any(pk not in drawing.states for pk in ends):
            errors.append(
                _("The transition “%(name)s” connects a state that is not drawn.")
                % {"name": c.name}
            )
    limits = _limits(org)
    if len(drawing.connections) > limits["transitions"]:
        errors.append(
            _("Your plan allows %(n)d transitions per blueprint; the drawing has %(count)d.")
            % {"n": limits["transitions"], "count": len(drawing.connections)}
        )
    common = sum(1 for c in drawing.connections if c.common)
    if common > limits["common"]:
        errors.append(
            _("Your plan allows %(n)d common transitions per blueprint; the drawing has %(count)d.")
            % {"n": limits["common"], "count": common}
        )
    links = outgoing(
        drawing.states, [Edge(tuple(c.sources), c.target, c.common) for c in drawing.connections]
    )
    for pk, targets in links.items():
        if len(targets) > limits["connections"]:
            errors.append(
                _(
                    "“%(state)s” connects to %(count)d states; a state connects to at most "
                    "%(n)d. Remove a connection."
                )
                % {"state": name(pk), "count": len(targets), "n": limits["connections"]}
            )
    for c in drawing.connections:
        if len(c.name.strip()) > TRANSITION_NAME_MAX:
            errors.append(
                _("The transition name “%(name)s” is too long: use at most %(n)d characters.")
                % {"name": c.name, "n": TRANSITION_NAME_MAX}
            )
    return errors


def _messages(exc: ValidationError, about: str) -> list[str]:
    return [_("%(about)s: %(message)s") % {"about": about, "message": m} for m in exc.messages]


def _input_from(
    transition: Transition, drawn: DrawnConnection, states: Mapping[int, State]
) -> bp.TransitionInput:
    """The transition as it is, with what the drawing changes (name, ends, common, agents):
    its other settings stay those of its forms."""
    owners = [
        bp.OwnerInput(
            kind=o.kind,
            user_id=o.user_id,
            role=o.role,
            team=o.team,
            department=o.department,
            access=o.access,
        )
        for o in transition.owners.select_related("team", "department")
    ]
    if drawn.owners is not None:
        owners = [o for o in owners if o.kind != OwnerKind.AGENT]
        owners += [bp.OwnerInput(kind=OwnerKind.AGENT, user_id=u) for u in drawn.owners]
    return bp.TransitionInput(
        name=drawn.name,
        to_state=states[drawn.target],
        from_states=[] if drawn.common else [states[s] for s in drawn.sources],
        is_common=drawn.common,
        description=transition.description,
        auto_trigger=transition.auto_trigger,
        thread_scope=transition.thread_scope,
        criteria=transition.criteria,
        message=transition.message,
        owners=owners,
        fields=[
            bp.FieldInput(
                field=f.field, mandatory=f.mandatory, validation=f.validation, warning=f.warning
            )
            for f in transition.fields.all()
        ],
        actions=[a.kind for a in transition.actions.all()],
        after_actions=[link.action for link in transition.after_links.select_related("action")],
    )


def _changed(
    transition: Transition, drawn: DrawnConnection, by_status: Mapping[int, State]
) -> bool:
    sources = sorted(s.state.status_id for s in transition.sources.all())
    return (
        drawn.owners is not None
        or transition.name != drawn.name.strip()
        or transition.is_common != drawn.common
        or transition.to_state.status_id != drawn.target
        or (not drawn.common and sources != sorted(set(drawn.sources)))
    )


@transaction.atomic
@one_save()  # the drawing's many service calls keep one version
def graph_save(*, actor: Membership, blueprint: Blueprint, drawing: Drawing) -> Blueprint:
    """Make the blueprint what the admin drew: states added, moved and removed, transitions
    added, reconnected, renamed and deleted, then (optionally) its status: "active" makes it
    live (BP-24), "draft" keeps it out of tickets (BP-17). All or nothing: a ValidationError
    lists every refusal and nothing is saved."""
    bp.ensure_admin(actor)
    ensure_same_org(actor.org, blueprint)
    org = actor.org
    blueprint = Blueprint.objects.for_org(org).select_for_update().get(pk=blueprint.pk)
    statuses = {s.pk: s for s in TicketStatus.objects.for_org(org).filter(pk__in=drawing.states)}
    errors = _check_drawing(blueprint, drawing, statuses)
    transitions = {
        t.pk: t
        for t in Transition.objects.for_org(org)
        .filter(blueprint=blueprint)
        .select_related("to_state")
        .prefetch_related("sources__state", "fields", "actions")
    }
    if any(c.id is not None and c.id not in transitions for c in drawing.connections):
        errors.append(_("A transition of the drawing was deleted meanwhile; reload the page."))
    if errors:
        raise ValidationError(errors)

    def step(about: str, run: Any) -> Any:
        try:
            with transaction.atomic():
                return run()
        except ValidationError as exc:
            errors.extend(_messages(exc, about))
        except PermissionDenied as exc:
            errors.append(_("%(about)s: %(message)s") % {"about": about, "message": str(exc)})
        return None

    kept = {c.id for c in drawing.connections if c.id is not None}
    for pk, t in transitions.items():
        if pk not in kept:
            step(
                _("Transition “%(name)s”") % {"name": t.name},
                lambda t=t: bp.transition_delete(actor=actor, transition=t),
            )
    states = {
        s.status_id: s
        for s in State.objects.for_org(org).filter(blueprint=blueprint).select_related("status")
    }
    for status_id, state in list(states.items()):
        if status_id not in drawing.states:
            step(
                _("State “%(name)s”") % {"name": state.status.name},
                lambda state=state: bp.state_delete(actor=actor, state=state),
            )
            del states[status_id]
    for status_id, (x, y) in drawing.states.items():
        state = states.get(status_id)
        about = _("State “%(name)s”") % {"name": statuses[status_id].name}
        if state is None:
            added = step(
                about,
                lambda status_id=status_id, x=x, y=y: bp.state_add(
                    actor=actor, blueprint=blueprint, status=statuses[status_id], x=x, y=y
                ),
            )
            if added is not None:
                states[status_id] = added
        elif (state.x, state.y) != (x, y):
            state.x, state.y = x, y
            state.save(update_fields=["x", "y"])
    if errors:
        raise ValidationError(errors)
    for drawn in drawing.connections:
        about = _("Transition “%(name)s”") % {"name": drawn.name.strip() or "…"}
        if drawn.id is None:
            data = bp.TransitionInput(
                name=drawn.name,
                to_state=states[drawn.target],
                from_states=[] if drawn.common else [states[s] for s in drawn.sources],
                is_common=drawn.common,
                owners=[bp.OwnerInput(kind=OwnerKind.AGENT, user_id=u) for u in drawn.owners or []],
            )
            step(
                about,
                lambda data=data: bp.transition_save(actor=actor, blueprint=blueprint, data=data),
            )
            continue
        existing = transitions[drawn.id]
        if _changed(existing, drawn, states):
            data = _input_from(existing, drawn, states)
            step(
                about,
                lambda data=data, existing=existing: bp.transition_save(
                    actor=actor, blueprint=blueprint, data=data, transition=existing
                ),
            )
    if errors:
        raise ValidationError(errors)
    _set_status(actor, blueprint, drawing.status, errors)
    if errors:
        raise ValidationError(errors)
    bump(org.pk)  # positions too: the ticket's flowchart draws them
    blueprint.refresh_from_db()
    return blueprint


def _set_status(
    actor: Membership, blueprint: Blueprint, status: str | None, errors: list[str]
) -> None:
    if status is None or status == blueprint.status:
        return
    try:
        with transaction.atomic():
            if status == BlueprintStatus.ACTIVE:
                bp.blueprint_set_status(actor=actor, blueprint=blueprint, status=status)
            else:
                data = bp.BlueprintInput(
                    name=blueprint.name,
                    department=blueprint.department,
                    description=blueprint.description,
                    applies_to_all=blueprint.applies_to_all,
                    criteria=blueprint.criteria,
                    restriction=blueprint.restriction,
                    restricted_actions=blueprint.restricted_actions,
                    is_continuous=blueprint.is_continuous,
                    dynamic_reassignment=blueprint.dynamic_reassignment,
                )
                bp.blueprint_save(actor=actor, data=data, blueprint=blueprint, status=status)
    except ValidationError as exc:
        errors.extend(exc.messages)
