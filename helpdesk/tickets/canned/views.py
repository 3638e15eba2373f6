"""Canned responses: the agent's own (Desk), the department's (Setup), and the reply box's
search, which answers with the matches filled in for the ticket (an htmx fragment)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors, query_text
from helpdesk.tenancy.models import App, Department
from helpdesk.tenancy.permissions import require_app, require_app_admin

from ..services.access import departments_for, ticket_for_member
from .forms import CannedResponseForm
from .models import CannedResponse
from .services import (
    canned_for_ticket,
    canned_personal,
    canned_render,
    canned_response_delete,
    canned_response_save,
    placeholder_values,
)

desk_admin_required = require_app_admin(App.DESK)


# --- The agent's own (Desk) --------------------------------------------------------------------
def _mine(request: HttpRequest, canned_id: int) -> CannedResponse:
    """One of the member's personal responses; anyone else's is 'not found'."""
    return get_object_or_404(canned_personal(member=request.membership), pk=canned_id)


@require_app(App.DESK)
def canned_list(request: HttpRequest) -> HttpResponse:
    """My canned responses, and (to read) those of my departments."""
    departments = departments_for(request.membership)
    shared = (
        CannedResponse.objects.for_org(request.org)
        .filter(department__in=departments)
        .select_related("department")
        .order_by("department__name", "title")
    )
    return render(
        request,
        "tickets/canned_list.html",
        {"mine": canned_personal(member=request.membership), "shared": shared},
    )


@require_app(App.DESK)
def canned_edit(request: HttpRequest, canned_id: int | None = None) -> HttpResponse:
    membership = request.membership
    if canned_id is None:
        canned = CannedResponse(org=request.org, owner=membership.user)
    else:
        canned = _mine(request, canned_id)
    form = CannedResponseForm(request.POST or None, instance=canned)
    if request.method == "POST" and form.is_valid():
        try:
            canned_response_save(actor=membership, canned=form.instance)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Canned response “%(title)s” saved.") % {"title": canned.title}
            )
            return redirect("desk:canned_list", portal=request.org.portal)
    return render(
        request,
        "tickets/canned_form.html",
        {"form": form, "canned": canned if canned.pk else None},
        status=400 if form.errors else 200,
    )


@require_POST
@require_app(App.DESK)
def canned_delete(request: HttpRequest, canned_id: int) -> HttpResponse:
    canned = _mine(request, canned_id)
    canned_response_delete(actor=request.membership, canned=canned)
    messages.success(request, _("Canned response “%(title)s” deleted.") % {"title": canned.title})
    return redirect("desk:canned_list", portal=request.org.portal)


# --- The reply box's search ----------------------------------------------------------------------
@require_app(App.DESK)
def canned_search(request: HttpRequest, number: int) -> HttpResponse:
    """The matches for `q`, each filled in with this ticket's values (the picker inserts the
    chosen one as it is, with no second request)."""
    membership = request.membership
    ticket = ticket_for_member(membership, number, related=("department", "contact"))
    matches = canned_for_ticket(member=membership, ticket=ticket, query=query_text(request))
    values = placeholder_values(ticket=ticket, agent=membership)
    results = [
        (canned, canned_render(canned=canned, ticket=ticket, agent=membership, values=values))
        for canned in matches
    ]
    return render(
        request,
        "tickets/_canned_picker.html#canned-results",
        {"ticket": ticket, "results": results, "query": query_text(request)},
    )


# --- The department's (Setup) -------------------------------------------------------------------
def _department(request: HttpRequest, dept_id: int) -> Department:
    return get_object_or_404(Department.objects.for_org(request.org), pk=dept_id)


def _departments_canned(request: HttpRequest, department: Department, canned_id: int):
    canned = (
        CannedResponse.objects.for_org(request.org)
        .filter(department=department, pk=canned_id)
        .first()
    )
    if canned is None:
        raise Http404
    return canned


@desk_admin_required
def department_canned_list(request: HttpRequest, dept_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    responses = CannedResponse.objects.for_org(request.org).filter(department=department)
    return render(
        request,
        "setup/department_canned.html",
        {"department": department, "responses": responses, "tab": "canned"},
    )


@desk_admin_required
def department_canned_edit(
    request: HttpRequest, dept_id: int, canned_id: int | None = None
) -> HttpResponse:
    department = _department(request, dept_id)
    if canned_id is None:
        canned = CannedResponse(org=request.org, department=department)
    else:
        canned = _departments_canned(request, department, canned_id)
    form = CannedResponseForm(request.POST or None, instance=canned)
    if request.method == "POST" and form.is_valid():
        try:
            canned_response_save(actor=request.membership, canned=form.instance)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Canned response “%(title)s” saved.") % {"title": canned.title}
            )
            return redirect(
                "canned:department_canned", portal=request.org.portal, dept_id=department.pk
            )
    return render(
        request,
        "setup/department_canned_form.html",
        {
            "form": form,
            "department": department,
            "canned": canned if canned.pk else None,
            "tab": "canned",
        },
        status=400 if form.errors else 200,
    )


@require_POST
@desk_admin_required
def department_canned_delete(request: HttpRequest, dept_id: int, canned_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    canned = _departments_canned(request, department, canned_id)
    canned_response_delete(actor=request.membership, canned=canned)
    messages.success(request, _("Canned response “%(title)s” deleted.") % {"title": canned.title})
    return redirect("canned:department_canned", portal=request.org.portal, dept_id=department.pk)
