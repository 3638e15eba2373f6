"""The desk's tickets as the CRM sees them (CRM-08..CRM-13): which desk tickets belong to a CRM
record, and which desk ticket a CRM user may open from the CRM.

**Which desk.** The integration's desk (this organization's, or another one authorised by a
key), while the integration works (`integration_problem`: not deactivated, its authoriser
still a CRM admin, its key not revoked). Without a working integration the CRM shows no
tickets at all.

**Which tickets.** A CRM contact's tickets are its linked desk contact's tickets; a CRM
account's are its linked desk account's (the account's own tickets and its contacts', as the
customers' pages count them, `helpdesk.tickets.customer_stats.record_scope`); a deal's are the
tickets linked to it (`DealTicket`, CRM-12). A record the sync has not linked has none.

**Who sees them.** Every CRM user sees the tickets of every CRM record (the CRM shows sales
staff their customers' service): the list is the CRM's view of the customer, not the desk's
ticket list. What a user may *do* with a ticket is the desk's decision: `DeskView.member` is
their desk membership (None without a desk account: they may only comment, CRM-11).

Reads and writes of the desk's rows run inside `DeskView.scope()`: another organization's desk
is read under its row-level-security scope (see `crmsync.connector`), which hides the CRM's
own rows; so every function here reads the CRM's rows in `DeskView.crm_scope()` and the
desk's in `DeskView.scope()` itself, and may be called inside or outside either."""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from customers.models import Account
from helpdesk.compiledreads import CompiledRead
from helpdesk.lookups import any_of
from helpdesk.tenancy.models import Membership, Organization
from helpdesk.tickets.customer_stats import record_scope
from helpdesk.tickets.models import Ticket

from .connector import DeskConnector
from .models import CrmAccount, CrmContact, Deal, DealTicket, Integration, SyncKind, SyncLink
from .selectors import integration_of
from .services.integration import integration_problem

CrmRecord = CrmAccount | CrmContact | Deal
_UNREAD: Any = object()


@dataclass
class DeskView:
    """The desk of this CRM user's organization, and their account there."""

    integration: Integration
    connector: DeskConnector
    member: Membership | None  # their desk membership (`org` set to the desk's), or None

    @property
    def desk_org(self) -> Organization:
        return self.integration.desk_org

    @property
    def has_desk_account(self) -> bool:
        return self.member is not None

    def scope(self) -> AbstractContextManager:
        return self.connector.scope()

    def crm_scope(self) -> AbstractContextManager:
        return self.connector.crm_scope()


def desk_view(actor: Membership, integration: Integration | None = _UNREAD) -> DeskView | None:
    """The working desk of `actor`'s CRM, or None (no integration, or it cannot work now).
    `integration`: the CRM's integration when the caller has read it already."""
    if integration is _UNREAD:
        integration = integration_of(actor.org)
    if integration is None or integration_problem(integration, known=actor):
        return None
    connector = DeskConnector(integration)
    member = connector.desk_users([actor.user_id], known=actor).get(actor.user_id)
    if member is not None:
        member.org = integration.desk_org
    return DeskView(integration=integration, connector=connector, member=member)


def linked_desk_id(integration: Integration, kind: str, crm_id: int) -> int | None:
    """The desk record the sync linked to this CRM record (`kind`: "contact" or "account")."""
    with DeskConnector(integration).crm_scope():
        link = _LINK_READ(
            org_id=integration.org_id, integration_id=integration.pk, kind=kind, crm_id=crm_id
        )
    return link.desk_id if link is not None else None


# Every CRM record's tickets list reads its link: the SQL is compiled once per process.
_LINK_READ = CompiledRead(
    lambda org_id, integration_id, kind, crm_id: (
        SyncLink.objects.for_org(org_id)
        .filter(integration_id=integration_id, kind=kind, crm_id=crm_id)
        .only("pk", "desk_id")
    )
)


def record_scope_q(desk: DeskView, record: CrmRecord) -> Q | None:
    """The filter of this CRM record's desk tickets (see the module's docstring), or None
    when it has none."""
    integration = desk.integration
    if isinstance(record, Deal):
        with desk.crm_scope():
            ids = list(
                DealTicket.objects.for_org(integration.org)
                .filter(integration=integration, deal=record)
                .values_list("ticket_id", flat=True)
            )
        return Q(any_of("pk", ids)) if ids else None
    if isinstance(record, CrmContact):
        desk_id = linked_desk_id(integration, SyncKind.CONTACT, record.pk)
        return Q(contact_id=desk_id) if desk_id is not None else None
    desk_id = linked_desk_id(integration, SyncKind.ACCOUNT, record.pk)
    if desk_id is None:
        return None
    with desk.scope():  # the desk account's contacts
        scope = record_scope(desk.desk_org, Account(pk=desk_id, org_id=desk.desk_org.pk))
    return _as_arrays(scope)


def record_tickets(desk: DeskView, record: CrmRecord) -> QuerySet[Ticket]:
    """This CRM record's desk tickets (none when it is not linked): a query to evaluate inside
    `desk.scope()`."""
    return tickets_in(desk, record_scope_q(desk, record))


def tickets_in(desk: DeskView, scope: Q | None) -> QuerySet[Ticket]:
    """The desk's tickets in `scope` (a `record_scope_q`; None: none)."""
    tickets = Ticket.objects.for_org(desk.desk_org)
    return tickets.filter(scope) if scope is not None else tickets.none()


def scope_branches(scope: Q | None) -> list[Q]:
    """The alternatives of a scope (an account's: its own tickets, its contacts' tickets),
    each of which an index answers alone; one for a contact or a deal, none without a scope."""
    if scope is None:
        return []
    if scope.connector == Q.OR and not scope.negated and len(scope.children) > 1:
        return [child if isinstance(child, Q) else Q(child) for child in scope.children]
    return [scope]


def _as_arrays(scope: Q) -> Q:
    """`field__in=[ids]` conditions as `field = ANY(%s)` with the ids as one array parameter:
    an account's hundred contacts or a deal's thousand tickets are one parameter instead of a
    thousand (each of which Python binds and PostgreSQL parses in every query)."""
    children: list = []
    for child in scope.children:
        if isinstance(child, Q):
            children.append(_as_arrays(child))
        elif isinstance(child, tuple) and isinstance(child[1], list | tuple):
            name, values = child
            if name.endswith("__in"):
                children.append(Q(any_of(name.removesuffix("__in"), list(values))))
            else:
                children.append(child)
        else:
            children.append(child)
    return Q(*children, _connector=scope.connector, _negated=scope.negated)


def ticket_reachable(desk: DeskView, ticket: Ticket) -> bool:
    """Is this desk ticket one of a CRM record's (its contact or account linked, or linked
    to a deal)? Only those open from the CRM."""
    integration = desk.integration
    account_ids = {ticket.account_id} if ticket.account_id else set()
    if ticket.contact_id:
        with desk.scope():
            contact = ticket.contact
        if contact is not None and contact.account_id:
            account_ids.add(contact.account_id)
    with desk.crm_scope():
        if (
            DealTicket.objects.for_org(integration.org)
            .filter(integration=integration, ticket_id=ticket.pk)
            .exists()
        ):
            return True
        links = SyncLink.objects.for_org(integration.org).filter(integration=integration)
        return links.filter(
            Q(kind=SyncKind.CONTACT, desk_id=ticket.contact_id or 0)
            | Q(kind=SyncKind.ACCOUNT, desk_id__in=account_ids)
        ).exists()


def ticket_of(desk: DeskView, number: int) -> Ticket:
    """The desk ticket with this number, if the CRM may open it; else 404 (an outsider learns
    nothing: the same answer as for a number that does not exist)."""
    with desk.scope():
        ticket = (
            Ticket.objects.for_org(desk.desk_org)
            .select_related("contact", "account", "status", "department", "owner")
            .filter(number=number)
            .first()
        )
    if ticket is None or not ticket_reachable(desk, ticket):
        raise Http404
    return ticket
