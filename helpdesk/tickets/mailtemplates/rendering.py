"""What a mail template may say and how it is filled in: a pure module.

The vocabulary is fixed (`PLACEHOLDERS`); a template naming anything else is refused at save.
Rendering is plain `{{name}}` substitution from a dict of strings built here from the ticket
(`ticket_values`): no template language runs on what an admin typed, and no name is resolved
as an attribute, so a template reaches exactly the values offered and nothing else. The text
part gets the raw values; the HTML part escapes the template's own text and every value."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.urls import get_script_prefix, get_urlconf
from django.utils.translation import gettext_lazy as _

from helpdesk.http import url_maker

from ..canned import placeholders
from ..models import Priority
from ..selectors import local_minute

# The priorities' labels by value: `get_priority_display()` rebuilds its choices dict on every
# call, a measurable part of a sweep's 500 escalation mails.
PRIORITY_LABELS = dict(Priority.choices)

PLACEHOLDERS: dict[str, Any] = {
    "ticket.number": _("Ticket number"),
    "ticket.subject": _("Ticket subject"),
    "ticket.status": _("Ticket status"),
    "ticket.priority": _("Ticket priority"),
    "ticket.due": _("Ticket due date"),
    "ticket.url": _("Link to the ticket"),
    "contact.name": _("Contact name"),
    "contact.email": _("Contact email"),
    "department.name": _("Department"),
    "owner.name": _("Ticket owner's name"),
    "owner.email": _("Ticket owner's email"),
    "blueprint.name": _("Blueprint"),
    "blueprint.state": _("Blueprint state"),
    "organization.name": _("Organization"),
    # BP-15, TKT-09: filled by SLA escalation mail (sla/mail.py), empty elsewhere.
    "sla.target": _("SLA target (first response, resolution or time in state)"),
    "sla.level": _("Escalation level"),
    "sla.due": _("SLA due time"),
    "sla.time_left": _("SLA time left, or how long overdue"),
}

# The preview's values when the organization has no ticket yet.
SAMPLE_VALUES: dict[str, str] = {
    "ticket.number": "1024",
    "ticket.subject": "Printer on fire",
    "ticket.status": "Awaiting approval",
    "ticket.priority": "High",
    "ticket.due": "2030-04-01 17:00",
    "ticket.url": "https://example.com/desk/tickets/1024/",
    "contact.name": "Yamada Taro",
    "contact.email": "taro@example.com",
    "department.name": "Support",
    "owner.name": "Bob",
    "owner.email": "bob@example.com",
    "blueprint.name": "Refund approval",
    "blueprint.state": "Awaiting approval",
    "organization.name": "Example Inc.",
    "sla.target": "Resolution",
    "sla.level": "2",
    "sla.due": "2030-04-01 17:00",
    "sla.time_left": "Overdue by 1 h 30 min",
}


def validate_mail_placeholders(text: str) -> None:
    """Refuse unknown placeholders (and an unclosed `{{`), naming them and the known ones."""
    placeholders.validate_placeholders(text, known=PLACEHOLDERS)


def ticket_url(ticket: Any) -> str:
    link = _ticket_link(ticket.org.portal, get_script_prefix(), get_urlconf())
    return settings.SITE_URL.rstrip("/") + link(ticket.number)


@lru_cache(maxsize=256)
def _ticket_link(portal: str, script_prefix: str, urlconf: str | None) -> Callable[[int], str]:
    """The portal's ticket links, reversed once (a sweep's 500 escalation mails each link
    their ticket; reversing each costs more than the rest of its placeholders)."""
    return url_maker("desk:ticket_detail", "number", portal=portal)


# The ticket's fields `ticket_values` reads (and the sender, `department`): a caller filling
# many mails may read only these (`.only(*TICKET_FIELDS)`; the SLA's escalation mail does).
TICKET_FIELDS = (
    "org",
    "number",
    "subject",
    "status",
    "priority",
    "due_at",
    "department",
    "contact",
    "owner",
)


def ticket_values(ticket: Any, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """Every placeholder's value on `ticket` as plain text (empty where the ticket has none).
    `extra` lets a caller above tickets fill its own names (the blueprint and its state);
    without them the state is the ticket's status (a blueprint state is a status)."""
    contact, owner = ticket.contact, ticket.owner
    status = ticket.status.name if ticket.status_id else ""
    values = {
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "ticket.status": status,
        "ticket.priority": str(PRIORITY_LABELS.get(ticket.priority, ticket.priority)),
        "ticket.due": local_minute(ticket.due_at),
        "ticket.url": ticket_url(ticket),
        "contact.name": contact.name if contact is not None else "",
        "contact.email": contact.email if contact is not None else "",
        "department.name": ticket.department.name,
        "owner.name": owner.display_name if owner is not None else "",
        "owner.email": owner.email if owner is not None else "",
        "blueprint.name": "",
        "blueprint.state": status,
        "organization.name": ticket.org.name,
        "sla.target": "",
        "sla.level": "",
        "sla.due": "",
        "sla.time_left": "",
    }
    for key, value in (extra or {}).items():
        if key in PLACEHOLDERS:
            values[key] = str(value)
    return values


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str


def render_subject(subject: str, values: Mapping[str, str]) -> str:
    """One line: a value with a newline cannot add a header."""
    return " ".join(placeholders.render(subject, values, known=PLACEHOLDERS).split())


def render_text(body: str, values: Mapping[str, str]) -> str:
    return placeholders.render(body, values, known=PLACEHOLDERS)


def render_html(body: str, values: Mapping[str, str]) -> str:
    """The body as HTML paragraphs: the template's text and every value escaped, so markup
    typed by an admin or carried in a ticket's subject shows as typed."""
    escaped = {key: html.escape(str(value)) for key, value in values.items()}
    filled = placeholders.render(html.escape(body or "", quote=False), escaped, known=PLACEHOLDERS)
    filled = filled.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = [p for p in filled.strip("\n").split("\n\n") if p.strip()]
    return "".join("<p>" + p.replace("\n", "<br>") + "</p>" for p in paragraphs)


def render(subject: str, body: str, values: Mapping[str, str]) -> RenderedMail:
    return RenderedMail(
        subject=render_subject(subject, values),
        text=render_text(body, values),
        html=render_html(body, values),
    )
