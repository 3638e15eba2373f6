"""Start and run the remove-from-all-tickets job (BP-18). Desk admins only; each ticket is
taken out by `engine.blueprint_remove` in its own transaction (written to its history), so the
progress shows as the worker goes and a failure leaves the tickets already done done."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.models import Ticket

from .. import engine
from ..models import Blueprint, TicketBlueprint
from ..services import ensure_admin
from .models import RemovalJob, RemovalStatus

# A running job whose worker went silent this long may be claimed again (acks_late redelivery).
STALE_AFTER = dt.timedelta(minutes=5)


def _open_jobs(org: Any, blueprint: Blueprint) -> Any:
    return RemovalJob.objects.for_org(org).filter(
        blueprint=blueprint, status__in=[RemovalStatus.QUEUED, RemovalStatus.RUNNING]
    )


@transaction.atomic
def removal_start(
    *, actor: Membership, blueprint: Blueprint, ip: str | None = None
) -> tuple[RemovalJob, bool]:
    """Create the job that removes `blueprint` from all its tickets, and whether it is new; the
    job already queued or running for it when there is one (one at a time per blueprint). The
    caller sends `blueprint_removal_task` on commit for a new job (the task module imports
    this one, so this one does not import it)."""
    ensure_admin(actor)
    ensure_same_org(actor.org, blueprint)
    Blueprint.objects.for_org(actor.org).select_for_update().filter(pk=blueprint.pk).first()
    job = _open_jobs(actor.org, blueprint).first()
    if job is not None:
        return job, False
    total = TicketBlueprint.objects.for_org(actor.org).filter(blueprint=blueprint).count()
    job = RemovalJob.objects.create(
        org=actor.org, blueprint=blueprint, requested_by=actor.user, ip=ip, total=total
    )
    return job, True


def _claim(org_id: int, job_id: int) -> bool:
    now = timezone.now()
    return bool(
        RemovalJob.objects.for_org(org_id)
        .filter(pk=job_id)
        .filter(
            Q(status=RemovalStatus.QUEUED)
            | Q(status=RemovalStatus.RUNNING, updated_at__lt=now - STALE_AFTER)
        )
        .update(status=RemovalStatus.RUNNING, updated_at=now)
    )


def removal_run(*, org_id: int, job_id: int) -> RemovalJob | None:
    """Run a queued job: claim it, take each of the blueprint's tickets out, count each one.
    None when the job is not there or another worker has it (idempotent)."""
    if not _claim(org_id, job_id):
        return None
    job = RemovalJob.objects.for_org(org_id).select_related("blueprint").get(pk=job_id)
    membership = (
        Membership.objects.for_org(org_id)
        .select_related("org", "user")
        .filter(user_id=job.requested_by_id, status=Membership.Status.ACTIVE)
        .first()
    )
    ticket_ids = list(
        TicketBlueprint.objects.for_org(org_id)
        .filter(blueprint_id=job.blueprint_id)
        .order_by("pk")
        .values_list("ticket_id", flat=True)
    )
    RemovalJob.objects.for_org(org_id).filter(pk=job_id).update(
        total=F("done") + len(ticket_ids), updated_at=timezone.now()
    )
    error = ""
    for ticket_id in ticket_ids:
        ticket = Ticket.objects.for_org(org_id).filter(pk=ticket_id).first()
        try:
            if membership is None:
                raise PermissionDenied
            if ticket is not None:
                engine.blueprint_remove(ticket=ticket, membership=membership, ip=job.ip)
        except engine.TransitionConflict:
            pass  # already out of the blueprint (removed on the ticket meanwhile)
        except PermissionDenied:
            error = _("The administrator who asked for the removal can no longer do it.")
            break
        RemovalJob.objects.for_org(org_id).filter(pk=job_id).update(
            done=F("done") + 1, updated_at=timezone.now()
        )
    RemovalJob.objects.for_org(org_id).filter(pk=job_id).update(
        status=RemovalStatus.FAILED if error else RemovalStatus.DONE,
        error=error,
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def latest_jobs(org: Any, blueprint_ids: list[int]) -> dict[int, RemovalJob]:
    """The last removal job of each blueprint (for the list's progress bars)."""
    out: dict[int, RemovalJob] = {}
    for job in RemovalJob.objects.for_org(org).filter(blueprint_id__in=blueprint_ids):
        out.setdefault(job.blueprint_id, job)  # newest first (the model's ordering)
    return out
