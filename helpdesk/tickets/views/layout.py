"""Layout settings of a department: statuses and custom fields (DEP-02)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors
from helpdesk.tenancy.models import App, Department
from helpdesk.tenancy.permissions import require_app_admin

from ..forms import CustomFieldForm, StatusForm
from ..models import CustomField, TicketStatus
from ..services import layouts
from ..services.layouts import statuses_for

desk_admin_required = require_app_admin(App.DESK)


def _department(request: HttpRequest, dept_id: int) -> Department:
    return get_object_or_404(Department.objects.for_org(request.org), pk=dept_id)


def _status(request: HttpRequest, department: Department, status_id: int) -> TicketStatus:
    return get_object_or_404(
        TicketStatus.objects.for_org(request.org), department=department, pk=status_id
    )


def _field(request: HttpRequest, department: Department, field_id: int) -> CustomField:
    return get_object_or_404(
        CustomField.objects.for_org(request.org), department=department, pk=field_id
    )


def _item_page(request, department, form, item, kind: str) -> HttpResponse:
    return render(
        request,
        "tickets/layout_item.html",
        {"department": department, "form": form, "item": item, "kind": kind, "tab": "layout"},
    )


def _reorder(request: HttpRequest, dept_id: int, service) -> HttpResponse:
    """Apply the order of ids posted as `order` with `service` (statuses or fields)."""
    department = _department(request, dept_id)
    try:
        ids = [int(v) for v in request.POST.getlist("order")]
        service(actor=request.membership, department=department, ids=ids)
    except (ValueError, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [_("Invalid order.")])))
    return _back(request, department)


def _back(request: HttpRequest, department: Department) -> HttpResponse:
    return redirect("layout:home", portal=request.org.portal, dept_id=department.pk)


def _page(request, department, *, status_form=None, field_form=None, status=200):
    return render(
        request,
        "tickets/layout.html",
        {
            "department": department,
            "tab": "layout",
            "statuses": statuses_for(department),  # made on the department's first use
            "fields": CustomField.objects.for_org(request.org).filter(department=department),
            "status_form": status_form or StatusForm(),
            "field_form": field_form or CustomFieldForm(),
        },
        status=status,
    )


@desk_admin_required
def layout_home(request: HttpRequest, dept_id: int) -> HttpResponse:
    return _page(request, _department(request, dept_id))


def _save_status(request, department, instance):
    form = StatusForm(request.POST, instance=instance)
    if form.is_valid():
        form.instance.department = department
        try:
            layouts.status_save(actor=request.membership, status=form.instance)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Status saved."))
            return _back(request, department)
    return _page(request, department, status_form=form, status=400)


@require_POST
@desk_admin_required
def status_create(request: HttpRequest, dept_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    return _save_status(request, department, TicketStatus(org=request.org, department=department))


@desk_admin_required
def status_edit(request: HttpRequest, dept_id: int, status_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    status = _status(request, department, status_id)
    if request.method == "POST":
        return _save_status(request, department, status)
    return _item_page(request, department, StatusForm(instance=status), status, "status")


@require_POST
@desk_admin_required
def status_delete(request: HttpRequest, dept_id: int, status_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    status = _status(request, department, status_id)
    try:
        layouts.status_delete(actor=request.membership, status=status)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Status deleted."))
    return _back(request, department)


@require_POST
@desk_admin_required
def statuses_reorder(request: HttpRequest, dept_id: int) -> HttpResponse:
    return _reorder(request, dept_id, layouts.statuses_reorder)


@require_POST
@desk_admin_required
def fields_reorder(request: HttpRequest, dept_id: int) -> HttpResponse:
    return _reorder(request, dept_id, layouts.custom_fields_reorder)


def _save_field(request, department, instance):
    form = CustomFieldForm(request.POST, instance=instance)
    if form.is_valid():
        field = form.save_values()
        field.department = department
        try:
            layouts.custom_field_save(actor=request.membership, field=field)
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "choices" in exc.error_dict:
                exc.error_dict["choices_text"] = exc.error_dict.pop("choices")
            apply_errors(form, exc)
        else:
            messages.success(request, _("Field saved."))
            return _back(request, department)
    return _page(request, department, field_form=form, status=400)


@require_POST
@desk_admin_required
def field_create(request: HttpRequest, dept_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    return _save_field(request, department, CustomField(org=request.org, department=department))


@desk_admin_required
def field_edit(request: HttpRequest, dept_id: int, field_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    field = _field(request, department, field_id)
    if request.method == "POST":
        return _save_field(request, department, field)
    return _item_page(request, department, CustomFieldForm(instance=field), field, "field")


@require_POST
@desk_admin_required
def field_delete(request: HttpRequest, dept_id: int, field_id: int) -> HttpResponse:
    department = _department(request, dept_id)
    field = _field(request, department, field_id)
    layouts.custom_field_delete(actor=request.membership, field=field)
    messages.success(
        request,
        _("Field “%(label)s” deactivated; existing values are kept.") % {"label": field.label},
    )
    return _back(request, department)
