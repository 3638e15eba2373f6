"""Missed chats (issue 15, item 3): a waiting chat nobody accepts within its department's time
(`ChatDepartment.missed_after_seconds`, two minutes by default) becomes *missed*.

The beat runs `missed_sweep` every `CHAT_MISSED_SWEEP_SECONDS` (chat/tasks.py): one
cross-tenant read finds the organizations with due waiting chats (`Conversation.due_at`, a
global partial index), then each organization's due chats are claimed under its row-level
security scope (`SELECT ... FOR UPDATE SKIP LOCKED`: two sweeps never take the same chat, and
a chat being accepted right then is left to the accept). A missed chat tells the visitor, who
can leave a message that becomes a desk ticket (`leave_message`); the department's "Missed
chat" mail goes to its addresses when that setting is on (after commit; a refusing mail server
is logged, not raised).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpdesk.tenancy import crosstenant
from helpdesk.tenancy.rls import tenant_scope
from helpdesk.tickets.models import Ticket

from .. import realtime
from ..models import MESSAGE_MAX_LENGTH, Conversation, EmailKind, Sender
from .conversations import NAME_MAX_LENGTH, _append
from .to_ticket import desk_departments, make_ticket, transcript_text
from .transcripts import send, setting_addresses, staff_language

LABEL = "chat.Conversation"
BATCH = 200


def _due(now) -> Q:
    return Q(state=Conversation.State.WAITING, due_at__isnull=False, due_at__lte=now)


@dataclass
class SweepResult:
    missed: int = 0


def missed_sweep(*, now=None) -> SweepResult:
    """Mark every due waiting chat of every organization missed (see the module's docstring)."""
    now = now or timezone.now()
    result = SweepResult()
    for org_id, _first in crosstenant.due_organizations(LABEL, due=_due(now)):
        result.missed += missed_sweep_org(org_id=org_id, now=now)
    return result


def missed_sweep_org(*, org_id: int, now=None) -> int:
    now = now or timezone.now()
    with tenant_scope(org_id), transaction.atomic():
        due = list(
            Conversation.objects.for_org(org_id)
            .filter(_due(now))
            .select_for_update(skip_locked=True)
            .order_by("due_at", "pk")[:BATCH]
        )
        for conversation in due:
            conversation_miss(conversation, now=now)
    return len(due)


def conversation_miss(conversation: Conversation, *, now=None) -> None:
    """The waiting chat becomes missed: the visitor reads that nobody could answer and may
    leave a message; the department's missed-chat mail is sent after commit. Runs in the
    caller's transaction with the chat's row locked."""
    now = now or timezone.now()
    with translation.override(conversation.visitor_language or None):
        body = _(
            "Sorry, nobody could answer your chat. Leave a message and we will reply by email."
        )
    _append(conversation, sender=Sender.SYSTEM, author=None, body=body)
    Conversation.objects.for_org(conversation.org_id).filter(pk=conversation.pk).update(
        state=Conversation.State.MISSED, missed_at=now, due_at=None, assigned_to=None
    )
    conversation.state = Conversation.State.MISSED
    org_id, pk = conversation.org_id, conversation.pk
    transaction.on_commit(
        lambda: realtime.publish(org_id, pk, {"type": "state", "state": "missed"})
    )
    if setting_addresses(conversation.org_id, conversation.department_id, EmailKind.MISSED):
        transaction.on_commit(partial(missed_mail_send, org_id=org_id, conversation_id=pk))


# --- The missed-chat mail (through the department's mail helpers, transcripts.py) -----------
def missed_mail_send(*, org_id: int, conversation_id: int) -> bool:
    """The department's missed-chat notice: who the visitor was and what they wrote."""
    with tenant_scope(org_id):
        conversation = (
            Conversation.objects.for_org(org_id)
            .select_related("department", "org")
            .get(pk=conversation_id)
        )
        to = setting_addresses(org_id, conversation.department_id, EmailKind.MISSED)
        if not to:
            return False
        with translation.override(staff_language(org_id)):
            visitor = conversation.visitor_name or conversation.visitor_email or _("A visitor")
            department = conversation.department.name if conversation.department else "—"
            subject = _("Missed chat from %(visitor)s (%(department)s)") % {
                "visitor": visitor,
                "department": department,
            }
            lines = [
                _("Nobody accepted this chat in time."),
                "",
                f"{_('Name')}: {conversation.visitor_name or '—'}",
                f"{_('Email address')}: {conversation.visitor_email or '—'}",
                f"{_('Department')}: {department}",
                "",
                transcript_text(conversation),
            ]
        return send(
            org_id=org_id,
            department_id=conversation.department_id,
            subject=subject,
            body="\n".join(lines),
            to=to,
        )


# --- Leave a message ---------------------------------------------------------------------------
@transaction.atomic
def leave_message(
    *,
    conversation: Conversation,
    name: str,
    email: str,
    message: str,
    ip: str | None = None,
) -> Ticket:
    """The visitor of a missed chat leaves a message (the conversation came from their token):
    it becomes a desk ticket (channel chat, contact by email, the chat and the message as its
    thread). Once per chat."""
    conversation = (
        Conversation.objects.for_org(conversation.org_id)
        .select_for_update(of=("self",))
        .select_related("org", "department")
        .get(pk=conversation.pk)
    )
    if conversation.state != Conversation.State.MISSED:
        raise ValidationError(_("You can leave a message when nobody could answer your chat."))
    if conversation.ticket_id is not None:
        raise ValidationError(_("Your message has already been sent."))
    errors: dict[str, list[str]] = {}
    name = (name or "").replace("\x00", "").strip() or conversation.visitor_name
    email = (email or "").strip() or conversation.visitor_email
    message = (message or "").replace("\x00", "").strip()
    if len(name) > NAME_MAX_LENGTH:
        errors["name"] = [_("At most %(n)d characters.") % {"n": NAME_MAX_LENGTH}]
    if not email:
        errors["email"] = [_("Enter your email address: we reply to it.")]
    else:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
    if not message:
        errors["message"] = [_("Write a message.")]
    elif len(message) > MESSAGE_MAX_LENGTH:
        errors["message"] = [_("At most %(n)d characters.") % {"n": MESSAGE_MAX_LENGTH}]
    departments = desk_departments(conversation.org)
    if not departments:
        errors["__all__"] = [_("Messages cannot be left right now.")]
    if errors:
        raise ValidationError(errors)
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("Message left after a missed chat: %(name)s") % {"name": name or email}
        body = f"{message}\n\n— {_('The missed chat:')}\n\n{transcript_text(conversation)}"
    return make_ticket(
        conversation=conversation,
        department=departments[0],
        email=email,
        name=name,
        body=body,
        subject=subject,
        ip=ip,
    )
