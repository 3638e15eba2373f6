"""Desk → Reports → SLA (RPT-01): met against missed per target, department, policy, state and
agent over a period. Who sees it is the satisfaction report's rule (`report_scope`): Desk
administrators every department, supervisors their own, anyone else 403."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import App, Department, DepartmentAgent, User
from helpdesk.tenancy.permissions import require_app
from helpdesk.tickets.helpcenter.forms import PERIODS, ReportFilterForm
from helpdesk.tickets.helpcenter.views.report import period_bounds, report_scope

from ..models import Target
from ..selectors_report import met_chart, sla_report


class SlaFilterForm(ReportFilterForm):
    target = forms.ChoiceField(
        label=_("Target"),
        choices=[("", _("All targets")), *Target.choices],
        required=False,
    )


@require_app(App.DESK)
def sla_report_view(request: HttpRequest) -> HttpResponse:
    membership = request.membership  # type: ignore[attr-defined]
    scope = report_scope(membership)
    org = request.org  # type: ignore[attr-defined]
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
    form = SlaFilterForm(request.GET or None, departments=departments, agents=agents)
    data = form.cleaned_data if form.is_valid() else {"period": "30"}
    start, end, first, last = period_bounds(data)
    report = sla_report(
        org=org,
        start=start,
        end=end,
        department_ids=scope,
        department_id=int(data["department"]) if data.get("department") else None,
        agent_id=int(data["agent"]) if data.get("agent") else None,
        target=data.get("target") or None,
    )
    rows = [report.overall, *report.departments]
    return render(
        request,
        "sla/report/report.html",
        {
            "form": form,
            "report": report,
            "chart": met_chart(rows),
            "rows": rows,
            "first": first,
            "last": last,
            "period_label": PERIODS.get(data.get("period") or "30", ""),
            "tables": [
                ("targets", _("By target"), _("Target"), report.targets),
                ("departments", _("By department"), _("Department"), report.departments),
                ("policies", _("By policy"), _("Policy"), report.policies),
                ("states", _("By blueprint state"), _("State"), report.states),
                ("agents", _("By agent"), _("Agent"), report.agents),
            ],
        },
        status=400 if form.errors else 200,
    )
