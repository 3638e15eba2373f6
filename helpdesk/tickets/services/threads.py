"""The thread: public replies, forwards, private comments and attachments (TKT-02, TKT-03)."""

from __future__ import annotations

import datetime as dt
import mimetypes
import os
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import connection, transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.bulkinsert import insert_row
from helpdesk.tenancy.models import Membership

from ..canned.services import signature_append
from ..html import TEXT, BodyFormat, attachment_ids, body_to_html, is_blank
from ..models import Attachment, Thread, Ticket
from .access import ensure_ticket_can
from .followers import followers_notify
from .history import history_record
from .tickets import search_index_update

# Types a desk accepts; anything else (executables, scripts, HTML) is refused. HTML and SVG
# could carry scripts into the browser of whoever opens them.
ALLOWED_EXTENSIONS = {
    ".pdf",
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".webp",
    ".txt",
    ".csv",
    ".log",
    ".json",
    ".xml",
    ".doc",
    ".docx",
    ".xls",
    ".xlsx",
    ".ppt",
    ".pptx",
    ".odt",
    ".ods",
    ".zip",
    ".eml",
    ".md",
}
MAX_FILES = 10
# Images an editor may show inline (pasted, dropped or picked in the editor).
INLINE_IMAGE_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}


def _max_size() -> int:
    return getattr(settings, "ATTACHMENT_MAX_BYTES", 20 * 1024 * 1024)


def check_files(files: Sequence[UploadedFile]) -> None:
    """Refuse oversized, empty, forbidden or too many files, naming each problem."""
    errors = []
    if len(files) > MAX_FILES:
        errors.append(_("Attach at most %(count)d files at once.") % {"count": MAX_FILES})
    for upload in files:
        ext = os.path.splitext(upload.name or "")[1].lower()
        if ext not in ALLOWED_EXTENSIONS:
            errors.append(
                _("“%(name)s”: files of this type are not allowed.") % {"name": upload.name}
            )
        elif (upload.size or 0) > _max_size():
            errors.append(
                _("“%(name)s” is too large (%(size)s); the limit is %(limit)s.")
                % {
                    "name": upload.name,
                    "size": filesizeformat(upload.size or 0),
                    "limit": filesizeformat(_max_size()),
                }
            )
        elif not upload.size:
            errors.append(_("“%(name)s” is empty.") % {"name": upload.name})
    if errors:
        raise ValidationError({"files": errors})


def attachment_name(upload: UploadedFile) -> str:
    """The name an uploaded file is listed under (its history, its attachment row)."""
    return os.path.basename(upload.name or "file")[:255]


def _save_files(
    *, ticket: Ticket, thread: Thread | None, files: Sequence[UploadedFile], user
) -> list[Attachment]:
    """Store files under the organization's prefix. The caller deletes them again if its
    transaction fails (see `thread_add`), so no orphan file outlives a rolled-back row."""
    saved: list[Attachment] = []
    for upload in files:
        content_type = mimetypes.guess_type(upload.name or "file")[0] or "application/octet-stream"
        attachment = Attachment(
            org_id=ticket.org_id,
            ticket=ticket,
            thread=thread,
            name=attachment_name(upload),
            size=upload.size or 0,
            content_type=content_type,
            uploaded_by=user,
        )
        attachment.file.save(upload.name, upload, save=False)
        saved.append(attachment)
        insert_row(attachment)  # as `save()` would, with an INSERT built once
    return saved


def _delete_files(attachments: Sequence[Attachment]) -> None:
    for attachment in attachments:
        attachment.file.storage.delete(attachment.file.name)


def _parse_addresses(value: str) -> list[str]:
    addresses = [a.strip() for a in (value or "").replace(";", ",").split(",") if a.strip()]
    for address in addresses:
        try:
            validate_email(address)
        except ValidationError as exc:
            raise ValidationError(
                _("“%(address)s” is not a valid email address.") % {"address": address}
            ) from exc
    return addresses


# --- The customer's waits, kept per ticket (CUS-03) ---------------------------------------
# The ticket's events in time order: its creation and the customer's messages (agent = 0),
# agents' public replies (agent = 1; a reply whose author is gone no longer counts, as when
# it was written by no agent). `k` numbers the turns: an event belongs to turn k when k agent
# replies come before it; the turn's answer is reply number k + 1, its start the first of
# its customer events. Only the rows that change are written.
REPLY_FIGURES_SQL = """
WITH t AS (
    SELECT id, created_at FROM tickets_ticket WHERE org_id = %(org)s AND id = ANY(%(ids)s)
),
ev AS (
    SELECT t.id AS ticket_id, t.created_at AS at, 0 AS agent FROM t
    UNION ALL
    SELECT th.ticket_id, th.created_at, CASE WHEN th.kind = %(reply)s THEN 1 ELSE 0 END
    FROM tickets_thread th JOIN t ON th.ticket_id = t.id
    WHERE th.org_id = %(org)s
      AND (th.kind = %(incoming)s OR (th.kind = %(reply)s AND th.author_id IS NOT NULL))
),
g AS (
    SELECT ticket_id, at, agent,
        SUM(agent) OVER (PARTITION BY ticket_id ORDER BY at, agent ROWS UNBOUNDED PRECEDING)
            - agent AS k
    FROM ev
),
w AS (
    SELECT ticket_id, k,
        MIN(at) FILTER (WHERE agent = 0) AS asked,
        MIN(at) FILTER (WHERE agent = 1) AS answered
    FROM g GROUP BY ticket_id, k
),
f AS (
    SELECT ticket_id,
        MIN(answered - asked) FILTER (WHERE k = 0) AS first_response,
        COUNT(*) AS turns,
        SUM(answered - asked) AS wait
    FROM w WHERE answered IS NOT NULL AND asked IS NOT NULL
    GROUP BY ticket_id
)
UPDATE tickets_ticket tk
SET first_response = f.first_response, answered_turns = COALESCE(f.turns, 0),
    answered_wait = f.wait
FROM t LEFT JOIN f ON f.ticket_id = t.id
WHERE tk.org_id = %(org)s AND tk.id = t.id
  AND (tk.first_response, tk.answered_turns, tk.answered_wait)
      IS DISTINCT FROM (f.first_response, COALESCE(f.turns, 0), f.wait)
"""


def reply_figures_update(*, org_id: int, ticket_ids: Sequence[int]) -> int:
    """Recount the customer's waits of these tickets of the organization from their thread
    (`Ticket.first_response`, `answered_turns`, `answered_wait`): one UPDATE reading each
    ticket's thread from its index. Called wherever an agent's reply is written or thread
    entries move between tickets (a merge), inside that transaction and after the tickets'
    rows are locked; a recount rather than a step, so entries written out of time order
    count as they would in order. A customer message written now changes nothing (it starts
    or joins a turn no reply has answered yet), so the incoming paths do not call it.
    Returns the number of tickets whose figures changed."""
    if not ticket_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            REPLY_FIGURES_SQL,
            {
                "org": org_id,
                "ids": list(ticket_ids),
                "reply": Thread.Kind.REPLY.value,
                "incoming": Thread.Kind.INCOMING.value,
            },
        )
        return cursor.rowcount


@transaction.atomic
def thread_add(
    *,
    actor: Membership,
    ticket: Ticket,
    kind: str,
    body: str,
    body_format: BodyFormat = TEXT,
    files: Sequence[UploadedFile] = (),
    to: str = "",
    cc: str = "",
    ip: str | None = None,
) -> Thread:
    """Add a reply, forward or private comment, with attachments. Replies and forwards are
    mailed after commit. Refused for roles that may not do it (ORG-04).

    `body` is plain text, stored escaped so it shows as typed, unless `body_format` is HTML
    (from the rich-text editor), which is sanitised (TKT-02). Images the editor uploaded
    inline (`inline_image_add`) and the body shows become this entry's attachments."""
    actions: dict[str, str] = {
        Thread.Kind.REPLY: "reply",
        Thread.Kind.FORWARD: "forward",
        Thread.Kind.COMMENT: "comment",
    }
    action = actions.get(kind)
    if action is None:
        raise ValidationError(_("Choose reply, forward or comment."))
    # The role, and the share's level on another department's ticket (TKT-04).
    ensure_ticket_can(actor, ticket, action)
    if files:
        ensure_ticket_can(actor, ticket, "attach")
    # Lock the row (without reading it again): concurrent entries of one ticket queue, so
    # each rebuilds the search document with the others' text.
    Ticket.objects.for_org(actor.org).filter(pk=ticket.pk).select_for_update().values_list(
        "pk"
    ).first()
    clean_body = body_to_html(body, body_format)
    errors: dict[str, list[str]] = {}
    if is_blank(clean_body) and not files:
        errors["body"] = [_("Write a message.")]
    to_list: list[str] = []
    if kind == Thread.Kind.REPLY:
        contact = ticket.contact
        if contact is None or not contact.email:
            errors.setdefault("body", []).append(
                _("This ticket has no contact with an email address to reply to.")
            )
        else:
            to_list = [contact.email]
    elif kind == Thread.Kind.FORWARD:
        try:
            to_list = _parse_addresses(to)
        except ValidationError as exc:
            errors["to"] = exc.messages
        if not to_list and "to" not in errors:
            errors["to"] = [_("Enter at least one address to forward to.")]
    try:
        cc_list = _parse_addresses(cc) if kind != Thread.Kind.COMMENT else []
    except ValidationError as exc:
        errors["cc"] = exc.messages
        cc_list = []
    try:
        check_files(files)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if kind == Thread.Kind.REPLY:  # the agent's and the department's signature, once
        clean_body = signature_append(
            body_html=clean_body, author=actor, department=ticket.department
        )
    thread = Thread.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        kind=kind,
        author=actor.user,
        body=clean_body,
        to=", ".join(to_list),
        cc=", ".join(cc_list),
    )
    inline_ids = attachment_ids(clean_body)
    if inline_ids:
        # Only this author's pending images of this ticket: an id typed into the markup
        # cannot take a file from another message or another person.
        Attachment.objects.for_org(actor.org).filter(
            ticket=ticket, thread=None, uploaded_by=actor.user, pk__in=inline_ids
        ).update(thread=thread)
    attachments: list[Attachment] = []
    try:
        attachments = _save_files(ticket=ticket, thread=thread, files=files, user=actor.user)
        history_record(
            ticket=ticket,
            actor=actor.user,
            ip=ip,
            action=action,
            changes={"attachments": [None, [a.name for a in attachments]]} if attachments else {},
        )
        search_index_update(ticket)
        # A thread entry is activity: the list sorts by it (TKT-06).
        Ticket.objects.for_org(ticket.org_id).filter(pk=ticket.pk).update(
            last_activity_at=thread.created_at
        )
        if kind == Thread.Kind.REPLY:
            reply_figures_update(org_id=ticket.org_id, ticket_ids=[ticket.pk])
        followers_notify(ticket=ticket, actor=actor.user, event="thread", thread=thread)
    except BaseException:
        _delete_files(attachments)
        raise
    if kind != Thread.Kind.COMMENT:
        from ..tasks import send_thread_mail_task

        org_id, thread_id = ticket.org_id, thread.pk
        transaction.on_commit(lambda: send_thread_mail_task.delay(org_id, thread_id))
    return thread


@transaction.atomic
def inline_image_add(*, actor: Membership, ticket: Ticket, upload: UploadedFile) -> Attachment:
    """Store an image pasted or dropped into the editor, before its message is sent (TKT-02).

    It belongs to the ticket with no thread yet; `thread_add` gives it to the message that
    shows it. Only members who may write on the ticket with attachments may upload, and only
    PNG, JPEG, GIF or WebP images within the attachment size limit."""
    ensure_ticket_can(actor, ticket, "attach")
    ext = os.path.splitext(upload.name or "")[1].lower()
    if ext not in INLINE_IMAGE_TYPES:
        raise ValidationError(
            {"file": [_("Only PNG, JPEG, GIF or WebP images can be shown in a message.")]}
        )
    check_files([upload])
    attachment = Attachment(
        org_id=ticket.org_id,
        ticket=ticket,
        thread=None,
        name=os.path.basename(upload.name or "image")[:255],
        size=upload.size or 0,
        content_type=INLINE_IMAGE_TYPES[ext],
        uploaded_by=actor.user,
    )
    attachment.file.save(upload.name or f"image{ext}", upload, save=False)
    try:
        attachment.save()
    except BaseException:
        _delete_files([attachment])
        raise
    _pending_images_purge(actor=actor)
    return attachment


PENDING_IMAGE_TTL = dt.timedelta(days=1)


def _pending_images_purge(*, actor: Membership) -> None:
    """Delete the actor's own inline images that no message took within a day (pasted, then
    the message was never sent) and that the ticket's description does not show either.
    Run on each upload, so it costs nothing when nobody writes, and crosses no organization."""
    stale = list(
        Attachment.objects.for_org(actor.org)
        .filter(
            thread=None,
            uploaded_by=actor.user,
            created_at__lt=timezone.now() - PENDING_IMAGE_TTL,
            content_type__in=set(INLINE_IMAGE_TYPES.values()),
        )
        .select_related("ticket")[:50]
    )
    orphans = [a for a in stale if a.pk not in attachment_ids(a.ticket.description)]
    if orphans:
        Attachment.objects.for_org(actor.org).filter(pk__in=[a.pk for a in orphans]).delete()
        transaction.on_commit(lambda: _delete_files(orphans))


@transaction.atomic
def crm_comment_add(
    *,
    ticket: Ticket,
    author,
    body: str,
    files: Sequence[UploadedFile] = (),
    ip: str | None = None,
) -> Thread:
    """A private comment on the ticket by a person of the CRM linked to this desk who has no
    desk account (CRM-11: they may only comment). The thread entry, its attachments and the
    history row name `author` (a user: people are one table across organizations), so the
    desk shows who wrote it.

    The caller (the CRM, which orchestrates it: see `crmsync.services.desk_actions`) checked
    that the author may reach this ticket from the CRM; here only the desk's own guards apply
    (a blueprint's restricted mode refuses comments as it does an agent's, BP-02). Otherwise
    like `thread_add`'s comment: the ticket row locked, the body escaped (plain text only),
    the files within the desk's limits, the search document rebuilt and followers told."""
    from .access import _guarded

    refusal = _guarded(Membership(org=ticket.org, user=author), ticket, "comment")
    if refusal is not None:
        raise PermissionDenied(refusal)
    Ticket.objects.for_org(ticket.org_id).filter(pk=ticket.pk).select_for_update().values_list(
        "pk"
    ).first()
    clean_body = body_to_html(body, TEXT)
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
        kind=Thread.Kind.COMMENT,
        author=author,
        body=clean_body,
    )
    attachments: list[Attachment] = []
    try:
        attachments = _save_files(ticket=ticket, thread=thread, files=files, user=author)
        history_record(
            ticket=ticket,
            actor=author,
            ip=ip,
            action="comment",
            changes={"attachments": [None, [a.name for a in attachments]]} if attachments else {},
        )
        search_index_update(ticket)
        Ticket.objects.for_org(ticket.org_id).filter(pk=ticket.pk).update(
            last_activity_at=thread.created_at
        )
        followers_notify(ticket=ticket, actor=author, event="thread", thread=thread)
    except BaseException:
        _delete_files(attachments)
        raise
    return thread
