"""Transitions (BP-05..BP-12, BP-16, BP-20): their before (owners, criteria), during (fields,
ordered actions, message) and after (linked after-actions) parts, validated all at once with
the plan's limits and the 16-connection rule, saved in one transaction; deletion refused while
the transition is pending on tickets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Department, DeskRole, Membership, Team
from helpdesk.tickets.models import CustomField

from ..engine.definitions import bump
from ..models import (
    DESCRIPTION_MAX,
    MESSAGE_MAX,
    TRANSITION_NAME_MAX,
    AccessLevel,
    AfterAction,
    AutoTrigger,
    Blueprint,
    DuringAction,
    OwnerKind,
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
from ..versions.services import record as record_version
from .common import Errors, _add, _in_use_message, criteria_parse, ensure_admin

MAX_CONNECTIONS = 16  # a state connects to at most 16 other states (BP-20)
# Ticket fields a transition may ask for besides the custom fields (`cf.<key>`).
TICKET_FIELDS = ("priority", "due_at")


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
    record_version(actor, blueprint)
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
    blueprint = transition.blueprint
    transition.delete()
    bump(actor.org.pk)
    record_version(actor, blueprint)
