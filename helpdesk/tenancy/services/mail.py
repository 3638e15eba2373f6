"""Account emails (invitations, password resets), rendered in the recipient's language.

Called by Celery tasks with IDs; each re-reads its rows and does nothing when the work is no
longer wanted (an accepted invitation, a deactivated user)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from helpdesk.mail import build_email

from ..models import Invitation, User
from .invitations import invitation_token


def _send(*, to: str, language: str, template: str, context: dict) -> None:
    build_email(f"emails/{template}", context, language, to=[to]).send()


def invitation_send(*, org_id: int, invitation_id: int) -> bool:
    """Mail the current link of an invitation; False if there is nothing to send."""
    invitation = (
        Invitation.objects.filter(org_id=org_id, pk=invitation_id, accepted_at=None)
        .select_related("org", "membership__user", "invited_by")
        .first()
    )
    if invitation is None or invitation.is_expired:
        return False
    org, user = invitation.org, invitation.membership.user
    url = settings.SITE_URL + reverse(
        "invitation_accept", kwargs={"portal": org.portal, "token": invitation_token(invitation)}
    )
    _send(
        to=invitation.email,
        language=user.language,
        template="invitation",
        context={
            "org": org,
            "user": user,
            "url": url,
            "inviter": invitation.invited_by,
            "expires_at": invitation.expires_at,
        },
    )
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now())
    return True


def password_reset_send(*, user_id: int) -> bool:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_usable_password():
        return False
    url = settings.SITE_URL + reverse(
        "password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    _send(
        to=user.email,
        language=user.language,
        template="password_reset",
        context={"user": user, "url": url},
    )
    return True


def signup_confirmation_send(*, email: str, portal: str, url: str, language: str) -> bool:
    """The link that finishes a sign-up (services/signup.py). Nothing is stored before the
    link is opened, so the task carries the address and the link instead of IDs."""
    _send(
        to=email,
        language=language,
        template="signup_confirm",
        context={"portal": portal, "url": url, "hours": 48},
    )
    return True


def signup_attempt_send(*, user_id: int) -> bool:
    """Tell an account's owner that someone tried to sign up with their address: the sign-up
    page answers the same as for a new address, so only the owner learns it has an account."""
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return False
    _send(
        to=user.email,
        language=user.language,
        template="signup_attempt",
        context={
            "user": user,
            "login_url": settings.SITE_URL + reverse("login"),
            "reset_url": settings.SITE_URL + reverse("password_reset"),
        },
    )
    return True
