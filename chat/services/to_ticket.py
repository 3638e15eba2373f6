"""Chat to ticket (issue 15, item 6), and the ticket a visitor's left message becomes (item 3).

An operator turns a chat into a desk ticket in one click: channel "chat", the contact found or
created by the visitor's email address through the customers' service
(`contact_get_or_create_by_email`), and the chat's transcript as the ticket's thread (the
contact's first message). Every ticket row is written by the tickets' services
(`ticket_create_with_message`); the conversation keeps a link to its ticket, and a chat is
turned into a ticket once.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from customers.services import contact_get_or_create_by_email
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Department, Membership, Organization
from helpdesk.tickets.models import Channel, Ticket
from helpdesk.tickets.services.incoming import IncomingMessage, ticket_create_with_message

from ..models import ChatMessage, Conversation, Sender
from .conversations import can_operate

SUBJECT_MAX = 200


def desk_departments(org: Organization) -> list[Department]:
    """The enabled desk departments a chat's ticket may go to, the oldest first (the desk's
    default department leads)."""
    return list(Department.objects.for_org(org).filter(is_enabled=True).order_by("pk"))


def transcript_text(conversation: Conversation) -> str:
    """The chat as plain text, one message a paragraph: time, who, what they wrote."""
    visitor = conversation.visitor_name or _("Visitor")
    messages = (
        ChatMessage.objects.for_org(conversation.org_id)
        .filter(conversation=conversation)
        .select_related("author")
        .order_by("seq")
    )
    lines = []
    for message in messages:
        when = timezone.localtime(message.created_at).strftime("%Y-%m-%d %H:%M")
        if message.sender == Sender.VISITOR:
            who = visitor
        elif message.sender == Sender.OPERATOR:
            who = (
                message.author.display_name
                if message.author
                else pgettext("chat sender", "Operator")
            )
        else:
            who = "—"
        lines.append(f"[{when}] {who}: {message.body}")
    return "\n\n".join(lines)


def _subject(conversation: Conversation, first: str) -> str:
    first = " ".join((first or "").split())
    name = conversation.visitor_name or conversation.visitor_email or _("Visitor")
    subject = _("Chat with %(name)s: %(message)s") % {"name": name, "message": first}
    return subject if len(subject) <= SUBJECT_MAX else subject[: SUBJECT_MAX - 1] + "…"


def _first_visitor_message(conversation: Conversation) -> str:
    return (
        ChatMessage.objects.for_org(conversation.org_id)
        .filter(conversation=conversation, sender=Sender.VISITOR)
        .order_by("seq")
        .values_list("body", flat=True)
        .first()
        or ""
    )


def _link(conversation: Conversation, ticket: Ticket) -> bool:
    """Link the ticket to the chat, unless another request linked one first."""
    linked = (
        Conversation.objects.for_org(conversation.org_id)
        .filter(pk=conversation.pk, ticket__isnull=True)
        .update(ticket=ticket)
    )
    conversation.ticket = ticket
    return bool(linked)


def make_ticket(
    *,
    conversation: Conversation,
    department: Department,
    email: str,
    name: str,
    body: str,
    subject: str,
    ip: str | None = None,
) -> Ticket:
    """The ticket: contact by email (found or created), `body` as its first thread entry.
    Runs in the caller's transaction; refuses a chat that already has a ticket."""
    ensure_same_org(_org(conversation), department)
    if conversation.ticket_id is not None:
        raise ValidationError(_("This chat is already a ticket."))
    contact, _created = contact_get_or_create_by_email(
        org=_org(conversation), email=email, name=name, ip=ip
    )
    thread = ticket_create_with_message(
        org=_org(conversation),
        contact=contact,
        department=department,
        subject=subject,
        message=IncomingMessage(body=body),
        channel=Channel.CHAT,
        ip=ip,
    )
    if not _link(conversation, thread.ticket):
        raise ValidationError(_("This chat is already a ticket."))
    return thread.ticket


def _org(conversation: Conversation) -> Organization:
    return conversation.org


@transaction.atomic
def conversation_to_ticket(
    *,
    actor: Membership,
    conversation: Conversation,
    department: Department | None = None,
    ip: str | None = None,
) -> Ticket:
    """One click in the console: the chat becomes a ticket of `department` (default: the
    desk's first enabled department). The visitor must have given an email address (the
    ticket's contact)."""
    ensure_same_org(actor.org, conversation, department)
    if not can_operate(actor, conversation.department):
        raise PermissionDenied
    conversation = (
        Conversation.objects.for_org(actor.org)
        .select_for_update(of=("self",))
        .select_related("org")
        .get(pk=conversation.pk)
    )
    if conversation.ticket_id is not None:
        raise ValidationError(_("This chat is already a ticket."))
    if not conversation.visitor_email:
        raise ValidationError(
            _("The visitor gave no email address: a ticket needs one for its contact.")
        )
    if department is None:
        choices = desk_departments(actor.org)
        if not choices:
            raise ValidationError({"department": [_("The desk has no enabled department.")]})
        department = choices[0]
    return make_ticket(
        conversation=conversation,
        department=department,
        email=conversation.visitor_email,
        name=conversation.visitor_name,
        body=transcript_text(conversation),
        subject=_subject(conversation, _first_visitor_message(conversation)),
        ip=ip,
    )
