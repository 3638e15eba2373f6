"""Desk → Reports → Satisfaction (RPT-01). Desk administrators see every department;
supervisors (members whom other members report to, `Membership.reports_to`) see the
departments they work in. Anyone else gets 403."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import App, Department, DepartmentAgent, Membership, User
from helpdesk.tenancy.permissions import require_app
from helpdesk.tenancy.roles import desk_role

from ...services.access import department_ids
from ..forms import PERIODS, ReportFilterForm
from ..models import RatingValue
from ..report import satisfaction_report, share_chart


def report_scope(membership: Membership) -> list[int] | None:
    """Departments whose ratings the member may read: None for all (Desk admins), their own
    departments for supervisors; PermissionDenied for anyone else."""
    if desk_role(membership) == "admin":
        return None
    is_supervisor = (
        Membership.objects.for_org(membership.org)
        .filter(reports_to=membership, status=Membership.Status.ACTIVE)
        .exists()
    )
    if not is_supervisor:
        raise PermissionDenied(_("Only Desk administrators and supervisors can see reports."))
    return department_ids(membership) or []


def period_bounds(data: dict) -> tuple[dt.datetime, dt.datetime, dt.date, dt.date]:
    """[start, end) of the chosen period in the current time zone, and its first and last
    day (the reports' shared reading of `ReportFilterForm`: the SLA report uses it too)."""
    today = timezone.localdate()
    if data.get("period") == "custom" and data.get("date_from") and data.get("date_to"):
        first, last = data["date_from"], data["date_to"]
    else:
        days = int(data.get("period") or "30") if data.get("period") != "custom" else 30
        first, last = today - dt.timedelta(days=days - 1), today
    zone = timezone.get_current_timezone()
    start = dt.datetime.combine(first, dt.time.min, tzinfo=zone)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
    return start, end, first, last


@require_app(App.DESK)
def satisfaction(request: HttpRequest) -> HttpResponse:
    membership = request.membership
    scope = report_scope(membership)
    org = request.org
    departments_qs = Department.objects.for_org(org).order_by("name")
    if scope is not None:
        departments_qs = departments_qs.filter(pk__in=scope)
    departments = list(departments_qs)
    agent_ids = DepartmentAgent.objects.for_org(org).filter(
        department__in=[d.pk for d in departments]
    )
    agents = list(
        User.objects.filter(pk__in=agent_ids.values("user_id")).order_by("full_name", "email")
    )
    form = ReportFilterForm(request.GET or None, departments=departments, agents=agents)
    data = form.cleaned_data if form.is_valid() else {"period": "30"}
    start, end, first, last = period_bounds(data)
    department_id = int(data["department"]) if data.get("department") else None
    agent_id = int(data["agent"]) if data.get("agent") else None
    report = satisfaction_report(
        org=org,
        start=start,
        end=end,
        department_id=department_id,
        agent_id=agent_id,
        department_ids=scope,
    )
    rows = [report.overall, *report.departments]
    return render(
        request,
        "helpcenter/report.html",
        {
            "form": form,
            "report": report,
            "chart": share_chart(rows),
            "rows": rows,
            "first": first,
            "last": last,
            "period_label": PERIODS.get(data.get("period") or "30", ""),
            "values": RatingValue.choices,
        },
        status=400 if form.errors else 200,
    )
