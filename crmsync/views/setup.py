"""CRM Setup (CRM admins): the link to a desk, its states and options, desk invitations and
mutual users, and the CRM's settings (CRM-02, CRM-03, CRM-07, CRM-15, CRM-16)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from .. import selectors
from ..connector import DeskConnector
from ..forms import (
    ConnectOtherForm,
    InviteForm,
    OptionsForm,
    ReauthoriseForm,
    SettingsForm,
)
from ..models import Integration
from ..services import integration as svc
from ..services.access import ensure_can
from .common import crm_render


def crm_admin(view):
    """CRM Setup: the app gate, then CRM admins only (403 for sales users)."""

    @require_app(App.CRM)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        ensure_can(request.membership, "configure")
        return view(request, *args, **kwargs)

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _people(org, integration: Integration | None):
    """CRM users split three ways against the linked desk: mutual users (an active desk
    account), invited there (a Desk role, not joined yet), and the others, whom an admin may
    invite. With a problem (revoked key, deactivated ...) the desk is not asked at all."""
    members = list(selectors.crm_members(org))
    if integration is None or svc.integration_problem(integration):
        return [], [], members
    desk = DeskConnector(integration).memberships([m.user_id for m in members])
    mutual, invited, others = [], [], []
    for m in members:
        d = desk.get(m.user_id)
        if d is not None and d.is_active and (d.desk_role or d.is_account_admin):
            mutual.append((m, d))
        elif d is not None and d.status == d.Status.INVITED and d.desk_role:
            invited.append((m, d))
        else:
            others.append(m)
    return mutual, invited, others


def _page(request: HttpRequest, status: int = 200, **forms) -> HttpResponse:
    org = request.org
    integration = selectors.integration_of(org)
    settings = selectors.crm_settings(org)
    context: dict = {
        "integration": integration,
        "settings_form": forms.get("settings_form")
        or SettingsForm(
            initial={
                "currency": settings.currency,
                "desk_tab": settings.desk_tab,
                "ticket_modules": settings.ticket_modules,
            }
        ),
    }
    if integration is None:
        context["connect_form"] = forms.get("connect_form") or ConnectOtherForm()
    else:
        problem = svc.integration_problem(integration)
        mutual, invited, others = _people(org, integration)
        candidate_ids = [m.pk for m in others]
        departments = DeskConnector(integration).departments() if not problem else []
        context.update(
            problem=problem,
            mutual=mutual,
            invited=invited,
            departments=dict(departments),
            options_form=forms.get("options_form")
            or OptionsForm(
                departments=departments,
                initial={
                    "direction": integration.direction,
                    "match_secondary_email": integration.match_secondary_email,
                    "departments": integration.product_department_ids,
                },
            ),
            invite_form=forms.get("invite_form")
            or InviteForm(candidates=selectors.crm_members(org).filter(pk__in=candidate_ids)),
            reauthorise_form=forms.get("reauthorise_form") or ReauthoriseForm(),
            authoriser_left=svc.authoriser_left(integration),
        )
    return crm_render(request, "crm/setup.html", context, status=status)


def _integration(request: HttpRequest) -> Integration | None:
    return selectors.integration_of(request.org)


@crm_admin
def setup(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@crm_admin
def connect_own(request: HttpRequest) -> HttpResponse:
    try:
        svc.integration_connect_own(actor=request.membership)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _page(request, status=400)
    messages.success(request, _("The CRM is linked to this organization's desk."))
    return redirect("crm:setup", portal=request.org.portal)


@require_POST
@crm_admin
def connect_other(request: HttpRequest) -> HttpResponse:
    form = ConnectOtherForm(request.POST)
    if form.is_valid():
        try:
            integration = svc.integration_connect_other(
                actor=request.membership,
                portal=form.cleaned_data["portal"],
                admin_email=form.cleaned_data["admin_email"],
                key=form.cleaned_data["key"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("The CRM is linked to the desk of /%(portal)s/.")
                % {"portal": integration.desk_org.portal},
            )
            return redirect("crm:setup", portal=request.org.portal)
    return _page(request, status=400, connect_form=form)


STATE_MESSAGES = {
    "enable": gettext_lazy("Sync enabled."),
    "pause": gettext_lazy("Sync paused."),
    "resume": gettext_lazy("Sync resumed."),
    "deactivate": gettext_lazy("Integration deactivated: nothing is synced."),
    "reactivate": gettext_lazy("Integration reactivated."),
}


@require_POST
@crm_admin
def state(request: HttpRequest) -> HttpResponse:
    integration = _integration(request)
    if integration is None:
        return redirect("crm:setup", portal=request.org.portal)
    action = request.POST.get("action", "")
    try:
        svc.integration_transition(actor=request.membership, integration=integration, action=action)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _page(request, status=400)
    messages.success(request, str(STATE_MESSAGES.get(action, "")))
    return redirect("crm:setup", portal=request.org.portal)


@require_POST
@crm_admin
def options(request: HttpRequest) -> HttpResponse:
    integration = _integration(request)
    if integration is None:
        return redirect("crm:setup", portal=request.org.portal)
    departments = DeskConnector(integration).departments()
    form = OptionsForm(request.POST, departments=departments)
    if form.is_valid():
        try:
            svc.integration_options(
                actor=request.membership,
                integration=integration,
                direction=form.cleaned_data["direction"],
                match_secondary_email=form.cleaned_data["match_secondary_email"],
                product_department_ids=form.cleaned_data["departments"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Sync settings saved."))
            return redirect("crm:setup", portal=request.org.portal)
    return _page(request, status=400, options_form=form)


@require_POST
@crm_admin
def reauthorise(request: HttpRequest) -> HttpResponse:
    integration = _integration(request)
    if integration is None:
        return redirect("crm:setup", portal=request.org.portal)
    form = ReauthoriseForm(request.POST)
    if form.is_valid():
        try:
            svc.integration_reauthorise(
                actor=request.membership,
                integration=integration,
                admin_email=form.cleaned_data["admin_email"],
                key=form.cleaned_data["key"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Integration re-authorised."))
            return redirect("crm:setup", portal=request.org.portal)
    return _page(request, status=400, reauthorise_form=form)


@require_POST
@crm_admin
def invite(request: HttpRequest) -> HttpResponse:
    integration = _integration(request)
    if integration is None:
        return redirect("crm:setup", portal=request.org.portal)
    _mutual, _invited, others = _people(request.org, integration)
    candidates = selectors.crm_members(request.org).filter(pk__in=[m.pk for m in others])
    form = InviteForm(request.POST, candidates=candidates)
    if form.is_valid():
        member = form.cleaned_data["member"]
        try:
            _membership, invitation = svc.desk_invite(
                actor=request.membership,
                integration=integration,
                member=member,
                desk_role=form.cleaned_data["desk_role"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            if invitation is not None:
                text = _("%(email)s is invited to the desk.")
            else:
                text = _("%(email)s now has a desk account.")
            messages.success(request, text % {"email": member.user.email})
            return redirect("crm:setup", portal=request.org.portal)
    return _page(request, status=400, invite_form=form)


@crm_admin
def remove(request: HttpRequest) -> HttpResponse:
    integration = _integration(request)
    if integration is None:
        return redirect("crm:setup", portal=request.org.portal)
    if request.method == "POST":
        svc.integration_remove(actor=request.membership, integration=integration)
        messages.success(request, _("Integration removed: nothing more is synced."))
        return redirect("crm:setup", portal=request.org.portal)
    return crm_render(request, "crm/setup_remove.html", {"integration": integration})


@require_POST
@crm_admin
def settings(request: HttpRequest) -> HttpResponse:
    form = SettingsForm(request.POST)
    if form.is_valid():
        try:
            svc.crm_settings_save(
                actor=request.membership,
                currency=form.cleaned_data["currency"],
                desk_tab=form.cleaned_data["desk_tab"],
                ticket_modules=form.cleaned_data["ticket_modules"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("CRM settings saved."))
            return redirect("crm:setup", portal=request.org.portal)
    return _page(request, status=400, settings_form=form)
