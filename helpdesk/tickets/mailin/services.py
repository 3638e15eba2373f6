"""Incoming email (TKT-07): one service, `ingest`, behind every way mail comes in (the
`mail_ingest` command for a mail server's pipe, the inbound endpoint for a relay, the IMAP
poller).

What becomes of a message, in this order:
1. Its key (the Message-ID, else a hash of the raw bytes) is claimed in the organization's log
   with INSERT ... ON CONFLICT DO NOTHING: a message delivered twice (or by two ways at once)
   makes one entry; the second delivery is a `duplicate`.
2. Mail from machines creates nothing (`ignored`, the reason logged): auto-replies, bulk and
   list mail, bounces, and our own outgoing mail (our header, one of our Message-IDs, or a
   department's own address as the sender), so no reply loop can start.
3. A reply joins its ticket (`appended`): its In-Reply-To/References against the Message-IDs
   we stored (thread entries, merged tickets' aliases), then "[#123]" in the subject when the
   sender is that ticket's contact. Merged tickets lead to their target.
4. Anything else opens a ticket (`created`) in the department given, else the department
   whose address the mail was sent to, else the organization's mail department, else the first
   enabled one; the contact is found or created by address (customers service).
5. A message that cannot be read or placed is `held`: its raw bytes kept for an admin to
   retry or delete, never dropped.

Ticket and thread rows are written by the ticket services (`services/incoming.py`), which
write the history, keep the search document and activity current and tell followers."""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from hmac import compare_digest

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.services import contact_get_or_create_by_email
from helpdesk.compiledreads import CompiledRead
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, Department, Membership, Organization
from helpdesk.tenancy.permissions import ensure_app_admin
from helpdesk.tenancy.rls import tenant_scope

from ..models import Channel, Thread, Ticket
from ..services.incoming import (
    thread_incoming_add_message,
    ticket_create_with_message,
)
from ..services.merge import merged_into, ticket_for_message_ids
from . import parse
from .content import link_inline_images, thread_message
from .models import InboundMessage, MailSettings, Outcome, Source

logger = logging.getLogger(__name__)

# Our outgoing mail carries these (helpdesk/mail.py, services/mail.py): mail that comes back
# with one of them was sent by us (an auto-forward, a loop) and creates nothing.
OWN_HEADERS = ("X-Madoguchi-Org", "X-Madoguchi-Mailer")
SUBJECT_NUMBER = re.compile(r"\[#(\d{1,18})\]")


def max_message_bytes() -> int:
    """The largest message the command and the endpoint accept (`MAILIN_MAX_BYTES`)."""
    return int(getattr(settings, "MAILIN_MAX_BYTES", 30 * 1024 * 1024))


@dataclass(frozen=True)
class IngestResult:
    """What became of one message: `outcome` (created, appended, duplicate, ignored, held),
    the ticket if any, and the reason (for ignored and held messages)."""

    outcome: str
    ticket: Ticket | None = None
    thread: Thread | None = None
    reason: str = ""
    entry: InboundMessage | None = None

    def line(self) -> str:
        """One line for a mail server's log (the command) or a relay (the endpoint)."""
        number = f" #{self.ticket.number}" if self.ticket is not None else ""
        reason = f": {self.reason}" if self.reason else ""
        return f"{self.outcome}{number}{reason}"


class Unplaceable(Exception):
    """The message was read but cannot become a ticket or entry: held with this reason."""


# --- Settings ------------------------------------------------------------------------------------
def mail_settings(org: Organization) -> MailSettings:
    """The organization's settings, created with a fresh secret on first use."""
    found = MailSettings.objects.for_org(org).select_related("default_department").first()
    if found is not None:
        return found
    with transaction.atomic():
        MailSettings.objects.bulk_create(
            [MailSettings(org=org, secret=secrets.token_urlsafe(32))], ignore_conflicts=True
        )
    return MailSettings.objects.for_org(org).select_related("default_department").get()


@transaction.atomic
def mail_secret_regenerate(*, actor: Membership) -> MailSettings:
    """A new inbound secret; the old one stops working at once. Desk admins only."""
    ensure_app_admin(actor, App.DESK)
    found = mail_settings(actor.org)
    found.secret = secrets.token_urlsafe(32)
    found.save(update_fields=["secret", "updated_at"])
    return found


@transaction.atomic
def mail_settings_save(*, actor: Membership, default_department: Department | None) -> None:
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, default_department)
    found = mail_settings(actor.org)
    found.default_department = default_department
    found.save(update_fields=["default_department", "updated_at"])


def secret_matches(org: Organization, given: str) -> bool:
    """Whether `given` is the organization's inbound secret (a constant-time comparison).
    Reads only: an organization whose admin never opened the settings has no secret yet."""
    expected = MailSettings.objects.for_org(org).values_list("secret", flat=True).first() or ""
    return bool(given and expected) and compare_digest(given.encode(), expected.encode())


# --- The service ---------------------------------------------------------------------------------
def ingest(
    org: Organization, raw: bytes, *, source: str, department: Department | None = None
) -> IngestResult:
    """Take one raw RFC 822 message for `org` (see the module's docstring for what becomes of
    it). Runs in the organization's row-level-security scope and one transaction; never raises
    for a bad message (it is held instead). `department`, when given, must be the org's."""
    ensure_same_org(org, department)
    with tenant_scope(org.pk):
        return _ingest(org, raw, source, department, None)


def ingest_many(
    org: Organization,
    raws: Iterable[bytes],
    *,
    source: str,
    department: Department | None = None,
) -> list[IngestResult]:
    """Take many messages for `org` at once (a relay's or a queue's batch, a benchmark): each
    exactly as `ingest` takes it, in its own transaction committed before the next (a
    duplicate, an ignored or a held message is what it would be alone), with two round trips
    fewer per message: one row-level-security scope for the batch, and the organization's
    departments read once per batch (a department changed meanwhile is seen by the next
    batch). The results are in the order of `raws`."""
    ensure_same_org(org, department)
    results: list[IngestResult] = []
    with tenant_scope(org.pk):
        departments = _DEPARTMENTS.all(org_id=org.pk)
        for raw in raws:
            results.append(_ingest(org, raw, source, department, departments))
    return results


def _ingest(
    org: Organization,
    raw: bytes,
    source: str,
    department: Department | None,
    departments: list[Department] | None,
) -> IngestResult:
    source = source if source in Source.values else Source.OTHER
    with transaction.atomic():
        try:
            parsed: parse.ParsedMail | None = parse.parse(raw)
            problem = ""
        except Exception as exc:  # noqa: BLE001 - whatever the parser chokes on is held
            logger.warning("mail for %s cannot be read: %s", org.portal, exc)
            parsed, problem = None, _reason(exc)
        key = parsed.key if parsed is not None else parse.raw_key(raw)
        entry = _claim(org, key, source, parsed, raw)
        if entry is None:
            return _duplicate(org, key)
        if parsed is None:
            return _hold(entry, raw, problem, department)
        try:
            # No savepoint (two round trips a message): a failure rolls the whole transaction
            # back, its claim included, and the message is held in a transaction of its own.
            return _process(org, entry, parsed, raw, department, departments, savepoint=False)
        except Exception as exc:  # noqa: BLE001 - kept for an admin rather than lost
            transaction.set_rollback(True)
            problem = _failure(exc, key, org)
    with transaction.atomic():
        entry = _claim(org, key, source, parsed, raw)
        if entry is None:  # the same message, placed meanwhile by another delivery
            return _duplicate(org, key)
        return _hold(entry, raw, problem, department)


def _failure(exc: Exception, key: str, org: Organization) -> str:
    """The reason a message could not be placed, held with it. A failure nobody foresaw (not
    `Unplaceable`, not a ValidationError) is logged with its traceback."""
    if not isinstance(exc, Unplaceable | ValidationError):
        logger.error("mail %s for %s could not be placed", key, org.portal, exc_info=exc)
    return _reason(exc)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(exc.messages)[:255]
    return (str(exc) or type(exc).__name__)[:255]


def _claim(
    org: Organization,
    key: str,
    source: str,
    parsed: parse.ParsedMail | None,
    raw: bytes,
) -> InboundMessage | None:
    """The log row of this message, or None when the key is already taken (a duplicate). The
    unique (org, key) decides: a second delivery running at the same time waits for the first
    transaction and then finds the key taken."""
    entry = InboundMessage(
        org=org,
        key=key,
        outcome=Outcome.HELD,  # until placed
        source=source,
        sender=(parsed.from_email if parsed else "")[:255],
        subject=(parsed.subject if parsed else "")[:255],
        size=len(raw),
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mailin_inboundmessage (org_id, key, outcome, reason, source, sender, "
            "subject, size, received_at, updated_at) VALUES (%s, %s, %s, '', %s, %s, %s, %s, "
            "now(), now()) ON CONFLICT (org_id, key) DO NOTHING RETURNING id",
            [org.pk, key, entry.outcome, source, entry.sender, entry.subject, entry.size],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    entry.pk = row[0]
    return entry


def _duplicate(org: Organization, key: str) -> IngestResult:
    first = InboundMessage.objects.for_org(org).filter(key=key).select_related("ticket").first()
    ticket = first.ticket if first is not None else None
    return IngestResult(
        outcome=Outcome.DUPLICATE,
        ticket=ticket,
        reason="already received",
        entry=first,
    )


def _finish(
    entry: InboundMessage,
    outcome: str,
    *,
    reason: str = "",
    ticket: Ticket | None = None,
    thread: Thread | None = None,
    department: Department | None = None,
    raw: bytes | None = None,
) -> IngestResult:
    entry.outcome = outcome
    entry.reason = reason[:255]
    entry.ticket = ticket
    entry.thread = thread
    if department is not None:
        entry.department = department
    else:  # the ticket's, by id: no read of the department
        entry.department_id = ticket.department_id if ticket is not None else None
    entry.raw = raw
    with connection.cursor() as cursor:
        cursor.execute(
            _FINISH,
            [
                entry.outcome,
                entry.reason,
                ticket.pk if ticket is not None else None,
                thread.pk if thread is not None else None,
                entry.department_id,
                raw,
                entry.sender,
                entry.subject,
                entry.org_id,
                entry.pk,
            ],
        )
    return IngestResult(outcome=outcome, ticket=ticket, thread=thread, reason=reason, entry=entry)


# Every message ends with this UPDATE of its log row, written out: built as a queryset it
# cost more Python than PostgreSQL spends on it.
_FINISH = f"""
UPDATE {InboundMessage._meta.db_table} SET outcome = %s, reason = %s, ticket_id = %s,
    thread_id = %s, department_id = %s, raw = %s, sender = %s, subject = %s
WHERE org_id = %s AND id = %s
"""  # noqa: S608 - constants only


def _hold(
    entry: InboundMessage, raw: bytes, reason: str, department: Department | None = None
) -> IngestResult:
    """Keep the message's bytes, the reason and the department it was sent for (a retry
    places it there)."""
    return _finish(
        entry, Outcome.HELD, reason=reason or "cannot be placed", raw=raw, department=department
    )


@dataclass
class _Known:
    """What the organization knows that decides a message's place, read once per message: its
    departments (once per batch with `ingest_many`), and the thread entry (ticket, kind) that
    carries this Message-ID."""

    departments: list[Department]
    threads: dict[str, tuple[int, str]]


# `message_id <> ''` repeats the predicate of the partial index on (org, message_id)
# (`mailin_thread_message_id`): once psycopg prepares the statement, PostgreSQL may run it with a
# generic plan, which cannot tell that the parameter is not empty and so could not use that
# index; it read every thread entry of the organization for each message instead (1.6 ms at
# 3,000 entries, growing with them).
_BY_MESSAGE_ID = f"""
SELECT message_id, ticket_id, kind FROM {Thread._meta.db_table}
WHERE org_id = %s AND message_id = %s AND message_id <> '' ORDER BY id
"""  # noqa: S608 - constants only


# The organization's departments, read for every message (once per batch with `ingest_many`).
_DEPARTMENTS: CompiledRead[Department] = CompiledRead(
    lambda org_id: Department.objects.for_org(org_id).order_by("pk")
)


def _known(
    org: Organization, parsed: parse.ParsedMail, departments: list[Department] | None = None
) -> _Known:
    threads: dict[str, tuple[int, str]] = {}
    if parsed.message_id:
        with connection.cursor() as cursor:  # every message asks: in SQL, not built each time
            cursor.execute(_BY_MESSAGE_ID, [org.pk, parsed.message_id])
            for message_id, ticket_id, kind in cursor.fetchall():
                threads.setdefault(message_id, (ticket_id, kind))
    if departments is None:
        departments = _DEPARTMENTS.all(org_id=org.pk)
    return _Known(departments=departments, threads=threads)


def _process(
    org: Organization,
    entry: InboundMessage,
    parsed: parse.ParsedMail,
    raw: bytes,
    department: Department | None,
    departments: list[Department] | None = None,
    *,
    savepoint: bool = True,
) -> IngestResult:
    """Ignore, place or hold a claimed message. `savepoint=False`: a failure to place it is
    raised, for the caller to roll back and hold."""
    reason = parse.machine_reason(parsed)
    known = None
    if not reason:
        known = _known(org, parsed, departments)
        reason = _own_mail_reason(parsed, known)
    if reason or known is None:
        return _finish(entry, Outcome.IGNORED, reason=reason)
    if not savepoint:
        return _place(org, entry, parsed, department, known)
    try:
        with transaction.atomic():  # a savepoint: a failure leaves nothing half-written
            return _place(org, entry, parsed, department, known)
    except Exception as exc:  # noqa: BLE001 - kept for an admin rather than lost
        return _hold(entry, raw, _failure(exc, parsed.key, org), department)


def _own_mail_reason(parsed: parse.ParsedMail, known: _Known) -> str:
    for name in OWN_HEADERS:
        if parse.raw_header(parsed.message, name):
            return f"our own outgoing mail ({name})"
    own = known.threads.get(parsed.message_id)
    if own is not None and own[1] != Thread.Kind.INCOMING:
        return "our own outgoing mail (Message-ID)"
    addresses = {d.email.lower() for d in known.departments if d.email}
    if parsed.from_email in addresses:
        return "sent from one of our departments' addresses"
    return ""


def _place(
    org: Organization,
    entry: InboundMessage,
    parsed: parse.ParsedMail,
    department: Department | None,
    known: _Known,
) -> IngestResult:
    if not parsed.from_email or "@" not in parsed.from_email:
        raise Unplaceable("no sender address")
    ticket = _thread_ticket(org, parsed)
    contact, _created = contact_get_or_create_by_email(  # a failure rolls back `_place` whole
        org=org, email=parsed.from_email, name=parsed.from_name[:100], savepoint=False
    )
    message, inline = thread_message(parsed)
    if ticket is not None:
        thread = thread_incoming_add_message(ticket=ticket, contact=contact, message=message)
        link_inline_images(org, ticket, thread, inline)
        return _finish(entry, Outcome.APPENDED, ticket=ticket, thread=thread)
    if department is None:
        department = _department_for(org, parsed, known)
    subject = parsed.subject.strip() or _("(no subject)")
    thread = ticket_create_with_message(
        org=org,
        contact=contact,
        department=department,
        subject=subject[:255],
        message=message,
        channel=Channel.EMAIL,
    )
    ticket = thread.ticket
    link_inline_images(org, ticket, thread, inline)
    return _finish(entry, Outcome.CREATED, ticket=ticket, thread=thread)


# --- Which ticket ------------------------------------------------------------------------------
def _thread_ticket(org: Organization, parsed: parse.ParsedMail) -> Ticket | None:
    """The ticket this message answers: by its threading headers first (newest first: our
    thread entries, then merged tickets' aliases; `merge.ticket_for_message_ids`), then by
    "[#number]" in the subject if the sender is that ticket's contact. A merged ticket leads
    to its target."""
    ticket = ticket_for_message_ids(
        org=org, message_ids=[*parsed.references[-50:], *parsed.in_reply_to]
    )
    if ticket is None:
        ticket = _ticket_by_subject(org, parsed)
    if ticket is not None:
        ticket.org = org  # the same object: the services need not read it again
    return ticket


def _ticket_by_subject(org: Organization, parsed: parse.ParsedMail) -> Ticket | None:
    for match in SUBJECT_NUMBER.finditer(parsed.subject or ""):
        named = (
            Ticket.objects.for_org(org)
            .filter(number=int(match.group(1)))
            .select_related("contact")
            .defer("search_vector")
            .first()
        )
        contact = named.contact if named is not None else None
        if (
            named is not None
            and contact is not None
            and parsed.from_email
            in {
                (contact.email or "").lower(),
                (contact.secondary_email or "").lower(),
            }
        ):
            return merged_into(named) or named
    return None


def _department_for(org: Organization, parsed: parse.ParsedMail, known: _Known) -> Department:
    """The department whose support address the mail was sent to, else the organization's
    mail department, else the first enabled department."""
    enabled = [d for d in known.departments if d.is_enabled]
    by_address = {d.email.lower(): d for d in enabled if d.email}
    for address in parsed.recipients:
        if address in by_address:
            return by_address[address]
    configured = mail_settings(org).default_department
    if configured is not None and configured.is_enabled:
        return configured
    if not enabled:
        raise Unplaceable("the organization has no enabled department")
    return enabled[0]


# --- Held messages (the admin's page) ---------------------------------------------------------
def held_retry(*, actor: Membership, entry: InboundMessage) -> IngestResult:
    """Try a held message again (after the admin fixed what stopped it, e.g. enabled a
    department). It keeps its log row: held again with the new reason, or placed."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, entry)
    org = actor.org
    with tenant_scope(org.pk), transaction.atomic():
        row = (
            InboundMessage.objects.for_org(org)
            .select_related("department")
            .select_for_update(of=("self",))
            .filter(pk=entry.pk, outcome=Outcome.HELD)
            .first()
        )
        if row is None:
            raise ValidationError(_("This message is no longer held."))
        raw = bytes(row.raw or b"")
        try:
            parsed = parse.parse(raw)
        except Exception as exc:  # noqa: BLE001
            return _hold(row, raw, _reason(exc), row.department)
        row.sender, row.subject = parsed.from_email[:255], parsed.subject[:255]
        department = row.department if row.department and row.department.is_enabled else None
        return _process(org, row, parsed, raw, department)


@transaction.atomic
def held_delete(*, actor: Membership, entry: InboundMessage) -> None:
    """Delete a held message for good (its log row goes: the same mail may come again)."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, entry)
    InboundMessage.objects.for_org(actor.org).filter(pk=entry.pk, outcome=Outcome.HELD).delete()


# --- The log's retention -----------------------------------------------------------------------
def log_keep_days() -> int:
    """How long the log of placed, duplicate and ignored messages is kept (`MAILIN_LOG_DAYS`)."""
    return int(getattr(settings, "MAILIN_LOG_DAYS", 90))


def log_purge(*, now: dt.datetime | None = None, batch: int = 5000) -> int:
    """Delete log rows older than `log_keep_days()` in every organization, one organization at
    a time under its own scope, in batches. Held messages are kept whatever their age: they
    wait for an administrator (retry or delete), never dropped. A message delivered again
    after its row is gone is taken as new: the retention is far longer than any mail server
    retries. Run daily by beat; idempotent. Returns how many rows were deleted."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=log_keep_days())
    deleted = 0
    for org_id in Organization.objects.order_by("pk").values_list("pk", flat=True):
        with tenant_scope(org_id):
            while True:
                ids = list(
                    InboundMessage.objects.for_org(org_id)
                    .filter(received_at__lt=cutoff)
                    .exclude(outcome=Outcome.HELD)
                    .values_list("pk", flat=True)[:batch]
                )
                if not ids:
                    break
                count, _by_model = (
                    InboundMessage.objects.for_org(org_id).filter(pk__in=ids).delete()
                )
                deleted += count
    return deleted
