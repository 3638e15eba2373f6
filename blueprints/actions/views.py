"""Setup › Blueprints › After-actions (BP-11): the reusable actions of each department, their
forms by type, the webhook secret; and, on a ticket, trying a failed action again."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app_admin

from ..models import AfterAction, AfterActionType
from . import config as cfg
from . import tasks
from .forms import FORMS
from .models import AfterActionRun
from .services import (
    after_action_delete,
    after_action_links,
    after_action_retry,
    after_action_save,
    webhook_secret,
    webhook_secret_rotate,
)

desk_admin_required = require_app_admin(App.DESK)


def _action(request: HttpRequest, after_action_id: int) -> AfterAction:
    return get_object_or_404(AfterAction.objects.for_org(request.org), pk=after_action_id)


@desk_admin_required
def action_list(request: HttpRequest) -> HttpResponse:
    actions = list(
        AfterAction.objects.for_org(request.org)
        .select_related("department")
        .order_by("department__name", "name", "pk")
    )
    rows = [(action, after_action_links(action)) for action in actions]
    types = [
        (value, label)
        for value, label in AfterActionType.choices
        if value != AfterActionType.WEBHOOK or cfg.webhooks_allowed(request.org)
    ]
    allowed = cfg.webhooks_allowed(request.org)
    return render(
        request,
        "blueprints/actions/list.html",
        {
            "rows": rows,
            "types": types,
            "webhooks_allowed": allowed,
            "secret": webhook_secret(request.org) if allowed else None,
        },
    )


def _edit(request: HttpRequest, action: AfterAction) -> HttpResponse:
    form_class = FORMS[action.type]
    form = form_class(request.POST or None, org=request.org, action=action)
    if request.method == "POST" and form.is_valid():
        action.name = form.cleaned_data["name"]
        action.department = form.cleaned_data["department"]
        action.config = form.config()
        try:
            after_action_save(actor=request.membership, action=action)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Action “%(name)s” saved.") % {"name": action.name})
            return redirect("bpactions:action_list", portal=request.org.portal)
    return render(
        request,
        "blueprints/actions/form.html",
        {
            "form": form,
            "action": action if action.pk else None,
            "type_label": AfterActionType(action.type).label,
            "links": after_action_links(action) if action.pk else 0,
        },
        status=400 if form.errors else 200,
    )


@desk_admin_required
def action_create(request: HttpRequest) -> HttpResponse:
    """A new action of the type in the query string (`?type=email`)."""
    after_action_type = request.GET.get("type", "")
    if after_action_type not in FORMS:
        raise Http404
    if after_action_type == AfterActionType.WEBHOOK and not cfg.webhooks_allowed(request.org):
        messages.error(request, _("Custom functions are part of the Enterprise plan."))
        return redirect("bpactions:action_list", portal=request.org.portal)
    return _edit(request, AfterAction(org=request.org, type=after_action_type, config={}))


@desk_admin_required
def action_edit(request: HttpRequest, after_action_id: int) -> HttpResponse:
    return _edit(request, _action(request, after_action_id))


@require_POST
@desk_admin_required
def action_delete(request: HttpRequest, after_action_id: int) -> HttpResponse:
    action = _action(request, after_action_id)
    try:
        after_action_delete(actor=request.membership, action=action)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Action “%(name)s” deleted.") % {"name": action.name})
    return redirect("bpactions:action_list", portal=request.org.portal)


@require_POST
@desk_admin_required
def action_secret_rotate(request: HttpRequest) -> HttpResponse:
    webhook_secret_rotate(actor=request.membership)
    messages.success(request, _("A new webhook secret was made: update your receivers with it."))
    return redirect("bpactions:action_list", portal=request.org.portal)


@require_POST
@desk_admin_required
def action_run_retry(request: HttpRequest, after_action_run_id: int) -> HttpResponse:
    run = get_object_or_404(
        AfterActionRun.objects.for_org(request.org).select_related("ticket"),
        pk=after_action_run_id,
    )
    if after_action_retry(actor=request.membership, run=run):
        tasks.enqueue([run])
        messages.success(request, _("“%(name)s” will be tried again.") % {"name": run.name})
    return redirect("desk:ticket_detail", portal=request.org.portal, number=run.ticket.number)
