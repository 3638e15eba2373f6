"""The help center's sign-up and sign-in mails (TKT-08), sent once per link."""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

from helpdesk.mail import build_email
from helpdesk.tenancy.models import Organization

from .auth import link_url
from .models import SignInLink
from .services import settings_for

CLAIM_SECONDS = 2 * 24 * 3600


def signin_link_mail_send(*, org_id: int, link_id: int) -> bool:
    """Mail a sign-up or sign-in link to its address, once (claimed in the cache); skipped
    when the link is used or expired by now."""
    link = SignInLink.objects.for_org(org_id).filter(pk=link_id, used_at=None).first()
    if link is None or link.expires_at <= timezone.now():
        return False
    org = Organization.objects.get(pk=org_id)
    key = f"helpcenter:link-mail:{org_id}:{link_id}"
    if not cache.add(key, 1, CLAIM_SECONDS):
        return False
    hc = settings_for(org)
    template = (
        "helpcenter/emails/signup"
        if link.purpose == SignInLink.Purpose.SIGNUP
        else "helpcenter/emails/signin"
    )
    message = build_email(
        template,
        {
            "org": org,
            "site_title": hc.title or org.name,
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
