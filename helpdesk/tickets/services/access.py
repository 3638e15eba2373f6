"""Who may see and do what on tickets (ORG-04). Enforced here, in the services; templates only
hide what these refuse.

The Desk roles' table is `helpdesk.tenancy.roles` (shared with customers). Agents and
restricted agents see the tickets of the departments they belong to, and the tickets shared
with one of those departments (TKT-04) at the share's level: full (what their role allows),
restricted (private comments, with attachments) or read only (`SHARE_ACTIONS`). Services ask
`ensure_ticket_can(member, ticket, action)`, which checks both the role and the ticket."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.compiledreads import CompiledRead
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Department, DepartmentAgent, DeskRole, Membership
from helpdesk.tenancy.roles import desk_can, desk_role

from ..collab.models import ShareLevel, TicketShare
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


# --- Tickets shared with another department (TKT-04) ------------------------------------------
OWN = 0  # the ticket's own department (or a Desk admin): the role alone decides
# What a share level lets the other department's agents do, within their role. "approval"
# (request one) and "solution" (write it) are checked against the role's "edit".
SHARE_ACTIONS: dict[int, frozenset[str]] = {
    ShareLevel.FULL: frozenset(
        {"view", "comment", "reply", "forward", "edit", "attach", "approval", "solution"}
    ),
    ShareLevel.RESTRICTED: frozenset({"view", "comment", "attach"}),
    ShareLevel.READ_ONLY: frozenset({"view"}),
}
ROLE_ACTION = {"approval": "edit", "solution": "edit", "share": "edit"}
SHARE_MESSAGES = {
    ShareLevel.RESTRICTED: gettext_lazy(
        "This ticket is shared with your department with restricted access: you may only add "
        "private comments."
    ),
    ShareLevel.READ_ONLY: gettext_lazy(
        "This ticket is shared with your department read-only: you may not change it."
    ),
    ShareLevel.FULL: gettext_lazy(
        "Only agents of the ticket's own department may do that on a shared ticket."
    ),
}


def _share_levels(membership: Membership, ids: list[int]) -> QuerySet[TicketShare]:
    return TicketShare.objects.for_org(membership.org).filter(department_id__in=ids)


def ticket_access(membership: Membership, ticket: Ticket) -> int | None:
    """`OWN` when the ticket is in the member's departments (or they are a Desk admin), else
    the widest level it is shared with one of their departments, else None (not visible).
    A ticket read by `ticket_for_member` carries its level; otherwise it costs one query."""
    ids = department_ids(membership)
    if ids is None or ticket.department_id in ids:
        return OWN
    if "share_level" in ticket.__dict__:
        return ticket.__dict__["share_level"]
    level = (
        _share_levels(membership, ids)
        .filter(ticket_id=ticket.pk)
        .order_by("-level")
        .values_list("level", flat=True)
        .first()
    )
    ticket.__dict__["share_level"] = level
    return level


# Checks of apps above tickets (blueprints' restricted mode, BP-02), registered at start-up:
# `guard(membership, ticket, action)` returns None to allow, or the message refusing it.
Guard = Callable[[Membership, Ticket, str], str | None]
_guards: list[Guard] = []


def guard_register(guard: Guard) -> None:
    if guard not in _guards:
        _guards.append(guard)


def _guarded(membership: Membership, ticket: Ticket, action: str) -> str | None:
    for guard in _guards:
        refusal = guard(membership, ticket, action)
        if refusal is not None:
            return refusal
    return None


def ticket_can(membership: Membership, ticket: Ticket, action: str) -> bool:
    """Whether the member may do `action` on this ticket: their role, and the share's level
    when the ticket is another department's."""
    if not can(membership, ROLE_ACTION.get(action, action)):
        return False
    level = ticket_access(membership, ticket)
    if level is None:
        return False
    allowed = level == OWN or action in SHARE_ACTIONS.get(level, frozenset())
    return allowed and _guarded(membership, ticket, action) is None


def ensure_ticket_can(membership: Membership, ticket: Ticket, action: str) -> None:
    """Refuse unless `ticket_can`: another organization's ticket is a 403
    (`ensure_same_org`), a ticket the member does not see a 404, an action their role or the
    share's level does not allow a 403 saying why."""
    ensure_same_org(membership.org, ticket)
    ensure_can(membership, ROLE_ACTION.get(action, action))
    level = ticket_access(membership, ticket)
    if level is None:
        raise Http404
    if level != OWN and action not in SHARE_ACTIONS.get(level, frozenset()):
        raise PermissionDenied(str(SHARE_MESSAGES[ShareLevel(level)]))
    refusal = _guarded(membership, ticket, action)
    if refusal is not None:
        raise PermissionDenied(refusal)


def shared_tickets(membership: Membership) -> QuerySet[Ticket]:
    """Tickets of other departments shared with one of the member's departments (none for
    Desk admins, who see every ticket anyway)."""
    ids = department_ids(membership)
    if ids is None or not can(membership, "view"):
        return Ticket.objects.none()
    shares = _share_levels(membership, ids).filter(ticket_id=OuterRef("pk"))
    return (
        Ticket.objects.for_org(membership.org).exclude(department_id__in=ids).filter(Exists(shares))
    )


def ticket_for_member(
    membership: Membership, number: int, *, for_update: bool = False, related: tuple[str, ...] = ()
) -> Ticket:
    """The ticket if this member may see it (in their departments, or shared with one of
    them: then it carries `share_level`); 404 otherwise (same answer for 'missing')."""
    if not can(membership, "view"):
        raise Http404
    # Every ticket page and its fragments read it: the SQL is compiled once per process and
    # shape (`helpdesk.compiledreads`); the member's departments are a subquery, so the
    # arguments are ids only.
    agent = department_ids(membership) is not None
    key = (agent, tuple(related), for_update)
    read = _TICKET_READS.get(key)
    if read is None:
        read = _TICKET_READS[key] = CompiledRead(partial(_member_ticket, *key))
    if agent:
        ticket = read(org_id=membership.org_id, user_id=membership.user_id, number=number)
    else:
        ticket = read(org_id=membership.org_id, number=number)
    if ticket is None:
        raise Http404
    return ticket


_TICKET_READS: dict[tuple[bool, tuple[str, ...], bool], CompiledRead[Ticket]] = {}


def _member_ticket(
    agent: bool,
    related: tuple[str, ...],
    for_update: bool,
    org_id: int,
    number: int,
    user_id: int | None = None,
) -> QuerySet[Ticket]:
    """The ticket numbered `number` as `ticket_for_member` may show it: any of the
    organization's for a Desk admin; for an agent, one of their departments' or one shared
    with one of them, annotated with the widest share level (None: their own department's)."""
    # The search document is for PostgreSQL only; reading it back costs more than the row.
    qs = Ticket.objects.for_org(org_id).filter(number=number).defer("search_vector")
    if agent:
        mine = (
            DepartmentAgent.objects.for_org(org_id).filter(user_id=user_id).values("department_id")
        )
        level = Subquery(
            TicketShare.objects.for_org(org_id)
            .filter(department_id__in=mine, ticket_id=OuterRef("pk"))
            .order_by("-level")
            .values("level")[:1]
        )
        qs = qs.annotate(share_level=level).filter(
            Q(department_id__in=mine) | Q(share_level__isnull=False)
        )
    if related:
        qs = qs.select_related(*related)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    return qs
