"""Signing in under django-axes (settings: AXES_*): how failures are keyed to an account, the
login page's answer while sign-in is paused, and lifting an account's pause when its owner
resets the password through the mailed link."""

from __future__ import annotations

from axes.helpers import get_cool_off
from axes.utils import reset as axes_reset
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..models import User


def signin_key(email: str) -> str:
    """The account a sign-in names: one key for every spelling of an address, so changing
    its case does not buy a guesser new attempts."""
    return User.objects.normalize_email(email or "").strip().lower()


def signin_username(request: HttpRequest, credentials: dict | None) -> str:
    """AXES_USERNAME_CALLABLE: the account a failed sign-in counts against."""
    value = (credentials or {}).get("username")
    if value is None:
        value = request.POST.get("username", "")
    return signin_key(str(value))


def signin_locked_out(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login page again, saying that signing in is paused and how
    to get back in (wait, or reset the password). Status 429 Too Many Requests."""
    cool_off = get_cool_off(request)
    minutes = max(1, round(cool_off.total_seconds() / 60)) if cool_off else 0
    form = AuthenticationForm(request, initial={"username": signin_username(request, credentials)})
    return render(
        request,
        "account/login.html",
        {
            "form": form,
            "locked_out": True,
            "lockout_minutes": minutes,
            "next": request.POST.get("next", ""),
        },
        status=429,
    )


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """The mailed reset link. Choosing a new password also clears the failed sign-ins of the
    account (and with them the owner's own failures from their address): the link proves the
    mailbox, and guesses at the old password are worthless now."""

    template_name = "account/password_reset_confirm.html"

    def form_valid(self, form):
        response = super().form_valid(form)
        axes_reset(username=signin_key(form.user.email))
        return response
