"""Mail templates: save, delete (refused while in use), preview and the message to send.

Changed by Desk admins. Features above tickets that send templates (blueprint after-actions,
SLA escalations) register a usage counter in `usage`, so a template in use is not deleted from
under them; tickets never imports them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, Membership, Organization
from helpdesk.tenancy.permissions import ensure_app_admin

from ..models import Ticket
from ..services.mail import department_from_address
from . import rendering, usage
from .models import MailTemplate


def mail_template_usage(template: MailTemplate) -> int:
    """How many automated actions send `template`."""
    return usage.count(template.org_id, template.pk)


@transaction.atomic
def mail_template_save(*, actor: Membership, template: MailTemplate) -> MailTemplate:
    """Create or change a template: unknown placeholders are refused (a ValidationError that
    names them and the known ones)."""
    ensure_same_org(actor.org, template)
    ensure_app_admin(actor, App.DESK)
    if template.pk is None:
        template.created_by = actor.user
    template.full_clean()
    template.save()
    return template


@transaction.atomic
def mail_template_delete(*, actor: Membership, template: MailTemplate) -> None:
    """Delete a template no after-action or escalation sends; else a ValidationError with the
    count."""
    ensure_same_org(actor.org, template)
    ensure_app_admin(actor, App.DESK)
    used = mail_template_usage(template)
    if used:
        raise ValidationError(
            ngettext(
                "“%(name)s” is used by %(count)d automated action: remove it there first.",
                "“%(name)s” is used by %(count)d automated actions: remove it there first.",
                used,
            )
            % {"name": template.name, "count": used},
            code="in_use",
        )
    template.delete()


def preview_ticket(org: Organization) -> Ticket | None:
    """The organization's newest ticket, the preview's sample."""
    return (
        Ticket.objects.for_org(org)
        .select_related("org", "status", "department", "contact", "owner")
        .order_by("-created_at", "-pk")
        .first()
    )


def mail_template_preview(
    *, org: Organization, subject: str, body: str
) -> tuple[rendering.RenderedMail, Ticket | None]:
    """The subject and body filled in with the newest ticket's values (or the built-in sample
    when the organization has none), and that ticket."""
    ticket = preview_ticket(org)
    values = rendering.ticket_values(ticket) if ticket else dict(rendering.SAMPLE_VALUES)
    return rendering.render(subject, body, values), ticket


def mail_template_message(
    *,
    template: MailTemplate,
    ticket: Ticket,
    to: Sequence[str],
    from_email: str | None = None,
    extra: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> EmailMultiAlternatives:
    """The message `template` makes for `ticket`, text with an HTML alternative."""
    ensure_same_org(ticket.org, template)
    mail = rendering.render(template.subject, template.body, rendering.ticket_values(ticket, extra))
    message = EmailMultiAlternatives(
        mail.subject or _("(no subject)"),
        mail.text,
        from_email=from_email or department_from_address(ticket.department),
        to=list(to),
        headers={"X-Madoguchi-Mailer": "Madoguchi", **(headers or {})},
    )
    message.attach_alternative(mail.html, "text/html")
    return message
