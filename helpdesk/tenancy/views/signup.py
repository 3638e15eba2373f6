"""Sign-up pages (ORG-02): the form, "check your email", and the mailed link's page.

A new person's sign-up answers the same whether or not the address already has an account
(services/signup.py mails the address instead), so the form cannot be used to find out who
has one."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from helpdesk.http import apply_errors

from ..forms import OrganizationForm, SignupForm, SignupPasswordForm
from ..services.organizations import organization_create
from ..services.signup import email_has_account, signup_complete, signup_read, signup_request

SESSION_EMAIL = "signup_email"


def _welcome(request: HttpRequest, membership) -> HttpResponse:
    messages.success(request, _("Welcome to Madoguchi! Your desk is ready."))
    return redirect("org_home", portal=membership.org.portal)


def signup(request: HttpRequest) -> HttpResponse:
    """ORG-02: a new organization. A signed-in person names it and has it at once; a new
    person is sent a link by mail, whatever the address."""
    if request.user.is_authenticated:
        form = OrganizationForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                membership = organization_create(
                    user=request.user,
                    name=form.cleaned_data["org_name"],
                    portal=form.cleaned_data["portal"],
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                return _welcome(request, membership)
        return render(request, "account/signup.html", {"form": form})

    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            signup_request(
                org_name=data["org_name"],
                portal=data["portal"],
                full_name=data["full_name"],
                email=data["email"],
                language=getattr(request, "LANGUAGE_CODE", settings.LANGUAGE_CODE)[:2],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            request.session[SESSION_EMAIL] = data["email"]
            return redirect("signup_sent")
    return render(request, "account/signup.html", {"form": form})


def signup_sent(request: HttpRequest) -> HttpResponse:
    """The one answer to every accepted sign-up: check your email."""
    return render(
        request, "account/signup_sent.html", {"email": request.session.get(SESSION_EMAIL, "")}
    )


def signup_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The mailed link: choose a password, and the organization is created (ORG-02)."""
    pending = signup_read(token)
    if pending is None:
        return render(
            request, "account/signup_link_invalid.html", {"problem": "invalid"}, status=410
        )
    if email_has_account(pending.email):
        return render(request, "account/signup_link_invalid.html", {"problem": "used"}, status=410)
    form = SignupPasswordForm(
        request.POST or None, email=pending.email, full_name=pending.full_name
    )
    if request.method == "POST" and form.is_valid():
        try:
            membership = signup_complete(pending=pending, password=form.cleaned_data["password1"])
        except ValidationError as exc:
            if email_has_account(pending.email):  # the link was used in another tab meanwhile
                return render(
                    request, "account/signup_link_invalid.html", {"problem": "used"}, status=410
                )
            apply_errors(form, exc)
        else:
            login(request, membership.user, backend="django.contrib.auth.backends.ModelBackend")
            request.session.pop(SESSION_EMAIL, None)
            return _welcome(request, membership)
    return render(
        request,
        "account/signup_confirm.html",
        {"form": form, "pending": pending},
        status=400 if form.errors else 200,
    )
