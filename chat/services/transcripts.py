"""Mail from a chat department (CHAT-04, CHAT-07): the transcript when a chat ends, and the
helpers the feedback and IP-block notices share.

Each mail follows the department's email settings (chat/models.py EmailSetting): the *from
address* when it is on, else the site's; a kind that is off sends nothing to its addresses.
The transcript goes to the department's transcript addresses when that setting is on, and to
the visitor when they asked for it (the widget's "Email me the transcript"); a mail to the
visitor carries the department's CC addresses when the CC setting is on ("CC on replies to
visitors"). Mail is sent after the transaction commits, never for a rolled-back chat; a mail
server that refuses is logged, not raised: the chat has ended either way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ..models import ChatAttachment, ChatMessage, Conversation, EmailKind, EmailSetting

logger = logging.getLogger(__name__)


# --- The department's settings -----------------------------------------------------------------
def setting_addresses(org_id: int, department_id: int | None, kind: str) -> list[str] | None:
    """The addresses of one email setting when it is on (possibly empty), None when off."""
    if department_id is None:
        return None
    setting = (
        EmailSetting.objects.for_org(org_id)
        .filter(department_id=department_id, kind=kind, is_enabled=True)
        .values_list("addresses", flat=True)
        .first()
    )
    return None if setting is None else list(setting)


def from_address(org_id: int, department_id: int | None) -> str:
    addresses = setting_addresses(org_id, department_id, EmailKind.FROM_ADDRESS)
    return addresses[0] if addresses else settings.DEFAULT_FROM_EMAIL


def staff_language(org_id: int) -> str:
    """The language of mail to the organization's own addresses: the site's (an organization
    has no language of its own; its members each have theirs)."""
    return settings.LANGUAGE_CODE


def send(
    *,
    org_id: int,
    department_id: int | None,
    subject: str,
    body: str,
    to: Iterable[str],
    cc: Iterable[str] = (),
) -> bool:
    """Send one plain-text mail from the department; False (logged) when the server refuses."""
    message = EmailMessage(
        " ".join(subject.splitlines()),
        body,
        from_email=from_address(org_id, department_id),
        to=list(to),
        cc=list(cc),
        headers={"X-Madoguchi-Mailer": "Madoguchi"},
    )
    try:
        message.send()
    except Exception as exc:  # noqa: BLE001 - any mail failure: logged, the chat goes on
        logger.warning("chat: mail %r to %s failed: %s", subject, message.to, exc)
        return False
    return True


# --- The transcript ----------------------------------------------------------------------------
def transcript_lines(conversation: Conversation) -> list[dict]:
    """The chat's messages for a mail or a ticket: when, who, what (files by their name)."""
    messages = (
        ChatMessage.objects.for_org(conversation.org_id)
        .filter(conversation=conversation)
        .select_related("author")
        .order_by("seq")
    )
    visitor = conversation.visitor_name or _("Visitor")
    lines = []
    for message in messages:
        if message.sender == "visitor":
            who = visitor
        elif message.sender == "operator":
            who = (message.author.full_name or message.author.email) if message.author else ""
        else:
            who = ""
        lines.append(
            {
                "at": timezone.localtime(message.created_at),
                "who": who,
                "body": message.body,
                "file": bool(message.attachment_id),
            }
        )
    return lines


def _render_transcript(conversation: Conversation, language: str) -> tuple[str, str]:
    with translation.override(language):
        context = {
            "conversation": conversation,
            "department": conversation.department.name if conversation.department else "",
            "lines": transcript_lines(conversation),
            "files": ChatAttachment.objects.for_org(conversation.org_id)
            .filter(conversation=conversation)
            .count(),
        }
        subject = _("Transcript of your chat with %(department)s") % {
            "department": context["department"] or _("us")
        }
        return subject, render_to_string("chat/mail/transcript.txt", context)


def transcript_send(conversation: Conversation) -> int:
    """Mail the ended chat's transcript to whom it is due; the number of mails sent."""
    department_id = conversation.department_id
    org_id = conversation.org_id
    sent = 0
    staff = setting_addresses(org_id, department_id, EmailKind.TRANSCRIPT)
    if staff:
        subject, body = _render_transcript(conversation, staff_language(org_id))
        sent += send(
            org_id=org_id, department_id=department_id, subject=subject, body=body, to=staff
        )
    if conversation.transcript_to:
        language = conversation.visitor_language or staff_language(org_id)
        subject, body = _render_transcript(conversation, language)
        cc = setting_addresses(org_id, department_id, EmailKind.CC) or []
        sent += send(
            org_id=org_id,
            department_id=department_id,
            subject=subject,
            body=body,
            to=[conversation.transcript_to],
            cc=cc,
        )
    return sent


def _after_end(org_id: int, conversation_id: int) -> None:
    conversation = (
        Conversation.objects.for_org(org_id)
        .select_related("department")
        .filter(pk=conversation_id)
        .first()
    )
    if conversation is not None:
        transcript_send(conversation)


def on_chat_ended(conversation: Conversation) -> None:
    """Called by the end of a chat, inside its transaction: mail once it commits."""
    transaction.on_commit(partial(_after_end, conversation.org_id, conversation.pk))


def transcript_request(*, conversation: Conversation, email: str) -> bool:
    """The visitor asks for the transcript at `email` (the one they gave when empty): sent at
    once for an ended chat (True), else remembered for the end (False). Once sent, asking
    again is refused: the endpoint must not become a way to mail anyone many times."""
    email = (email or "").strip() or conversation.visitor_email
    if not email:
        raise ValidationError({"email": [_("Enter your email address.")]})
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": [_("Enter a valid email address.")]}) from exc
    ended = conversation.state not in Conversation.IN_PROGRESS
    if ended and conversation.transcript_to:
        raise ValidationError({"email": [_("The transcript has already been sent.")]})
    Conversation.objects.for_org(conversation.org_id).filter(pk=conversation.pk).update(
        transcript_to=email
    )
    conversation.transcript_to = email
    if conversation.state in Conversation.IN_PROGRESS:
        return False
    language = conversation.visitor_language or staff_language(conversation.org_id)
    subject, body = _render_transcript(conversation, language)
    cc = setting_addresses(conversation.org_id, conversation.department_id, EmailKind.CC) or []
    send(
        org_id=conversation.org_id,
        department_id=conversation.department_id,
        subject=subject,
        body=body,
        to=[email],
        cc=cc,
    )
    return True
