"""Who may see and do what on tickets (ORG-04). Enforced here, in the services; templates only
hide what these refuse.

Desk roles: admin (everything, in every department: assign, configure), agent (reply,
comment, forward, edit fields, create), restricted agent (comment only). Agents and restricted
agents see the tickets of the departments they belong to."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.tenancy.models import App, Department, DepartmentAgent, DeskRole, Membership

from ..models import Ticket

ACTIONS = {
    DeskRole.ADMIN: {
        "view",
        "comment",
        "reply",
        "forward",
        "edit",
        "create",
        "assign",
        "attach",
        "configure",
        "bulk",
    },
    DeskRole.AGENT: {"view", "comment", "reply", "forward", "edit", "create", "attach", "bulk"},
    DeskRole.RESTRICTED: {"view", "comment", "attach"},
}

MESSAGES = {
    "reply": gettext_lazy("Your role does not allow replying to customers."),
    "forward": gettext_lazy("Your role does not allow forwarding tickets."),
    "edit": gettext_lazy("Your role does not allow editing tickets."),
    "create": gettext_lazy("Your role does not allow creating tickets."),
    "assign": gettext_lazy("Only Desk administrators can assign tickets."),
    "configure": gettext_lazy("Only Desk administrators can change the layout."),
    "bulk": gettext_lazy("Your role does not allow bulk changes."),
}


def desk_role(membership: Membership) -> str:
    if not membership.has_app(App.DESK):
        return ""
    return DeskRole.ADMIN if membership.is_app_admin(App.DESK) else membership.desk_role


def can(membership: Membership, action: str) -> bool:
    return action in ACTIONS.get(desk_role(membership), set())


def ensure_can(membership: Membership, action: str) -> None:
    if not can(membership, action):
        raise PermissionDenied(str(MESSAGES.get(action, _("You are not allowed to do that."))))


def department_ids(membership: Membership) -> list[int] | None:
    """Departments whose tickets this member sees; None means every department (admins).
    Remembered on the membership object, which lives for one request."""
    if desk_role(membership) == DeskRole.ADMIN:
        return None
    if not hasattr(membership, "_department_ids"):
        membership._department_ids = list(
            DepartmentAgent.objects.for_org(membership.org)
            .filter(user_id=membership.user_id)
            .values_list("department_id", flat=True)
        )
    return membership._department_ids


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
