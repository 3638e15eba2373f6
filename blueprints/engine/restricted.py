"""Restricted mode (BP-02), owner reassignment (BP-14) and removal from a ticket (BP-18)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services.history import history_record

from ..models import (
    LogKind,
    OwnerOverride,
    RestrictedAction,
    Restriction,
    TicketBlueprint,
    Transition,
    TransitionLog,
    TransitionWindow,
)
from ..visits import state_visit
from .common import TransitionConflict
from .options import available_transitions, instance_for

# --- Restricted mode (BP-02) ----------------------------------------------------------------------
ACCESS_ACTIONS = {
    "reply": RestrictedAction.REPLY,
    "forward": RestrictedAction.REPLY,
    "comment": RestrictedAction.REPLY,
    "edit": RestrictedAction.EDIT,
    "approval": RestrictedAction.APPROVAL,
    "attach": RestrictedAction.ATTACHMENT,
    "solution": RestrictedAction.SOLUTION,
}


def _restriction(ticket: Ticket) -> tuple[str, list[str], int, str] | None:
    """(restriction, actions, instance id, blueprint name) of the ticket's blueprint, read once
    per ticket object."""
    key = "_blueprint_restriction"
    if key not in ticket.__dict__:
        row = (
            TicketBlueprint.objects.for_org(ticket.org_id)
            .filter(ticket_id=ticket.pk)
            .values_list(
                "blueprint__restriction", "blueprint__restricted_actions", "pk", "blueprint__name"
            )
            .first()
        )
        ticket.__dict__[key] = row
    return ticket.__dict__[key]


def is_restricted(restriction: str, actions: list[str], kind: str) -> bool:
    if restriction == Restriction.ALL:
        return True
    if restriction == Restriction.SPECIFIC:
        return kind in actions
    if restriction == Restriction.ALL_EXCEPT:
        return kind not in actions
    return False


def restriction_guard(membership: Membership, ticket: Ticket, action: str) -> str | None:
    """The tickets' access check asks this (registered at start-up): in restricted mode, a
    restricted action is refused unless the member has a transition window open on the
    ticket (then it is part of the transition)."""
    kind = ACCESS_ACTIONS.get(action)
    if kind is None or ticket.pk is None or not membership.org.limit("blueprints_per_department"):
        return None
    row = _restriction(ticket)
    if row is None:
        return None
    restriction, actions, instance_id, name = row
    if not is_restricted(restriction, actions or [], kind):
        return None
    key = f"_blueprint_window_{membership.user_id}"
    if key not in ticket.__dict__:
        ticket.__dict__[key] = (
            TransitionWindow.objects.for_org(ticket.org_id)
            .filter(instance_id=instance_id, started_by_id=membership.user_id)
            .exists()
        )
    if ticket.__dict__[key]:
        return None
    return _(
        "This ticket follows the blueprint “%(name)s” in restricted mode: do this inside one of "
        "its transitions."
    ) % {"name": name}


# --- Reassignment (BP-14) and removal (BP-18) -----------------------------------------------------
@transaction.atomic
def reassign_owner(
    *,
    ticket: Ticket,
    transition: Transition,
    membership: Membership,
    user_id: int,
    ip: str | None = None,
) -> OwnerOverride:
    """Give a pending transition of this ticket to another agent (of any department). Only
    when the blueprint allows it, by a Desk admin or one of the transition's owners."""
    ensure_same_org(membership.org, ticket, transition)
    instance, options = available_transitions(ticket, membership)
    option = next((o for o in options if o.transition.pk == transition.pk), None)
    if instance is None or option is None:
        raise TransitionConflict(_("This transition is not pending on the ticket. Reload it."))
    if not instance.blueprint.dynamic_reassignment:
        raise PermissionDenied(_("This blueprint does not allow reassigning transitions."))
    if not (membership.is_app_admin("desk") or option.is_owner):
        raise PermissionDenied(
            _("Only an administrator or the transition's owner can reassign it.")
        )
    target = (
        Membership.objects.for_org(membership.org)
        .filter(user_id=user_id, status=Membership.Status.ACTIVE)
        .exclude(desk_role="")
        .select_related("user")
        .first()
    )
    if target is None:
        raise ValidationError({"user": [_("Choose an active agent.")]})
    override, _created = OwnerOverride.objects.update_or_create(
        org_id=ticket.org_id,
        instance=instance,
        transition=transition,
        defaults={"user_id": user_id, "set_by": membership.user},
    )
    history_record(
        ticket=ticket,
        actor=membership.user,
        ip=ip,
        action="blueprint_reassigned",
        changes={"transition_owner": [", ".join(option.owners), target.user.display_name]},
    )
    return override


@transaction.atomic
def blueprint_remove(*, ticket: Ticket, membership: Membership, ip: str | None = None) -> None:
    """Take the ticket out of its blueprint (Desk admins, BP-18); written to its history. It
    does not enter that blueprint again."""
    ensure_same_org(membership.org, ticket)
    if not membership.is_app_admin("desk"):
        raise PermissionDenied(_("Only administrators can remove a blueprint from a ticket."))
    Ticket.objects.for_org(membership.org).select_for_update().filter(pk=ticket.pk).first()
    instance = instance_for(ticket)
    if instance is None:
        raise TransitionConflict(_("This ticket is not in a blueprint."))
    now = timezone.now()
    TransitionLog.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        blueprint_id=instance.blueprint_id,
        kind=LogKind.REMOVED,
        name=instance.blueprint.name,
        from_status_id=instance.state.status_id,
        actor=membership.user,
        at=now,
        seconds_in_state=max(int((now - instance.entered_at).total_seconds()), 0),
    )
    instance.delete()
    state_visit(ticket=ticket, left_id=instance.state_id, entered_id=None, at=now)
    history_record(
        ticket=ticket,
        actor=membership.user,
        ip=ip,
        action="blueprint_removed",
        changes={"blueprint": [instance.blueprint.name, None]},
    )
