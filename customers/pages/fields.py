"""Setup of the custom fields of contacts and accounts (CUS-01), for Desk administrators:
add, edit, reorder, deactivate and reactivate, as a department's ticket fields are set up
(helpdesk/tickets/views/layout.py). Values stay stored when a field is deactivated; a type
change is refused while stored values would not fit the new type
(`customers.services.customer_field_save`)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors

from .. import services
from ..forms import CustomerFieldForm
from ..models import CustomerField, RecordKind


def _guard(request: HttpRequest) -> None:
    services.ensure_can(request.membership, "configure")


def _field(request: HttpRequest, field_id: int) -> CustomerField:
    return get_object_or_404(CustomerField.objects.for_org(request.org), pk=field_id)


def _module(value: str | None) -> str:
    return value if value in RecordKind.values else RecordKind.CONTACT


def _back(request: HttpRequest, module: str) -> HttpResponse:
    return redirect(f"{_url(request)}#fields-{module}")


def _url(request: HttpRequest) -> str:
    return reverse("customers:fields", kwargs={"portal": request.org.portal})


def _page(
    request: HttpRequest, *, forms: dict[str, CustomerFieldForm] | None = None, status: int = 200
) -> HttpResponse:
    forms = forms or {}
    sections = []
    for module, title in (
        (RecordKind.CONTACT, _("Contact fields")),
        (RecordKind.ACCOUNT, _("Account fields")),
    ):
        sections.append(
            {
                "module": module,
                "title": title,
                "fields": list(services.customer_fields(request.org, module, active_only=False)),
                "form": forms.get(module)
                or CustomerFieldForm(prefix=module, initial={"module": module}),
            }
        )
    return render(request, "customers/fields.html", {"sections": sections}, status=status)


def fields_home(request: HttpRequest) -> HttpResponse:
    _guard(request)
    return _page(request)


def _save(request: HttpRequest, form: CustomerFieldForm, module: str):
    """Save a valid form through the service; the refused form otherwise (None when saved)."""
    if form.is_valid():
        field = form.save_values()
        try:
            services.customer_field_save(actor=request.membership, field=field)
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "choices" in exc.error_dict:
                exc.error_dict["choices_text"] = exc.error_dict.pop("choices")
            apply_errors(form, exc)
        else:
            messages.success(request, _("Field “%(label)s” saved.") % {"label": field.label})
            return None
    return form


@require_POST
def field_create(request: HttpRequest) -> HttpResponse:
    _guard(request)
    module = _module(request.POST.get("module"))
    form = CustomerFieldForm(
        request.POST, prefix=module, instance=CustomerField(org=request.org, module=module)
    )
    refused = _save(request, form, module)
    if refused is None:
        return _back(request, module)
    return _page(request, forms={module: refused}, status=400)


def field_edit(request: HttpRequest, customer_field_id: int) -> HttpResponse:
    _guard(request)
    field = _field(request, customer_field_id)
    form = CustomerFieldForm(request.POST or None, instance=field)
    if request.method == "POST":
        refused = _save(request, form, field.module)
        if refused is None:
            return _back(request, field.module)
    return render(
        request,
        "customers/field_form.html",
        {"form": form, "field": _field(request, customer_field_id)},
        status=400 if form.errors else 200,
    )


@require_POST
def field_active(request: HttpRequest, customer_field_id: int) -> HttpResponse:
    _guard(request)
    field = _field(request, customer_field_id)
    active = request.POST.get("active") == "1"
    services.customer_field_set_active(actor=request.membership, field=field, active=active)
    if active:
        messages.success(request, _("Field “%(label)s” is shown again.") % {"label": field.label})
    else:
        messages.success(
            request,
            _("Field “%(label)s” deactivated; existing values are kept.") % {"label": field.label},
        )
    return _back(request, field.module)


@require_POST
def fields_reorder(request: HttpRequest) -> HttpResponse:
    _guard(request)
    module = _module(request.POST.get("module"))
    ids = [int(v) for v in request.POST.getlist("order") if v.isdigit() and len(v) < 19]
    services.customer_fields_reorder(actor=request.membership, module=module, keys=ids)
    messages.success(request, _("Order saved."))
    return _back(request, module)
