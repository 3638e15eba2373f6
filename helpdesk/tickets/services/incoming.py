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
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils.translation import gettext as _

from customers.models import Contact
from helpdesk.bulkinsert import insert_row
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Department, Organization

from .. import pipeline, search
from ..html import TEXT, BodyFormat, body_to_html, html_to_text, is_blank
from ..models import Channel, Priority, StatusKind, Thread, Ticket, TicketStatus
from .followers import followers_notify
from .history import diff, history_record
from .owners import owner_notify
from .threads import _delete_files, _save_files, attachment_name, check_files
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


@dataclass(frozen=True)
class IncomingMessage:
    """A contact's message as a channel hands it over: the body (plain text shown as typed,
    or mail HTML with `body_format="html"`, sanitised), files, and for mail the threading
    headers (so our next reply threads under it) and the recipients shown with it."""

    body: str
    body_format: BodyFormat = TEXT
    files: Sequence[UploadedFile] = ()
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    to: str = ""
    cc: str = ""


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
    ticket = _ticket_new(
        org=org,
        contact=contact,
        department=department,
        subject=subject,
        description=description,
        description_format=description_format,
        channel=channel,
        custom_fields=custom_fields,
        files=files,
    )
    changes = _ticket_save(ticket, ip=ip, files=files)
    _ticket_pipeline(ticket, changes)
    if files:  # the opening message (its search document and activity written with it)
        _incoming_write(ticket, contact, IncomingMessage(body="", files=files), ip=ip, new=True)
    else:
        search_index_update(ticket)
    return ticket


@transaction.atomic(savepoint=False)
def ticket_create_with_message(
    *,
    org: Organization,
    contact: Contact,
    department: Department,
    subject: str,
    message: IncomingMessage,
    channel: str = Channel.EMAIL,
    ip: str | None = None,
) -> Thread:
    """A new ticket opened by `contact` with `message` as its first thread entry (incoming
    mail: the entry carries the Message-ID our replies thread under, and its files); the
    description stays empty. Returns the entry (`thread.ticket` is the ticket).

    The same rows, history, notifications and pipeline run as `ticket_create_from_contact`
    followed by `thread_incoming_add`, with fewer statements: the new row needs no lock, the
    search document is written once with the message, and the ticket's activity in the same
    UPDATE. Inside a caller's transaction it sets no savepoint of its own: the caller's atomic
    block decides what a failure rolls back (mail holds the message: all or nothing)."""
    ticket = _ticket_new(
        org=org,
        contact=contact,
        department=department,
        subject=subject,
        description="",
        channel=channel,
        message=message,
    )
    _ticket_pipeline(ticket, _ticket_save(ticket, ip=ip, files=message.files))
    return _incoming_write(ticket, contact, message, ip=ip, new=True)


def _ticket_new(
    *,
    org: Organization,
    contact: Contact,
    department: Department,
    subject: str,
    description: str,
    description_format: BodyFormat = TEXT,
    channel: str,
    custom_fields: Mapping[str, Any] | None = None,
    files: Sequence[UploadedFile] = (),
    message: IncomingMessage | None = None,
) -> Ticket:
    """The unsaved ticket, checked: every problem at once as a ValidationError."""
    ensure_same_org(org, contact, department)
    errors: dict[str, list[str]] = {}
    if not department.is_enabled:
        errors["department"] = [_("This department is disabled.")]
    subject = (subject or "").strip()
    if not subject:
        errors["subject"] = [_("Enter a subject.")]
    if channel not in Channel.values:
        errors["channel"] = [_("Choose a channel.")]
    if message is not None:
        errors.update(_message_errors(message, body_to_html(message.body, message.body_format)))
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
    return ticket


def _ticket_save(
    ticket: Ticket, *, ip: str | None, files: Sequence[UploadedFile] = ()
) -> dict[str, list[Any]]:
    """The number, the row and its history row "created", which names the files of the
    opening message (`files`); returns the changes recorded."""
    _sync_derived(ticket, None)
    ticket.number = next_ticket_number(ticket.org_id)
    _full_clean(ticket)
    insert_row(ticket)  # as `save()` would, with an INSERT built once (every mail ticket)
    created = diff({}, _snapshot(ticket))
    if files:
        created["attachments"] = [None, [attachment_name(f) for f in files]]
    history_record(ticket=ticket, actor=None, ip=ip, action="created", changes=created)
    return created


def _ticket_pipeline(ticket: Ticket, changes: dict[str, list[Any]]) -> None:
    # Assignment, workflow, SLA, round robin, blueprints (TKT-09), in this transaction; an
    # owner the rules chose hears of it.
    pipeline.run(ticket, event="create", changes=changes, actor=None)
    owner_notify(ticket=ticket, event="assigned", actor=None)


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
    message = IncomingMessage(
        body=body,
        body_format=body_format,
        files=files,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        to=to,
        cc=cc,
    )
    return thread_incoming_add_message(ticket=ticket, contact=contact, message=message, ip=ip)


@transaction.atomic(savepoint=False)
def thread_incoming_add_message(
    *, ticket: Ticket, contact: Contact | None, message: IncomingMessage, ip: str | None = None
) -> Thread:
    """`thread_incoming_add` with the message as one value (incoming mail). Inside a caller's
    transaction it sets no savepoint of its own: the caller's atomic block decides what a
    failure rolls back (mail holds the message: all or nothing)."""
    ensure_same_org(ticket.org, contact)
    return _incoming_write(ticket, contact, message, ip=ip, new=False)


def _message_errors(message: IncomingMessage, clean_body: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if is_blank(clean_body) and not message.files:
        errors["body"] = [_("Write a message.")]
    try:
        check_files(message.files)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    return errors


def _incoming_write(
    ticket: Ticket, contact: Contact | None, message: IncomingMessage, *, ip: str | None, new: bool
) -> Thread:
    """The entry, its files and history, the reopening of a closed ticket, the search document
    and activity, followers and the owner told. `new`: the ticket was created in this
    transaction (its row is locked by the INSERT and its status is the one in memory) and this
    is the message that opened it, which is no reply: its "created" history row names the
    files, and nothing of a reply follows (no "Customer replied" row, so no reply webhook, CRM
    signal or customer-reply auto-transition; no reopening of a status the rules just set;
    no followers yet; the owner has the "assigned" mail)."""
    indexed = True
    if not new:
        # Lock the row: concurrent entries of one ticket queue (see `thread_add`); the same
        # statement reads the status as it is now (a reply may reopen the ticket).
        indexed = _lock_and_read(ticket)
    clean_body = body_to_html(message.body or "", message.body_format)
    errors = _message_errors(message, clean_body)
    if errors:
        raise ValidationError(errors)
    thread = insert_row(
        Thread(
            org_id=ticket.org_id,
            ticket=ticket,
            kind=Thread.Kind.INCOMING,
            author=None,
            contact=contact,
            body=clean_body,
            message_id=message.message_id[:255],
            in_reply_to=message.in_reply_to[:255],
            references=message.references,
            to=message.to[:1000],
            cc=message.cc[:1000],
        )
    )
    attachments = []
    try:
        attachments = _save_files(ticket=ticket, thread=thread, files=message.files, user=None)
        if not new:  # a reply (the message that opened the ticket is part of its creation)
            history_record(
                ticket=ticket,
                actor=None,
                ip=ip,
                action="incoming",
                changes={"attachments": [None, [a.name for a in attachments]]}
                if attachments
                else {},
            )
            if ticket.status_kind != StatusKind.OPEN:
                _reopen_on_reply(ticket, ip=ip)
        _index_and_touch(ticket, thread, new=new, indexed=indexed)
        if not new:
            followers_notify(ticket=ticket, actor=None, event="thread", thread=thread)
            owner_notify(ticket=ticket, event="customer_reply", actor=None, thread=thread)
    except BaseException:
        _delete_files(attachments)
        raise
    return thread


def _lock_and_read(ticket: Ticket) -> bool:
    """Lock the ticket's row and read its status into `ticket`; whether it has a search
    document (a reply's words are then added to it)."""
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_AND_READ, [ticket.org_id, ticket.pk])
        row = cursor.fetchone()
    if row is None:
        raise Ticket.DoesNotExist("the ticket is gone")
    status_id, ticket.status_kind, ticket.closed_at, indexed = row
    if ticket.status_id != status_id:
        ticket.status_id = status_id  # the cached status object goes with it
    return bool(indexed)


def _index_and_touch(ticket: Ticket, thread: Thread, *, new: bool, indexed: bool) -> None:
    """The ticket's search document and last activity in one UPDATE. A new ticket's document
    is built from what is in memory (subject, description, this first entry); a reply's words
    are appended to the document the ticket has (the same lexemes and positions as a rebuild
    from the whole thread, without reading it); a ticket without one is rebuilt."""
    if not new and not indexed:
        search_index_update(ticket)
        _touch(ticket, thread)
        return
    if new:
        doc = search.document(
            ticket.subject, html_to_text(ticket.description), html_to_text(thread.body)
        )
        statement = _INDEX_NEW
    else:
        doc = search.document(html_to_text(thread.body))
        if not doc:
            _touch(ticket, thread)
            return
        statement = _INDEX_APPEND
    with connection.cursor() as cursor:
        cursor.execute(statement, [doc, thread.created_at, ticket.org_id, ticket.pk])


def _touch(ticket: Ticket, thread: Thread) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_TOUCH, [thread.created_at, ticket.org_id, ticket.pk])


# The statements every incoming message runs, written out: built as querysets (a locked read
# with an annotation, a search vector expression) they cost more Python than PostgreSQL
# spends on them. `_index_and_touch`'s UPDATEs write the same document as
# `SearchVector(Value(doc), config="simple")` (search.py's config).
_LOCK_AND_READ = f"""
SELECT status_id, status_kind, closed_at, search_vector IS NOT NULL FROM {Ticket._meta.db_table}
WHERE org_id = %s AND id = %s FOR UPDATE
"""  # noqa: S608 - constants only
_TOUCH = f"""
UPDATE {Ticket._meta.db_table} SET last_activity_at = %s WHERE org_id = %s AND id = %s
"""  # noqa: S608 - constants only
_INDEX_NEW = f"""
UPDATE {Ticket._meta.db_table} SET search_vector = to_tsvector('simple'::regconfig, %s),
    last_activity_at = %s
WHERE org_id = %s AND id = %s
"""  # noqa: S608 - constants only
_INDEX_APPEND = f"""
UPDATE {Ticket._meta.db_table}
SET search_vector = search_vector || to_tsvector('simple'::regconfig, %s), last_activity_at = %s
WHERE org_id = %s AND id = %s
"""  # noqa: S608 - constants only


def _reopen_on_reply(ticket: Ticket, *, ip: str | None) -> None:
    """The customer wrote on a closed or on-hold ticket: it goes back to the department's
    default open status (a history row "reopened", followers told, the pipeline run as for any
    status change: SLA clocks resume or restart). An open ticket stays as it is. The caller
    has read the ticket's current status (under its row lock)."""
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
