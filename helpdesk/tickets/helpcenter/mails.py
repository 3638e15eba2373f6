"""The help center's mails (TKT-08, TKT-04): the sign-up and sign-in links, and the rating
mail of a closed ticket, each sent once (claimed in the cache). The links' tokens are made
here too. The tasks import this module and it imports no module that enqueues them, so
there is no import cycle (`auth` and `ratings` enqueue; they import from here)."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from customers.models import Contact
from helpdesk.mail import build_email
from helpdesk.tenancy.models import Organization

from ..models import StatusKind, Ticket
from ..services.mail import department_from_address
from .models import HelpCenterSettings, RatingValue, SignInLink

CLAIM_SECONDS = 7 * 24 * 3600


# --- Signed links --------------------------------------------------------------------------------
def link_salt(org_id: int) -> str:
    """Sign-in links of one organization: a link of one portal means nothing on another."""
    return f"madoguchi.helpcenter.link.{org_id}"


def rating_salt(org_id: int) -> str:
    return f"madoguchi.helpcenter.rating.{org_id}"


def link_token(link: SignInLink) -> str:
    return signing.dumps({"l": link.pk}, salt=link_salt(link.org_id))


def link_url(link: SignInLink, portal: str) -> str:
    return settings.SITE_URL + reverse(
        "help:link", kwargs={"portal": portal, "token": link_token(link)}
    )


def rating_token(ticket: Ticket, contact: Contact) -> str:
    """A rating link's token, signed for one ticket and its contact."""
    return signing.dumps({"t": ticket.pk, "c": contact.pk}, salt=rating_salt(ticket.org_id))


def rating_urls(ticket: Ticket, contact: Contact, portal: str) -> dict[str, str]:
    base = settings.SITE_URL + reverse(
        "help:rate", kwargs={"portal": portal, "token": rating_token(ticket, contact)}
    )
    return {value: f"{base}?value={value}" for value in RatingValue.values}


# --- The mails -----------------------------------------------------------------------------------
def signin_link_mail_send(*, org_id: int, link_id: int) -> bool:
    """Mail a sign-up or sign-in link to its address, once; skipped when the link is used or
    expired by now."""
    link = SignInLink.objects.for_org(org_id).filter(pk=link_id, used_at=None).first()
    if link is None or link.expires_at <= timezone.now():
        return False
    org = Organization.objects.get(pk=org_id)
    # The row's time in the key: ids start again in a new database, the cache may not.
    key = f"helpcenter:link-mail:{org_id}:{link_id}:{link.created_at.timestamp()}"
    if not cache.add(key, 1, CLAIM_SECONDS):
        return False
    hc = HelpCenterSettings.objects.for_org(org_id).first()
    template = (
        "helpcenter/emails/signup"
        if link.purpose == SignInLink.Purpose.SIGNUP
        else "helpcenter/emails/signin"
    )
    message = build_email(
        template,
        {
            "org": org,
            "site_title": (hc.title if hc is not None else "") or org.name,
            "link": link,
            "url": link_url(link, org.portal),
            "minutes": int((link.expires_at - link.created_at).total_seconds() // 60),
        },
        link.language or settings.LANGUAGE_CODE,
        to=[link.email],
    )
    try:
        message.send()
    except Exception:
        cache.delete(key)
        raise
    return True


def rating_mail_send(*, org_id: int, ticket_id: int) -> bool:
    """Mail the contact of a closed ticket the links to rate it, once per closing. False when
    skipped: no longer closed, no contact address, or the organization turned it off."""
    ticket = (
        Ticket.objects.for_org(org_id)
        .filter(pk=ticket_id, status_kind=StatusKind.CLOSED)
        .select_related("contact", "department", "org")
        .defer("search_vector")
        .first()
    )
    if ticket is None or ticket.contact is None or not ticket.contact.email:
        return False
    hc = HelpCenterSettings.objects.for_org(org_id).first()
    if hc is not None and not hc.rating_mail:
        return False
    closed = ticket.closed_at.isoformat() if ticket.closed_at else ""
    key = f"helpcenter:rating-mail:{org_id}:{ticket_id}:{closed}"
    if not cache.add(key, 1, CLAIM_SECONDS):
        return False
    urls = rating_urls(ticket, ticket.contact, ticket.org.portal)
    labels = dict(RatingValue.choices)
    message = build_email(
        "helpcenter/emails/rating",
        {
            "ticket": ticket,
            "contact": ticket.contact,
            "org": ticket.org,
            "choices": [(urls[v], labels[v], v) for v in RatingValue.values],
        },
        None,
        from_email=department_from_address(ticket.department),
        to=[ticket.contact.email],
    )
    try:
        message.send()
    except Exception:
        cache.delete(key)
        raise
    return True
