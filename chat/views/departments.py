"""Setup > Chat > Departments (CHAT-01, CHAT-03..CHAT-06).

The department's page saves every setting as soon as it changes (CHAT-05): each setting is a
small form that htmx posts on change; the answer is the form again, with "Saved" or with its
errors (status 400, nothing saved). Without JavaScript the same forms post and come back to the
page."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors

from .. import selectors
from ..forms import (
    FIELD_FORMS,
    DepartmentCreateForm,
    EmailSettingForm,
    OperatorAddForm,
    OperatorRemoveForm,
    StatusForm,
    field_form,
)
from ..models import ChatDepartment, EmailKind
from ..services import departments as svc
from .common import chat_render, chat_supervisor, department_of


@chat_supervisor
def department_list(request: HttpRequest) -> HttpResponse:
    return chat_render(
        request,
        "chat/departments.html",
        {"departments": selectors.departments_for_setup(request.org)},
    )


@chat_supervisor
def department_create(request: HttpRequest) -> HttpResponse:
    form = DepartmentCreateForm(request.POST or None, org=request.org)
    if request.method == "POST":
        if form.is_valid():
            try:
                department = svc.department_create(
                    actor=request.membership,
                    name=form.cleaned_data["name"],
                    description=form.cleaned_data["description"],
                    visibility=form.cleaned_data["visibility"],
                    operators=list(form.cleaned_data["operators"]),
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request,
                    _("The chat department “%(name)s” was created.") % {"name": department.name},
                )
                return redirect(
                    "chat:department", portal=request.org.portal, chat_department_id=department.pk
                )
        return chat_render(request, "chat/department_form.html", {"form": form}, status=400)
    return chat_render(request, "chat/department_form.html", {"form": form})


# --- The department's page -----------------------------------------------------------------
def _email_form(setting, data=None) -> EmailSettingForm:
    return EmailSettingForm(
        data,
        kind=setting.kind,
        initial={"enabled": setting.is_enabled, "addresses": ", ".join(setting.addresses)},
    )


def _operators_context(request: HttpRequest, department: ChatDepartment, **extra) -> dict:
    return {
        "department": department,
        "operators": selectors.operators_of(request.org, department),
        "add_form": extra.pop("add_form", None)
        or OperatorAddForm(org=request.org, department=department),
        **extra,
    }


def _embed_context(request: HttpRequest, department: ChatDepartment) -> dict:
    return {
        "department": department,
        "widget_src": request.build_absolute_uri(
            f"/{request.org.portal}/chat/widget/{department.embed_key}.js"
        ),
    }


def _page(
    request: HttpRequest, department: ChatDepartment, *, status: int = 200, **bound
) -> HttpResponse:
    """The whole page; `bound` holds a refused form to show with its errors (no JavaScript)."""
    fields = {
        name: bound.get(f"field_{name}") or field_form(name, department) for name in FIELD_FORMS
    }
    emails = [
        bound.get(f"mail_{s.kind}") or _email_form(s)
        for s in selectors.email_settings_of(request.org, department)
    ]
    context = {
        "department": department,
        "fields": fields,
        "emails": emails,
        "status_form": bound.get("status_form")
        or StatusForm(initial={"enabled": department.is_enabled}),
        "status_error": bound.get("status_error", ""),
        **_operators_context(request, department, add_form=bound.get("add_form")),
        **_embed_context(request, department),
    }
    return chat_render(request, "chat/department.html", context, status=status)


def _answer(
    request: HttpRequest,
    department: ChatDepartment,
    template: str,
    context: dict,
    *,
    ok: bool,
    bound_name: str,
    bound_form=None,
    message: str = "",
) -> HttpResponse:
    """htmx: the section again (400 with its errors when refused). Otherwise: back to the page
    with a message, or the page with the refused form."""
    if request.htmx:
        return render(
            request,
            template,
            {"department": department, "saved": ok, "org": request.org, **context},
            status=200 if ok else 400,
        )
    if ok:
        messages.success(request, message or _("Saved."))
        return redirect(
            "chat:department", portal=request.org.portal, chat_department_id=department.pk
        )
    return _page(request, department, status=400, **{bound_name: bound_form})


def _errors(form) -> list[str]:
    """The form's errors, for the feedback next to the setting."""
    return [str(error) for errors in form.errors.values() for error in errors]


@chat_supervisor
def department_detail(request: HttpRequest, chat_department_id: int) -> HttpResponse:
    return _page(request, department_of(request, chat_department_id))


@require_POST
@chat_supervisor
def department_field(request: HttpRequest, chat_department_id: int) -> HttpResponse:
    """Save one of name, description, type and the visitor details the widget requires
    (CHAT-05, CHAT-07)."""
    department = department_of(request, chat_department_id)
    field = request.POST.get("field", "")
    if field not in FIELD_FORMS:
        return HttpResponse(_("Choose a setting to change."), status=400)
    form = field_form(field, department, request.POST)
    ok = False
    if form.is_valid():
        try:
            department = svc.department_update(
                actor=request.membership, department=department, **{field: form.cleaned_data[field]}
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            ok = True
            form = field_form(field, department)
    context = {
        "field": field,
        "feedback_errors": _errors(form),
        **_embed_context(request, department),
    }
    return _answer(
        request,
        department,
        "chat/_feedback.html",
        context,
        ok=ok,
        bound_name=f"field_{field}",
        bound_form=form,
    )


@require_POST
@chat_supervisor
def department_email(request: HttpRequest, chat_department_id: int) -> HttpResponse:
    """Save one email setting: on or off, and its addresses (CHAT-04, CHAT-05)."""
    department = department_of(request, chat_department_id)
    kind = request.POST.get("kind", "")
    if kind not in EmailKind.values:
        return HttpResponse(_("Choose a valid email setting."), status=400)
    form = EmailSettingForm(request.POST, kind=kind)
    ok = False
    if form.is_valid():
        try:
            setting = svc.email_setting_update(
                actor=request.membership,
                department=department,
                kind=kind,
                enabled=form.cleaned_data["enabled"],
                addresses=form.cleaned_data["addresses"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            ok = True
            form = _email_form(setting)
    return _answer(
        request,
        department,
        "chat/_feedback.html",
        {"feedback_errors": _errors(form)},
        ok=ok,
        bound_name=f"mail_{kind}",
        bound_form=form,
    )


@require_POST
@chat_supervisor
def operator_add(request: HttpRequest, chat_department_id: int) -> HttpResponse:
    """Add an operator (CHAT-03): a chat member of this organization."""
    department = department_of(request, chat_department_id)
    form = OperatorAddForm(request.POST, org=request.org, department=department)
    ok = False
    if form.is_valid():
        try:
            svc.operator_add(
                actor=request.membership, department=department, user=form.cleaned_data["user"]
            )
        except ValidationError as exc:
            form.add_error("user", exc.messages)
        else:
            ok = True
            form = None
    context = _operators_context(request, department, add_form=form)
    context["saved_message"] = _("Operator added.") if ok else ""
    return _answer(
        request,
        department,
        "chat/_operators.html",
        context,
        ok=ok,
        bound_name="add_form",
        bound_form=form,
        message=_("Operator added."),
    )


@require_POST
@chat_supervisor
def operator_remove(request: HttpRequest, chat_department_id: int) -> HttpResponse:
    """Remove an operator (CHAT-03). Someone who is not one: nothing to do."""
    department = department_of(request, chat_department_id)
    form = OperatorRemoveForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Choose an operator to remove."), status=400)
    user = next(
        (
            u
            for u in selectors.operators_of(request.org, department)
            if u.pk == form.cleaned_data["user"]
        ),
        None,
    )
    if user is not None:
        svc.operator_remove(actor=request.membership, department=department, user=user)
    context = _operators_context(request, department)
    context["saved_message"] = _("Operator removed.")
    return _answer(
        request,
        department,
        "chat/_operators.html",
        context,
        ok=True,
        bound_name="add_form",
        message=_("Operator removed."),
    )


@require_POST
@chat_supervisor
def department_status(request: HttpRequest, chat_department_id: int) -> HttpResponse:
    """Enable or disable (CHAT-06); disabling is refused while chats are in progress."""
    department = department_of(request, chat_department_id)
    form = StatusForm(request.POST)
    error = ""
    if not form.is_valid():  # a checkbox is always valid; kept for symmetry
        return HttpResponse(_("Choose enabled or disabled."), status=400)
    try:
        department = svc.department_set_enabled(
            actor=request.membership, department=department, enabled=form.cleaned_data["enabled"]
        )
    except ValidationError as exc:
        error = " ".join(exc.messages)
    # The switch always shows the department's real state; a refusal says why next to it.
    form = StatusForm(initial={"enabled": department.is_enabled})
    if error and not request.htmx:
        return _page(request, department, status=400, status_form=form, status_error=error)
    return _answer(
        request,
        department,
        "chat/_status.html",
        {"status_form": form, "status_error": error},
        ok=not error,
        bound_name="status_form",
        bound_form=form,
        message=_("The department is enabled.")
        if department.is_enabled
        else _("The department is disabled."),
    )


@require_POST
@chat_supervisor
def embed_key_regenerate(request: HttpRequest, chat_department_id: int) -> HttpResponse:
    """A new embed key; the old embed code stops working (CHAT-02)."""
    department = svc.embed_key_regenerate(
        actor=request.membership, department=department_of(request, chat_department_id)
    )
    return _answer(
        request,
        department,
        "chat/_embed.html",
        _embed_context(request, department),
        ok=True,
        bound_name="",
        message=_("A new embed code was made. Replace the old one on your website."),
    )


@chat_supervisor
def department_delete(request: HttpRequest, chat_department_id: int) -> HttpResponse:
    """Confirm, then delete (CHAT-06): refused while chats are in progress, with their count."""
    department = department_of(request, chat_department_id)
    status = 200
    if request.method == "POST":
        try:
            svc.department_delete(actor=request.membership, department=department)
        except ValidationError:
            status = 400
        else:
            messages.success(
                request,
                _("The chat department “%(name)s” was deleted.") % {"name": department.name},
            )
            return redirect(reverse("chat:departments", kwargs={"portal": request.org.portal}))
    return chat_render(
        request,
        "chat/department_delete.html",
        {"department": department, "reason": svc.delete_refusal(request.org, department)},
        status=status,
    )
