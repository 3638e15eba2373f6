"""Configuring blueprints (BP-01..BP-12, BP-16..BP-21, BP-24): save with validation, states,
transitions with their before / during / after parts, status changes, order, deletion.

Blueprints are Desk settings: only Desk admins change them (ORG-04), on a plan that has them
(ORG-07). Every object handed in must be the actor's organization's. Each save validates
everything first and writes in one transaction, so bad input leaves nothing half-saved; the
errors are a ValidationError keyed by form field, in words an admin can act on. Limits (BP-20)
come from the plan (`Organization.limit`). Every change bumps the organization's definition
version (`engine.definitions.bump`), in its transaction, so the engine's cached definitions
are read again."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, Department, DeskRole, Membership, Team
from helpdesk.tenancy.permissions import ensure_app_admin
from helpdesk.tickets.conditions import ConditionError, parse, schema_for, to_json
from helpdesk.tickets.models import CustomField, TicketStatus

from .engine.definitions import bump
from .models import (
    DESCRIPTION_MAX,
    MESSAGE_MAX,
    NAME_MAX,
    TRANSITION_NAME_MAX,
    AccessLevel,
    AfterAction,
    AutoTrigger,
    Blueprint,
    BlueprintStatus,
    DuringAction,
    OwnerKind,
    RestrictedAction,
    Restriction,
    State,
    ThreadScope,
    TicketBlueprint,
    Transition,
    TransitionAction,
    TransitionAfterAction,
    TransitionField,
    TransitionOwner,
    TransitionSource,
)

MAX_CONNECTIONS = 16  # a state connects to at most 16 other states (BP-20)
# Ticket fields a transition may ask for besides the custom fields (`cf.<key>`).
TICKET_FIELDS = ("priority", "due_at")

Errors = dict[str, list[str]]


def _add(errors: Errors, key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def ensure_admin(actor: Membership) -> None:
    """Desk admins only, on a plan with blueprints."""
    ensure_app_admin(actor, App.DESK)
    if not actor.org.limit("blueprints_per_department"):
        raise PermissionDenied(
            _("Blueprints need the Professional or Enterprise plan. Upgrade to use them.")
        )


def criteria_parse(org: Any, department: Department | None, raw: Any) -> dict[str, Any]:
    """Criteria or a validation rule as stored (normalised JSON), or ValidationError with the
    condition language's messages. `raw` may be JSON text (a form's fallback field)."""
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return {}
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                _("The criteria are not valid JSON (%(error)s).") % {"error": exc.msg}
            ) from None
    if not raw:
        return {}
    try:
        condition = parse(raw, schema=schema_for(org, department=department), org=org)
    except ConditionError as exc:
        raise ValidationError(exc.messages) from None
    normalised = to_json(condition)
    return {} if normalised == {"all": []} else normalised


# --- Blueprints ---------------------------------------------------------------------------------
@dataclass
class BlueprintInput:
    name: str
    department: Department
    description: str = ""
    applies_to_all: bool = True
    criteria: Any = None
    restriction: str = Restriction.OFF
    restricted_actions: Sequence[str] = ()
    is_continuous: bool = False
    dynamic_reassignment: bool = False


def _active_count(department: Department, exclude: int | None = None) -> int:
    qs = Blueprint.objects.for_org(department.org_id).filter(
        department=department, status=BlueprintStatus.ACTIVE
    )
    if exclude is not None:
        qs = qs.exclude(pk=exclude)
    return qs.count()


def _ensure_room_to_activate(blueprint: Blueprint) -> None:
    limit = blueprint.org.limit("blueprints_per_department") or 0
    if _active_count(blueprint.department, exclude=blueprint.pk) >= limit:
        raise ValidationError(
            {
                "status": [
                    ngettext(
                        "Your plan allows %(n)d active blueprint per department; deactivate "
                        "another one first.",
                        "Your plan allows %(n)d active blueprints per department; deactivate "
                        "another one first.",
                        limit,
                    )
                    % {"n": limit}
                ]
            }
        )


@transaction.atomic
def blueprint_save(
    *,
    actor: Membership,
    data: BlueprintInput,
    blueprint: Blueprint | None = None,
    status: str | None = None,
) -> Blueprint:
    """Create or change a blueprint's information. `status` "draft" keeps (or makes) it a draft
    (BP-17); "active" makes it live at once (BP-24), within the plan's limit."""
    ensure_admin(actor)
    ensure_same_org(actor.org, data.department, blueprint)
    errors: Errors = {}
    name = (data.name or "").strip()
    if not name:
        _add(errors, "name", _("Enter a name."))
    elif len(name) > NAME_MAX:
        _add(errors, "name", _("Use at most %(n)d characters.") % {"n": NAME_MAX})
    description = (data.description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        _add(errors, "description", _("Use at most %(n)d characters.") % {"n": DESCRIPTION_MAX})
    if blueprint is not None and blueprint.department_id != data.department.pk:
        if TicketBlueprint.objects.for_org(actor.org).filter(blueprint=blueprint).exists():
            _add(errors, "department", _("Tickets are in this blueprint: its department stays."))
        elif blueprint.states.exists():
            _add(
                errors,
                "department",
                _("The states are this department's statuses: remove them to change it."),
            )
    criteria: dict[str, Any] = {}
    if not data.applies_to_all:
        try:
            criteria = criteria_parse(actor.org, data.department, data.criteria)
        except ValidationError as exc:
            errors.setdefault("criteria", []).extend(exc.messages)
        else:
            if not criteria:
                _add(errors, "criteria", _("Add a condition, or apply to every ticket."))
    if data.restriction not in Restriction.values:
        _add(errors, "restriction", _("Choose a restricted mode."))
    actions = list(dict.fromkeys(data.restricted_actions or ()))
    if any(a not in RestrictedAction.values for a in actions):
        _add(errors, "restricted_actions", _("Choose actions from the list."))
    elif data.restriction in (Restriction.SPECIFIC, Restriction.ALL_EXCEPT) and not actions:
        _add(errors, "restricted_actions", _("Choose at least one action."))
    if status is not None and status not in BlueprintStatus.values:
        _add(errors, "status", _("Choose draft, active or inactive."))
    if errors:
        raise ValidationError(errors)
    if blueprint is None:
        blueprint = Blueprint(org=actor.org, created_by=actor.user)
        last = (
            Blueprint.objects.for_org(actor.org)
            .filter(department=data.department)
            .aggregate(m=Max("position"))["m"]
        )
        blueprint.position = 0 if last is None else last + 1
    blueprint.name = name
    blueprint.description = description
    blueprint.department = data.department
    blueprint.applies_to_all = data.applies_to_all
    blueprint.criteria = criteria
    blueprint.restriction = data.restriction
    blueprint.restricted_actions = (
        actions if data.restriction in (Restriction.SPECIFIC, Restriction.ALL_EXCEPT) else []
    )
    blueprint.is_continuous = data.is_continuous
    blueprint.dynamic_reassignment = data.dynamic_reassignment
    if status is not None:
        if status == BlueprintStatus.ACTIVE and blueprint.status != BlueprintStatus.ACTIVE:
            _ensure_room_to_activate(blueprint)
        if status == BlueprintStatus.DRAFT and blueprint.status != BlueprintStatus.DRAFT:
            _ensure_no_tickets(blueprint, _("Tickets are in this blueprint: it cannot be a draft."))
        blueprint.status = status
    blueprint.save()
    bump(actor.org.pk)
    return blueprint


def _ensure_no_tickets(blueprint: Blueprint, message: str) -> None:
    if (
        blueprint.pk
        and TicketBlueprint.objects.for_org(blueprint.org_id).filter(blueprint=blueprint).exists()
    ):
        raise ValidationError({"status": [message]})


@transaction.atomic
def blueprint_set_status(*, actor: Membership, blueprint: Blueprint, status: str) -> Blueprint:
    """Activate (BP-24, within the plan's limit), deactivate (no new tickets enter; tickets in
    it carry on, BP-19) or reactivate."""
    ensure_admin(actor)
    ensure_same_org(actor.org, blueprint)
    blueprint = Blueprint.objects.for_org(actor.org).select_for_update().get(pk=blueprint.pk)
    if status not in (BlueprintStatus.ACTIVE, BlueprintStatus.INACTIVE):
        raise ValidationError({"status": [_("Choose active or inactive.")]})
    if status == BlueprintStatus.ACTIVE and blueprint.status != BlueprintStatus.ACTIVE:
        if not blueprint.states.exists():
            raise ValidationError({"status": [_("Add the blueprint's states first.")]})
        _ensure_room_to_activate(blueprint)
    blueprint.status = status
    blueprint.save(update_fields=["status", "updated_at"])
    bump(actor.org.pk)
    return blueprint


def _in_use_message(count: int, what: str) -> str:
    return ngettext(
        "%(n)d ticket is in this %(what)s: it cannot be deleted.",
        "%(n)d tickets are in this %(what)s: it cannot be deleted.",
        count,
    ) % {"n": count, "what": what}


@transaction.atomic
def blueprint_delete(*, actor: Membership, blueprint: Blueprint) -> None:
    """Delete a blueprint, refused while tickets are in it (BP-19): remove them first."""
    ensure_admin(actor)
    ensure_same_org(actor.org, blueprint)
    count = TicketBlueprint.objects.for_org(actor.org).filter(blueprint=blueprint).count()
    if count:
        raise ValidationError(_in_use_message(count, _("blueprint")))
    blueprint.delete()
    bump(actor.org.pk)


@transaction.atomic
def blueprints_reorder(*, actor: Membership, department: Department, ids: Sequence[int]) -> None:
    """The department's blueprints in this order (BP-21); ids must be exactly theirs."""
    ensure_admin(actor)
    ensure_same_org(actor.org, department)
    rows = {
        b.pk: b
        for b in Blueprint.objects.for_org(actor.org)
        .filter(department=department)
        .select_for_update()
    }
    if sorted(rows) != sorted(ids) or len(set(ids)) != len(ids):
        raise ValidationError(_("The list of blueprints changed meanwhile; reload the page."))
    for position, pk in enumerate(ids):
        if rows[pk].position != position:
            rows[pk].position = position
            rows[pk].save(update_fields=["position"])
    bump(actor.org.pk)


# --- States ---------------------------------------------------------------------------------------
@transaction.atomic
def state_add(
    *, actor: Membership, blueprint: Blueprint, status: TicketStatus, x: int = 0, y: int = 0
) -> State:
    """Add one of the department's statuses as a state."""
    ensure_admin(actor)
    ensure_same_org(actor.org, blueprint, status)
    if status.department_id != blueprint.department_id:
        raise ValidationError(
            {
                "status": [
                    _("“%(status)s” is not a status of this blueprint's department.")
                    % {"status": status.name}
                ]
            }
        )
    if State.objects.for_org(actor.org).filter(blueprint=blueprint, status=status).exists():
        raise ValidationError({"status": [_("This status is already a state of the blueprint.")]})
    state = State.objects.create(org=actor.org, blueprint=blueprint, status=status, x=x, y=y)
    bump(actor.org.pk)
    return state


@transaction.atomic
def state_move(*, actor: Membership, state: State, x: int, y: int) -> State:
    ensure_admin(actor)
    ensure_same_org(actor.org, state)
    state.x, state.y = int(x), int(y)
    state.save(update_fields=["x", "y"])
    bump(actor.org.pk)
    return state


@transaction.atomic
def state_delete(*, actor: Membership, state: State) -> None:
    """Delete a state and the transitions into it; refused while tickets are in it or in a
    transition that leads to it is pending on tickets of the blueprint (BP-16)."""
    ensure_admin(actor)
    ensure_same_org(actor.org, state)
    count = TicketBlueprint.objects.for_org(actor.org).filter(state=state).count()
    if count:
        raise ValidationError(_in_use_message(count, _("state")))
    state.delete()
    bump(actor.org.pk)


# --- Transitions ---------------------------------------------------------------------------------
@dataclass
class OwnerInput:
    kind: str
    user_id: int | None = None
    role: str = ""
    team: Team | None = None
    department: Department | None = None
    access: int = AccessLevel.FULL


@dataclass
class FieldInput:
    field: str
    mandatory: bool = True
    validation: Any = None
    warning: str = ""


@dataclass
class TransitionInput:
    name: str
    to_state: State
    from_states: Sequence[State] = ()
    is_common: bool = False
    description: str = ""
    auto_trigger: str = AutoTrigger.NONE
    thread_scope: str = ThreadScope.ALL
    criteria: Any = None
    message: str = ""
    owners: Sequence[OwnerInput] = ()
    fields: Sequence[FieldInput] = ()
    actions: Sequence[str] = ()
    after_actions: Sequence[AfterAction] = ()
    extra: dict[str, Any] = field(default_factory=dict)


def _connections(blueprint: Blueprint, exclude: int | None) -> dict[int, set[int]]:
    """For each state, the other states its transitions lead to (common ones from every
    state)."""
    states = list(State.objects.for_org(blueprint.org_id).filter(blueprint=blueprint))
    links: dict[int, set[int]] = {s.pk: set() for s in states}
    transitions = Transition.objects.for_org(blueprint.org_id).filter(blueprint=blueprint)
    if exclude is not None:
        transitions = transitions.exclude(pk=exclude)
    sources: dict[int, list[int]] = {}
    for src in TransitionSource.objects.for_org(blueprint.org_id).filter(
        transition__blueprint=blueprint
    ):
        sources.setdefault(src.transition_id, []).append(src.state_id)
    for t in transitions:
        froms = list(links) if t.is_common else sources.get(t.pk, [])
        for s in froms:
            if s != t.to_state_id:
                links.setdefault(s, set()).add(t.to_state_id)
    return links


def _transition_errors(
    actor: Membership, blueprint: Blueprint, data: TransitionInput, transition: Transition | None
) -> tuple[Errors, dict[str, Any]]:
    org = actor.org
    errors: Errors = {}
    clean: dict[str, Any] = {}
    name = (data.name or "").strip()
    if not name:
        _add(errors, "name", _("Enter a name."))
    elif len(name) > TRANSITION_NAME_MAX:
        _add(errors, "name", _("Use at most %(n)d characters.") % {"n": TRANSITION_NAME_MAX})
    clean["name"] = name
    description = (data.description or "").strip()
    if len(description) > DESCRIPTION_MAX:
        _add(errors, "description", _("Use at most %(n)d characters.") % {"n": DESCRIPTION_MAX})
    clean["description"] = description
    message = (data.message or "").strip()
    if len(message) > MESSAGE_MAX:
        _add(
            errors,
            "message",
            _("The message has %(count)d characters; use at most %(n)d.")
            % {"count": len(message), "n": MESSAGE_MAX},
        )
    clean["message"] = message
    if data.to_state.blueprint_id != blueprint.pk:
        _add(errors, "to_state", _("Choose a state of this blueprint."))
    froms = list({s.pk: s for s in data.from_states}.values())
    if any(s.blueprint_id != blueprint.pk for s in froms):
        _add(errors, "from_states", _("Choose states of this blueprint."))
    if not data.is_common and not froms:
        _add(errors, "from_states", _("Choose the state(s) it starts from, or make it common."))
    if any(s.pk == data.to_state.pk for s in froms):
        _add(errors, "from_states", _("A transition cannot start from the state it leads to."))
    clean["from_states"] = [] if data.is_common else froms
    # Limits of the plan (BP-20).
    others = Transition.objects.for_org(org).filter(blueprint=blueprint)
    if transition is not None:
        others = others.exclude(pk=transition.pk)
    limit = org.limit("blueprint_transitions") or 0
    if others.count() + 1 > limit:
        _add(
            errors,
            NON_FIELD_ERRORS,
            _("Your plan allows %(n)d transitions per blueprint.") % {"n": limit},
        )
    if data.is_common:
        limit = org.limit("blueprint_common_transitions") or 0
        if others.filter(is_common=True).count() + 1 > limit:
            _add(
                errors,
                "is_common",
                _("Your plan allows %(n)d common transitions per blueprint.") % {"n": limit},
            )
    if "to_state" not in errors and "from_states" not in errors:
        links = _connections(blueprint, transition.pk if transition else None)
        starts = list(links) if data.is_common else [s.pk for s in froms]
        names = dict(
            State.objects.for_org(org).filter(pk__in=starts).values_list("pk", "status__name")
        )
        for start in starts:
            targets = links.get(start, set()) | (
                {data.to_state.pk} if start != data.to_state.pk else set()
            )
            if len(targets) > MAX_CONNECTIONS:
                _add(
                    errors,
                    "to_state",
                    _(
                        "“%(state)s” would connect to %(count)d states; a state connects to at "
                        "most %(n)d."
                    )
                    % {
                        "state": names.get(start, start),
                        "count": len(targets),
                        "n": MAX_CONNECTIONS,
                    },
                )
    if data.auto_trigger not in AutoTrigger.values:
        _add(errors, "auto_trigger", _("Choose when the transition runs by itself."))
    if data.thread_scope not in ThreadScope.values:
        _add(errors, "thread_scope", _("Choose which threads count."))
    try:
        clean["criteria"] = criteria_parse(org, blueprint.department, data.criteria)
    except ValidationError as exc:
        errors.setdefault("criteria", []).extend(exc.messages)
    _owner_errors(actor, blueprint, data.owners, errors)
    clean["fields"] = _field_errors(actor, blueprint, data.fields, errors)
    kinds = list(data.actions)
    if any(k not in DuringAction.values for k in kinds):
        _add(errors, "actions", _("Choose actions from the list."))
    elif len(set(kinds)) != len(kinds):
        _add(errors, "actions", _("Each action appears once."))
    clean["actions"] = kinds
    for action in data.after_actions:
        ensure_same_org(org, action)
        if action.department_id != blueprint.department_id:
            _add(errors, "after_actions", _("Choose actions of this blueprint's department."))
    return errors, clean


def _owner_errors(
    actor: Membership, blueprint: Blueprint, owners: Sequence[OwnerInput], errors: Errors
) -> None:
    org = actor.org
    for owner in owners:
        ensure_same_org(org, owner.team, owner.department)
        if owner.kind not in OwnerKind.values:
            _add(errors, "owners", _("Choose who owns the transition."))
        elif owner.kind == OwnerKind.AGENT:
            active = (
                Membership.objects.for_org(org)
                .filter(user_id=owner.user_id, status=Membership.Status.ACTIVE)
                .exclude(desk_role="")
                .exists()
            )
            if not owner.user_id or not active:
                _add(errors, "owners", _("Choose an active agent of the organization."))
        elif owner.kind == OwnerKind.ROLE and owner.role not in DeskRole.values:
            _add(errors, "owners", _("Choose a Desk role."))
        elif owner.kind == OwnerKind.TEAM and owner.team is None:
            _add(errors, "owners", _("Choose a team."))
        elif owner.kind == OwnerKind.DEPARTMENT:
            if owner.department is None or owner.department.pk == blueprint.department_id:
                _add(errors, "owners", _("Choose another department."))
            if owner.access not in AccessLevel.values:
                _add(errors, "owners", _("Choose full, read-only or restricted access."))


def _field_errors(
    actor: Membership, blueprint: Blueprint, fields: Sequence[FieldInput], errors: Errors
) -> list[dict[str, Any]]:
    org = actor.org
    limit = org.limit("blueprint_during_fields") or 0
    if len(fields) > limit:
        _add(errors, "fields", _("Your plan allows %(n)d fields per transition.") % {"n": limit})
    keys = set(
        CustomField.objects.for_org(org)
        .filter(department=blueprint.department_id, is_active=True)
        .values_list("key", flat=True)
    )
    known = {f"cf.{k}" for k in keys} | set(TICKET_FIELDS)
    out = []
    seen: set[str] = set()
    for item in fields:
        if item.field not in known:
            _add(
                errors,
                "fields",
                _("“%(field)s” is not a field of this department.") % {"field": item.field},
            )
            continue
        if item.field in seen:
            _add(errors, "fields", _("Each field appears once."))
            continue
        seen.add(item.field)
        warning = (item.warning or "").strip()
        if len(warning) > MESSAGE_MAX:
            _add(
                errors, "fields", _("A warning has at most %(n)d characters.") % {"n": MESSAGE_MAX}
            )
        try:
            validation = criteria_parse(org, blueprint.department, item.validation)
        except ValidationError as exc:
            errors.setdefault("fields", []).extend(exc.messages)
            continue
        if validation and not warning:
            warning = _("The value does not meet the rule.")
        out.append(
            {
                "field": item.field,
                "mandatory": bool(item.mandatory),
                "validation": validation,
                "warning": warning,
            }
        )
    return out


@transaction.atomic
def transition_save(
    *,
    actor: Membership,
    blueprint: Blueprint,
    data: TransitionInput,
    transition: Transition | None = None,
) -> Transition:
    """Create or change a transition with its owners, fields, actions and after-actions.
    Changes apply at once to tickets already in the blueprint, except the "before" part
    (owners, criteria), which they keep as it was when they entered (BP-16)."""
    ensure_admin(actor)
    ensure_same_org(actor.org, blueprint, data.to_state, transition, *data.from_states)
    # Serialise edits of one blueprint: limits and connections are counted once at a time.
    Blueprint.objects.for_org(actor.org).select_for_update().filter(pk=blueprint.pk).first()
    if transition is not None and transition.blueprint_id != blueprint.pk:
        raise PermissionDenied
    errors, clean = _transition_errors(actor, blueprint, data, transition)
    if errors:
        raise ValidationError(errors)
    org = actor.org
    if transition is None:
        last = (
            Transition.objects.for_org(org).filter(blueprint=blueprint).aggregate(m=Max("position"))
        )["m"]
        transition = Transition(
            org=org, blueprint=blueprint, position=0 if last is None else last + 1
        )
    transition.name = clean["name"]
    transition.description = clean["description"]
    transition.message = clean["message"]
    transition.to_state = data.to_state
    transition.is_common = data.is_common
    transition.auto_trigger = data.auto_trigger
    transition.thread_scope = data.thread_scope
    transition.criteria = clean["criteria"]
    transition.save()
    TransitionSource.objects.for_org(org).filter(transition=transition).delete()
    TransitionSource.objects.bulk_create(
        TransitionSource(org=org, transition=transition, state=s) for s in clean["from_states"]
    )
    TransitionOwner.objects.for_org(org).filter(transition=transition).delete()
    TransitionOwner.objects.bulk_create(
        TransitionOwner(
            org=org,
            transition=transition,
            kind=o.kind,
            user_id=o.user_id if o.kind == OwnerKind.AGENT else None,
            role=o.role if o.kind == OwnerKind.ROLE else "",
            team=o.team if o.kind == OwnerKind.TEAM else None,
            department=o.department if o.kind == OwnerKind.DEPARTMENT else None,
            access=o.access,
        )
        for o in data.owners
    )
    TransitionField.objects.for_org(org).filter(transition=transition).delete()
    TransitionField.objects.bulk_create(
        TransitionField(org=org, transition=transition, position=n, **f)
        for n, f in enumerate(clean["fields"])
    )
    TransitionAction.objects.for_org(org).filter(transition=transition).delete()
    TransitionAction.objects.bulk_create(
        TransitionAction(org=org, transition=transition, kind=k, position=n)
        for n, k in enumerate(clean["actions"])
    )
    TransitionAfterAction.objects.for_org(org).filter(transition=transition).delete()
    TransitionAfterAction.objects.bulk_create(
        TransitionAfterAction(org=org, transition=transition, action=a, position=n)
        for n, a in enumerate(dict.fromkeys(data.after_actions))
    )
    bump(org.pk)
    return transition


@transaction.atomic
def transition_delete(*, actor: Membership, transition: Transition) -> None:
    """Delete a transition; refused while it is pending on tickets: tickets sit in a state it
    starts from (BP-16)."""
    ensure_admin(actor)
    ensure_same_org(actor.org, transition)
    instances = TicketBlueprint.objects.for_org(actor.org).filter(
        blueprint_id=transition.blueprint_id
    )
    if not transition.is_common:
        instances = instances.filter(
            state_id__in=TransitionSource.objects.for_org(actor.org)
            .filter(transition=transition)
            .values("state_id")
        )
    count = instances.count()
    if count:
        raise ValidationError(_in_use_message(count, _("transition")))
    transition.delete()
    bump(actor.org.pk)
