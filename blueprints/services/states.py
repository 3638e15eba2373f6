"""A blueprint's states (BP-01, BP-04, BP-16): the department's statuses, their editor
positions, deletion refused while tickets are in them."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.models import TicketStatus

from ..engine.definitions import bump
from ..models import (
    Blueprint,
    State,
    TicketBlueprint,
)
from ..versions.services import record as record_version
from .common import _in_use_message, ensure_admin


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
    record_version(actor, blueprint)
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
    blueprint = state.blueprint
    state.delete()
    bump(actor.org.pk)
    record_version(actor, blueprint)
