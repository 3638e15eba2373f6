"""A blueprint's information and lifecycle (BP-01, BP-02, BP-17, BP-19..BP-21, BP-24): save as
a draft or live, activate within the plan's limit, deactivate and reactivate, delete (refused
while tickets are in it), the list order."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Department, Membership

from ..engine.definitions import bump
from ..models import (
    DESCRIPTION_MAX,
    NAME_MAX,
    Blueprint,
    BlueprintStatus,
    RestrictedAction,
    Restriction,
    TicketBlueprint,
)
from ..versions.services import record as record_version
from .common import Errors, _add, _in_use_message, criteria_parse, ensure_admin


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
    record_version(actor, blueprint)
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
    record_version(actor, blueprint)
    return blueprint


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
