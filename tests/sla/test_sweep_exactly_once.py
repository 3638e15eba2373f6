# ruff: noqa: F811 - the fixtures are imported by name
"""Exactly one mail per escalation level (BP-15, issue 11) when a sweep and a mail task work
on the same rows at the same moment, on real PostgreSQL with two connections (threads).

The race the benchmark's duplicates came from: a sweep re-claims due rows whose claim timed out
(it holds them `FOR UPDATE`) while the mail task of their first claim is sending. The mail
task used to lock the due rows only in its final UPDATE, after sending and after updating its
ledger rows; the sweep's `INSERT ... ON CONFLICT` then waited on those ledger rows, the mail
task on the due rows, PostgreSQL aborted the mail transaction as the deadlock's victim, and the
task's retry sent the batch again."""

from __future__ import annotations

import smtplib
import threading
import time
from collections import Counter

import psycopg
import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.db import connection, connections, transaction
from django.utils import timezone

from helpdesk.tenancy.rls import tenant_scope
from sla import sweep as sla_sweep
from sla.mail import escalation_mail_send
from sla.models import ClockDue, EscalationFired
from tests.sla.sweep_fixtures import (  # noqa: F401
    Desk,
    desk,
    escalation_mails,
    escalations,
    past,
)


def _lock_waiters() -> int:
    """Backends of this database waiting for a row or transaction lock (read on a connection of
    its own, as the login role: a scoped connection's runtime role cannot see others' waits)."""
    params = connection.settings_dict
    with psycopg.connect(
        dbname=params["NAME"],
        user=params["USER"] or "postgres",
        password=params["PASSWORD"] or None,
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        autocommit=True,
    ) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND wait_event_type = 'Lock'"
        ).fetchone()[0]


def _wait_until(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def _mail_task(org_id: int, ledger_ids: list[int]) -> int:
    """What escalation_mail_task does: send; on an error, try again (its retry)."""
    try:
        return escalation_mail_send(org_id=org_id, ledger_ids=ledger_ids)
    except Exception:  # noqa: BLE001 - the task's retry
        return escalation_mail_send(org_id=org_id, ledger_ids=ledger_ids)


def _claimed_not_mailed(desk, escalations, count: int = 10) -> list[int]:
    """`count` escalations fired and claimed whose mail was never sent (the hand-off was
    lost: its process died), their claim timed out; returns their ledger ids."""
    escalations.level(1)
    for _ in range(count):
        escalations.plant(desk.ticket(owner=desk.agent.user), due_at=past())
    first = sla_sweep.sweep(wake=False)
    assert (first.fired, first.handed_off) == (count, count)
    EscalationFired.objects.update(mail_sent_at=None, recipients=[])
    ClockDue.objects.update(fired_at=None)
    mail.outbox.clear()
    return first.ledger_ids


@pytest.mark.django_db(transaction=True)
def test_bp15_a_sweep_reclaiming_rows_the_mail_task_is_sending_never_mails_twice(
    desk, escalations, settings
):
    """Ten escalations claimed, their mail task not run yet (claim timed out). A second sweep
    holds the due rows (its claim) when the first mail task starts, and inserts its ledger rows
    while that task is under way. Each escalation is mailed once, nothing fails, and the due
    rows end fired."""
    ledger_ids = _claimed_not_mailed(desk, escalations)
    settings.SLA_CLAIM_TIMEOUT_SECONDS = 0  # the claim timed out: the rows are claimable
    org_id = desk.org.id
    results: dict[str, object] = {}

    def mail_task() -> None:
        try:
            results["sent"] = _mail_task(org_id, ledger_ids)
        except BaseException as exc:  # noqa: BLE001 - reported below
            results["error"] = exc
        finally:
            connections.close_all()

    now = timezone.now()
    with tenant_scope(org_id), transaction.atomic():
        # The second sweep's claim: the due rows, locked as `_claim` locks them.
        dues = sla_sweep._claim(org_id, now)
        assert len(dues) == 10
        thread = threading.Thread(target=mail_task)
        thread.start()
        # The mail task is now waiting on a lock this transaction holds.
        assert _wait_until(lambda: _lock_waiters() > 0), "the mail task never waited"
        time.sleep(0.3)
        # The sweep goes on: its ledger rows exist (inserted by the first sweep).
        keys = [(d["ticket_id"], d["clock_id"], 1, d["level"]) for d in dues]
        assert not sla_sweep._ledger_insert(org_id, keys, now)
        ClockDue.objects.for_org(org_id).filter(pk__in=[d["pk"] for d in dues]).update(
            claimed_at=now
        )
    thread.join(60)
    assert "error" not in results, results.get("error")
    assert results["sent"] == 10
    keys_mailed = Counter(m.extra_headers["X-Madoguchi-Escalation"] for m in escalation_mails())
    assert len(keys_mailed) == 10 and set(keys_mailed.values()) == {1}
    assert not EscalationFired.objects.filter(mail_sent_at__isnull=True).exists()
    assert not ClockDue.objects.filter(fired_at__isnull=True).exists()
    assert connection.vendor == "postgresql"


class _HeldBackend(EmailBackend):
    """The outbox, with a mail server that takes its time: `sending` is set when a batch
    arrives and the batch is accepted when `release` is set."""

    sending = threading.Event()
    release = threading.Event()

    def send_messages(self, messages):
        type(self).sending.set()
        type(self).release.wait(30)
        return super().send_messages(messages)


@pytest.mark.django_db(transaction=True)
def test_bp15_a_sweep_while_the_mail_task_sends_skips_its_rows_and_nothing_is_mailed_twice(
    desk, escalations, settings
):
    """The mail task of ten claimed escalations is sending (a slow mail server) when their
    claim times out and a sweep runs (its own hand-off executed at once): the sweep claims none
    of the rows the task holds, and each escalation is mailed once."""
    ledger_ids = _claimed_not_mailed(desk, escalations)
    settings.SLA_CLAIM_TIMEOUT_SECONDS = 0
    settings.EMAIL_BACKEND = f"{__name__}._HeldBackend"
    _HeldBackend.sending.clear()
    _HeldBackend.release.clear()
    results: dict[str, object] = {}

    def mail_task() -> None:
        try:
            results["sent"] = _mail_task(desk.org.id, ledger_ids)
        except BaseException as exc:  # noqa: BLE001
            results["error"] = exc
        finally:
            connections.close_all()

    thread = threading.Thread(target=mail_task)
    thread.start()
    try:
        assert _HeldBackend.sending.wait(20)
        second = sla_sweep.sweep(wake=False)  # its mail tasks run at commit (eager)
    finally:
        _HeldBackend.release.set()
        thread.join(60)
    assert "error" not in results, results.get("error")
    assert (second.claimed, second.fired, results["sent"]) == (0, 0, 10)
    keys_mailed = Counter(m.extra_headers["X-Madoguchi-Escalation"] for m in escalation_mails())
    assert len(keys_mailed) == 10 and set(keys_mailed.values()) == {1}
    assert not ClockDue.objects.filter(fired_at__isnull=True).exists()


class _RefusingBackend(EmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("connection unexpectedly closed")


def test_bp15_a_refused_mail_leaves_the_escalation_claimed_and_it_is_mailed_once_later(
    desk, escalations, settings, django_capture_on_commit_callbacks
):
    """The sweep sends a claim's mail itself; when the mail server refuses, the sweep still
    succeeds, the escalation stays fired (ledger, history) but unsent, and once the server
    answers, the re-claim mails it exactly once."""
    escalations.level(1)
    ticket = desk.ticket(owner=desk.agent.user)
    escalations.plant(ticket, due_at=past())
    settings.EMAIL_BACKEND = f"{__name__}._RefusingBackend"
    with django_capture_on_commit_callbacks(execute=True):
        first = sla_sweep.sweep(wake=False)
    assert (first.fired, first.handed_off) == (1, 1)
    ledger = EscalationFired.objects.get()
    due = ClockDue.objects.get()
    assert ledger.mail_sent_at is None and due.claimed_at is not None and due.fired_at is None
    assert escalation_mails() == []
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SLA_CLAIM_TIMEOUT_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        again = sla_sweep.sweep(wake=False)
    assert (again.fired, again.handed_off) == (0, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep.sweep(wake=False).claimed == 0
    assert [m.extra_headers["X-Madoguchi-Escalation"] for m in escalation_mails()] == [
        f"{ticket.pk}:{ledger.clock_id}:1:1"
    ]
    ledger.refresh_from_db()
    assert ledger.mail_sent_at is not None
