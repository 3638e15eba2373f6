"""Building the product's emails: a subject, a text body and an HTML alternative, rendered
from three templates in the recipient's language."""

from __future__ import annotations

import email.charset

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.utils import translation


def build_email(
    template: str, context: dict, language: str | None, **message_kwargs
) -> EmailMultiAlternatives:
    """`template` names `<template>_subject.txt`, `<template>.txt` and `<template>.html`;
    `message_kwargs` go to EmailMultiAlternatives (to, cc, from_email, headers)."""
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string(f"{template}_subject.txt", context).strip()
        body = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    message = EmailMultiAlternatives(" ".join(subject.splitlines()), body, **message_kwargs)
    # Mail of ours that comes back (an auto-forward, a loop) is known by this header and
    # creates no ticket (helpdesk/tickets/mailin, TKT-07).
    message.extra_headers.setdefault("X-Madoguchi-Mailer", "Madoguchi")
    message.attach_alternative(html, "text/html")
    return message


def use_b_encoded_headers() -> None:
    """Write non-ASCII header text (subjects, display names) as base64 ("B") encoded words in
    UTF-8, as Japanese mail conventionally is, instead of Python's "the shorter of B and Q".
    Python sizes the Q form again after every character (quadratic in the header's length):
    about 0.05 ms for a mostly-ASCII subject with a few Japanese words, a twentieth of all an
    SLA escalation costs (README, SLA benchmark). Called once at start-up
    (`TenancyConfig.ready`); bodies keep Django's encoding (8 bit, quoted-printable for
    long lines), which sets its own."""
    email.charset.add_charset("utf-8", email.charset.BASE64, email.charset.BASE64, "utf-8")
