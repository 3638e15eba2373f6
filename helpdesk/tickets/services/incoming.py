"""What customers send (TKT-02, TKT-07, TKT-08): a ticket a contact opens and a contact's
message on a ticket's thread (the `INCOMING` kind). Every customer channel calls these: the
help center, and incoming mail.

There is no member acting: the caller has established who the contact is (a help-center
session, a mail's sender) and hands the contact over. The services check that everything
belongs to one organization (`ensure_same_org`), write the history (actor none, the client's
address), keep the list's activity and search document current, and tell followers and the
owner after commit, like the members' services."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from customers.models import Contact
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Department, Organization

from .. import pipeline
from ..html import TEXT, BodyFormat, body_to_html, is_blank
from ..models import Channel, Priority, StatusKind, Thread, Ticket, TicketStatus
from .followers import followers_notify
from .history import diff, history_record
from .owners import owner_notify
from .threads import _delete_files, _save_files, check_files
from .tickets import (
    _custom_fields,
    _full_clean,
    _set_default_status,
    _snapshot,
    _sync_derived,
    default_status,
    next_ticket_number,
    search_index_update,
)


@transaction.atomic
def ticket_create_from_contact(
    *,
    org: Organization,
    contact: Contact,
    department: Department,
    subject: str,
    description: str,
    description_format: BodyFormat = TEXT,
    channel: str = Channel.WEB,
    custom_fields: Mapping[str, Any] | None = None,
    files: Sequence[UploadedFile] = (),
    ip: str | None = None,
) -> Ticket:
    """A new ticket opened by `contact` in `department`, with the next number. All or nothing.

    `description` is plain text, stored escaped so it shows exactly as typed (or mail HTML,
    sanitised, with `description_format="html"`). `custom_fields` holds the values the channel
    lets a customer give (the help center's public fields), checked by the department's
    definitions; fields not given keep no value. Files, if any, come as the contact's first
    thread message, where the ticket page lists a message's attachments."""
    ensure_same_org(org, contact, department)
    errors: dict[str, list[str]] = {}
    if not department.is_enabled:
        errors["department"] = [_("This department is disabled.")]
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = [_("Enter a subject.")]
    if channel not in Channel.values:
        errors["channel"] = [_("Choose a channel.")]
    try:
        check_files(files)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    ticket = Ticket(
        org=org,
        subject=subject,
        description=body_to_html(description or "", description_format),
        department=department,
        contact=contact,
        account_id=contact.account_id,
        channel=channel,
        priority=Priority.MEDIUM,
    )
    if not errors:
        _set_default_status(ticket)
        try:
            ticket.custom_fields = _custom_fields(ticket, custom_fields or {}, partial=True)
        except ValidationError as exc:
            errors.update({f"cf_{k}": v for k, v in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    _sync_derived(ticket, None)
    ticket.number = next_ticket_number(org.pk)
    _full_clean(ticket)
    ticket.save()
    created = diff({}, _snapshot(ticket))
    history_record(ticket=ticket, actor=None, ip=ip, action="created", changes=created)
    search_index_update(ticket)
    # Assignment, workflow, SLA, round robin, blueprints (TKT-09), in this transaction; an
    # owner the rules chose hears of it.
    pipeline.run(ticket, event="create", changes=created, actor=None)
    owner_notify(ticket=ticket, event="assigned", actor=None)
    if files:
        thread_incoming_add(ticket=ticket, contact=contact, body="", files=files, ip=ip)
    return ticket


@transaction.atomic
def thread_incoming_add(
    *,
    ticket: Ticket,
    contact: Contact | None,
    body: str,
    body_format: BodyFormat = TEXT,
    files: Sequence[UploadedFile] = (),
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    to: str = "",
    cc: str = "",
    ip: str | None = None,
) -> Thread:
    """The contact's message on the ticket's thread (`Thread.Kind.INCOMING`), with files.

    `body` is plain text shown as typed, or mail HTML (`body_format="html"`), sanitised.
    `message_id` and the threading headers are kept for mail, so our next reply threads
    under the customer's message; `to` and `cc` are the mail's recipients, shown with it.
    History row "incoming" (no actor), the ticket's activity and search document, followers
    and the owner told after commit. A blank message without files, or a refused file, is a
    ValidationError naming what to fix; nothing is saved."""
    ensure_same_org(ticket.org, contact)
    # Lock the row: concurrent entries of one ticket queue (see `thread_add`).
    Ticket.objects.for_org(ticket.org_id).filter(pk=ticket.pk).select_for_update().values_list(
        "pk"
    ).first()
    clean_body = body_to_html(body or "", body_format)
    errors: dict[str, list[str]] = {}
    if is_blank(clean_body) and not files:
        errors["body"] = [_("Write a message.")]
    try:
        check_files(files)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    thread = Thread.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        kind=Thread.Kind.INCOMING,
        author=None,
        contact=contact,
        body=clean_body,
        message_id=message_id[:255],
        in_reply_to=in_reply_to[:255],
        references=references,
        to=to[:1000],
        cc=cc[:1000],
    )
    attachments = []
    try:
        attachments = _save_files(ticket=ticket, thread=thread, files=files, user=None)
        history_record(
            ticket=ticket,
            actor=None,
            ip=ip,
            action="incoming",
            changes={"attachments": [None, [a.name for a in attachments]]} if attachments else {},
        )
        _reopen_on_reply(ticket, ip=ip)
        search_index_update(ticket)
        Ticket.objects.for_org(ticket.org_id).filter(pk=ticket.pk).update(
            last_activity_at=thread.created_at
        )
        followers_notify(ticket=ticket, actor=None, event="thread", thread=thread)
        owner_notify(ticket=ticket, event="customer_reply", actor=None, thread=thread)
    except BaseException:
        _delete_files(attachments)
        raise
    return thread


def _reopen_on_reply(ticket: Ticket, *, ip: str | None) -> None:
    """The customer wrote on a closed or on-hold ticket: it goes back to the department's
    default open status (a history row "reopened", followers told, the pipeline run as for any
    status change: SLA clocks resume or restart). An open ticket stays as it is."""
    ticket.refresh_from_db(fields=["status", "status_kind", "closed_at"])
    if ticket.status_kind == StatusKind.OPEN:
        return
    status = default_status(ticket.department)
    if status is None or status.kind != StatusKind.OPEN:
        status = (
            TicketStatus.objects.for_org(ticket.org_id)
            .filter(department=ticket.department_id, kind=StatusKind.OPEN)
            .order_by("order", "pk")
            .first()
        )
    if status is None:  # a layout without an open status: nothing to reopen to
        return
    before = _snapshot(ticket)
    old_kind = ticket.status_kind
    ticket.status = status
    _sync_derived(ticket, old_kind)
    changes = diff(before, _snapshot(ticket))
    ticket.save(update_fields=["status", "status_kind", "closed_at", "updated_at"])
    row = history_record(ticket=ticket, actor=None, ip=ip, action="reopened", changes=changes)
    followers_notify(ticket=ticket, actor=None, event="status", history=row)
    pipeline.run(ticket, event="update", changes=changes, actor=None)
