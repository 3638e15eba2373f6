"""The sync's Celery tasks (CRM-04..CRM-07). Each takes the CRM organization's id (`ScopedTask`
sets its row-level-security scope) and row ids, and re-reads everything through the
organization; the desk side is reached through the connector, which checks the integration's
authority and key at each use."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from helpdesk.tenancy.models import Organization
from helpdesk.tenancy.rls import tenant_scope


@shared_task(ignore_result=True)
def deliver_task(org_id: int, integration_id: int) -> int:
    """Deliver an integration's outbox (in order; a redelivery changes nothing)."""
    from .services.sync import deliver

    org = Organization.objects.get(pk=org_id)
    return deliver(crm_org=org, integration_id=integration_id).delivered


@shared_task(ignore_result=True)
def outbox_sweep_task() -> int:
    """Enqueue the delivery of every enabled integration with undelivered rows (a worker died
    half-way, or a message was lost): the beat runs it every CRMSYNC_SWEEP_SECONDS."""
    from .connector import outbox_pending

    pending = outbox_pending()
    for crm_org_id, integration_id in pending:
        deliver_task.delay(crm_org_id, integration_id)
    return len(pending)


def _run(org_id: int, run_id: int, work) -> None:
    from .models import SyncRun

    org = Organization.objects.get(pk=org_id)
    run = (
        SyncRun.objects.for_org(org)
        .select_related("integration", "integration__desk_org", "integration__org")
        .filter(pk=run_id)
        .first()
    )
    if run is None or run.state in (SyncRun.State.DONE, SyncRun.State.FAILED):
        return
    try:
        work(run)
    except Exception as exc:
        with tenant_scope(org_id):
            SyncRun.objects.for_org(org).filter(pk=run_id).update(
                state=SyncRun.State.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
            )
        raise


@shared_task(ignore_result=True)
def dry_run_task(org_id: int, run_id: int) -> None:
    from .models import SyncRun
    from .services.sync import dry_run

    def work(run):
        SyncRun.objects.for_org(run.org).filter(pk=run.pk).update(state=SyncRun.State.RUNNING)
        result = dry_run(run.integration)
        SyncRun.objects.for_org(run.org).filter(pk=run.pk).update(
            state=SyncRun.State.DONE,
            counts=result["counts"],
            ambiguous=result["ambiguous"],
            finished_at=timezone.now(),
        )

    _run(org_id, run_id, work)


@shared_task(ignore_result=True)
def initial_sync_task(org_id: int, run_id: int) -> None:
    from .services.sync import deliver, initial_sync

    def work(run):
        initial_sync(run)
        deliver(crm_org=run.org, integration_id=run.integration_id)

    _run(org_id, run_id, work)
