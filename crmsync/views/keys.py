"""Desk Setup → CRM integration keys (CRM-02): a Desk admin issues keys that let another
organization's CRM connect to this desk, and revokes them."""

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

from ..forms import KeyIssueForm
from ..models import IntegrationKey
from ..services import integration as svc


def _page(request: HttpRequest, form=None, new_key: str = "", status: int = 200) -> HttpResponse:
    keys = (
        IntegrationKey.objects.for_org(request.org)
        .select_related("created_by", "revoked_by")
        .order_by("-created_at", "-pk")
    )
    return render(
        request,
        "crm/keys.html",
        {"keys": keys, "form": form or KeyIssueForm(), "new_key": new_key},
        status=status,
    )


@require_app_admin(App.DESK)
def key_list(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _page(request)
    form = KeyIssueForm(request.POST)
    if form.is_valid():
        try:
            _row, key = svc.key_issue(actor=request.membership, label=form.cleaned_data["label"])
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            # Shown once, on this response only; never stored, never redirected with.
            messages.success(request, _("Key issued. Copy it now: it is not shown again."))
            return _page(request, new_key=key)
    return _page(request, form=form, status=400)


@require_POST
@require_app_admin(App.DESK)
def key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(IntegrationKey.objects.for_org(request.org), pk=key_id)
    svc.key_revoke(actor=request.membership, key=key)
    messages.success(request, _("Key “%(label)s” revoked.") % {"label": key.label})
    return redirect("crmkeys:list", portal=request.org.portal)
