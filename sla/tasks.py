"""The SLA tasks (BP-15, TKT-09): thin wrappers over `sla.sweep` and `sla.mail`.

`sla_sweep_task` takes no organization (its scope sees no tenant rows; the sweep finds the
organizations through the cross-tenant read and scopes each itself); the beat runs it every
`SLA_SWEEP_SECONDS` and `schedule_wakeup` runs it at an exact time. `escalation_mail_task`
takes the organization (ScopedTask sets the row-level-security scope) and ledger ids."""

from __future__ import annotations

import datetime as dt
import math
from functools import partial

from celery import shared_task
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

MAIL_MAX_RETRIES = 5


def mail_backoff(retries: int) -> int:
    """Seconds before the next try of a failed send: 10 s, 40 s, 2.7 min, 11 min, 43 min."""
    return 10 * 4**retries


@shared_task(ignore_result=True)
def sla_sweep_task() -> dict[str, int]:
    from .sweep import sweep

    result = sweep()
    return {"fired": result.fired, "handed_off": result.handed_off}


@shared_task(bind=True, max_retries=MAIL_MAX_RETRIES, ignore_result=True)
def escalation_mail_task(self, org_id: int, ledger_ids: list[int]) -> int:
    from .mail import escalation_mail_send

    try:
        return escalation_mail_send(org_id=org_id, ledger_ids=ledger_ids)
    except Exception as exc:  # the mail server refused or was unreachable: try again later
        # Rows already sent are marked; the retry sends the rest. After the last try the
        # sweep's re-claim (claim timeout) still hands them off again.
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=mail_backoff(self.request.retries)) from exc


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
    from .sweep import sweep_seconds

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


def _queue_sweep(eta: dt.datetime) -> None:
    if eta <= timezone.now():
        sla_sweep_task.delay()
    elif not sla_sweep_task.app.conf.task_always_eager:  # eager runs cannot wait: the beat's do
        sla_sweep_task.apply_async(eta=eta)


@shared_task(ignore_result=True)
def sla_replan_task(
    org_id: int, policy_id: int | None = None, state_sla_id: int | None = None
) -> int:
    """Re-plan the open clocks of a policy or state SLA whose settings changed (CORE's
    `replan_policy` / `replan_state_sla`, batches of 1,000 in their own transactions): the
    settings page enqueues it after commit rather than making the admin wait. A policy or
    SLA deleted meanwhile has nothing left to re-plan (its deletion stopped its clocks)."""
    from .models import SlaPolicy, StateSla
    from .services.clocks import replan_policy, replan_state_sla

    if policy_id is not None:
        policy = SlaPolicy.objects.for_org(org_id).filter(pk=policy_id).first()
        return replan_policy(policy) if policy is not None else 0
    if state_sla_id is not None:
        state_sla = StateSla.objects.for_org(org_id).filter(pk=state_sla_id).first()
        return replan_state_sla(state_sla) if state_sla is not None else 0
    return 0
