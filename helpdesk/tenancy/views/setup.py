"""The admin panel: organization, plan, account admin, users and roles (ORG-05..07)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Case, Count, IntegerField, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors, query_text

from ..forms import (
    InviteForm,
    MemberAccessForm,
    OrganizationDetailsForm,
    PlanForm,
    PortalForm,
    TransferForm,
)
from ..models import AdminLevel, App, Department, Membership, Organization
from ..permissions import (
    Power,
    can_manage_roles,
    has_power,
    require_account_admin,
    require_any_admin,
    require_power,
    require_suite_admin,
)
from ..services import members as member_services
from ..services import organizations as org_services


def _member(request: HttpRequest, member_id: int) -> Membership:
    """A member of the current organization; 404 for anyone else's."""
    member = get_object_or_404(
        Membership.objects.for_org(request.org).select_related("user"), pk=member_id
    )
    member.org = request.org
    return member


@require_any_admin
def setup_home(request: HttpRequest) -> HttpResponse:
    org = request.org
    counts = Membership.objects.for_org(org).aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in Membership.Status.values}
    )
    return render(
        request,
        "setup/home.html",
        {
            "counts": counts,
            "seats_used": org_services.seats_used(org),
            "seat_limit": org.limit("users"),
            "departments": Department.objects.for_org(org).count(),
        },
    )


# --- Organization (account admin) ------------------------------------------------------------
def _organization_page(request: HttpRequest, status: int = 200, **forms) -> HttpResponse:
    org, actor = request.org, request.membership
    context = {
        "details_form": OrganizationDetailsForm(instance=org),
        "portal_form": PortalForm(initial={"portal": org.portal}),
        "plan_form": PlanForm(initial={"plan": org.plan}),
        "transfer_form": TransferForm(org=org, exclude=actor),
        "account_admin": Membership.objects.for_org(org)
        .filter(admin_level="account")
        .select_related("user")
        .first(),
        "aliases": org.aliases.order_by("-created_at"),
        "can_edit": actor.is_account_admin,
        "can_change_plan": has_power(actor, Power.CHANGE_PLAN),
    }
    context.update(forms)
    return render(request, "setup/organization.html", context, status=status)


@require_any_admin
def organization(request: HttpRequest) -> HttpResponse:
    return _organization_page(request)


def _organization_post(request: HttpRequest, name: str, form, action, done: str) -> HttpResponse:
    """Validate `form`, run the service; on error show the page again with the form's errors
    and nothing changed."""
    if form.is_valid():
        try:
            action(form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect("setup:organization", portal=request.org.portal)
    request.org.refresh_from_db()
    return _organization_page(request, status=400, **{name: form})


@require_POST
@require_account_admin
def organization_details(request: HttpRequest) -> HttpResponse:
    org = Organization.objects.get(pk=request.org.pk)  # a copy: the form mutates its instance
    form = OrganizationDetailsForm(request.POST, instance=org)
    return _organization_post(
        request,
        "details_form",
        form,
        lambda d: org_services.organization_update_details(
            actor=request.membership,
            name=d["name"],
            time_zone=d["time_zone"],
            phone=d["phone"],
            website=d["website"],
            address=d["address"],
        ),
        _("Organization details saved."),
    )


@require_POST
@require_account_admin
def organization_portal(request: HttpRequest) -> HttpResponse:
    return _organization_post(
        request,
        "portal_form",
        PortalForm(request.POST),
        lambda d: org_services.organization_change_portal(
            actor=request.membership, org=request.org, portal=d["portal"]
        ),
        _("The portal URL was changed. Old links keep redirecting."),
    )


@require_POST
@require_power(Power.CHANGE_PLAN)
def organization_plan(request: HttpRequest) -> HttpResponse:
    return _organization_post(
        request,
        "plan_form",
        PlanForm(request.POST),
        lambda d: org_services.organization_change_plan(
            actor=request.membership, org=request.org, plan=d["plan"]
        ),
        _("The plan was changed."),
    )


@require_POST
@require_account_admin
def organization_transfer(request: HttpRequest) -> HttpResponse:
    form = TransferForm(request.POST, org=request.org, exclude=request.membership)
    return _organization_post(
        request,
        "transfer_form",
        form,
        lambda d: org_services.organization_transfer_account_admin(
            actor=request.membership, target=d["member"]
        ),
        _("The account administrator role was handed over."),
    )


# --- Users -----------------------------------------------------------------------------------
STATUS_FILTERS = {
    "all": Q(),
    "active": Q(status=Membership.Status.ACTIVE),
    "invited": Q(status=Membership.Status.INVITED),
    "deactivated": Q(status=Membership.Status.DEACTIVATED),
}


@require_any_admin
def users(request: HttpRequest) -> HttpResponse:
    """Users with their apps and roles; filter by status, search by name or email."""
    status = query_text(request, "status", 20) or "all"
    query = query_text(request)
    rows = (
        Membership.objects.for_org(request.org)
        .filter(STATUS_FILTERS.get(status, Q()))
        .select_related("user")
        .annotate(
            is_owner=Case(
                When(admin_level="account", then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("is_owner", "user__full_name", "user__email")
    )
    if query:
        rows = rows.filter(Q(user__full_name__icontains=query) | Q(user__email__icontains=query))
    context = {
        "rows": rows,
        "status": status,
        "q": query,
        "statuses": STATUS_FILTERS.keys(),
        "seats_used": org_services.seats_used(request.org),
        "seat_limit": request.org.limit("users"),
    }
    if request.htmx and request.htmx.target == "user-rows":
        return render(request, "setup/users.html#user-rows", context)
    return render(request, "setup/users.html", context)


@require_suite_admin
def user_invite(request: HttpRequest) -> HttpResponse:
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation = member_services.member_invite(
                actor=request.membership,
                email=form.cleaned_data["email"],
                full_name=form.cleaned_data["full_name"],
                roles=form.roles(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Invitation sent to %(email)s.") % {"email": invitation.email}
            )
            return redirect("setup:users", portal=request.org.portal)
    return render(
        request,
        "setup/user_invite.html",
        {
            "form": form,
            "seats_used": org_services.seats_used(request.org),
            "seat_limit": request.org.limit("users"),
        },
        status=400 if form.errors else 200,
    )


@require_any_admin
def user_detail(request: HttpRequest, member_id: int) -> HttpResponse:
    member = _member(request, member_id)
    actor = request.membership
    form = MemberAccessForm(
        request.POST or None,
        member=member,
        initial={
            "desk_role": member.desk_role,
            "crm_role": member.crm_role,
            "chat_role": member.chat_role,
            "admin_level": member.admin_level,
            "admin_app": member.admin_app,
        },
    )
    if request.method == "POST" and form.is_valid():
        try:
            member_services.member_set_access(
                actor=actor,
                member=member,
                roles=form.roles(),
                admin_level=form.cleaned_data["admin_level"]
                if actor.is_suite_admin and not member.is_account_admin
                else None,
                admin_app=form.cleaned_data["admin_app"],
                reports_to=form.cleaned_data["reports_to"]
                if has_power(actor, Power.MANAGE_USERS)
                else ...,
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request, _("Access for %(name)s saved.") % {"name": member.user.display_name}
            )
            return redirect("setup:user_detail", portal=request.org.portal, member_id=member.pk)
    # Only the fields this admin may change are editable.
    for app in App.values:
        if not can_manage_roles(actor, app) or (member.is_account_admin and member != actor):
            form.fields[f"{app}_role"].disabled = True
    if not has_power(actor, Power.MANAGE_USERS):
        form.fields["reports_to"].disabled = True
    if not actor.is_suite_admin or member.is_account_admin or member.pk == actor.pk:
        form.fields["admin_level"].disabled = True
        form.fields["admin_app"].disabled = True
    if member.is_account_admin:
        # Nobody picks "account admin" here (it is handed over), but the account admin's
        # page must say it rather than the first choice, "None".
        form.fields["admin_level"].choices = AdminLevel.choices
    return render(
        request,
        "setup/user_detail.html",
        {
            "member": member,
            "form": form,
            "departments": Department.objects.for_org(request.org)
            .filter(departmentagent__user=member.user)
            .distinct(),
        },
        status=400 if form.errors else 200,
    )


def _member_action(request: HttpRequest, member_id: int, action, done: str) -> HttpResponse:
    member = _member(request, member_id)
    try:
        action(actor=request.membership, member=member)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done % {"name": member.user.display_name})
    if request.htmx and action is not member_services.member_delete:
        member.refresh_from_db()
        return render(
            request, "setup/users.html#user-row", {"row": member, "membership": request.membership}
        )
    return redirect("setup:users", portal=request.org.portal)


@require_POST
@require_suite_admin
def user_reinvite(request: HttpRequest, member_id: int) -> HttpResponse:
    return _member_action(
        request,
        member_id,
        member_services.member_reinvite,
        _("A new invitation was sent to %(name)s."),
    )


@require_POST
@require_suite_admin
def user_activate(request: HttpRequest, member_id: int) -> HttpResponse:
    return _member_action(
        request, member_id, member_services.member_activate, _("%(name)s was activated.")
    )


@require_POST
@require_suite_admin
def user_deactivate(request: HttpRequest, member_id: int) -> HttpResponse:
    return _member_action(
        request, member_id, member_services.member_deactivate, _("%(name)s was deactivated.")
    )


@require_suite_admin
def user_delete(request: HttpRequest, member_id: int) -> HttpResponse:
    if request.method != "POST":
        return render(request, "setup/user_delete.html", {"member": _member(request, member_id)})
    return _member_action(
        request,
        member_id,
        member_services.member_delete,
        _("%(name)s was removed from the organization."),
    )


@require_suite_admin
def user_export(request: HttpRequest, member_id: int) -> HttpResponse:
    member = _member(request, member_id)
    data = member_services.member_export(actor=request.membership, member=member)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    name = slugify(member.user.email.replace("@", "-at-")) or "user"
    response["Content-Disposition"] = f'attachment; filename="{name}-{request.org.portal}.json"'
    return response
