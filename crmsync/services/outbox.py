"""The sync's outbox (CRM-04, ARCHITECTURE.md "CRM sync"): every change to a synced record
writes an `OutboxEntry` in the transaction of the change; Celery delivers it after commit.

- CRM side: `crm_changed`, called by `services.records` after saving an account, contact or
  product of a CRM whose integration is enabled or paused.
- Desk side: `desk_changed`, registered with `customers.services.record_change_listen` (the
  customers app never imports crmsync), for every CRM that syncs two-way with that desk.

A change the sync itself applies runs under `customers.services.change_origin(ORIGIN)` (desk)
or writes the CRM's rows directly (CRM), so it writes no outbox row: it is not echoed back.
While an integration is paused, rows are written but not delivered; `resume` delivers them.
Before the first enable nothing is written: the initial sync reads everything.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from helpdesk.tenancy.models import Organization

from ..connector import desk_integrations
from ..models import Integration, OutboxEntry, SyncKind
from .fields import FIELDS, ORIGIN, attname

WRITING = (Integration.State.ENABLED, Integration.State.PAUSED)


def enqueue(crm_org_id: int, integration_id: int) -> None:
    """Deliver the integration's outbox after this transaction commits."""
    from ..tasks import deliver_task

    transaction.on_commit(lambda: deliver_task.delay(crm_org_id, integration_id))


def snapshot(model: Any, org: Organization, pk: int | None, kind: str) -> dict:
    """The stored synced values of a record before a change ({} for a new record)."""
    if pk is None:
        return {}
    return model.objects.for_org(org).filter(pk=pk).values(*FIELDS[kind]).first() or {}


def crm_changed(org: Organization, kind: str, record: Any, before: dict) -> OutboxEntry | None:
    """After a CRM service saved `record`: an outbox row with the synced fields that changed."""
    integration = Integration.objects.for_org(org).filter(state__in=WRITING).first()
    if integration is None:
        return None
    if kind == SyncKind.PRODUCT and not integration.product_department_ids:
        return None
    fields = [f for f in FIELDS[kind] if not before or before.get(f) != getattr(record, attname(f))]
    if not fields:
        return None
    row = OutboxEntry.objects.create(
        org=org,
        integration_id=integration.pk,
        crm_org_id=org.pk,
        side=OutboxEntry.Side.CRM,
        kind=kind,
        record_id=record.pk,
        fields=fields,
        changed_at=timezone.now(),
    )
    if integration.state == Integration.State.ENABLED:
        enqueue(org.pk, integration.pk)
    return row


def desk_changed(kind: str, record: Any, changed: list[str], origin: str) -> None:
    """customers' change listener: a desk contact, account or product was saved."""
    if origin == ORIGIN or kind not in FIELDS:
        return
    fields = [f for f in FIELDS[kind] if f in changed]
    if not fields:
        return
    for row in desk_integrations(record.org_id):
        if row["state"] not in WRITING or row["direction"] != Integration.Direction.TWO_WAY:
            continue
        if kind == SyncKind.PRODUCT and record.department_id not in (
            row["product_department_ids"] or []
        ):
            continue
        OutboxEntry.objects.create(
            org_id=record.org_id,
            integration_id=row["id"],
            crm_org_id=row["org_id"],
            side=OutboxEntry.Side.DESK,
            kind=kind,
            record_id=record.pk,
            fields=fields,
            changed_at=timezone.now(),
        )
        if row["state"] == Integration.State.ENABLED:
            enqueue(row["org_id"], row["id"])
