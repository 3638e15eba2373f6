"""Desk → Reports → Blueprints (BP-26, RPT-01): the chooser, a blueprint's report page and its
CSV. Who sees it is the other reports' rule (`report_scope`): Desk administrators every
department's blueprints, supervisors their own departments', anyone else 403. A blueprint of
another organization or outside the reader's departments is a 404, like a missing one."""

from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.utils.translation import gettext as _

from blueprints.models import Blueprint, BlueprintStatus
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app
from helpdesk.tickets.helpcenter.forms import PERIODS
from helpdesk.tickets.helpcenter.views.report import period_bounds, report_scope

from ..charts import hours, state_chart
from ..forms import ChooserForm
from ..selectors import STUCK_DEFAULT, BlueprintReport, blueprint_report

PERIOD_FIELDS = ("period", "date_from", "date_to", "stuck")


def _blueprints(request: HttpRequest) -> QuerySet[Blueprint]:
    """The blueprints the reader may report on (drafts never ran: not listed)."""
    scope = report_scope(request.membership)  # type: ignore[attr-defined]
    blueprints = (
        Blueprint.objects.for_org(request.org)  # type: ignore[attr-defined]
        .exclude(status=BlueprintStatus.DRAFT)
        .select_related("org", "department")
        .order_by("department__name", "position", "pk")
    )
    if scope is not None:
        blueprints = blueprints.filter(department_id__in=scope)
    return blueprints


@require_app(App.DESK)
def report_index(request: HttpRequest) -> HttpResponse:
    """Choose a blueprint and a period; a valid choice opens the blueprint's report."""
    blueprints = list(_blueprints(request))
    form = ChooserForm(request.GET or None, blueprints=blueprints)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if form.is_bound and form.is_valid():
        query = {k: v for k in PERIOD_FIELDS if (v := request.GET.get(k))}
        url = reverse(
            "reports:blueprint",
            kwargs={
                "portal": request.org.portal,  # type: ignore[attr-defined]
                "blueprint_id": form.cleaned_data["blueprint"],
            },
        )
        return redirect(f"{url}?{urlencode(query)}" if query else url)
    return render(
        request,
        "reports/blueprint_index.html",
        {"form": form, "blueprints": blueprints},
        status=400 if form.errors else 200,
    )


def _filters(request: HttpRequest, blueprint_id: int) -> tuple[Blueprint, ChooserForm]:
    """The blueprint (404 unless the reader may report on it) and the filters as the page
    shows them: the chooser, bound to this blueprint and the query's period."""
    blueprints = list(_blueprints(request))
    blueprint = next((b for b in blueprints if b.pk == blueprint_id), None)
    if blueprint is None:
        raise Http404(_("No such blueprint in your departments."))
    data = request.GET.copy()
    data["blueprint"] = str(blueprint.pk)
    return blueprint, ChooserForm(data, blueprints=blueprints)


def _report(blueprint: Blueprint, form: ChooserForm) -> tuple[BlueprintReport, dict]:
    """The report of the form's period; an invalid period (its errors stay on the form)
    reports the last 30 days."""
    cleaned = form.cleaned_data if form.is_valid() else {"period": "30"}
    start, end, first, last = period_bounds(cleaned)
    report = blueprint_report(
        blueprint=blueprint, start=start, end=end, stuck=cleaned.get("stuck") or STUCK_DEFAULT
    )
    period = {
        "first": first,
        "last": last,
        "label": PERIODS.get(cleaned.get("period") or "30", ""),
    }
    return report, period


@require_app(App.DESK)
def report_page(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    blueprint, form = _filters(request, blueprint_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    report, period = _report(blueprint, form)
    csv_url = reverse(
        "reports:blueprint_csv",
        kwargs={"portal": request.org.portal, "blueprint_id": blueprint_id},  # type: ignore[attr-defined]
    )
    query = urlencode({k: v for k in PERIOD_FIELDS if (v := request.GET.get(k))})
    return render(
        request,
        "reports/blueprint.html",
        {
            "form": form,
            "report": report,
            "period": period,
            "charts": [
                ("business", _("Business hours"), state_chart(report.states, business=True)),
                ("calendar", _("Calendar hours"), state_chart(report.states, business=False)),
            ],
            "csv_url": f"{csv_url}?{query}" if query and not form.errors else csv_url,
        },
        status=400 if form.errors else 200,
    )


@require_app(App.DESK)
def report_csv(request: HttpRequest, blueprint_id: int) -> HttpResponse:
    """The page's figures as CSV: one row per state, transition and agent, with counts and
    durations in hours (calendar and business), the open tickets and SLA verdicts per state,
    and the stuck tickets."""
    blueprint, form = _filters(request, blueprint_id)
    if request.method != "GET":
        return HttpResponseNotAllowed(["GET"])
    if not form.is_valid():
        message = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return HttpResponse(message, status=400, content_type="text/plain; charset=utf-8")
    report, period = _report(blueprint, form)
    name = slugify(report.blueprint.name) or "blueprint"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{name}-{period["first"]:%Y%m%d}-{period["last"]:%Y%m%d}.csv"'
    )
    write_csv(response, report)
    return response


def write_csv(out, report: BlueprintReport) -> None:
    """One table with a `section` column (state, transition, agent, stuck), so a spreadsheet
    filters it; durations in hours with two decimals."""
    writer = csv.writer(out)
    figures = [
        _("average (h)"),
        _("median (h)"),
        _("90th percentile (h)"),
        _("business average (h)"),
        _("business median (h)"),
        _("business 90th percentile (h)"),
    ]
    writer.writerow(
        [
            _("section"),
            _("name"),
            _("transition"),
            _("count"),
            *figures,
            _("open now"),
            _("SLA met"),
            _("SLA missed"),
        ]
    )

    def durations(d) -> list:
        return [
            d.count,
            hours(d.avg),
            hours(d.median),
            hours(d.p90),
            hours(d.business_avg),
            hours(d.business_median),
            hours(d.business_p90),
        ]

    for row in report.states:
        writer.writerow(
            [
                "state",
                _cell(row.name),
                "",
                *durations(row.durations),
                row.open_now,
                row.sla_met,
                row.sla_missed,
            ]
        )
    for row in report.transitions:
        writer.writerow(["transition", _cell(row.name), "", *durations(row.durations), "", "", ""])
    for row in report.agents:
        writer.writerow(
            [
                "agent",
                _cell(row.name),
                _cell(row.transition),
                *durations(row.durations),
                "",
                "",
                "",
            ]
        )
    writer.writerow([])
    writer.writerow(
        [
            _("section"),
            _("state"),
            _("ticket"),
            _("subject"),
            _("owner"),
            _("entered"),
            _("hours"),
            _("business hours"),
        ]
    )
    for row in report.states:
        for ticket in row.stuck:
            writer.writerow(
                [
                    "stuck",
                    _cell(row.name),
                    ticket.number,
                    _cell(ticket.subject),
                    _cell(ticket.owner),
                    ticket.entered_at.isoformat(),
                    hours(ticket.seconds),
                    hours(ticket.business_seconds),
                ]
            )


def _cell(text: str) -> str:
    """Text a person typed, made inert for spreadsheets: a leading =, +, - or @ would be read
    as a formula (CSV injection)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@") else text
