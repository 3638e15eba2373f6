"""My profile (issue 8, item 6): the signed-in member's name, password, time zone, language,
signature and mail preferences, on one page of two forms."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.translation import gettext as _

from helpdesk.http import apply_errors

from ..forms import ProfileForm
from ..notifications import MailEvent
from ..services.profile import profile_update


def profile(request: HttpRequest) -> HttpResponse:
    """Every member has one (the middleware has checked the membership). The button pressed
    (`section`) says which form was sent; the other one shows as stored."""
    member, user = request.membership, request.user
    section = request.POST.get("section") if request.method == "POST" else None
    profile_form = ProfileForm(
        request.POST if section == "profile" else None,
        initial={
            "full_name": user.full_name,
            "time_zone": user.time_zone,
            "language": user.language,
            "signature": member.signature,
            "mail_events": [e for e in MailEvent.values if e not in member.muted_mail_events],
        },
    )
    password_form = PasswordChangeForm(user, request.POST if section == "password" else None)
    # Django focuses the old password; on this page the first field is the name.
    password_form.fields["old_password"].widget.attrs.pop("autofocus", None)
    if section == "profile" and profile_form.is_valid():
        data = profile_form.cleaned_data
        try:
            member = profile_update(
                member=member,
                full_name=data["full_name"],
                time_zone=data["time_zone"],
                language=data["language"],
                signature=data["signature"],
                mail_events=data["mail_events"],
            )
        except ValidationError as exc:
            apply_errors(profile_form, exc)
        else:
            language = member.user.language  # the message speaks the language just chosen
            translation.activate(language)
            messages.success(request, _("Your profile is saved."))
            response = redirect("profile", portal=request.org.portal)
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                samesite="Lax",
                max_age=365 * 24 * 3600,
                secure=settings.SESSION_COOKIE_SECURE,
            )
            return response
    if section == "password" and password_form.is_valid():
        password_form.save()
        update_session_auth_hash(request, password_form.user)  # stay signed in here
        messages.success(request, _("Your password is changed."))
        return redirect("profile", portal=request.org.portal)
    failed = profile_form.errors or password_form.errors
    return render(
        request,
        "account/profile.html",
        {"profile_form": profile_form, "password_form": password_form},
        status=400 if failed else 200,
    )
