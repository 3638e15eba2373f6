"""Transferring a chat to another operator or department (issue 15, item 3).

- **To an operator**: one who may answer the chat's department (its operator, or a chat
  supervisor), active, available and under their limit. A live chat becomes theirs at once; a
  waiting one is offered to them.
- **To a department**: any other enabled department of the organization, public or private
  (a public department's chat may go to a private one). The chat waits again there: it is
  routed to one of its operators, and its missed-chat timer starts again.

The visitor reads a system message about it. A private department's name never reaches the
visitor: the message says "another team" instead, and the widget's JSON shows a neutral label
(`visitor_department_label`).
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, User

from .. import realtime
from ..models import ChatDepartment, Conversation, Presence, Sender
from . import routing
from .conversations import _append, can_operate


def visitor_department_label(department: ChatDepartment | None) -> str:
    """What the visitor may read of a chat's department: a public one's name, else a
    neutral label."""
    if department is not None and department.is_public:
        return department.name
    return _("Support")


def _ensure_operates(actor: Membership, conversation: Conversation) -> None:
    ensure_same_org(actor.org, conversation)
    if not can_operate(actor, conversation.department):
        raise PermissionDenied
    if conversation.state not in Conversation.IN_PROGRESS:
        raise ValidationError(_("This chat has ended."))


def _locked(conversation: Conversation) -> Conversation:
    return (
        Conversation.objects.for_org(conversation.org_id)
        .select_for_update(of=("self",))
        .select_related("department")
        .get(pk=conversation.pk)
    )


def transfer_targets(actor: Membership, conversation: Conversation) -> list[Membership]:
    """Members the chat may go to: those who may answer its department, but the actor."""
    from ..selectors import chat_members

    members = [
        m
        for m in chat_members(actor.org).exclude(user_id=actor.user_id)
        if can_operate(m, conversation.department)
    ]
    return members


@transaction.atomic
def transfer_to_operator(
    *, actor: Membership, conversation: Conversation, user: User
) -> Conversation:
    _ensure_operates(actor, conversation)
    target = (
        Membership.objects.for_org(actor.org)
        .select_related("user", "org")
        .filter(user_id=user.pk, status=Membership.Status.ACTIVE)
        .first()
    )
    if target is None:
        raise ValidationError({"user": [_("Choose one of the operators offered.")]})
    conversation = _locked(conversation)
    if conversation.state not in Conversation.IN_PROGRESS:
        raise ValidationError(_("This chat has ended."))
    if not can_operate(target, conversation.department):
        raise ValidationError({"user": [_("Choose one of the operators offered.")]})
    if target.user_id in (conversation.accepted_by_id, conversation.assigned_to_id):
        raise ValidationError({"user": [_("The chat is already with this operator.")]})
    status = routing.status_of(actor.org, target.user_id)
    name = target.user.display_name
    if status.presence != Presence.AVAILABLE:
        raise ValidationError(
            {"user": [_("%(name)s is not available.") % {"name": name}]},
        )
    try:
        routing.ensure_under_limit(actor.org, target.user)
    except ValidationError as exc:
        raise ValidationError({"user": exc.messages}) from exc
    chats = Conversation.objects.for_org(actor.org).filter(pk=conversation.pk)
    if conversation.state == Conversation.State.LIVE:
        now = timezone.now()
        chats.update(accepted_by=target.user, accepted_at=now, assigned_to=target.user)
        conversation.accepted_by, conversation.accepted_at = target.user, now
    else:
        chats.update(assigned_to=target.user)
    conversation.assigned_to = target.user
    _append(
        conversation,
        sender=Sender.SYSTEM,
        author=None,
        body=_("The chat was transferred to %(name)s.") % {"name": name},
    )
    _publish_state(conversation)
    return conversation


@transaction.atomic
def transfer_to_department(
    *, actor: Membership, conversation: Conversation, department: ChatDepartment
) -> Conversation:
    _ensure_operates(actor, conversation)
    ensure_same_org(actor.org, department)
    conversation = _locked(conversation)
    if conversation.state not in Conversation.IN_PROGRESS:
        raise ValidationError(_("This chat has ended."))
    department = ChatDepartment.objects.for_org(actor.org).get(pk=department.pk)
    if department.pk == conversation.department_id:
        raise ValidationError({"department": [_("The chat is already in this department.")]})
    if not department.is_enabled:
        raise ValidationError({"department": [_("This department is disabled.")]})
    now = timezone.now()
    due = now + dt.timedelta(seconds=department.missed_after_seconds)
    Conversation.objects.for_org(actor.org).filter(pk=conversation.pk).update(
        department=department,
        state=Conversation.State.WAITING,
        accepted_by=None,
        accepted_at=None,
        assigned_to=None,
        due_at=due,
    )
    conversation.department = department
    conversation.state = Conversation.State.WAITING
    conversation.accepted_by = conversation.assigned_to = None
    conversation.accepted_at = None
    conversation.due_at = due
    if department.is_public:
        body = _("The chat was transferred to %(department)s.") % {"department": department.name}
    else:
        body = _("The chat was transferred to another team.")
    _append(conversation, sender=Sender.SYSTEM, author=None, body=body)
    routing.route(conversation)
    _publish_state(conversation)
    return conversation


def _publish_state(conversation: Conversation) -> None:
    """Both sides hear of the change; the event carries only what a visitor may read."""
    event = {
        "type": "state",
        "state": conversation.state,
        "department": visitor_department_label(conversation.department),
    }
    org_id, pk = conversation.org_id, conversation.pk
    transaction.on_commit(lambda: realtime.publish(org_id, pk, event))
