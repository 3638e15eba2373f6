"""Sharing a ticket with another department (TKT-04).

Levels (`ShareLevel`): full (the other department's agents work on the ticket as its own
agents do, within their role, but do not move it, merge it or share it further), restricted
(they read it and add private comments with attachments: seed 001's "restricted agent", who
may only comment) and read only (they read it). `helpdesk.tickets.services.access` enforces
them in every service that changes a ticket.

Granting, changing and revoking a share is for the ticket's own department: Desk admins, and
agents of that department (a restricted agent's role allows no change; a shared department's
agents cannot share further)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Department, Membership

from ...models import Ticket
from ...services.access import OWN, ensure_ticket_can, ticket_access
from ...services.history import history_record
from ..models import ShareLevel, TicketShare


def share_level_key(level: int) -> str:
    """The level as the history stores it: "read_only", "restricted" or "full"."""
    return ShareLevel(level).name.lower()


def _ensure_may_share(actor: Membership, ticket: Ticket) -> None:
    ensure_ticket_can(actor, ticket, "share")
    if ticket_access(actor, ticket) != OWN:
        raise PermissionDenied(
            _("Only the ticket's own department can share it with another department.")
        )


def ticket_shares(*, ticket: Ticket) -> QuerySet[TicketShare]:
    return (
        TicketShare.objects.for_org(ticket.org_id)
        .filter(ticket=ticket)
        .select_related("department", "granted_by")
        .order_by("department__name", "pk")
    )


def share_targets(*, ticket: Ticket) -> QuerySet[Department]:
    """Departments the ticket may be shared with: enabled, not its own."""
    return (
        Department.objects.for_org(ticket.org_id)
        .filter(is_enabled=True)
        .exclude(pk=ticket.department_id)
        .order_by("name", "pk")
    )


@transaction.atomic
def ticket_share(
    *,
    actor: Membership,
    ticket: Ticket,
    department: Department,
    level: int,
    ip: str | None = None,
) -> TicketShare:
    """Share `ticket` with `department` at `level`, or change the level of an existing share.
    Another organization's department is refused (403); its own department, a disabled one
    or an unknown level are ValidationErrors."""
    ensure_same_org(actor.org, ticket, department)
    _ensure_may_share(actor, ticket)
    errors: dict[str, list[str]] = {}
    if department.pk == ticket.department_id:
        errors["department"] = [_("The ticket already belongs to this department.")]
    elif not department.is_enabled:
        errors["department"] = [_("This department is disabled.")]
    if level not in ShareLevel.values:
        errors["level"] = [_("Choose full, restricted or read-only access.")]
    if errors:
        raise ValidationError(errors)
    share = (
        TicketShare.objects.for_org(actor.org)
        .select_for_update()
        .filter(ticket=ticket, department=department)
        .first()
    )
    # The history keeps the level's key; history_display shows it in the reader's language.
    new_key = share_level_key(level)
    if share is None:
        share, created = TicketShare.objects.get_or_create(
            org=actor.org,
            ticket=ticket,
            department=department,
            defaults={"level": level, "granted_by": actor.user},
        )
        before = None if created else share_level_key(share.level)
    else:
        before = share_level_key(share.level)
    if before == new_key:
        return share
    if before is not None:
        share.level = level
        share.granted_by = actor.user
        share.save(update_fields=["level", "granted_by", "updated_at"])
    history_record(
        ticket=ticket,
        actor=actor.user,
        ip=ip,
        action="share_granted" if before is None else "share_changed",
        changes={
            "shared_with": [
                None if before is None else {department.name: before},
                {department.name: new_key},
            ]
        },
    )
    return share


@transaction.atomic
def ticket_share_for_process(
    *, ticket: Ticket, department: Department, level: int, process: str
) -> TicketShare | None:
    """Share `ticket` with `department` because a process needs its agents there (a blueprint
    transition owned by that department, BP-06): no actor, history naming the process. An
    existing share keeps its level if it is already as wide; the ticket's own department or a
    disabled one is left alone (None)."""
    ensure_same_org(ticket.org, department)
    if department.pk == ticket.department_id or not department.is_enabled:
        return None
    if level not in ShareLevel.values:
        raise ValueError(level)
    share, created = TicketShare.objects.get_or_create(
        org_id=ticket.org_id, ticket=ticket, department=department, defaults={"level": level}
    )
    before = None if created else share_level_key(share.level)
    if not created:
        if share.level >= level:
            return share
        share.level = level
        share.save(update_fields=["level", "updated_at"])
    # "_rule" names the process as the change's actor in the history ("Rule: <name>").
    changes: dict[str, Any] = {
        "shared_with": [
            None if before is None else {department.name: before},
            {department.name: share_level_key(level)},
        ],
        "_rule": process,
    }
    history_record(
        ticket=ticket,
        actor=None,
        ip=None,
        action="share_granted" if before is None else "share_changed",
        changes=changes,
    )
    return share


@transaction.atomic
def ticket_unshare(
    *, actor: Membership, ticket: Ticket, share: TicketShare, ip: str | None = None
) -> None:
    """Revoke a share: the department's agents no longer see the ticket."""
    ensure_same_org(actor.org, ticket, share)
    if share.ticket_id != ticket.pk:
        raise ValidationError(_("This share belongs to another ticket."))
    _ensure_may_share(actor, ticket)
    # Read again under a lock: the level may have changed since the caller read it.
    current = (
        TicketShare.objects.for_org(actor.org)
        .select_for_update(of=("self",))
        .select_related("department")
        .filter(pk=share.pk)
        .first()
    )
    if current is None:
        return  # revoked at the same moment by someone else
    department = current.department
    key = share_level_key(current.level)
    current.delete()
    history_record(
        ticket=ticket,
        actor=actor.user,
        ip=ip,
        action="share_revoked",
        changes={"shared_with": [{department.name: key}, None]},
    )
