"""The SLA sweep (BP-15, TKT-09; ARCHITECTURE "Time, SLAs and escalations"): fires the
escalation levels that fell due, each exactly once, and sends their mail.

How a due row (`ClockDue`) goes from due to done:
1. **Find.** One cross-tenant read (`crosstenant.due_organizations`, the global partial index on
   `due_at`) gives the organizations with claimable rows and their earliest due time.
2. **Claim**, per organization, under its row-level-security scope, in one transaction: the
   due rows (`FOR UPDATE SKIP LOCKED`, a batch), then their clocks and tickets, also with
   `SKIP LOCKED`, so the sweep never waits on a ticket someone is changing (and never
   deadlocks with them: a row it cannot lock now is left for the next sweep). Clocks and
   tickets are locked `FOR NO KEY UPDATE`: a reply or history row referencing the ticket (a
   foreign key's KEY SHARE lock) is not held up by the sweep. A due row whose
   clock stopped or paused meanwhile is deleted (it must not fire).
3. **Fire.** Ledger rows (`EscalationFired`) go in with one `INSERT ... SELECT FROM unnest(...)
   ON CONFLICT DO NOTHING RETURNING id` on the unique key (organization, ticket, clock,
   cycle, level): only the rows this sweep inserted raise the clock's level (the ticket's is
   the highest among its open clocks) and write the ticket's history (through
   `helpdesk.tickets.services.escalation`), so two sweeps racing fire once. Keys that were
   not inserted (a re-claim, a level written again by a re-plan) are read back by that unique
   key, never by scanning the ledger.
4. **Hand off.** The due rows are marked claimed (`claimed_at`, `claim_token`) and, after
   commit, the same process sends their mail (`_hand_off`, `sla.mail`): the mail transaction
   locks the ledger rows and their due rows before anything is sent, sends only the rows
   whose `mail_sent_at` is empty, sets it and marks the due rows fired. A sweep claims its
   next batch once this one is mailed, so claims never run ahead of the mail. Mail the mail
   server refused goes to `escalation_mail_task` (retries with back-off).
5. **Re-claim.** A claimed row not marked fired within `SLA_CLAIM_TIMEOUT_SECONDS` (the worker
   died between claiming and sending, or the hand-off was lost) is claimable again: its ledger row
   exists already, so nothing fires twice; its mail is handed off again unless it was sent.

Wake-ups: the beat runs the sweep every `SLA_SWEEP_SECONDS`; each sweep also schedules one
exact-time run (`schedule_wakeup`) for the earliest row falling due before the next beat, so an
escalation is about a second late at most, not a sweep interval. Under a backlog (a sweep
claimed a full batch) a sweep recruits another (`recruit_sweeper`, at most one a second), so
that every worker process sweeps, each claiming its own rows, instead of one sweep working
through the backlog while the others wait for the next beat.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from helpdesk.lookups import any_of
from helpdesk.tenancy import crosstenant
from helpdesk.tenancy.rls import tenant_scope
from helpdesk.tickets.services.escalation import (
    Escalation,
    tickets_escalate,
    tickets_lock_for_escalation,
)

from .mail import escalation_mail_send
from .models import Clock, ClockDue, EscalationFired
from .queue import (
    batch_size,
    claim_timeout,
    queue_mail_retry,
    recruit_sweeper,
    schedule_wakeup,
    sweep_seconds,
)
from .selectors import ticket_levels

logger = logging.getLogger(__name__)

LABEL = "sla.ClockDue"


# Ledger rows per mail transaction: one SMTP connection each.
MAIL_CHUNK = 500
# Organizations read per pass; a pass repeats while any organization filled its batch.
ORGS_PER_PASS = 1000


@dataclass
class SweepResult:
    """What one sweep did: escalations fired (new ledger rows), mails handed off (new and
    re-claimed), due rows confirmed (already mailed), stale rows dropped (clock stopped or
    paused), rows skipped (clock or ticket locked), and the next due time it woke up for."""

    fired: int = 0
    handed_off: int = 0
    confirmed: int = 0
    dropped: int = 0
    skipped: int = 0
    claimed: int = 0
    wakeup: dt.datetime | None = None
    ledger_ids: list[int] = field(default_factory=list)

    def add(self, other: SweepResult) -> None:
        self.fired += other.fired
        self.handed_off += other.handed_off
        self.confirmed += other.confirmed
        self.dropped += other.dropped
        self.skipped += other.skipped
        self.claimed += other.claimed
        self.ledger_ids += other.ledger_ids


def _claimable(now: dt.datetime) -> Q:
    """Unfired rows that nobody claimed, or whose claim was not confirmed in time."""
    return Q(fired_at__isnull=True) & (
        Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - claim_timeout())
    )


def sweep(*, budget_seconds: float = 20.0, wake: bool = True) -> SweepResult:
    """Fire everything due now, organization by organization, and again while a pass fired
    anything (a full batch left rows behind, or rows fell due while it ran: under a steady
    stream of due rows a sweep keeps going instead of waiting for the next wake-up), within
    `budget_seconds` (the next beat or wake-up goes on); then schedule an exact-time wake-up
    for the earliest row due before the next beat."""
    started = time.monotonic()
    total = SweepResult()
    while True:
        now = timezone.now()
        horizon = now + dt.timedelta(seconds=sweep_seconds())
        orgs = crosstenant.due_organizations(
            LABEL, due=_claimable(now) & Q(due_at__lte=horizon), limit=ORGS_PER_PASS
        )
        progressed = False
        for org_id, first in orgs:
            if first > now:
                continue
            result = sweep_org(org_id=org_id, now=now)
            total.add(result)
            # A full batch left rows behind; fired, dropped or confirmed rows are progress.
            # Rows skipped (their ticket or clock locked) wait for the next sweep, and rows
            # re-claimed only (handed off again) are not claimed twice by one sweep.
            progressed = (
                progressed
                or result.claimed >= batch_size()
                or result.fired + result.dropped + result.confirmed > 0
            )
        if not progressed or time.monotonic() - started > budget_seconds:
            break
    if wake:
        total.wakeup = next_due()
        if total.wakeup is not None:
            schedule_wakeup(total.wakeup)
    return total


def next_due() -> dt.datetime | None:
    """The earliest unclaimed row falling due before the next beat (None: none)."""
    now = timezone.now()
    horizon = now + dt.timedelta(seconds=sweep_seconds())
    first = crosstenant.due_organizations(
        LABEL, due=_claimable(now) & Q(due_at__gt=now, due_at__lte=horizon), limit=1
    )
    return first[0][1] if first else None


def sweep_org(*, org_id: int, now: dt.datetime | None = None) -> SweepResult:
    """Claim and fire one batch of the organization's due rows (see the module's docstring);
    the mail is sent when the transaction commits. A full batch (a backlog) queues another
    sweep to work beside this one (`recruit_sweeper`; none in eager mode)."""
    now = now or timezone.now()
    with tenant_scope(org_id), transaction.atomic():
        result = _claim_and_fire(org_id, now)
        if result.claimed >= batch_size():
            # Now, not on commit: the other process claims the next batch (skipping the rows
            # this one holds) while this one sends its mail.
            recruit_sweeper()
    return result


def _claim(org_id: int, now: dt.datetime) -> list[dict[str, Any]]:
    """Lock up to a batch of the organization's claimable due rows, earliest first, skipping
    rows another sweep or a mail task holds."""
    return list(
        ClockDue.objects.for_org(org_id)
        .filter(_claimable(now), due_at__lte=now)
        .order_by("due_at")
        .select_for_update(skip_locked=True)
        .values("pk", "clock_id", "ticket_id", "level")[: batch_size()]
    )


def _claim_and_fire(org_id: int, now: dt.datetime) -> SweepResult:
    result = SweepResult()
    dues = _claim(org_id, now)
    result.claimed = len(dues)
    if not dues:
        return result
    clocks = {
        c["pk"]: c
        for c in Clock.objects.for_org(org_id)
        .filter(any_of("pk", {d["clock_id"] for d in dues}))
        .select_for_update(skip_locked=True, no_key=True)
        .values("pk", "ticket_id", "kind", "cycle", "stopped_at", "paused_at")
    }
    locked = tickets_lock_for_escalation(org_id=org_id, ticket_ids={d["ticket_id"] for d in dues})
    stale, ready = [], []
    for due in dues:
        clock = clocks.get(due["clock_id"])
        if clock is None or due["ticket_id"] not in locked:
            result.skipped += 1  # locked by a change in progress: the next sweep sees it
        elif clock["stopped_at"] is not None or clock["paused_at"] is not None:
            stale.append(due["pk"])
        else:
            ready.append(due)
    if stale:
        result.dropped = ClockDue.objects.for_org(org_id).filter(any_of("pk", stale)).delete()[0]
    if not ready:
        return result
    keys = [
        (due["ticket_id"], due["clock_id"], clocks[due["clock_id"]]["cycle"], due["level"])
        for due in ready
    ]
    inserted = _ledger_insert(org_id, keys, now)
    # Keys already in the ledger: a re-claim, or a level a re-plan wrote again.
    earlier = _ledger_rows(org_id, [k for k in keys if k not in inserted])
    # New escalations: the clock's level reached, and the ticket's history (with the change
    # of its level: the highest among its open clocks, read before raising theirs).
    new = [key for key in keys if key in inserted]
    result.fired = len(new)
    before = ticket_levels(org_id, {t for (t, _, _, _) in new})
    _levels_reached(org_id, [(clock_id, level) for (_, clock_id, _, level) in new])
    tickets_escalate(
        org_id=org_id,
        escalations=[
            Escalation(ticket_id=t, level=lvl, target=clocks[c]["kind"]) for (t, c, _, lvl) in new
        ],
        levels_before=before,
    )
    # Hand off what is not mailed yet; confirm what was mailed before a lost confirmation.
    pending: list[tuple[int, int]] = []
    mailed: dict[dt.datetime, list[int]] = {}
    for due, key in zip(ready, keys, strict=True):
        if key in inserted:
            pending.append((due["pk"], inserted[key]))
            continue
        ledger_id, sent_at = earlier[key]
        if sent_at is None:
            pending.append((due["pk"], ledger_id))
        else:
            mailed.setdefault(sent_at, []).append(due["pk"])
    for sent_at, pks in mailed.items():
        ClockDue.objects.for_org(org_id).filter(any_of("pk", pks)).update(fired_at=sent_at)
        result.confirmed += len(pks)
    if pending:
        ClockDue.objects.for_org(org_id).filter(any_of("pk", [p[0] for p in pending])).update(
            claimed_at=now, claim_token=uuid.uuid4()
        )
        ids = sorted({p[1] for p in pending})
        result.handed_off = len(ids)
        result.ledger_ids = ids
        transaction.on_commit(partial(_hand_off, org_id, ids))
    return result


Key = tuple[int, int, int, int]  # (ticket id, clock id, cycle, level): the ledger's unique key


def _ledger_insert(org_id: int, keys: list[Key], now: dt.datetime) -> dict[Key, int]:
    """INSERT the ledger rows, skipping any whose unique key exists (another sweep fired it,
    or this is a re-claim); returns {key: ledger id} of the rows this statement inserted. A
    key another transaction is inserting waits for it (the unique index), so of two racing
    sweeps exactly one gets each key back."""
    if not keys:
        return {}
    table = EscalationFired._meta.db_table
    columns = list(zip(*keys, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (org_id, ticket_id, clock_id, cycle, level, fired_at,"  # noqa: S608 - our table's name
            " recipients)"
            " SELECT %s, k.ticket_id, k.clock_id, k.cycle, k.level, %s, '[]'::jsonb"
            " FROM unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[])"
            " AS k (ticket_id, clock_id, cycle, level)"
            " ON CONFLICT (org_id, ticket_id, clock_id, cycle, level) DO NOTHING"
            " RETURNING id, ticket_id, clock_id, cycle, level",
            [org_id, now, *[list(c) for c in columns]],
        )
        return {tuple(row[1:]): row[0] for row in cursor.fetchall()}


def _ledger_rows(org_id: int, keys: list[Key]) -> dict[Key, tuple[int, dt.datetime | None]]:
    """{key: (ledger id, mail_sent_at)} of existing ledger rows, read by their unique key."""
    if not keys:
        return {}
    table = EscalationFired._meta.db_table
    columns = list(zip(*keys, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT f.id, f.ticket_id, f.clock_id, f.cycle, f.level, f.mail_sent_at"  # noqa: S608 - our table
            f" FROM {table} f"
            " JOIN unnest(%s::bigint[], %s::bigint[], %s::int[], %s::int[])"
            " AS k (ticket_id, clock_id, cycle, level)"
            " ON f.ticket_id = k.ticket_id AND f.clock_id = k.clock_id"
            " AND f.cycle = k.cycle AND f.level = k.level"
            " WHERE f.org_id = %s",
            [*[list(c) for c in columns], org_id],
        )
        return {tuple(row[1:5]): (row[0], row[5]) for row in cursor.fetchall()}


def _levels_reached(org_id: int, fired: Iterable[tuple[int, int]]) -> None:
    """Raise each clock's `level_reached` to the highest level fired on it."""
    highest: dict[int, int] = {}
    for clock_id, level in fired:
        highest[clock_id] = max(highest.get(clock_id, 0), level)
    by_level: dict[int, list[int]] = {}
    for clock_id, level in highest.items():
        by_level.setdefault(level, []).append(clock_id)
    for level, ids in by_level.items():
        Clock.objects.for_org(org_id).filter(any_of("pk", ids), level_reached__lt=level).update(
            level_reached=level
        )


def _hand_off(org_id: int, ledger_ids: list[int]) -> None:
    """Send the mail of a committed claim right away, in this process (`sla.mail`: its own
    transaction locks the ledger rows and marks them sent): no queue round trip, and a sweep
    claims its next batch only when this one is mailed, so claims never run ahead of the mail
    (rows claimed long before they are mailed would time out and be claimed again). If the
    mail server fails, `escalation_mail_task` takes over the rows not sent, with its retries;
    if this process dies, the claim times out and the next sweep hands them off again."""
    for start in range(0, len(ledger_ids), MAIL_CHUNK):
        chunk = ledger_ids[start : start + MAIL_CHUNK]
        try:
            with tenant_scope(org_id):
                escalation_mail_send(org_id=org_id, ledger_ids=chunk)
        except Exception:  # the mail server refused or was unreachable: the task retries
            logger.warning("escalation mail failed; queued for retry", exc_info=True)
            queue_mail_retry(org_id, chunk)
