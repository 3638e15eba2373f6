"""The help center (TKT-08): its settings, and what a signed-in customer sees and does.

What a customer sees is decided here, not in templates: their own tickets (and, when the
admin allows it, their account's), of this organization only; of a ticket, the subject, the
description, the status kind, the published department, the public custom fields, and the
thread's public replies and customer messages with their attachments. Never private
comments, forwards, history, other custom fields, or anyone else's tickets.

Changes go through the tickets' services for customers (`services/incoming.py`), so history,
search, followers' and the owner's mail run as for any customer message."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from customers.models import Contact
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, Department, Membership, Organization
from helpdesk.tenancy.permissions import ensure_app_admin

from ..html import TEXT
from ..models import Attachment, Channel, CustomField, Thread, Ticket
from ..services.incoming import thread_incoming_add, ticket_create_from_contact
from .models import DEFAULT_COLOR, HelpCenterSettings
from .theme import is_hex

# Kinds of thread entries a customer sees: our replies to them, and their own messages.
CUSTOMER_KINDS = (Thread.Kind.REPLY, Thread.Kind.INCOMING)
LOGO_MAX_BYTES = 512 * 1024
# Raster images only (an SVG could carry script), recognised by their first bytes.
LOGO_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"\xff\xd8\xff": "image/jpeg",
    b"GIF87a": "image/gif",
    b"GIF89a": "image/gif",
}


# --- Settings (Setup → Help center) --------------------------------------------------------------
def settings_for(org: Organization) -> HelpCenterSettings:
    """The organization's settings; an unsaved row of defaults (help center off) when none."""
    row = HelpCenterSettings.objects.for_org(org).first()
    return row if row is not None else HelpCenterSettings(org=org, primary_color=DEFAULT_COLOR)


def logo_type(upload: UploadedFile) -> str:
    """The image's type from its content; ValidationError naming the problem."""
    if (upload.size or 0) > LOGO_MAX_BYTES:
        raise ValidationError(
            {
                "logo": [
                    _("The logo is too large (%(size)s); the limit is %(limit)s.")
                    % {
                        "size": filesizeformat(upload.size or 0),
                        "limit": filesizeformat(LOGO_MAX_BYTES),
                    }
                ]
            }
        )
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, content_type in LOGO_SIGNATURES.items():
        if head.startswith(signature):
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    raise ValidationError({"logo": [_("Upload a PNG, JPEG, GIF or WebP image.")]})


@transaction.atomic
def settings_save(
    *,
    actor: Membership,
    enabled: bool,
    title: str,
    intro: str,
    primary_color: str,
    department_ids: Sequence[int],
    public_field_ids: Sequence[int],
    show_account_tickets: bool,
    rating_mail: bool,
    logo: UploadedFile | None = None,
    remove_logo: bool = False,
) -> HelpCenterSettings:
    """Save the organization's help center settings (Desk administrators). Departments and
    fields must be the organization's (and fields of a published department); the colour a
    `#rrggbb` hex; the logo a small raster image. All or nothing."""
    ensure_app_admin(actor, App.DESK)
    org = actor.org
    errors: dict[str, list[str]] = {}
    color = (primary_color or "").strip()
    if not is_hex(color):
        errors["primary_color"] = [_("Enter a colour as # and six hex digits, like #0f766e.")]
    wanted_departments = {int(i) for i in department_ids}
    departments = set(
        Department.objects.for_org(org)
        .filter(pk__in=wanted_departments)
        .values_list("pk", flat=True)
    )
    if departments != wanted_departments:
        errors["departments"] = [_("Choose departments of this organization.")]
    wanted_fields = {int(i) for i in public_field_ids}
    fields = set(
        CustomField.objects.for_org(org)
        .filter(pk__in=wanted_fields, department_id__in=departments)
        .values_list("pk", flat=True)
    )
    if fields != wanted_fields:
        errors["public_fields"] = [_("Choose fields of the published departments.")]
    content_type = ""
    if logo is not None:
        try:
            content_type = logo_type(logo)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if enabled and not departments and not errors:
        errors["departments"] = [_("Publish at least one department to open the help center.")]
    if errors:
        raise ValidationError(errors)
    row = HelpCenterSettings.objects.for_org(org).select_for_update().first()
    if row is None:
        row = HelpCenterSettings(org=org)
    old_logo = row.logo.name if row.logo else ""
    row.enabled = enabled
    row.title = (title or "").strip()[:120]
    row.intro = (intro or "").strip()[:1000]
    row.primary_color = color.lower()
    row.department_ids = sorted(departments)
    row.public_field_ids = sorted(fields)
    row.show_account_tickets = show_account_tickets
    row.rating_mail = rating_mail
    if logo is not None:
        row.logo.save(f"logo{os.path.splitext(logo.name or '')[1][:6]}", logo, save=False)
        row.logo_type = content_type
    elif remove_logo:
        row.logo = ""
        row.logo_type = ""
    row.full_clean(exclude=["org", "logo"])
    row.save()
    new_logo = row.logo.name if row.logo else ""
    if old_logo and old_logo != new_logo:
        storage = row.logo.storage
        transaction.on_commit(lambda: storage.delete(old_logo))
    return row


def published_departments(org: Organization, hc: HelpCenterSettings) -> QuerySet[Department]:
    return (
        Department.objects.for_org(org)
        .filter(pk__in=hc.department_ids or [], is_enabled=True)
        .order_by("name")
    )


def public_fields(
    org: Organization, hc: HelpCenterSettings, departments: Sequence[Department]
) -> list[CustomField]:
    """The active public custom fields of these departments, in their layout's order."""
    return list(
        CustomField.objects.for_org(org)
        .filter(
            pk__in=hc.public_field_ids or [],
            department__in=[d.pk for d in departments],
            is_active=True,
        )
        .order_by("department_id", "order", "pk")
    )


# --- What a customer sees ------------------------------------------------------------------------
def customer_tickets(
    org: Organization, hc: HelpCenterSettings, contact: Contact
) -> QuerySet[Ticket]:
    """The tickets this contact may follow: their own, and their account's when the admin
    allows it. Only this organization's."""
    ensure_same_org(org, contact)
    scope = Q(contact_id=contact.pk)
    if hc.show_account_tickets and contact.account_id is not None:
        scope |= Q(account_id=contact.account_id)
    return Ticket.objects.for_org(org).filter(scope).defer("search_vector")


def customer_ticket(
    org: Organization, hc: HelpCenterSettings, contact: Contact, number: int
) -> Ticket:
    """One of the contact's tickets, or 404 (the same for missing and for someone else's)."""
    ticket = (
        customer_tickets(org, hc, contact)
        .select_related("department", "contact")
        .filter(number=number)
        .first()
    )
    if ticket is None:
        raise Http404
    return ticket


def customer_thread(ticket: Ticket) -> list[Thread]:
    """The public part of the thread: replies to the customer and customer messages, with
    their attachments (two queries)."""
    return list(
        Thread.objects.for_org(ticket.org_id)
        .filter(ticket=ticket, kind__in=CUSTOMER_KINDS)
        .select_related("author", "contact")
        .prefetch_related("attachments")
        .order_by("created_at", "pk")
    )


def customer_attachment(ticket: Ticket, attachment_id: int) -> Attachment:
    """A file of a public thread entry of this ticket; 404 for anything else (private
    comments' files, forwards', another ticket's)."""
    attachment = (
        Attachment.objects.for_org(ticket.org_id)
        .filter(pk=attachment_id, ticket=ticket, thread__kind__in=CUSTOMER_KINDS)
        .first()
    )
    if attachment is None:
        raise Http404
    return attachment


def customer_field_values(ticket: Ticket, fields: Sequence[CustomField]) -> list[tuple[str, Any]]:
    """(label, value) of the public fields of the ticket's department that have a value."""
    values = ticket.custom_fields or {}
    return [
        (f.label, values[f.key])
        for f in fields
        if f.department_id == ticket.department_id and values.get(f.key) not in (None, "", [])
    ]


# --- What a customer does ------------------------------------------------------------------------
def customer_ticket_submit(
    *,
    org: Organization,
    hc: HelpCenterSettings,
    contact: Contact,
    department: Department,
    subject: str,
    description: str,
    custom_fields: Mapping[str, Any],
    files: Sequence[UploadedFile] = (),
    ip: str | None = None,
) -> Ticket:
    """Open a ticket as the contact, in a published department, with only the department's
    public fields (other keys are dropped). The description is plain text."""
    ensure_same_org(org, contact, department)
    if department.pk not in (hc.department_ids or []) or not department.is_enabled:
        raise ValidationError({"department": [_("Choose one of the listed departments.")]})
    allowed = {f.key for f in public_fields(org, hc, [department])}
    values = {k: v for k, v in custom_fields.items() if k in allowed}
    return ticket_create_from_contact(
        org=org,
        contact=contact,
        department=department,
        subject=subject,
        description=description,
        description_format=TEXT,
        channel=Channel.WEB,
        custom_fields=values,
        files=files,
        ip=ip,
    )


def customer_reply(
    *,
    ticket: Ticket,
    contact: Contact,
    body: str,
    files: Sequence[UploadedFile] = (),
    ip: str | None = None,
) -> Thread:
    """The customer's message on one of their tickets (plain text, shown as typed). The
    caller found the ticket with `customer_ticket`."""
    return thread_incoming_add(
        ticket=ticket, contact=contact, body=body, body_format=TEXT, files=files, ip=ip
    )
