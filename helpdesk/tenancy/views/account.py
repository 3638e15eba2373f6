"""Public and personal pages: sign-up, the organization switcher, language, invitations,
health."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk.http import apply_errors

from .. import crosstenant
from ..forms import AcceptInvitationForm, LanguageForm
from ..middleware import tenant_public
from ..models import Membership
from ..services.invitations import (
    invitation_accept,
    invitation_from_token,
    invitation_problem,
)


def home(request: HttpRequest) -> HttpResponse:
    """Land on the last organization used, the switcher when there are several, or log in."""
    if not request.user.is_authenticated:
        return redirect("login")
    memberships = crosstenant.memberships_of(request.user)
    last = request.session.get("last_portal")
    for m in memberships:
        if m.org.portal == last:
            return redirect("org_home", portal=m.org.portal)
    if len(memberships) == 1:
        return redirect("org_home", portal=memberships[0].org.portal)
    return redirect("org_list")


@login_required
def org_list(request: HttpRequest) -> HttpResponse:
    """ORG-08: the organizations this person belongs to."""
    return render(
        request,
        "account/org_list.html",
        {
            "memberships": crosstenant.memberships_of(request.user),
            "invited": crosstenant.memberships_of(request.user, status=Membership.Status.INVITED),
        },
    )


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch the UI language; stored on the user when signed in, in a cookie otherwise."""
    form = LanguageForm(request.POST)
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(
        next_url, {request.get_host()}, require_https=request.is_secure()
    ):
        next_url = "/"
    response = redirect(next_url)
    if form.is_valid():
        language = form.cleaned_data["language"]
        if request.user.is_authenticated:
            request.user.language = language
            request.user.save(update_fields=["language"])
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            samesite="Lax",
            max_age=365 * 24 * 3600,
            secure=settings.SESSION_COOKIE_SECURE,
        )
    return response


@tenant_public
def invitation_accept_view(request: HttpRequest, token: str) -> HttpResponse:
    """The one-time invitation link (ORG-06)."""
    org = request.portal_org
    invitation = invitation_from_token(org=org, token=token)
    if invitation is None:
        # The same page as a portal that does not exist: a guessed link learns nothing.
        raise Http404
    request.org = org  # the link is genuine: its page may name the organization
    problem = invitation_problem(invitation)
    if problem:
        return render(
            request,
            "account/invitation_invalid.html",
            {"problem": problem, "org": org},
            status=410,
        )
    invited = invitation.membership.user
    needs_password = not invited.has_usable_password()
    form = AcceptInvitationForm(request.POST or None, initial={"full_name": invited.full_name})
    if request.method == "POST" and (not needs_password or form.is_valid()):
        try:
            membership = invitation_accept(
                invitation=invitation,
                user=request.user if request.user.is_authenticated else None,
                full_name=form.cleaned_data.get("full_name", "") if needs_password else "",
                password=form.cleaned_data.get("password1") if needs_password else None,
            )
        except PermissionDenied as exc:
            messages.error(request, str(exc))
            return redirect(f"{reverse('login')}?next={request.path}")
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("You have joined %(org)s.") % {"org": org.name})
            return redirect("org_home", portal=org.portal)
    return render(
        request,
        "account/invitation_accept.html",
        {
            "form": form,
            "invitation": invitation,
            "needs_password": needs_password,
            "invited": invited,
            "signed_in_as_other": request.user.is_authenticated and request.user.pk != invited.pk,
        },
    )


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness of the database and the broker, for load balancers and compose."""
    from helpdesk.celery import app as celery_app

    report: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        report["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means "down"
        report["database"] = f"error: {exc.__class__.__name__}"
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        report["broker"] = "ok"
    except Exception as exc:  # noqa: BLE001
        report["broker"] = f"error: {exc.__class__.__name__}"
    healthy = all(v == "ok" for v in report.values())
    return JsonResponse(
        {"status": "ok" if healthy else "error", **report}, status=200 if healthy else 503
    )
