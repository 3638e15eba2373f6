"""Customers' sign-in to the help center (TKT-08): passwordless, by mailed links.

- Sign-up asks a name and an address and mails a confirmation link; sign-in mails a magic
  link. Either link names a `SignInLink` row, is signed with the site's key and a salt of the
  organization (a link of one portal means nothing on another), expires, and is used once.
  Opening it shows a button; only the POST uses it (mail scanners open links).
- Using a link finds or creates the contact by the address through the customers service, and
  keeps the contact in the session under a key of the organization: a help-center session is
  per portal and is not a staff sign-in (members' auth is untouched).
- The page answers the same whatever the address; mails to one address and from one client
  address are limited per hour (counted on the link rows).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from customers.models import Contact
from customers.services import contact_get_or_create_by_email
from helpdesk.tenancy.models import Organization

from .mails import link_salt
from .models import SignInLink

LINK_TTL = {
    SignInLink.Purpose.SIGNUP: dt.timedelta(hours=24),
    SignInLink.Purpose.SIGNIN: dt.timedelta(minutes=30),
}
MAILS_PER_ADDRESS_PER_HOUR = 5
MAILS_PER_CLIENT_PER_HOUR = 20


class RateLimited(Exception):
    """Too many sign-in mails for this address or from this client; try later."""


class LinkInvalid(Exception):
    """Forged, damaged, expired, of another portal, or used already."""


def _normalize(email: str) -> str:
    return (email or "").strip().lower()


def _check_rate(org: Organization, email: str, ip: str | None) -> None:
    """Counted on the link rows of the last hour (in the database: nothing to lose on a cache
    restart), per address and per client address of this portal."""
    recent = SignInLink.objects.for_org(org).filter(
        created_at__gte=timezone.now() - dt.timedelta(hours=1)
    )
    if recent.filter(email=email).count() >= MAILS_PER_ADDRESS_PER_HOUR:
        raise RateLimited
    if ip and recent.filter(ip_address=ip).count() >= MAILS_PER_CLIENT_PER_HOUR:
        raise RateLimited


@transaction.atomic
def link_request(
    *,
    org: Organization,
    email: str,
    purpose: str,
    name: str = "",
    next_path: str = "",
    ip: str | None = None,
) -> SignInLink:
    """Store a link and mail it after commit. ValidationError for a bad address or a missing
    name on sign-up; RateLimited past the hourly limits (nothing is mailed)."""
    email = _normalize(email)
    errors: dict[str, list[str]] = {}
    try:
        validate_email(email)
    except ValidationError:
        errors["email"] = [_("Enter a valid email address.")]
    name = (name or "").strip()
    if purpose == SignInLink.Purpose.SIGNUP and not name:
        errors["name"] = [_("Enter your name.")]
    if purpose not in SignInLink.Purpose.values:
        raise ValueError(purpose)
    if errors:
        raise ValidationError(errors)
    _check_rate(org, email, ip)
    link = SignInLink.objects.create(
        org=org,
        email=email,
        name=name[:200],
        purpose=purpose,
        next_path=next_path if _is_help_path(org, next_path) else "",
        ip_address=ip or None,
        language=get_language() or settings.LANGUAGE_CODE,
        expires_at=timezone.now() + LINK_TTL[SignInLink.Purpose(purpose)],
    )
    from .tasks import signin_link_mail_task

    transaction.on_commit(partial(signin_link_mail_task.delay, org.pk, link.pk))
    return link


def _is_help_path(org: Organization, path: str) -> bool:
    """Only our own help-center pages are places to return to after signing in."""
    return (
        bool(path)
        and path.startswith(f"/{org.portal}/help/")
        and "//" not in path
        and "\\" not in path
    )


def link_read(*, org: Organization, token: str) -> SignInLink:
    """The unused, unexpired link `token` names in `org`; LinkInvalid otherwise."""
    longest = max(LINK_TTL.values())
    try:
        data = signing.loads(token, salt=link_salt(org.pk), max_age=longest)
        pk = int(data["l"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid from exc
    link = SignInLink.objects.for_org(org).filter(pk=pk).first()
    if link is None or link.used_at is not None or link.expires_at <= timezone.now():
        raise LinkInvalid
    return link


@transaction.atomic
def link_use(*, org: Organization, token: str) -> tuple[Contact, SignInLink]:
    """Use the link once: claim it (a conditional UPDATE, so two clicks sign in once), then
    find or create the contact by its address. LinkInvalid when it cannot be used."""
    link = link_read(org=org, token=token)
    claimed = (
        SignInLink.objects.for_org(org)
        .filter(pk=link.pk, used_at=None)
        .update(used_at=timezone.now())
    )
    if not claimed:
        raise LinkInvalid
    contact, _created = contact_get_or_create_by_email(org=org, email=link.email, name=link.name)
    return contact, link


# --- The session ---------------------------------------------------------------------------------
def _session_key(org: Organization) -> str:
    return f"helpcenter:{org.pk}"


@dataclass(frozen=True)
class Customer:
    contact: Contact
    email: str


def session_sign_in(request: HttpRequest, org: Organization, contact: Contact, email: str) -> None:
    """Keep the contact for this portal only. A new session key (no fixation); a staff
    sign-in in the same browser stays as it was."""
    request.session.cycle_key()
    request.session[_session_key(org)] = {"contact": contact.pk, "email": _normalize(email)}


def session_sign_out(request: HttpRequest, org: Organization) -> None:
    request.session.pop(_session_key(org), None)


def session_customer(request: HttpRequest, org: Organization) -> Customer | None:
    """The signed-in customer of this portal, if the contact still has the address they signed
    in with (an agent changing the contact's address ends the session)."""
    data = request.session.get(_session_key(org))
    if not isinstance(data, dict):
        return None
    try:
        pk, email = int(data["contact"]), str(data["email"])
    except (KeyError, TypeError, ValueError):
        return None
    contact = Contact.objects.for_org(org).filter(pk=pk).select_related("account").first()
    if contact is None or email not in (
        _normalize(contact.email),
        _normalize(contact.secondary_email),
    ):
        return None
    return Customer(contact=contact, email=email)
