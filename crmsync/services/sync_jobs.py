"""Starting the sync's jobs from the pages (CRM admins): the dry run, the initial sync and a
per-record resync (CRM-04, CRM-05, CRM-07)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership

from ..models import CrmAccount, CrmContact, CrmProduct, Integration, SyncKind, SyncLink, SyncRun
from .access import ensure_can
from .integration import integration_problem
from .outbox import enqueue

RECORDS: dict[str, Any] = {
    SyncKind.ACCOUNT: CrmAccount,
    SyncKind.CONTACT: CrmContact,
    SyncKind.PRODUCT: CrmProduct,
}


@transaction.atomic
def run_start(*, actor: Membership, integration: Integration, kind: str) -> SyncRun:
    """Queue a dry run (any time) or the initial sync (when first enabled)."""
    ensure_can(actor, "configure")
    ensure_same_org(actor.org, integration)
    if kind not in (SyncRun.Kind.DRY_RUN, SyncRun.Kind.INITIAL):
        raise ValidationError(_("Unknown action."))
    problem = integration_problem(integration)
    if problem:
        raise ValidationError(problem)
    busy = SyncRun.objects.for_org(actor.org).filter(
        integration=integration, kind=kind, state__in=[SyncRun.State.QUEUED, SyncRun.State.RUNNING]
    )
    current = busy.first()
    if current is not None:
        return current
    run = SyncRun.objects.create(
        org=actor.org, integration=integration, kind=kind, started_by=actor.user
    )
    from ..tasks import dry_run_task, initial_sync_task

    task = dry_run_task if kind == SyncRun.Kind.DRY_RUN else initial_sync_task
    org_id, run_id = actor.org.pk, run.pk
    transaction.on_commit(lambda: task.delay(org_id, run_id))
    return run


@transaction.atomic
def record_resync(*, actor: Membership, integration: Integration, kind: str, crm_id: int):
    """Send every synced field of one CRM record to the desk again (the sync health page)."""
    from .sync import resync_record

    ensure_can(actor, "configure")
    ensure_same_org(actor.org, integration)
    model = RECORDS.get(kind)
    if model is None or not model.objects.for_org(actor.org).filter(pk=crm_id).exists():
        raise ValidationError({"crm_id": _("No such record in this CRM.")})
    if integration.state == Integration.State.DISABLED:
        raise ValidationError(_("Start the sync first."))
    row = resync_record(integration, kind, crm_id)
    if integration.state == Integration.State.ENABLED:
        enqueue(actor.org.pk, integration.pk)
    return row


def linked(integration: Integration, kind: str, crm_id: int) -> SyncLink | None:
    return (
        SyncLink.objects.for_org(integration.org)
        .filter(integration=integration, kind=kind, crm_id=crm_id)
        .first()
    )


def on_transition(actor: Membership, integration: Integration, action: str, first: bool) -> None:
    """`integration.state_listen`: the first enable starts the initial sync (CRM-04); resuming
    delivers what collected while paused (CRM-07)."""
    if first:
        run_start(actor=actor, integration=integration, kind=SyncRun.Kind.INITIAL)
    elif integration.state == Integration.State.ENABLED:
        enqueue(integration.org_id, integration.pk)
