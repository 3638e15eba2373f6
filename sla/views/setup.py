"""Setup → SLA policies (TKT-09's SLA step) and a blueprint state's SLA (BP-15), for Desk
admins. Thin views: read the forms, call one service of `sla.services.config` (which validates
and writes in one transaction), show its errors beside the fields or levels they concern."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from blueprints.models import State
from helpdesk.tenancy.models import App, Department
from helpdesk.tenancy.permissions import require_app_admin
from helpdesk.tickets.models import Priority

from ..forms import DAY_HELP, LevelForm, PolicyForm, StateSlaForm, level_forms
from ..models import EscalationLevel, SlaPolicy, StateSla, Target
from ..services.config import (
    POLICY_TARGETS,
    sla_policy_delete,
    sla_policy_save,
    state_sla_delete,
    state_sla_save,
)
from ..summaries import policy_rows

desk_admin_required = require_app_admin(App.DESK)
# Errors of a group of fields (a duration), shown beside the group.
SECTIONS = ("first_response", "resolution", "minutes")


def _levels_of(org: Any, **owner: Any) -> list[EscalationLevel]:
    return list(
        EscalationLevel.objects.for_org(org).filter(**owner).prefetch_related("users", "teams")
    )


def _show_errors(
    form: Any, levels: list[LevelForm], exc: ValidationError, sections: dict[str, list[str]]
) -> None:
    """The service's errors: on the form's fields, on a level's box, or beside a duration."""
    by_key = {lf.key: lf for lf in levels}
    items = exc.error_dict.items() if hasattr(exc, "error_dict") else [(None, exc.error_list)]
    for key, errors in items:
        texts = [m for e in errors for m in e.messages]
        if key in form.fields:
            form.add_error(key, texts)
        elif key in by_key:
            by_key[key].add_error(None, texts)
        elif key in SECTIONS:
            sections.setdefault(key, []).extend(texts)
        else:
            form.add_error(None, texts)


def _level_groups(levels: list[LevelForm], targets: tuple[str, ...]) -> list[tuple[str, Any]]:
    labels = dict(Target.choices)
    return [(labels[t], [lf for lf in levels if lf.target == t]) for t in targets]


# --- Policies -----------------------------------------------------------------------------------
@desk_admin_required
def policy_list(request: HttpRequest, dept_id: int | None = None) -> HttpResponse:
    """One tab per department; its four priorities, each with its policy or a button to add
    one."""
    org = request.org  # type: ignore[attr-defined]
    departments = list(Department.objects.for_org(org).order_by("name"))
    if dept_id is not None:
        department = get_object_or_404(Department.objects.for_org(org), pk=dept_id)
    elif departments:
        department = min(departments, key=lambda d: d.pk)
    else:  # pragma: no cover - an organization always has a department
        raise PermissionDenied
    policies = (
        SlaPolicy.objects.for_org(org)
        .filter(department=department)
        .annotate(level_count=Count("levels"))
    )
    return render(
        request,
        "sla/setup/policies.html",
        {
            "department": department,
            "departments": departments,
            "rows": policy_rows(list(policies)),
        },
    )


@desk_admin_required
def policy_edit(
    request: HttpRequest, policy_id: int | None = None, dept_id: int | None = None
) -> HttpResponse:
    """Create (in the department of the URL, for `?priority=`) or change a policy with its
    escalation levels."""
    org = request.org  # type: ignore[attr-defined]
    policy = None
    department = None
    if policy_id is not None:
        policy = get_object_or_404(
            SlaPolicy.objects.for_org(org).select_related("department"), pk=policy_id
        )
        department = policy.department
    else:
        department = get_object_or_404(Department.objects.for_org(org), pk=dept_id)
    priority = request.GET.get("priority", "")
    data = request.POST or None
    form = PolicyForm(
        data,
        org=org,
        policy=policy,
        department=department,
        priority=priority if priority in Priority.values else None,
    )
    existing = _levels_of(org, policy=policy) if policy is not None else []
    levels = level_forms(data, org=org, targets=POLICY_TARGETS, existing=existing)
    sections: dict[str, list[str]] = {}
    if request.method == "POST":
        valid = form.is_valid()
        valid = all([lf.is_valid() for lf in levels]) and valid
        if valid:
            try:
                saved = sla_policy_save(
                    actor=request.membership,  # type: ignore[attr-defined]
                    data=form.to_input(levels),
                    policy=policy,
                )
            except ValidationError as exc:
                _show_errors(form, levels, exc, sections)
            else:
                messages.success(
                    request,
                    _("SLA policy for %(department)s, %(priority)s priority saved.")
                    % {
                        "department": saved.department.name,
                        "priority": saved.get_priority_display(),
                    },
                )
                return redirect("sla:department", portal=org.portal, dept_id=saved.department_id)
    has_errors = bool(form.errors or sections or any(lf.errors for lf in levels))
    return render(
        request,
        "sla/setup/policy_form.html",
        {
            "form": form,
            "policy": policy,
            "department": department,
            "groups": _level_groups(levels, POLICY_TARGETS),
            "sections": sections,
            "has_errors": has_errors,
            "day_help": DAY_HELP,
        },
        status=400 if has_errors else 200,
    )


@require_POST
@desk_admin_required
def policy_delete(request: HttpRequest, policy_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    policy = get_object_or_404(
        SlaPolicy.objects.for_org(org).select_related("department"), pk=policy_id
    )
    department_id = policy.department_id
    text = _("SLA policy for %(department)s, %(priority)s priority deleted.") % {
        "department": policy.department.name,
        "priority": policy.get_priority_display(),
    }
    sla_policy_delete(actor=request.membership, policy=policy)  # type: ignore[attr-defined]
    messages.success(request, text)
    return redirect("sla:department", portal=org.portal, dept_id=department_id)


# --- A state's SLA ------------------------------------------------------------------------------
def _state(request: HttpRequest, state_id: int) -> State:
    return get_object_or_404(
        State.objects.for_org(request.org).select_related(  # type: ignore[attr-defined]
            "status", "blueprint__department"
        ),
        pk=state_id,
    )


def _plan_allows(org: Any) -> bool:
    return bool(org.limit("blueprints_per_department"))


@desk_admin_required
def state_sla_edit(request: HttpRequest, state_id: int) -> HttpResponse:
    """The SLA of one blueprint state (BP-15): its time in days, hours and minutes, business or
    calendar hours, and levels 1 to 3. Reached from the blueprint's states."""
    org = request.org  # type: ignore[attr-defined]
    state = _state(request, state_id)
    state_sla = StateSla.objects.for_org(org).filter(state=state).first()
    data = request.POST or None
    form = StateSlaForm(data, state_sla=state_sla)
    existing = _levels_of(org, state_sla=state_sla) if state_sla is not None else []
    levels = level_forms(data, org=org, targets=(Target.STATE,), existing=existing)
    sections: dict[str, list[str]] = {}
    if request.method == "POST":
        if not _plan_allows(org):
            raise PermissionDenied(
                _("Blueprints need the Professional or Enterprise plan. Upgrade to use them.")
            )
        valid = form.is_valid()
        valid = all([lf.is_valid() for lf in levels]) and valid
        if valid:
            minutes = form.minutes()
            if minutes is None:
                sections["minutes"] = [_("Give the time a ticket may stay in this state.")]
            else:
                try:
                    state_sla_save(
                        actor=request.membership,  # type: ignore[attr-defined]
                        state=state,
                        minutes=minutes,
                        business_hours=form.cleaned_data["mode"] == "business",
                        levels=[lv for lf in levels if (lv := lf.to_input()) is not None],
                    )
                except ValidationError as exc:
                    _show_errors(form, levels, exc, sections)
                else:
                    messages.success(
                        request,
                        _("SLA of the state “%(name)s” saved.") % {"name": state.status.name},
                    )
                    return redirect(
                        "blueprints:process", portal=org.portal, blueprint_id=state.blueprint_id
                    )
    has_errors = bool(form.errors or sections or any(lf.errors for lf in levels))
    return render(
        request,
        "sla/setup/state_form.html",
        {
            "form": form,
            "state": state,
            "state_sla": state_sla,
            "groups": _level_groups(levels, (Target.STATE,)),
            "sections": sections,
            "has_errors": has_errors,
            "plan_allows": _plan_allows(org),
            "day_help": DAY_HELP,
        },
        status=400 if has_errors else 200,
    )


@require_POST
@desk_admin_required
def state_sla_remove(request: HttpRequest, state_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    state = _state(request, state_id)
    state_sla = get_object_or_404(StateSla.objects.for_org(org), state=state)
    state_sla_delete(actor=request.membership, state_sla=state_sla)  # type: ignore[attr-defined]
    messages.success(
        request, _("The state “%(name)s” has no SLA any more.") % {"name": state.status.name}
    )
    return redirect("blueprints:process", portal=org.portal, blueprint_id=state.blueprint_id)
