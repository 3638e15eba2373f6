"""The sync health page (CRM admins, CRM-04..CRM-07): the last runs with a live progress bar
(htmx polling), errors by type, conflicts, what waits in the outbox, the dry run and a
per-record resync."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import selectors
from ..models import OutboxEntry, SyncConflict, SyncError, SyncKind, SyncRun
from ..services import integration as svc
from ..services import sync_jobs
from .common import crm_render
from .setup import crm_admin


def _integration(request: HttpRequest):
    integration = selectors.integration_of(request.org)
    if integration is None:
        raise Http404(_("This CRM is not linked to a desk."))
    return integration


def _page(request: HttpRequest, *, status: int = 200, resync: dict | None = None):
    org = request.org
    integration = _integration(request)
    errors = SyncError.objects.for_org(org).filter(integration=integration)
    by_type = dict(errors.values_list("type").annotate(n=Count("pk")).order_by())
    labels = dict(SyncError.Type.choices)
    context = {
        "integration": integration,
        "problem": svc.integration_problem(integration),
        "runs": list(
            SyncRun.objects.for_org(org).filter(integration=integration).order_by("-pk")[:10]
        ),
        "errors_by_type": [(labels.get(t, t), n) for t, n in sorted(by_type.items())],
        "errors": list(errors.order_by("-pk")[:20]),
        "conflicts": list(
            SyncConflict.objects.for_org(org).filter(integration=integration).order_by("-pk")[:20]
        ),
        "pending": OutboxEntry.objects.for_org(org)
        .filter(integration_id=integration.pk, delivered_at=None)
        .count(),
        "kinds": SyncKind.choices,
        "resync": resync or {},
    }
    return crm_render(request, "crm/sync.html", context, status=status)


@crm_admin
def sync_health(request: HttpRequest) -> HttpResponse:
    return _page(request)


@crm_admin
def sync_run(request: HttpRequest, sync_run_id: int) -> HttpResponse:
    """One run's progress (the bar polls this every second while it runs)."""
    run = get_object_or_404(SyncRun.objects.for_org(request.org), pk=sync_run_id)
    return render(request, "crm/_sync_run.html", {"run": run, "org": request.org})


@require_POST
@crm_admin
def sync_dry_run(request: HttpRequest) -> HttpResponse:
    try:
        sync_jobs.run_start(
            actor=request.membership, integration=_integration(request), kind=SyncRun.Kind.DRY_RUN
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _page(request, status=400)
    messages.success(request, _("The dry run has started: its counts appear below."))
    return redirect("crm:sync", portal=request.org.portal)


@require_POST
@crm_admin
def sync_resync(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    raw = request.POST.get("crm_id", "").strip()
    typed = {"kind": kind, "crm_id": raw}
    try:
        crm_id = int(raw)
    except ValueError:
        typed["error"] = _("Enter the number of a CRM record (the number in its address).")
        return _page(request, status=400, resync=typed)
    try:
        sync_jobs.record_resync(
            actor=request.membership, integration=_integration(request), kind=kind, crm_id=crm_id
        )
    except ValidationError as exc:
        typed["error"] = " ".join(exc.messages)
        return _page(request, status=400, resync=typed)
    messages.success(request, _("The record will be sent to the desk again."))
    return redirect("crm:sync", portal=request.org.portal)
