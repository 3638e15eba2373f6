"""Setup › Mail templates: list, create, edit, preview, delete (Desk admins)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app_admin

from .forms import MailTemplateForm
from .models import MailTemplate
from .services import (
    mail_template_delete,
    mail_template_preview,
    mail_template_save,
    mail_template_usage,
)

desk_admin_required = require_app_admin(App.DESK)


def _template(request: HttpRequest, mail_template_id: int) -> MailTemplate:
    return get_object_or_404(MailTemplate.objects.for_org(request.org), pk=mail_template_id)


@desk_admin_required
def template_list(request: HttpRequest) -> HttpResponse:
    templates = list(MailTemplate.objects.for_org(request.org))
    rows = [(template, mail_template_usage(template)) for template in templates]
    return render(request, "setup/mailtemplates.html", {"rows": rows})


@desk_admin_required
def template_edit(request: HttpRequest, mail_template_id: int | None = None) -> HttpResponse:
    """Save, or with the Preview button show the typed subject and body filled in with the
    newest ticket's values (nothing saved)."""
    if mail_template_id is None:
        template = MailTemplate(org=request.org)
    else:
        template = _template(request, mail_template_id)
    form = MailTemplateForm(request.POST or None, instance=template)
    preview = sample = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            preview, sample = mail_template_preview(
                org=request.org, subject=form.instance.subject, body=form.instance.body
            )
        else:
            try:
                mail_template_save(actor=request.membership, template=form.instance)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(
                    request, _("Mail template “%(name)s” saved.") % {"name": template.name}
                )
                return redirect("mailtemplates:template_list", portal=request.org.portal)
    return render(
        request,
        "setup/mailtemplate_form.html",
        {
            "form": form,
            "template": template if template.pk else None,
            "preview": preview,
            "sample": sample,
        },
        status=400 if form.errors else 200,
    )


@desk_admin_required
def template_preview(request: HttpRequest, mail_template_id: int) -> HttpResponse:
    template = _template(request, mail_template_id)
    preview, sample = mail_template_preview(
        org=request.org, subject=template.subject, body=template.body
    )
    return render(
        request,
        "setup/mailtemplate_preview.html",
        {"template": template, "preview": preview, "sample": sample},
    )


@require_POST
@desk_admin_required
def template_delete(request: HttpRequest, mail_template_id: int) -> HttpResponse:
    template = _template(request, mail_template_id)
    try:
        mail_template_delete(actor=request.membership, template=template)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Mail template “%(name)s” deleted.") % {"name": template.name})
    return redirect("mailtemplates:template_list", portal=request.org.portal)
