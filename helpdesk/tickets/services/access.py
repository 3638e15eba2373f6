"""Who may see and do what on tickets (ORG-04). Enforced here, in the services; templates only
hide what these refuse.

The Desk roles' table is `helpdesk.tenancy.roles` (shared with customers). Agents and
restricted agents see the tickets of the departments they belong to."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.tenancy.models import Department, DepartmentAgent, DeskRole, Membership
from helpdesk.tenancy.roles import desk_can, desk_role

from ..models import Ticket

MESSAGES = {
    "reply": gettext_lazy("Your role does not allow replying to customers."),
    "forward": gettext_lazy("Your role does not allow forwarding tickets."),
    "edit": gettext_lazy("Your role does not allow editing tickets."),
    "create": gettext_lazy("Your role does not allow creating tickets."),
    "assign": gettext_lazy("Only Desk administrators can assign tickets."),
    "configure": gettext_lazy("Only Desk administrators can change the layout."),
    "bulk": gettext_lazy("Your role does not allow bulk changes."),
}


def can(membership: Membership, action: str) -> bool:
    return desk_can(membership, action)


def ensure_can(membership: Membership, action: str) -> None:
    if not can(membership, action):
        raise PermissionDenied(str(MESSAGES.get(action, _("You are not allowed to do that."))))


def department_ids(membership: Membership) -> list[int] | None:
    """Departments whose tickets this member sees; None means every department (admins).
    Remembered on the membership object, which lives for one request."""
    if desk_role(membership) == DeskRole.ADMIN:
        return None
    cached: list[int] | None = membership.__dict__.get("_department_ids")
    if cached is None:
        cached = list(
            DepartmentAgent.objects.for_org(membership.org)
            .filter(user_id=membership.user_id)
            .values_list("department_id", flat=True)
        )
        membership.__dict__["_department_ids"] = cached
    return cached


def departments_for(membership: Membership) -> QuerySet[Department]:
    ids = department_ids(membership)
    qs = Department.objects.for_org(membership.org).filter(is_enabled=True)
    return qs if ids is None else qs.filter(pk__in=ids)


def visible_tickets(membership: Membership) -> QuerySet[Ticket]:
    if not can(membership, "view"):
        return Ticket.objects.none()
    qs = Ticket.objects.for_org(membership.org)
    ids = department_ids(membership)
    return qs if ids is None else qs.filter(department_id__in=ids)


def ticket_for_member(
    membership: Membership, number: int, *, for_update: bool = False, related: tuple[str, ...] = ()
) -> Ticket:
    """The ticket if this member may see it; 404 otherwise (same answer for 'missing')."""
    # The search document is for PostgreSQL only; reading it back costs more than the row.
    qs = visible_tickets(membership).defer("search_vector")
    if related:
        qs = qs.select_related(*related)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    ticket = qs.filter(number=number).first()
    if ticket is None:
        raise Http404
    return ticket
