"""Sign-up of a new person (ORG-02) without telling anyone whether an address has an account.

The sign-up form creates nothing. It validates the organization's name and portal, then
mails the address: a new address gets a signed link that carries the sign-up (no password,
nothing stored), and the owner of an existing account gets a note that someone tried to sign
up with it. The page answers the same either way. Opening the link and choosing a password
creates the person and the organization; the link then stops working, because the address
has an account.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import partial

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from ..models import Membership, User
from .organizations import organization_signup, portal_validate

SIGNUP_SALT = "madoguchi.signup"
SIGNUP_LINK_MAX_AGE = 60 * 60 * 48  # seconds a sign-up link works


@dataclass(frozen=True)
class PendingSignup:
    """What the sign-up form asked for, as the mailed link carries it."""

    org_name: str
    portal: str
    full_name: str
    email: str
    language: str


def _normalize_email(email: str) -> str:
    return User.objects.normalize_email(email).strip().lower()


def signup_token(pending: PendingSignup) -> str:
    return signing.dumps(asdict(pending), salt=SIGNUP_SALT, compress=True)


def signup_read(token: str) -> PendingSignup | None:
    """The sign-up a link carries; None when it is forged, damaged or older than 48 hours."""
    try:
        data = signing.loads(token, salt=SIGNUP_SALT, max_age=SIGNUP_LINK_MAX_AGE)
        return PendingSignup(**data)
    except (signing.BadSignature, TypeError):
        return None


def email_has_account(email: str) -> bool:
    return User.objects.filter(email__iexact=_normalize_email(email)).exists()


def signup_request(
    *, org_name: str, portal: str, full_name: str, email: str, language: str
) -> None:
    """Check the organization's name and portal, then mail `email`: a link to finish signing
    up, or, when the address already has an account, a note to its owner. Nothing else
    happens, so the caller answers the same in both cases."""
    from ..tasks import send_signup_attempt_email_task, send_signup_confirmation_email_task

    try:
        portal = portal_validate(portal)
    except ValidationError as exc:
        raise ValidationError({"portal": exc.messages}) from exc
    email = _normalize_email(email)
    owner = User.objects.filter(email__iexact=email).only("pk", "is_active").first()
    if owner is not None:
        if owner.is_active:  # a deactivated account has nobody to tell
            transaction.on_commit(partial(send_signup_attempt_email_task.delay, owner.pk))
        return
    pending = PendingSignup(
        org_name=org_name.strip(),
        portal=portal,
        full_name=full_name.strip(),
        email=email,
        language=language,
    )
    url = settings.SITE_URL + reverse("signup_confirm", kwargs={"token": signup_token(pending)})
    transaction.on_commit(
        partial(
            send_signup_confirmation_email_task.delay,
            email=email,
            portal=portal,
            url=url,
            language=language,
        )
    )


def signup_complete(*, pending: PendingSignup, password: str) -> Membership:
    """Create the person and the organization of a confirmed sign-up (ORG-02). Refused when
    the address has an account by now (the link was used) or the portal was taken since."""
    return organization_signup(
        org_name=pending.org_name,
        portal=pending.portal,
        full_name=pending.full_name,
        email=pending.email,
        password=password,
        language=pending.language,
    )
