"""Visitor feedback (CHAT-04, CHAT-07): at the end of a chat the visitor rates it (1 to 5) and
may leave a comment; one per chat. The department's *visitor feedback* addresses hear of it
when that setting is on. The comment is plain text, shown escaped wherever it appears."""

from __future__ import annotations

from functools import partial

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import Membership

from ..models import ChatFeedback, Conversation, EmailKind
from .access import can_configure
from .transcripts import send, setting_addresses, staff_language

COMMENT_MAX_LENGTH = 2000


def feedback_leave(*, conversation: Conversation, rating: str | int, comment: str) -> ChatFeedback:
    """The visitor's feedback (the conversation came from the visitor's token). Only once the
    chat has ended, once."""
    errors: dict[str, list[str]] = {}
    try:
        value = int(str(rating).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= 5:
        errors["rating"] = [_("Choose a rating from 1 to 5.")]
    comment = (comment or "").replace("\x00", "").strip()
    if len(comment) > COMMENT_MAX_LENGTH:
        errors["comment"] = [_("At most %(n)d characters.") % {"n": COMMENT_MAX_LENGTH}]
    if conversation.state in Conversation.IN_PROGRESS:
        errors["__all__"] = [_("You can rate the chat once it has ended.")]
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            feedback = ChatFeedback.objects.create(
                org_id=conversation.org_id,
                conversation=conversation,
                operator_id=conversation.accepted_by_id,
                rating=value,
                comment=comment,
            )
    except IntegrityError as exc:
        raise ValidationError(_("You have already rated this chat. Thank you!")) from exc
    transaction.on_commit(partial(_mail, conversation.org_id, feedback.pk))
    return feedback


def _mail(org_id: int, feedback_id: int) -> None:
    feedback = (
        ChatFeedback.objects.for_org(org_id)
        .select_related("conversation", "conversation__department", "operator")
        .filter(pk=feedback_id)
        .first()
    )
    if feedback is None:
        return
    conversation = feedback.conversation
    addresses = setting_addresses(org_id, conversation.department_id, EmailKind.FEEDBACK)
    if not addresses:
        return
    with translation.override(staff_language(org_id)):
        department = conversation.department.name if conversation.department else ""
        subject = _("Visitor feedback: %(rating)d of 5") % {"rating": feedback.rating}
        body = render_to_string(
            "chat/mail/feedback.txt",
            {"feedback": feedback, "conversation": conversation, "department": department},
        )
    send(
        org_id=org_id,
        department_id=conversation.department_id,
        subject=subject,
        body=body,
        to=addresses,
    )


def feedback_for_conversation(conversation: Conversation) -> ChatFeedback | None:
    return (
        ChatFeedback.objects.for_org(conversation.org_id).filter(conversation=conversation).first()
    )


def feedback_list(actor: Membership, *, limit: int = 200):
    """The latest feedback for the Setup page: supervisors and chat admins see all of it, an
    operator the feedback on their own chats."""
    rows = ChatFeedback.objects.for_org(actor.org).select_related(
        "conversation", "conversation__department", "operator"
    )
    if not can_configure(actor):
        rows = rows.filter(operator_id=actor.user_id)
    return rows.order_by("-created_at", "-pk")[:limit]
