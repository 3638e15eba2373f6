"""Import and export of contacts and accounts (CUS-01, issue 13 item 8).

- Export (Desk "view"): the list's current search as a CSV file, streamed; UTF-8 with BOM or
  Shift_JIS; Japanese headers for a member who reads Japanese.
- Import (Desk "edit"): upload → preview (the first rows as read, every row's errors, unknown
  columns, accounts to be created) → confirm. A small file is written at once; a large one by
  the Celery task while its page shows a progress bar (htmx polls the job every second).
Jobs of another organization, or another member's, are 404 like missing ones."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from customers.imports import export, parsing
from customers.imports import services as imports
from customers.imports.models import ImportJob, ImportKind
from customers.imports.tasks import customer_import_task
from helpdesk.http import apply_errors, client_ip, query_text

from .. import selectors, services
from ..models import Account


class ImportForm(forms.Form):
    kind = forms.ChoiceField(
        label=_("Import"), choices=ImportKind.choices, widget=forms.RadioSelect
    )
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8 (with or without BOM) or Shift_JIS, as Excel saves “CSV UTF-8” and “CSV”. "
            "The first row names the columns, in English or Japanese."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )


def _guard(request: HttpRequest, action: str) -> None:
    services.ensure_can(request.membership, action)


def _filters(request: HttpRequest) -> dict[str, str]:
    """The lists' tag and owner filters, as the list pages read them."""
    return {"tag": query_text(request, "tag", 50), "owner": query_text(request, "owner", 20)}


def _japanese() -> bool:
    return (get_language() or "").startswith("ja")


def _csv_response(request: HttpRequest, rows, name: str) -> StreamingHttpResponse:
    encoding = "shift_jis" if request.GET.get("encoding") == "shift_jis" else "utf-8"
    charset = "Shift_JIS" if encoding == "shift_jis" else "utf-8"
    response = StreamingHttpResponse(
        export.csv_chunks(rows, encoding), content_type=f"text/csv; charset={charset}"
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def contact_export(request: HttpRequest) -> StreamingHttpResponse:
    """The contacts the list shows for the same search (and account), as CSV."""
    _guard(request, "view")
    account = None
    account_id = query_text(request, "account", 20)
    if account_id.isdigit():
        account = Account.objects.for_org(request.org).filter(pk=account_id).first()
    contacts = selectors.contacts_search(
        request.org,
        query=query_text(request),
        account=account,
        user=request.user,
        **_filters(request),
    )
    fields = list(services.customer_fields(request.org, "contact"))
    return _csv_response(request, export.contact_rows(contacts, _japanese(), fields), "contacts")


def account_export(request: HttpRequest) -> StreamingHttpResponse:
    """The accounts the list shows for the same search, as CSV."""
    _guard(request, "view")
    accounts = selectors.accounts_search(
        request.org, query=query_text(request), user=request.user, **_filters(request)
    )
    fields = list(services.customer_fields(request.org, "account"))
    return _csv_response(request, export.account_rows(accounts, _japanese(), fields), "accounts")


def import_upload(request: HttpRequest) -> HttpResponse:
    """The upload form; a posted file is checked and previewed (nothing written yet)."""
    _guard(request, "edit")
    kind = request.GET.get("kind") if request.GET.get("kind") in ImportKind.values else "contacts"
    form = ImportForm(request.POST or None, request.FILES or None, initial={"kind": kind})
    context = {
        "form": form,
        "columns": parsing.COLUMNS,
        "threshold": imports.async_threshold(),
        "jobs": imports.recent_jobs(request.membership),
    }
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            plan, job = imports.import_preview(
                actor=request.membership,
                kind=form.cleaned_data["kind"],
                name=upload.name,
                data=upload.read(),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            status = 400 if plan.error_count else 200
            return render(
                request,
                "customers/io/preview.html",
                {"plan": plan, "job": job, "threshold": imports.async_threshold()},
                status=status,
            )
    return render(request, "customers/io/import.html", context, status=400 if form.errors else 200)


def _job(request: HttpRequest, import_job_id: int) -> ImportJob:
    return get_object_or_404(
        ImportJob.objects.for_org(request.org), pk=import_job_id, requested_by=request.user
    )


@require_POST
def import_confirm(request: HttpRequest, import_job_id: int) -> HttpResponse:
    """Write a previewed file: now when it is small, else in the background."""
    _guard(request, "edit")
    job = _job(request, import_job_id)
    try:
        with transaction.atomic():
            background = imports.import_confirm(actor=request.membership, job=job)
            if background:
                org_id, job_id = request.org.pk, job.pk
                transaction.on_commit(lambda: customer_import_task.delay(org_id, job_id))
    except ValidationError as exc:
        return render(
            request, "customers/io/job.html", {"job": job, "refused": exc.messages}, status=400
        )
    if not background:
        imports.import_run(org_id=request.org.pk, job_id=job.pk)
    return redirect("customers:import_job", portal=request.org.portal, import_job_id=job.pk)


def import_job(request: HttpRequest, import_job_id: int) -> HttpResponse:
    """A job's progress (a fragment that polls itself until the job ends) or its summary."""
    _guard(request, "edit")
    job = _job(request, import_job_id)
    job.live_done = imports.live_done(job)
    if request.htmx:
        return render(request, "customers/io/_job.html", {"job": job})
    return render(request, "customers/io/job.html", {"job": job})
