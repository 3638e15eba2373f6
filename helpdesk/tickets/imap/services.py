"""IMAP mailboxes (TKT-07): set up by Desk admins, polled by Celery into the ingestion service.

Each poll of a mailbox runs under a Redis lock (two workers never read one mailbox at once),
fetches the messages above the stored UID one at a time, and hands each to
`helpdesk.tickets.mailin.services.ingest`; the stored UID moves past a message in the
transaction that ingested it. A failure (password, network, TLS, folder) is stored on the
mailbox as a code the setup page shows translated, and the next poll waits longer after each
consecutive failure (`backoff`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy import rls
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, Membership, Organization
from helpdesk.tenancy.permissions import ensure_app_admin

from ..mailin import services as mailin
from . import client, crypto
from .models import Mailbox, PollError

logger = logging.getLogger(__name__)

# One poll reads at most this many messages, then hands the rest to a fresh task, so one busy
# mailbox does not hold a worker (or its lock) for long.
BATCH = 100
# The lock outlives a poll that hangs no longer than this; it is renewed after each message.
LOCK_SECONDS = 300
# Consecutive failures -> minutes before the next try: 1, 2, 4, ... up to an hour.
BACKOFF_MAX = timedelta(hours=1)

# Changing any of these points the mailbox at different messages: the UIDs start again.
_WHERE = ("host", "port", "username", "folder")
_CONNECTION = (*_WHERE, "security")


def backoff(failures: int) -> timedelta:
    if failures <= 0:
        return timedelta(0)
    return min(timedelta(minutes=2 ** min(failures - 1, 10)), BACKOFF_MAX)


# --- Setup (Desk admins) -----------------------------------------------------------------------
@transaction.atomic
def mailbox_save(*, actor: Membership, mailbox: Mailbox, password: str = "") -> Mailbox:
    """Create or change a mailbox. An empty `password` keeps the stored one (a new mailbox
    needs one). Pointing it at another server, account or folder starts reading it afresh;
    changing how it connects clears the last error and its backoff, so it is tried at once."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, mailbox)
    ensure_same_org(actor.org, mailbox.department)
    if password:
        mailbox.password_encrypted = crypto.encrypt(password)
    mailbox.host = mailbox.host.strip().rstrip(".").lower()
    mailbox.username = mailbox.username.strip()
    mailbox.folder = mailbox.folder.strip() or "INBOX"
    if mailbox.pk is not None:
        before = Mailbox.objects.for_org(actor.org).select_for_update().get(pk=mailbox.pk)
        if any(getattr(before, f) != getattr(mailbox, f) for f in _WHERE):
            mailbox.uidvalidity, mailbox.last_uid = None, 0
        if password or any(getattr(before, f) != getattr(mailbox, f) for f in _CONNECTION):
            _clear_error(mailbox)
    mailbox.full_clean()
    if not mailbox.password_encrypted:
        from django.core.exceptions import ValidationError

        raise ValidationError({"password": _("Enter the mailbox's password.")})
    mailbox.save()
    return mailbox


def _clear_error(mailbox: Mailbox) -> None:
    mailbox.last_error, mailbox.last_error_detail, mailbox.last_error_at = "", "", None
    mailbox.failures, mailbox.next_poll_at = 0, None


@transaction.atomic
def mailbox_set_enabled(*, actor: Membership, mailbox: Mailbox, enabled: bool) -> Mailbox:
    """Turn polling on or off; turning it on tries at once (no backoff left over)."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, mailbox)
    mailbox.enabled = enabled
    fields = ["enabled", "updated_at"]
    if enabled:
        mailbox.failures, mailbox.next_poll_at = 0, None
        fields += ["failures", "next_poll_at"]
    mailbox.save(update_fields=fields)
    return mailbox


@transaction.atomic
def mailbox_delete(*, actor: Membership, mailbox: Mailbox) -> None:
    """Stop reading the mailbox. Its tickets stay; the messages stay on the server."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, mailbox)
    mailbox.delete()


@dataclass(frozen=True)
class TestResult:
    ok: bool
    message: str
    error: str = ""  # a PollError code when not ok
    detail: str = ""  # the server's own words


def _account(mailbox: Mailbox) -> client.Account:
    return client.Account(
        host=mailbox.host,
        port=mailbox.port,
        security=mailbox.security,
        username=mailbox.username,
        password=crypto.decrypt(mailbox.password_encrypted),
    )


def _connect(mailbox: Mailbox):
    return client.connect(
        _account(mailbox),
        timeout=settings.IMAP_TIMEOUT_SECONDS,
        allow_private=settings.IMAP_ALLOW_PRIVATE_HOSTS,
    )


def mailbox_test(*, actor: Membership, mailbox: Mailbox) -> TestResult:
    """Log in and open the folder, and say how it went. A success also clears the last error
    and its backoff (the admin has just seen it work)."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, mailbox)
    try:
        with _connect(mailbox) as conn:
            _uidvalidity, count = client.select(conn, mailbox.folder, readonly=True)
    except crypto.PasswordUnreadable:
        return TestResult(False, str(PollError.KEY.label), PollError.KEY)
    except client.ImapFailure as exc:
        return TestResult(False, str(PollError(exc.code).label), exc.code, exc.detail)
    Mailbox.objects.for_org(actor.org).filter(pk=mailbox.pk).update(
        last_error="", last_error_detail="", last_error_at=None, failures=0, next_poll_at=None
    )
    return TestResult(
        True,
        _("Connected: the folder “%(folder)s” has %(count)s messages.")
        % {"folder": mailbox.folder, "count": count},
    )


def mailbox_passwords_rotate() -> tuple[int, int]:
    """Re-encrypt every stored password with the first MAIL_PASSWORD_KEY (key rotation), in
    every organization, one at a time under its scope. Returns (re-encrypted, unreadable): an
    unreadable one was made with a key no longer listed; its mailbox needs the password again."""
    rotated = unreadable = 0
    for org_id in Organization.objects.order_by("pk").values_list("pk", flat=True):
        with rls.tenant_scope(org_id), transaction.atomic():
            rows = (
                Mailbox.objects.filter(org_id=org_id)
                .exclude(password_encrypted="")
                .select_for_update()
            )
            for mailbox in rows:
                try:
                    token = crypto.rotate(mailbox.password_encrypted)
                except crypto.PasswordUnreadable:
                    unreadable += 1
                    continue
                Mailbox.objects.filter(org_id=org_id, pk=mailbox.pk).update(
                    password_encrypted=token
                )
                rotated += 1
    return rotated, unreadable


# --- Polling -----------------------------------------------------------------------------------
def due_mailboxes(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """(org_id, mailbox id) of every enabled mailbox whose backoff has passed, in every
    organization. Read one organization at a time under its own scope (see the README's IMAP
    section on why this is not a cross-tenant read)."""
    now = now or timezone.now()
    due: list[tuple[int, int]] = []
    for org_id in Organization.objects.order_by("pk").values_list("pk", flat=True):
        with rls.tenant_scope(org_id):
            due += [
                (org_id, pk)
                for pk in Mailbox.objects.filter(org_id=org_id, enabled=True)
                .filter(Q(next_poll_at=None) | Q(next_poll_at__lte=now))
                .order_by("pk")
                .values_list("pk", flat=True)
            ]
    return due


@dataclass
class PollResult:
    outcome: str  # "polled", "failed", "locked", "skipped"
    read: int = 0  # messages handed to the ingestion
    more: bool = False  # stopped at BATCH with messages left: poll again now
    outcomes: dict[str, int] | None = None


@contextmanager
def _lock(mailbox_id: int) -> Iterator[object | None]:
    """A Redis lock per mailbox (yields None if another worker holds it). Without Redis (a
    laptop on the filesystem broker, one worker) the cache's atomic add stands in."""
    name = f"madoguchi:imap:poll:{mailbox_id}"
    url = settings.REDIS_URL
    if url:
        lock = redis.Redis.from_url(url).lock(name, timeout=LOCK_SECONDS, blocking=False)
        if not lock.acquire():
            yield None
            return
        try:
            yield lock
        finally:
            # Expired meanwhile: someone else may hold it now; theirs is left alone.
            with suppress(redis.exceptions.LockError):
                lock.release()
        return
    if not cache.add(name, 1, LOCK_SECONDS):
        yield None
        return
    try:
        yield name
    finally:
        cache.delete(name)


def _renew(lock: object) -> None:
    if isinstance(lock, redis.lock.Lock):
        lock.reacquire()


def mailbox_poll(*, org_id: int, mailbox_id: int, batch: int = BATCH) -> PollResult:
    """Read the mailbox's new messages into tickets. Runs in the organization's scope (the
    task's). Idempotent: a second concurrent call returns "locked"; a message whose ingestion
    fails stays unread (its UID is not passed) and is tried again after the backoff."""
    org = Organization.objects.filter(pk=org_id).first()
    if org is None:
        return PollResult("skipped")  # the organization was deleted since it was queued
    mailbox = (
        Mailbox.objects.for_org(org)
        .select_related("department")
        .filter(pk=mailbox_id, enabled=True)
        .first()
    )
    if mailbox is None:
        return PollResult("skipped")  # deleted or disabled since it was queued
    with _lock(mailbox.pk) as lock:
        if lock is None:
            return PollResult("locked")
        try:
            result = _read(org, mailbox, lock, batch)
        except crypto.PasswordUnreadable:
            _record_failure(org, mailbox, PollError.KEY, "")
            return PollResult("failed")
        except client.ImapFailure as exc:
            _record_failure(org, mailbox, exc.code, exc.detail)
            return PollResult("failed")
        Mailbox.objects.for_org(org).filter(pk=mailbox.pk).update(
            last_poll_at=timezone.now(),
            last_success_at=timezone.now(),
            last_error="",
            last_error_detail="",
            last_error_at=None,
            failures=0,
            next_poll_at=None,
        )
        return result


def _record_failure(org: Organization, mailbox: Mailbox, code: str, detail: str) -> None:
    now = timezone.now()
    failures = mailbox.failures + 1
    logger.info("IMAP mailbox %s of org %s: %s %s", mailbox.pk, org.pk, code, detail)
    Mailbox.objects.for_org(org).filter(pk=mailbox.pk).update(
        last_poll_at=now,
        last_error=code,
        last_error_detail=detail[:500],
        last_error_at=now,
        failures=F("failures") + 1,
        next_poll_at=now + backoff(failures),
    )


def _read(org: Organization, mailbox: Mailbox, lock: object, batch: int) -> PollResult:
    outcomes: dict[str, int] = {}
    read = 0
    deadline = time.monotonic() + LOCK_SECONDS / 2
    with _connect(mailbox) as conn:
        uidvalidity, _count = client.select(conn, mailbox.folder, readonly=not mailbox.mark_seen)
        if mailbox.uidvalidity != uidvalidity:
            # First poll, or the server renumbered the folder: start again from the top (the
            # ingestion's Message-ID check keeps what was read before from doubling), unless
            # a new mailbox should skip what is already there.
            first = mailbox.uidvalidity is None
            start = 0 if (not first or mailbox.import_existing) else client.highest_uid(conn)
            Mailbox.objects.for_org(org).filter(pk=mailbox.pk).update(
                uidvalidity=uidvalidity, last_uid=start
            )
            mailbox.uidvalidity, mailbox.last_uid = uidvalidity, start
        uids = client.uids_after(conn, mailbox.last_uid)
        for uid in uids[:batch]:
            if time.monotonic() > deadline:
                break
            raw = client.fetch(conn, uid)
            try:
                with transaction.atomic():
                    # Claim the UID: only if nobody has passed it (the lock makes that sure;
                    # this makes it sure even if the lock expired under a hung poll).
                    claimed = (
                        Mailbox.objects.for_org(org)
                        .filter(pk=mailbox.pk, uidvalidity=uidvalidity, last_uid__lt=uid)
                        .update(last_uid=uid)
                    )
                    if not claimed:
                        return PollResult("locked", read=read, outcomes=outcomes)
                    if raw is not None:  # expunged meanwhile: nothing to read
                        outcome = mailin.ingest(
                            org, raw, source="imap", department=mailbox.department
                        )
                        key = str(getattr(outcome, "outcome", outcome))
                        outcomes[key] = outcomes.get(key, 0) + 1
            except Exception as exc:
                # Not the server's fault: keep the message for the next try, and say so.
                logger.exception("IMAP mailbox %s: ingesting UID %s failed", mailbox.pk, uid)
                raise client.ImapFailure(PollError.INGEST, f"UID {uid}: {exc!r}") from exc
            mailbox.last_uid = uid
            read += 1
            if mailbox.mark_seen:
                client.mark_seen(conn, uid)
            _renew(lock)
    return PollResult("polled", read=read, more=len(uids) > read, outcomes=outcomes)
