"""The SLA tasks (BP-15, TKT-09): thin wrappers over `sla.sweep` and `sla.mail`.

`sla_sweep_task` takes no organization (its scope sees no tenant rows; the sweep finds the
organizations through the cross-tenant read and scopes each itself); the beat runs it every
`SLA_SWEEP_SECONDS` and `sla.queue.schedule_wakeup` runs it at an exact time. `escalation_mail_task`
takes the organization (ScopedTask sets the row-level-security scope) and ledger ids."""

from __future__ import annotations

from celery import shared_task

from .queue import mail_backoff

MAIL_MAX_RETRIES = 5


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


@shared_task(ignore_result=True)
def sla_replan_task(
    org_id: int,
    policy_id: int | None = None,
    state_sla_id: int | None = None,
    department_id: int | None = None,
) -> int:
    """Re-plan the open clocks of a policy or state SLA whose settings changed, or of a
    department whose schedule changed (CORE's
    `replan_policy` / `replan_state_sla`, batches of 1,000 in their own transactions): the
    settings page enqueues it after commit rather than making the admin wait. A policy or
    SLA deleted meanwhile has nothing left to re-plan (its deletion stopped its clocks)."""
    from .models import SlaPolicy, StateSla
    from .services.clocks import replan_department, replan_policy, replan_state_sla

    if policy_id is not None:
        policy = SlaPolicy.objects.for_org(org_id).filter(pk=policy_id).first()
        return replan_policy(policy) if policy is not None else 0
    if state_sla_id is not None:
        state_sla = StateSla.objects.for_org(org_id).filter(pk=state_sla_id).first()
        return replan_state_sla(state_sla) if state_sla is not None else 0
    if department_id is not None:  # the department's business hours or holidays changed
        return replan_department(org_id, department_id)
    return 0
