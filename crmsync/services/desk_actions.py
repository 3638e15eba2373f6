"""Acting on desk tickets from the CRM (CRM-10, CRM-11).

The CRM never writes the desk's rows itself: every action calls the desk's own service
(`helpdesk.tickets.services`) with the CRM user's **desk membership** as the actor, so the
desk's role checks apply exactly as on the desk's ticket page (a restricted agent may comment
but not reply; only an agent of the ticket's department changes it; assigning others is for
Desk admins). The order in each service is the same:

1. the CRM actor has CRM access and the objects given are of their organization;
2. the CRM has a working desk (`desk_view`), else 404 (the CRM shows no tickets then);
3. the ticket is one the CRM may open (`ticket_reachable`: of a linked contact or account, or
   linked to a deal), else 404: the same answer as a number that does not exist;
4. the desk service runs inside `desk.scope()` (the desk organization's row-level-security
   scope when it is another organization), in one transaction with the CRM's own rows.

**Without a desk account** (CRM-11) a CRM user may only comment: `crm_comment_add` writes a
private comment whose author is that person (the desk shows their name), not a comment in the
integration's name. The same holds for a desk member whom the desk does not let comment on
this ticket (its department is not theirs): a desk account never gives less than none.
Everything else is refused (403) with a sentence saying why.

**Creating** (CRM-10) needs a desk account whose role may create tickets. The ticket's desk
contact is the CRM contact's linked desk contact; a contact the sync has not linked yet is
found or created on the desk by its email (`contact_get_or_create_by_email`, the way every
channel finds a contact), which is also the sync's matching rule (CRM-05): when the CRM
contact is delivered, it links to that desk contact instead of creating a second one. A new
contact is created in the CRM (`records.contact_save`, so the sync carries it) unless one with
that email exists there, which is used instead. Attachments given at creation become a private
comment of the creator (the desk's tickets carry files on thread entries only). A ticket
created from a deal is linked to it (`deal_tickets_link`, CRM-12)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils.translation import gettext as _

from customers.models import Account, Contact
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Department, Membership, User
from helpdesk.tickets.models import StatusKind, Thread, Ticket, TicketStatus
from helpdesk.tickets.services import access as desk_access
from helpdesk.tickets.services.layouts import statuses_for
from helpdesk.tickets.services.threads import crm_comment_add, thread_add
from helpdesk.tickets.services.tickets import (
    TicketInput,
    ticket_create,
    ticket_delete,
    ticket_update,
)

from ..desk_tickets import CrmRecord, DeskView, desk_view, linked_desk_id, ticket_reachable
from ..models import CrmAccount, CrmContact, Deal, DealContact, DealTicket, SyncKind
from . import records
from .access import ensure_can as crm_ensure_can

T = TypeVar("T")

# What the CRM's ticket page offers, by the desk's action that allows it.
ACTIONS = ("reply", "forward", "comment", "update", "close", "delete")


def _no_account() -> PermissionDenied:
    return PermissionDenied(
        _(
            "You have no desk account: from the CRM you may only comment on tickets. Ask an "
            "administrator to invite you to the desk."
        )
    )


def working_desk(actor: Membership) -> DeskView:
    """The actor's working desk; 404 without one (the CRM shows no tickets then)."""
    crm_ensure_can(actor, "view")
    desk = desk_view(actor)
    if desk is None:
        raise Http404
    return desk


def reachable_ticket(desk: DeskView, number: int, *, for_update: bool = False) -> Ticket:
    """The desk ticket with this number if the CRM may open it; 404 otherwise. The ticket is
    read in the desk's scope, the CRM's links in the CRM's (`ticket_reachable` reads the
    CRM's rows: under another organization's scope it would see none). `for_update` locks
    the row until the caller's transaction ends."""
    with desk.scope():
        tickets = Ticket.objects.for_org(desk.desk_org).defer("search_vector")
        if for_update:
            tickets = tickets.select_for_update(of=("self",))
        ticket = (
            tickets.select_related("contact", "account", "status", "department", "owner")
            .filter(number=number)
            .first()
        )
    if ticket is None or not ticket_reachable(desk, ticket):
        raise Http404
    return ticket


def _desk_call(desk: DeskView, call: Callable[[], T]) -> T:
    """Run a desk service in the desk's scope. A ticket the desk does not show this member
    (another department's) is a 404 in the desk, but the CRM showed it: here it is a 403."""
    with desk.scope():
        try:
            return call()
        except Http404 as exc:
            raise PermissionDenied(
                _(
                    "Your desk account does not give you access to this ticket's department, "
                    "so you cannot do that here."
                )
            ) from exc


def allowed_actions(desk: DeskView, ticket: Ticket) -> set[str]:
    """What the ticket page offers this CRM user (the services refuse the rest anyway)."""
    member = desk.member
    if member is None:
        return {"comment"}
    with desk.scope():
        can = {a for a in ("reply", "forward", "edit", "attach") if _ticket_can(member, ticket, a)}
        own = desk_access.ticket_access(member, ticket) == desk_access.OWN
    allowed = {"comment"} | (can & {"reply", "forward", "attach"})
    if "edit" in can:
        allowed |= {"update", "close"}
        if own:
            allowed |= {"delete", "move"}
    return allowed


def _ticket_can(member: Membership, ticket: Ticket, action: str) -> bool:
    try:
        return desk_access.ticket_can(member, ticket, action)
    except Http404:
        return False


def _member(desk: DeskView) -> Membership:
    if desk.member is None:
        raise _no_account()
    return desk.member


# --- The thread: reply, forward, comment -------------------------------------------------------
@transaction.atomic
def desk_ticket_reply(
    *,
    actor: Membership,
    number: int,
    body: str,
    cc: str = "",
    files: Sequence[UploadedFile] = (),
    ip: str | None = None,
) -> Thread:
    """A public reply to the ticket's contact, mailed by the desk (its role check: "reply")."""
    desk = working_desk(actor)
    ticket = reachable_ticket(desk, number)
    member = _member(desk)
    return _desk_call(
        desk,
        lambda: thread_add(
            actor=member, ticket=ticket, kind="reply", body=body, cc=cc, files=files, ip=ip
        ),
    )


@transaction.atomic
def desk_ticket_forward(
    *,
    actor: Membership,
    number: int,
    to: str,
    body: str,
    cc: str = "",
    files: Sequence[UploadedFile] = (),
    ip: str | None = None,
) -> Thread:
    """Forward the ticket to addresses (the desk's role check: "forward")."""
    desk = working_desk(actor)
    ticket = reachable_ticket(desk, number)
    member = _member(desk)
    return _desk_call(
        desk,
        lambda: thread_add(
            actor=member,
            ticket=ticket,
            kind="forward",
            body=body,
            to=to,
            cc=cc,
            files=files,
            ip=ip,
        ),
    )


@transaction.atomic
def desk_ticket_comment(
    *,
    actor: Membership,
    number: int,
    body: str,
    files: Sequence[UploadedFile] = (),
    ip: str | None = None,
) -> Thread:
    """A private comment: by the desk member when the desk lets them comment on this ticket
    (its checks, with attachments), else by the CRM user as themselves (CRM-11)."""
    desk = working_desk(actor)
    ticket = reachable_ticket(desk, number)
    member = desk.member
    with desk.scope():
        if member is not None and _ticket_can(member, ticket, "comment"):
            return thread_add(
                actor=member, ticket=ticket, kind="comment", body=body, files=files, ip=ip
            )
        return crm_comment_add(ticket=ticket, author=actor.user, body=body, files=files, ip=ip)


# --- The ticket's fields, closing, deleting ---------------------------------------------------
@dataclass(frozen=True, kw_only=True)
class TicketFields:
    """What the CRM's "Update fields" form sets (ids of the desk's rows, read again here)."""

    status_id: int
    priority: str
    owner_id: int | None
    due_at: dt.datetime | None
    department_id: int | None = None  # None: stays in its department


@transaction.atomic
def desk_ticket_update(
    *, actor: Membership, number: int, fields: TicketFields, ip: str | None = None
) -> dict[str, list]:
    """Change the ticket's fields through the desk's `ticket_update` (its role and
    department checks; assigning others is for Desk admins). Only the fields that differ are
    given, so the desk's checks see what really changes. Returns the changes made."""
    desk = working_desk(actor)
    member = _member(desk)
    ticket = reachable_ticket(desk, number, for_update=True)
    org = desk.desk_org
    errors: dict[str, str] = {}
    values: dict = {}
    with desk.scope():
        department = ticket.department
        if fields.department_id is not None and fields.department_id != ticket.department_id:
            department = Department.objects.for_org(org).filter(pk=fields.department_id).first()
            if department is None:
                errors["department"] = _("Choose a department.")
            else:
                values["department"] = department
        if fields.status_id != ticket.status_id:
            status = TicketStatus.objects.for_org(org).filter(pk=fields.status_id).first()
            if status is None:
                errors["status"] = _("Choose a status.")
            elif department is not None and status.department_id == department.pk:
                values["status"] = status
            elif "department" not in values:
                errors["status"] = _("Choose a status.")
            # A move with a status of the old department: the new one's default status.
        if fields.priority != ticket.priority:
            values["priority"] = fields.priority
        if fields.owner_id != ticket.owner_id:
            owner = User.objects.filter(pk=fields.owner_id).first() if fields.owner_id else None
            if fields.owner_id and owner is None:
                errors["owner"] = _("Choose an agent.")
            values["owner"] = owner
        if fields.due_at != ticket.due_at:
            values["due_at"] = fields.due_at
    if errors:
        raise ValidationError(errors)
    if not values:
        return {}
    return _desk_call(
        desk,
        lambda: ticket_update(actor=member, ticket=ticket, data=TicketInput(**values), ip=ip),
    )


def closed_status(ticket: Ticket) -> TicketStatus | None:
    """The first closed status of the ticket's department (call in the desk's scope)."""
    return next((s for s in statuses_for(ticket.department) if s.kind == StatusKind.CLOSED), None)


@transaction.atomic
def desk_ticket_close(*, actor: Membership, number: int, ip: str | None = None) -> bool:
    """Close the ticket: its department's closed status, through `ticket_update` (history,
    the customer's rating request, the pipeline). False when it was closed already."""
    desk = working_desk(actor)
    member = _member(desk)
    ticket = reachable_ticket(desk, number, for_update=True)
    with desk.scope():
        if ticket.status_kind == StatusKind.CLOSED:
            return False
        status = closed_status(ticket)
    if status is None:
        raise ValidationError(
            _("%(department)s has no closed status.") % {"department": ticket.department}
        )
    _desk_call(
        desk,
        lambda: ticket_update(actor=member, ticket=ticket, data=TicketInput(status=status), ip=ip),
    )
    return True


@transaction.atomic
def desk_ticket_delete(*, actor: Membership, number: int) -> None:
    """Delete the ticket through the desk's `ticket_delete` (an agent of its department who
    may edit it), and the CRM's links of it to deals."""
    desk = working_desk(actor)
    member = _member(desk)
    ticket = reachable_ticket(desk, number, for_update=True)
    ticket_id = ticket.pk
    _desk_call(desk, lambda: ticket_delete(actor=member, ticket=ticket))
    DealTicket.objects.for_org(actor.org).filter(
        integration=desk.integration, ticket_id=ticket_id
    ).delete()


# --- Creating a ticket from a CRM record (CRM-10) ------------------------------------------------
def record_contacts(record: CrmRecord) -> list[CrmContact]:
    """The CRM contacts a ticket of this record may be for: the contact itself; an account's
    contacts; a deal's contacts and its account's."""
    if isinstance(record, CrmContact):
        return [record]
    contacts = CrmContact.objects.for_org(record.org_id).order_by("last_name", "first_name", "pk")
    if isinstance(record, CrmAccount):
        return list(contacts.filter(account=record)[:500])
    on_deal = DealContact.objects.for_org(record.org_id).filter(deal=record).values("contact_id")
    if record.account_id:
        contacts = contacts.filter(Q(pk__in=on_deal) | Q(account_id=record.account_id))
        return list(contacts[:500])
    return list(contacts.filter(pk__in=on_deal)[:500])


def record_account(record: CrmRecord) -> CrmAccount | None:
    if isinstance(record, CrmAccount):
        return record
    return record.account


@dataclass(frozen=True, kw_only=True)
class NewTicket:
    """What the CRM's "New ticket" form gives. `contact` is one of `record_contacts`; or a
    new contact: `new_last_name` and `new_email` (with `new_first_name`)."""

    subject: str
    description: str = ""
    department_id: int | None
    priority: str = "medium"
    contact: CrmContact | None = None
    new_first_name: str = ""
    new_last_name: str = ""
    new_email: str = ""
    files: Sequence[UploadedFile] = ()


def can_create(desk: DeskView | None) -> bool:
    """May this CRM user create desk tickets (a desk account whose role may)?"""
    if desk is None or desk.member is None:
        return False
    with desk.scope():
        return desk_access.can(desk.member, "create")


def create_departments(desk: DeskView) -> list[tuple[int, str]]:
    """The desk departments this user may create tickets in (theirs; every one for admins)."""
    if desk.member is None:
        return []
    with desk.scope():
        departments = desk_access.departments_for(desk.member).order_by("name", "pk")
        return list(departments.values_list("pk", "name"))


def _crm_contact_for(actor: Membership, record: CrmRecord, data: NewTicket) -> CrmContact:
    """The chosen contact, or the new one (an existing CRM contact with that email is used
    rather than a second one)."""
    if data.contact is not None:
        ensure_same_org(actor.org, data.contact)
        if data.contact.pk not in {c.pk for c in record_contacts(record)}:
            raise ValidationError({"contact": _("Choose one of this record's contacts.")})
        return data.contact
    email = data.new_email.strip().lower()
    errors = {}
    if not data.new_last_name.strip():
        errors["new_last_name"] = _("Enter the new contact's last name.")
    if not email:
        errors["new_email"] = _("Enter the new contact's email address: the desk writes to it.")
    if errors:
        raise ValidationError(errors)
    existing = (
        CrmContact.objects.for_org(actor.org).filter(email__iexact=email).order_by("pk").first()
    )
    if existing is not None:
        return existing
    account = record_account(record)
    return records.contact_save(
        actor=actor,
        contact=CrmContact(
            org=actor.org,
            first_name=data.new_first_name.strip(),
            last_name=data.new_last_name.strip(),
            email=email,
            account=account,
        ),
    )


def _desk_account_id(desk: DeskView, record: CrmRecord, contact: CrmContact) -> int | None:
    account = record_account(record) or contact.account
    if account is None:
        return None
    return linked_desk_id(desk.integration, SyncKind.ACCOUNT, account.pk)


@transaction.atomic
def desk_ticket_create(
    *, actor: Membership, record: CrmRecord, data: NewTicket, ip: str | None = None
) -> Ticket:
    """Create a desk ticket for a CRM record's contact (see the module's docstring). All or
    nothing: a refused input writes no contact, ticket or link."""
    crm_ensure_can(actor, "create")
    ensure_same_org(actor.org, record)
    desk = working_desk(actor)
    member = _member(desk)
    if not can_create(desk):
        raise PermissionDenied(_("Your desk role does not allow creating tickets."))
    if not data.subject.strip():
        # Checked first, so a refused ticket creates no contact either.
        raise ValidationError({"subject": _("Enter a subject.")})
    contact = _crm_contact_for(actor, record, data)
    desk_contact_id = linked_desk_id(desk.integration, SyncKind.CONTACT, contact.pk)
    desk_account_id = _desk_account_id(desk, record, contact)
    if desk_contact_id is None and not contact.email:
        raise ValidationError(
            {
                "contact": _(
                    "%(name)s has no email address and is not on the desk yet: add an email "
                    "address to the contact first."
                )
                % {"name": contact.name}
            }
        )
    org = desk.desk_org
    with desk.scope():
        department = (
            Department.objects.for_org(org).filter(pk=data.department_id).first()
            if data.department_id
            else None
        )
        if department is None:
            raise ValidationError({"department": _("Choose a department.")})
        people: dict = {}
        if desk_contact_id is not None:
            people["contact"] = Contact.objects.for_org(org).filter(pk=desk_contact_id).first()
        if people.get("contact") is None:
            people["contact_email"] = contact.email
            people["contact_name"] = contact.name
        if desk_account_id is not None:
            account = Account.objects.for_org(org).filter(pk=desk_account_id).first()
            if account is not None:
                people["account"] = account
    ticket = _desk_call(
        desk,
        lambda: ticket_create(
            actor=member,
            data=TicketInput(
                subject=data.subject,
                description=data.description,
                department=department,
                priority=data.priority,
                **people,
            ),
            ip=ip,
        ),
    )
    if data.files:
        _desk_call(
            desk,
            lambda: thread_add(
                actor=member, ticket=ticket, kind="comment", body="", files=data.files, ip=ip
            ),
        )
    if isinstance(record, Deal):
        _deal_link(actor, desk, record, ticket)
    return ticket


def _deal_link(actor: Membership, desk: DeskView, deal: Deal, ticket: Ticket) -> None:
    """Link the new ticket to the deal it was created from (CRM-12), in the same transaction.
    Written here rather than through `deal_tickets_link`: creating from the deal is the
    link's own act (a sales user may create a ticket from a colleague's deal, which that
    service reserves for the deal's editors), and a ticket of a contact the sync has not
    linked yet is reachable from the CRM only through this link."""
    DealTicket.objects.create(
        org=actor.org,
        integration=desk.integration,
        deal=deal,
        ticket_id=ticket.pk,
        linked_by=actor.user,
    )
