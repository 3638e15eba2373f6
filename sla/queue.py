"""Queueing the SLA's tasks, and the settings the sweep runs by.

The tasks (`sla.tasks`) call the sweep and the clocks' services; those in turn queue tasks
(wake-ups, mail). They find the tasks here by name in the Celery app instead of importing
`sla.tasks`, so no import runs in a circle (tests/test_layers.py)."""

from __future__ import annotations

import datetime as dt
import math
from functools import partial
from typing import Any

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone


def task(name: str) -> Any:
    """The task `sla.tasks.<name>`. A worker registers the apps' tasks at start; a web process
    (or a test) has not necessarily imported them yet, so load them on first need."""
    full = f"sla.tasks.{name}"
    if full not in current_app.tasks:
        current_app.loader.import_default_modules()
    return current_app.tasks[full]


def sweep_seconds() -> int:
    return int(getattr(settings, "SLA_SWEEP_SECONDS", 5))


def claim_timeout() -> dt.timedelta:
    return dt.timedelta(seconds=float(getattr(settings, "SLA_CLAIM_TIMEOUT_SECONDS", 60)))


def batch_size() -> int:
    return int(getattr(settings, "SLA_SWEEP_BATCH", 500))


def mail_backoff(retries: int) -> int:
    """Seconds before the next try of a failed send: 10 s, 40 s, 2.7 min, 11 min, 43 min."""
    return 10 * 4**retries


def queue_mail_retry(org_id: int, ledger_ids: list[int]) -> None:
    """Give escalation mail that failed in the sweep's process to `escalation_mail_task`, in
    `mail_backoff(0)` seconds (eager runs cannot wait: the claim timeout re-claims them)."""
    if not current_app.conf.task_always_eager:
        task("escalation_mail_task").apply_async((org_id, ledger_ids), countdown=mail_backoff(0))


def _slot_key(second: int) -> str:
    return f"sla:wakeup:{second}"


def schedule_wakeup(due_at: dt.datetime) -> bool:
    """Run the sweep at `due_at` (after the current transaction commits, so the due row it
    is for is visible). At most two wake-ups per second: the first asks for its exact time,
    later ones in the same second for the start of the next second (a cache key per second,
    Redis in production). Rows due after the next beat need none: the beat's sweep schedules
    them. Returns whether a wake-up was (or will be, at commit) queued."""
    now = timezone.now()
    seconds = max(due_at.timestamp(), now.timestamp())
    if seconds > now.timestamp() + 2 * sweep_seconds():
        return False  # a beat sweep before then schedules it
    second = math.floor(seconds)
    slot_ttl = 2 * sweep_seconds() + 5
    if cache.add(_slot_key(second), 1, slot_ttl):
        eta = dt.datetime.fromtimestamp(seconds, tz=dt.UTC)
    elif cache.add(_slot_key(second + 1), 1, slot_ttl):
        eta = dt.datetime.fromtimestamp(second + 1, tz=dt.UTC)
    else:
        return False  # both slots taken: that sweep covers this row
    transaction.on_commit(partial(_queue_sweep, eta))
    return True


def recruit_sweeper() -> bool:
    """Queue one more sweep now, at most one a second (a cache key per second): under a
    backlog, a sweep that claimed a full batch calls this so that another worker process
    sweeps beside it (`SKIP LOCKED` splits the rows between them) instead of waiting for the
    next beat or wake-up. A sweep recruited when nothing is left finds nothing and ends.
    Returns whether one was queued (eager runs, as in tests, queue none)."""
    if current_app.conf.task_always_eager:
        return False
    if not cache.add(f"sla:recruit:{math.floor(timezone.now().timestamp())}", 1, 5):
        return False
    task("sla_sweep_task").delay()
    return True


def _queue_sweep(eta: dt.datetime) -> None:
    if eta <= timezone.now():
        task("sla_sweep_task").delay()
    elif not current_app.conf.task_always_eager:  # eager runs cannot wait: the beat's do
        task("sla_sweep_task").apply_async(eta=eta)
