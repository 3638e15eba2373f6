"""Tickets over the API: list (the list page's filters, sort and search, cursor pages), read
with the thread, create, update, reply, comment, attachments (issue 16, item 1).

Every read goes through the member's visibility (`visible_tickets`, `ticket_for_member`) and
every write through the services the pages call (`ticket_create`, `ticket_update`,
`thread_add`): the same validation, role checks, restricted agents and blueprint restricted
mode, history with the member as actor, and the TKT-09 pipeline."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile as NinjaUploadedFile
from pydantic import ConfigDict, Field

from customers.models import Account, Contact
from helpdesk.http import client_ip
from helpdesk.tenancy.models import Department, Membership, User
from helpdesk.tickets.html import html_to_text
from helpdesk.tickets.models import Attachment, StatusKind, Thread, Ticket, TicketStatus
from helpdesk.tickets.selectors import SORTS, TicketFilterForm, ticket_queryset
from helpdesk.tickets.services.access import ticket_for_member
from helpdesk.tickets.services.threads import thread_add
from helpdesk.tickets.services.tickets import TicketInput, ticket_create, ticket_update
from helpdesk.tickets.views.ticket import attachment_download

from .. import cursors
from ..base import desk_member, problem_responses, refuse_unknown
from ..schemas import (
    AttachmentOut,
    BodyFormatValue,
    ChannelValue,
    PriorityValue,
    Sort,
    ThreadOut,
    TicketChanges,
    TicketDetail,
    TicketIn,
    TicketOut,
    TicketPage,
    TicketPatch,
    View,
)

router = Router(tags=["tickets"])

MAX_SIZE = 100
RELATED = ("status", "department", "contact", "account", "owner")
# The columns `ticket_out` and the cursors read: the list loads these alone (a page of full
# rows with five joined tables cost a third of the call in building model instances).
LIST_COLUMNS = (
    "org_id",
    "number",
    "subject",
    "priority",
    "priority_rank",
    "channel",
    "status_kind",
    "due_at",
    "custom_fields",
    "created_at",
    "updated_at",
    "last_activity_at",
    "closed_at",
    "status__org_id",
    "status__name",
    "status__kind",
    "status__department_id",
    "status__is_default",
    "department__org_id",
    "department__name",
    "contact__org_id",
    "contact__first_name",
    "contact__last_name",
    "contact__email",
    "account__org_id",
    "account__name",
    "owner__full_name",
    "owner__email",
)


class TicketFilters(Schema):
    """The list page's query: view, filters, search and sort (TKT-06)."""

    model_config = ConfigDict(extra="forbid")

    view: View = "all"
    q: str | None = Field(None, max_length=200, description="Full-text search.")
    department: int | None = Field(None, ge=1)
    status: str | None = Field(None, max_length=60, description="A status name.")
    priority: PriorityValue | None = None
    owner: str | None = Field(
        None, pattern=r"^(none|\d{1,18})$", description="A user id, or `none`."
    )
    channel: ChannelValue | None = None
    contact: int | None = Field(None, ge=1)
    account: int | None = Field(None, ge=1)
    created_from: dt.date | None = None
    created_to: dt.date | None = None
    due_from: dt.date | None = None
    due_to: dt.date | None = None
    closed_from: dt.date | None = None
    closed_to: dt.date | None = None
    cf: str | None = Field(None, max_length=60, description="A custom field's key.")
    cf_value: str | None = Field(None, max_length=200)
    tag: str | None = Field(None, max_length=50)
    sort: Sort = "-created"
    size: int = Field(25, ge=1, le=MAX_SIZE, description="Tickets per page.")
    cursor: str | None = Field(None, max_length=500)


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": user.display_name, "email": user.email}


def _contact(contact: Contact | None) -> dict[str, Any] | None:
    if contact is None:
        return None
    return {"id": contact.pk, "name": contact.name, "email": contact.email}


def ticket_out(ticket: Ticket, now: dt.datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    status = ticket.status
    return {
        "number": ticket.number,
        "subject": ticket.subject,
        "status": {
            "id": status.pk,
            "name": status.name,
            "kind": status.kind,
            "department_id": status.department_id,
            "is_default": status.is_default,
        },
        "priority": ticket.priority,
        "channel": ticket.channel,
        "department": {"id": ticket.department.pk, "name": ticket.department.name},
        "contact": _contact(ticket.contact),
        "account": {"id": ticket.account.pk, "name": ticket.account.name}
        if ticket.account
        else None,
        "owner": _person(ticket.owner),
        "due_at": ticket.due_at,
        "overdue": bool(
            ticket.due_at and ticket.due_at < now and ticket.status_kind != StatusKind.CLOSED
        ),
        "custom_fields": ticket.custom_fields or {},
        "created_at": ticket.created_at,
        "updated_at": ticket.updated_at,
        "last_activity_at": ticket.last_activity_at,
        "closed_at": ticket.closed_at,
    }


def _ticket(membership: Membership, number: int, *, for_update: bool = False) -> Ticket:
    return ticket_for_member(membership, number, for_update=for_update, related=RELATED)


def _attachment_out(request: HttpRequest, number: int, attachment: Attachment) -> dict[str, Any]:
    return {
        "id": attachment.pk,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "thread_id": attachment.thread_id,
        "created_at": attachment.created_at,
        "url": f"/{request.org.portal}/api/v1/tickets/{number}/attachments/{attachment.pk}",
    }


@router.get("/tickets", response={200: TicketPage, **problem_responses()})
def tickets_list(request: HttpRequest, filters: Query[TicketFilters]):
    """Tickets the member sees, with the list page's filters, sort and search, a page at a
    time: follow `next_cursor`. The number of queries does not grow with the page size."""
    refuse_unknown(request.GET, TicketFilters.model_fields)
    membership = desk_member(request)
    data = filters.model_dump(exclude_none=True, exclude={"cursor", "size"})
    query = {k: (v.isoformat() if isinstance(v, dt.date) else str(v)) for k, v in data.items()}
    form = TicketFilterForm(query)
    if not form.is_valid():
        raise ValidationError({k: list(v) for k, v in form.errors.items()})
    params = form.cleaned_data
    sort = filters.sort
    order = SORTS[sort]
    qs = ticket_queryset(membership, params).select_related(*RELATED).only(*LIST_COLUMNS)
    if filters.cursor:
        values = cursors.decode(filters.cursor, sort, Ticket, order)
        qs = qs.filter(cursors.after(Ticket, order, values))
    rows = list(qs.order_by(*order)[: filters.size + 1])
    page, more = rows[: filters.size], len(rows) > filters.size
    now = timezone.now()
    next_cursor = None
    if more and page:
        last = page[-1]
        next_cursor = cursors.encode(sort, [getattr(last, t.lstrip("-")) for t in order])
    return {"items": [ticket_out(t, now) for t in page], "next_cursor": next_cursor}


@router.get("/tickets/{int:number}", response={200: TicketDetail, **problem_responses()})
def ticket_read(request: HttpRequest, number: int):
    """One ticket with its thread and files, in a fixed number of queries."""
    membership = desk_member(request)
    ticket = _ticket(membership, number)
    org = request.org
    threads = list(
        Thread.objects.for_org(org).filter(ticket=ticket).select_related("author", "contact")
    )
    files: dict[int | None, list[dict[str, Any]]] = {}
    for attachment in Attachment.objects.for_org(org).filter(ticket=ticket).order_by("pk"):
        files.setdefault(attachment.thread_id, []).append(
            _attachment_out(request, number, attachment)
        )
    out = ticket_out(ticket)
    out.update(
        description_html=ticket.description,
        description_text=html_to_text(ticket.description),
        threads=[
            {
                "id": t.pk,
                "kind": t.kind,
                "author": _person(t.author),
                "contact": _contact(t.contact),
                "body_html": t.body,
                "body_text": html_to_text(t.body),
                "to": t.to,
                "cc": t.cc,
                "created_at": t.created_at,
                "attachments": files.get(t.pk, []),
            }
            for t in threads
        ],
        attachments=files.get(None, []),
    )
    return out


def _lookup(model, membership: Membership, pk: int | None, field: str):
    """An object of the member's organization by id, or a field error (as a form's choice)."""
    if pk is None:
        return None
    obj = model.objects.for_org(membership.org).filter(pk=pk).first()
    if obj is None:
        raise ValidationError({field: [_("Select a valid choice.")]})
    return obj


def _owner(membership: Membership, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    member = (
        Membership.objects.for_org(membership.org)
        .select_related("user")
        .filter(user_id=user_id)
        .first()
    )
    if member is None:
        raise ValidationError({"owner_id": [_("Select a valid choice.")]})
    return member.user


def _ticket_input(membership: Membership, payload: TicketIn | TicketPatch) -> TicketInput:
    given = payload.model_fields_set
    values: dict[str, Any] = {}
    if "contact_id" in given and "contact_email" in given:
        raise ValidationError({"contact_email": [_("Give contact_id or contact_email, not both.")]})
    for name in ("subject", "description", "priority", "channel"):
        if name in given:
            value = getattr(payload, name)
            if value is None:
                raise ValidationError({name: [_("This field cannot be null.")]})
            values[name] = value
    if "department_id" in given:
        if payload.department_id is None:
            raise ValidationError({"department_id": [_("This field cannot be null.")]})
        values["department"] = _lookup(
            Department, membership, payload.department_id, "department_id"
        )
    if "status_id" in given:
        if payload.status_id is None:
            raise ValidationError({"status_id": [_("This field cannot be null.")]})
        values["status"] = _lookup(TicketStatus, membership, payload.status_id, "status_id")
    if "contact_id" in given:
        values["contact"] = _lookup(Contact, membership, payload.contact_id, "contact_id")
    if "contact_email" in given:
        values["contact_email"] = payload.contact_email or ""
        values["contact_name"] = payload.contact_name
    if "account_id" in given:
        values["account"] = _lookup(Account, membership, payload.account_id, "account_id")
    if "owner_id" in given:
        values["owner"] = _owner(membership, payload.owner_id)
    if "due_at" in given:
        values["due_at"] = payload.due_at
    if "custom_fields" in given:
        values["custom_fields"] = payload.custom_fields or {}
    return TicketInput(description_format=payload.description_format, **values)


@router.post("/tickets", response={201: TicketOut, **problem_responses()})
def ticket_new(request: HttpRequest, payload: TicketIn):
    """Create a ticket (as the New ticket page: the contact is found or created by email,
    the pipeline runs, history names the member)."""
    membership = desk_member(request)
    data = _ticket_input(membership, payload)
    with transaction.atomic():
        ticket = ticket_create(actor=membership, data=data, ip=client_ip(request))
    ticket = _ticket(membership, ticket.number)  # as stored, after the pipeline
    return Status(201, ticket_out(ticket))


@router.patch("/tickets/{int:number}", response={200: TicketChanges, **problem_responses()})
def ticket_change(request: HttpRequest, number: int, payload: TicketPatch):
    """Change the fields given; returns the ticket and the changes written to its history."""
    membership = desk_member(request)
    data = _ticket_input(membership, payload)
    with transaction.atomic():  # locked from this read to the save
        ticket = _ticket(membership, number, for_update=True)
        changes = ticket_update(actor=membership, ticket=ticket, data=data, ip=client_ip(request))
    ticket = _ticket(membership, number)
    return {"ticket": ticket_out(ticket), "changes": changes}


def _thread(
    request: HttpRequest,
    number: int,
    kind: str,
    body: str,
    body_format: str,
    cc: str | None,
    files: list[NinjaUploadedFile] | None,
) -> Status:
    refuse_unknown(
        request.POST, ("body", "body_format", "cc") if cc is not None else ("body", "body_format")
    )
    refuse_unknown(request.FILES, ("files",))
    membership = desk_member(request)
    ticket = _ticket(membership, number)
    uploads: list[UploadedFile] = list(files or [])
    thread = thread_add(
        actor=membership,
        ticket=ticket,
        kind=kind,
        body=body,
        body_format="html" if body_format == "html" else "text",
        files=uploads,
        cc=cc or "",
        ip=client_ip(request),
    )
    thread = (
        Thread.objects.for_org(request.org).select_related("author", "contact").get(pk=thread.pk)
    )
    attachments = Attachment.objects.for_org(request.org).filter(thread=thread).order_by("pk")
    return Status(
        201,
        {
            "id": thread.pk,
            "kind": thread.kind,
            "author": _person(thread.author),
            "contact": _contact(thread.contact),
            "body_html": thread.body,
            "body_text": html_to_text(thread.body),
            "to": thread.to,
            "cc": thread.cc,
            "created_at": thread.created_at,
            "attachments": [_attachment_out(request, number, a) for a in attachments],
        },
    )


@router.post("/tickets/{int:number}/replies", response={201: ThreadOut, **problem_responses()})
def ticket_reply(
    request: HttpRequest,
    number: int,
    body: Form[str] = "",
    body_format: Form[BodyFormatValue] = "text",
    cc: Form[str] = "",
    files: File[list[NinjaUploadedFile]] = None,  # type: ignore[assignment]
):
    """A public reply to the ticket's contact (mailed after commit), with files
    (multipart/form-data). Refused for restricted agents."""
    return _thread(request, number, Thread.Kind.REPLY, body, body_format, cc, files)


@router.post("/tickets/{int:number}/comments", response={201: ThreadOut, **problem_responses()})
def ticket_comment(
    request: HttpRequest,
    number: int,
    body: Form[str] = "",
    body_format: Form[BodyFormatValue] = "text",
    files: File[list[NinjaUploadedFile]] = None,  # type: ignore[assignment]
):
    """A private comment, with files (multipart/form-data)."""
    return _thread(request, number, Thread.Kind.COMMENT, body, body_format, None, files)


@router.get(
    "/tickets/{int:number}/attachments",
    response={200: list[AttachmentOut], **problem_responses()},
)
def ticket_attachments(request: HttpRequest, number: int):
    """The ticket's files (of the thread and not)."""
    membership = desk_member(request)
    ticket = _ticket(membership, number)
    attachments = Attachment.objects.for_org(request.org).filter(ticket=ticket).order_by("pk")
    return [_attachment_out(request, number, a) for a in attachments]


@router.get(
    "/tickets/{int:number}/attachments/{int:attachment_id}",
    response={200: None, **problem_responses()},
    openapi_extra={
        "responses": {
            "200": {
                "description": "The file.",
                "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
            }
        }
    },
)
def ticket_attachment(request: HttpRequest, number: int, attachment_id: int) -> HttpResponse:
    """Download one file (the ticket page's download, with its checks and headers)."""
    desk_member(request)
    return attachment_download(request, number=number, attachment_id=attachment_id)
