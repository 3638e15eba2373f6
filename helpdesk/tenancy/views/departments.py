"""Department settings: details, agents, teams, business hours, holidays (DEP-01, DEP-03)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef
from django.db.models.deletion import PROTECT
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors

from ..forms import (
    AgentsForm,
    BusinessHoursForm,
    DepartmentForm,
    HolidayForm,
    HolidayImportForm,
    IntervalFormSet,
    TeamForm,
)
from ..models import App, BusinessInterval, Department, DepartmentAgent, Holiday, Team
from ..permissions import require_app_admin
from ..services import departments as services

desk_admin_required = require_app_admin(App.DESK)


def _department(request: HttpRequest, dept_id: int) -> Department:
    return get_object_or_404(Department.objects.for_org(request.org), pk=dept_id)


def _to_department(request: HttpRequest, department: Department, tab: str = "edit") -> HttpResponse:
    return redirect(f"setup:department_{tab}", portal=request.org.portal, dept_id=department.pk)


@desk_admin_required
def department_list(request: HttpRequest) -> HttpResponse:
    departments = (
        Department.objects.for_org(request.org)
        .annotate(
            agent_count=Count("departmentagent", distinct=True),
            team_count=Count("teams", distinct=True),
        )
        .order_by("name")
    )
    departments = list(with_protected(departments))
    reasons = delete_blockers(departments)
    for department in departments:  # the Delete button is disabled with this reason
        department.delete_reason = reasons.get(department.pk)
    return render(request, "setup/departments.html", {"departments": departments})


@desk_admin_required
def department_create(request: HttpRequest) -> HttpResponse:
    form = DepartmentForm(request.POST or None, initial={"time_zone": request.org.time_zone})
    if request.method == "POST" and form.is_valid():
        try:
            department = services.department_save(
                actor=request.membership, department=form.instance
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Department “%(name)s” created.") % {"name": department.name}
            )
            return _to_department(request, department, "agents")
    return render(
        request, "setup/department_form.html", {"form": form}, status=400 if form.errors else 200
    )


@desk_admin_required
def department_edit(request: HttpRequest, dept_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    form = DepartmentForm(request.POST or None, instance=department)
    if request.method == "POST" and form.is_valid():
        try:
            services.department_save(actor=request.membership, department=form.instance)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Department saved."))
            return _to_department(request, department)
    department.refresh_from_db()
    return render(
        request,
        "setup/department_form.html",
        {"form": form, "department": department, "tab": "details"},
        status=400 if form.errors else 200,
    )


@require_POST
@desk_admin_required
def department_toggle(request: HttpRequest, dept_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    try:
        services.department_set_enabled(
            actor=request.membership, department=department, enabled=not department.is_enabled
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        text = _("“%(name)s” enabled.") if department.is_enabled else _("“%(name)s” disabled.")
        messages.success(request, text % {"name": department.name})
    return redirect("setup:departments", portal=request.org.portal)


@desk_admin_required
def department_delete(request: HttpRequest, dept_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    if request.method != "POST":
        all_departments = list(with_protected(Department.objects.for_org(request.org)))
        reason = delete_blockers(all_departments).get(department.pk)
        return render(
            request, "setup/department_delete.html", {"department": department, "reason": reason}
        )
    try:
        services.department_delete(actor=request.membership, department=department)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return render(
            request, "setup/department_delete.html", {"department": department}, status=400
        )
    messages.success(request, _("Department “%(name)s” deleted.") % {"name": department.name})
    return redirect("setup:departments", portal=request.org.portal)


@desk_admin_required
def department_agents(request: HttpRequest, dept_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    current = DepartmentAgent.objects.for_org(request.org).filter(department=department)
    form = AgentsForm(
        request.POST or None, org=request.org, initial={"agents": [a.user_id for a in current]}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.department_set_agents(
                actor=request.membership, department=department, users=form.cleaned_data["agents"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Agents saved."))
            return _to_department(request, department, "agents")
    teams = (
        Team.objects.for_org(request.org).filter(department=department).prefetch_related("members")
    )
    return render(
        request,
        "setup/department_agents.html",
        {
            "department": department,
            "form": form,
            "teams": teams,
            "tab": "agents",
        },
        status=400 if form.errors else 200,
    )


def _team_form(request: HttpRequest, department: Department, team: Team | None) -> HttpResponse:
    form = TeamForm(
        request.POST or None,
        instance=team,
        department=department,
        initial={"members": list(team.members.all()) if team else []},
    )
    if request.method == "POST" and form.is_valid():
        form.instance.department = department
        try:
            services.team_save(
                actor=request.membership, team=form.instance, members=form.cleaned_data["members"]
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Team saved."))
            return _to_department(request, department, "agents")
    if team is not None:
        team.refresh_from_db()  # the form changed it in memory; show the stored name
    return render(
        request,
        "setup/team_form.html",
        {
            "department": department,
            "form": form,
            "team": team,
            "tab": "agents",
        },
        status=400 if form.errors else 200,
    )


@desk_admin_required
def team_create(request: HttpRequest, dept_id: int) -> HttpResponse:
    return _team_form(request, _department(request, dept_id), None)


@desk_admin_required
def team_edit(request: HttpRequest, dept_id: int, team_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    team = get_object_or_404(Team.objects.for_org(request.org), department=department, pk=team_id)
    return _team_form(request, department, team)


@require_POST
@desk_admin_required
def team_delete(request: HttpRequest, dept_id: int, team_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    team = get_object_or_404(Team.objects.for_org(request.org), department=department, pk=team_id)
    services.team_delete(actor=request.membership, team=team)
    messages.success(request, _("Team “%(name)s” deleted.") % {"name": team.name})
    return _to_department(request, department, "agents")


@desk_admin_required
def business_hours(request: HttpRequest, dept_id: int) -> HttpResponse:
    """The weekly schedule: several intervals a day, in the department's time zone."""
    department = _department(request, dept_id)
    current = BusinessInterval.objects.for_org(request.org).filter(department=department)
    initial = [{"weekday": i.weekday, "start": i.start, "end": i.end} for i in current]
    form = BusinessHoursForm(request.POST or None, initial={"time_zone": department.time_zone})
    formset = IntervalFormSet(request.POST or None, initial=initial, prefix="intervals")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        intervals = [
            (f.cleaned_data["weekday"], f.cleaned_data["start"], f.cleaned_data["end"])
            for f in formset.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
        ]
        try:
            services.business_hours_set(
                actor=request.membership,
                department=department,
                time_zone=form.cleaned_data["time_zone"],
                intervals=intervals,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Business hours saved."))
            return _to_department(request, department, "hours")
    department.refresh_from_db()
    return render(
        request,
        "setup/business_hours.html",
        {
            "department": department,
            "form": form,
            "formset": formset,
            "tab": "hours",
        },
        status=400 if request.method == "POST" else 200,
    )


@desk_admin_required
def holidays(request: HttpRequest, dept_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    form = HolidayForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.holiday_add(
                actor=request.membership,
                department=department,
                date=form.cleaned_data["date"],
                name=form.cleaned_data["name"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Holiday added."))
            return _to_department(request, department, "holidays")
    return _holidays_page(request, department, form=form, status=400 if form.errors else 200)


def _holidays_page(request, department, *, form=None, import_form=None, status=200):
    return render(
        request,
        "setup/holidays.html",
        {
            "department": department,
            "tab": "holidays",
            "form": form or HolidayForm(),
            "import_form": import_form or HolidayImportForm(),
            "holidays": Holiday.objects.for_org(request.org).filter(department=department),
        },
        status=status,
    )


@require_POST
@desk_admin_required
def holidays_import(request: HttpRequest, dept_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    form = HolidayImportForm(request.POST)
    if form.is_valid():
        try:
            added = services.holidays_import(
                actor=request.membership,
                department=department,
                country=form.cleaned_data["country"],
                year=form.cleaned_data["year"],
                language=request.LANGUAGE_CODE,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                ngettext(
                    "%(count)d public holiday imported.",
                    "%(count)d public holidays imported.",
                    added,
                )
                % {"count": added},
            )
            return _to_department(request, department, "holidays")
    return _holidays_page(request, department, import_form=form, status=400)


@require_POST
@desk_admin_required
def holiday_delete(request: HttpRequest, dept_id: int, holiday_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    holiday = get_object_or_404(
        Holiday.objects.for_org(request.org), department=department, pk=holiday_id
    )
    services.holiday_delete(actor=request.membership, holiday=holiday)
    if request.htmx:
        return HttpResponse("")
    messages.success(request, _("Holiday removed."))
    return _to_department(request, department, "holidays")


# --- Setup menu: one page per department setting (issue 8 item 9) ---------------------------
SECTIONS = {
    # section: (title, intro, URL name of the department's page, its namespace's argument)
    "layouts": (
        gettext_lazy("Layouts"),
        gettext_lazy("Each department has its own statuses and custom fields. Pick a department."),
        "layout:home",
    ),
    "hours": (
        gettext_lazy("Business hours"),
        gettext_lazy("Working hours count towards due dates. Pick a department."),
        "setup:department_hours",
    ),
    "holidays": (
        gettext_lazy("Holidays"),
        gettext_lazy("Days when a department does not work. Pick a department."),
        "setup:department_holidays",
    ),
}


def delete_blockers(departments) -> dict[int, str]:
    """Why each department cannot be deleted now (no entry: it can). Mirrors the refusals of
    `services.department_delete`: the last department, the last enabled one, and records that
    must survive it (relations with on_delete=PROTECT, such as tickets). The related models
    are found through Django's metadata, so tenancy imports no app above it."""
    departments = list(departments)
    reasons: dict[int, str] = {}
    enabled = [d for d in departments if d.is_enabled]
    for department in departments:
        if len(departments) == 1:
            reasons[department.pk] = _("An organization needs at least one department.")
        elif department.is_enabled and len(enabled) == 1:
            reasons[department.pk] = _("At least one department must stay enabled.")
        elif _has_protected(department):
            reasons[department.pk] = _(
                "“%(name)s” still has tickets. Move or delete its tickets first, or disable the "
                "department instead."
            ) % {"name": department.name}
    return reasons


def with_protected(qs):
    """Annotate `protected_<n>` per relation whose rows must outlive the department
    (on_delete=PROTECT); `has_protected(department)` reads them."""
    for index, relation in enumerate(Department._meta.related_objects):
        if getattr(relation, "on_delete", None) is not PROTECT:
            continue
        related = relation.related_model._default_manager.filter(
            org_id=OuterRef("org_id"), **{relation.field.name: OuterRef("pk")}
        )
        qs = qs.annotate(**{f"protected_{index}": Exists(related)})
    return qs


def _has_protected(department: Department) -> bool:
    return any(v for k, v in vars(department).items() if k.startswith("protected_"))


@desk_admin_required
def department_section(request: HttpRequest, section: str) -> HttpResponse:
    """Layouts, business hours or holidays from the Setup menu: the departments, each
    leading to that setting."""
    title, intro, url_name = SECTIONS[section]
    departments = Department.objects.for_org(request.org).order_by("name")
    return render(
        request,
        "setup/department_section.html",
        {
            "section": section,
            "title": title,
            "intro": intro,
            "url_name": url_name,
            "departments": departments,
        },
    )
