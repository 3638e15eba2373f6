"""Conversations (CHAT-07): start, post, accept, end; the same services for the widget's
visitor and the operators' console.

A visitor is known by the conversation's secret token (only its hash is stored): a wrong or
missing token reads exactly as a missing conversation (404), so ids cannot be probed. An
operator is a member of the organization who operates the conversation's department, or a
chat supervisor / chat admin. Every write is one transaction; events are published on Redis
after commit (chat/realtime.py), so what a stream delivers is always stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import App, Membership, Organization, User

from .. import realtime
from ..models import (
    MESSAGE_MAX_LENGTH,
    ChatAttachment,
    ChatDepartment,
    ChatMessage,
    ChatOperator,
    Conversation,
    Sender,
    Visibility,
)
from . import routing
from .access import can_configure

NAME_MAX_LENGTH = 150


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- Who may see what --------------------------------------------------------------------------
def public_departments(org: Organization) -> list[ChatDepartment]:
    """The departments a visitor may pick: public and enabled. Private ones never appear."""
    return list(
        ChatDepartment.objects.for_org(org)
        .filter(visibility=Visibility.PUBLIC, is_enabled=True)
        .order_by("name", "pk")
    )


def department_for_embed(org: Organization, embed_key: str) -> ChatDepartment:
    """The public, enabled department an embed code names; 404 otherwise (a private one's key
    reads as a missing one)."""
    department = (
        ChatDepartment.objects.for_org(org)
        .filter(embed_key=embed_key, visibility=Visibility.PUBLIC, is_enabled=True)
        .first()
    )
    if department is None:
        raise Http404
    return department


def conversation_for_visitor(
    *, org: Organization, conversation_id: int, token: str
) -> Conversation:
    """The conversation whose token the visitor holds; 404 for a missing one, another
    organization's, or a wrong token alike. Read by SQL of its own: every message the widget
    posts starts here, and the ORM's compiling of the query cost twice the query (about 1.4 ms
    a post, bench/chat.py)."""
    found = Conversation.objects.raw(_VISITOR_SQL, [org.id, conversation_id])
    conversation = next(iter(found), None)
    if conversation is None or not hmac.compare_digest(
        conversation.token_hash, token_hash(token or "")
    ):
        raise Http404
    return conversation


_VISITOR_SQL = (
    f"SELECT * FROM {Conversation._meta.db_table}"  # noqa: S608 - a table name, no input
    " WHERE org_id = %s AND id = %s AND token_hash <> ''"
)


def can_operate(actor: Membership, department: ChatDepartment | None) -> bool:
    if not actor.has_app(App.CHAT):
        return False
    if can_configure(actor):
        return True
    if department is None:
        return False
    # By SQL of its own: every reply of an operator asks it twice (the chat's lookup, then the
    # service), and the ORM's compiling cost six times the query (1.3 ms of CPU instead of 0.2).
    with connection.cursor() as cursor:
        cursor.execute(_OPERATES_SQL, [actor.org.id, department.pk, actor.user_id])
        return cursor.fetchone() is not None


_OPERATES_SQL = (
    f"SELECT 1 FROM {ChatOperator._meta.db_table}"  # noqa: S608 - a table name, no input
    " WHERE org_id = %s AND department_id = %s AND user_id = %s"
)


def conversation_for_operator(*, actor: Membership, conversation_id: int) -> Conversation:
    """A conversation the member may answer; 404 otherwise (another organization's too).
    Read with its department by SQL of its own: every reply and typing notice of an operator
    starts here, and the ORM's compiling cost five times the query (3 ms of CPU instead of 0.5,
    bench/chat.py)."""
    if _FROM_DB_AS_IS:
        with connection.cursor() as cursor:
            cursor.execute(_OPERATOR_SQL, [actor.org.id, conversation_id])
            row = cursor.fetchone()
        conversation = None if row is None else _with_department(row)
    else:  # a field that converts what the database gives: the ORM reads it
        conversation = (
            Conversation.objects.for_org(actor.org)
            .select_related("department")
            .filter(pk=conversation_id)
            .first()
        )
    if conversation is None or not can_operate(actor, conversation.department):
        raise Http404
    return conversation


_CONVERSATION_FIELDS = Conversation._meta.concrete_fields
_DEPARTMENT_FIELDS = ChatDepartment._meta.concrete_fields
# The rows are turned into models as the database gives them, as Model.from_db expects from
# the ORM: right only while no field converts its values (JSON, custom fields).
_FROM_DB_AS_IS = not any(
    hasattr(field, "from_db_value") for field in (*_CONVERSATION_FIELDS, *_DEPARTMENT_FIELDS)
)
_OPERATOR_SQL = (
    "SELECT "  # noqa: S608 - table and column names, no input
    + ", ".join(
        [f"c.{field.column}" for field in _CONVERSATION_FIELDS]
        + [f"d.{field.column}" for field in _DEPARTMENT_FIELDS]
    )
    + f" FROM {Conversation._meta.db_table} c LEFT JOIN {ChatDepartment._meta.db_table} d"
    " ON d.org_id = c.org_id AND d.id = c.department_id WHERE c.org_id = %s AND c.id = %s"
)


def _with_department(row: tuple) -> Conversation:
    count = len(_CONVERSATION_FIELDS)
    conversation = Conversation.from_db(
        connection.alias, [field.attname for field in _CONVERSATION_FIELDS], row[:count]
    )
    department = None
    if conversation.department_id is not None:
        department = ChatDepartment.from_db(
            connection.alias, [field.attname for field in _DEPARTMENT_FIELDS], row[count:]
        )
    conversation.department = department
    return conversation


# --- Starting ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Started:
    conversation: Conversation
    token: str  # given to the visitor once; only its hash is kept


def _clean_body(body: str) -> str:
    body = (body or "").replace("\x00", "").strip()
    if not body:
        raise ValidationError({"body": _("Write a message.")})
    if len(body) > MESSAGE_MAX_LENGTH:
        raise ValidationError({"body": _("At most %(n)d characters.") % {"n": MESSAGE_MAX_LENGTH}})
    return body


@transaction.atomic
def conversation_start(
    *,
    entry: ChatDepartment,
    department_id: int | None,
    name: str,
    email: str,
    message: str,
    ip: str | None,
    language: str,
) -> Started:
    """A waiting conversation with the visitor's first message. `entry` is the department
    whose embed code the widget carries; the visitor may pick another public department of
    the same organization (`department_id`), never a private or disabled one."""
    org_id = entry.org_id
    department = entry
    errors: dict[str, list[str]] = {}
    if department_id is not None and department_id != entry.pk:
        department = (
            ChatDepartment.objects.for_org(org_id)
            .filter(pk=department_id, visibility=Visibility.PUBLIC, is_enabled=True)
            .first()
        )
        if department is None:
            errors["department"] = [_("Choose one of the departments offered.")]
    name = (name or "").replace("\x00", "").strip()
    email = (email or "").strip()
    if department is not None and department.name_required and not name:
        errors["name"] = [_("Enter your name.")]
    if len(name) > NAME_MAX_LENGTH:
        errors["name"] = [_("At most %(n)d characters.") % {"n": NAME_MAX_LENGTH}]
    if department is not None and department.email_required and not email:
        errors["email"] = [_("Enter your email address.")]
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = [_("Enter a valid email address.")]
    try:
        body = _clean_body(message)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    token = secrets.token_urlsafe(32)
    conversation = Conversation.objects.create(
        org_id=org_id,
        department=department,
        visitor_name=name,
        visitor_email=email,
        visitor_ip=ip,
        visitor_language=(language or "")[:10],
        token_hash=token_hash(token),
    )
    _append(conversation, sender=Sender.VISITOR, author=None, body=body)
    routing.on_start(conversation)  # offered to an operator; the missed-chat timer starts
    return Started(conversation=conversation, token=token)


# --- Messages ----------------------------------------------------------------------------------
def _append(
    conversation: Conversation,
    *,
    sender: str,
    author: User | None,
    body: str,
    attachment: ChatAttachment | None = None,
) -> ChatMessage:
    """Store one message with the conversation's next seq, in one statement: the conditional
    UPDATE of the conversation's row (in progress only) numbers it and locks the row until
    commit, so seqs are given and committed in order, and the INSERT takes that number."""
    now = timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            _APPEND_SQL,
            [
                now,
                conversation.org_id,
                conversation.pk,
                list(Conversation.IN_PROGRESS),
                conversation.org_id,
                conversation.pk,
                sender,
                author.pk if author is not None else None,
                body,
                attachment.pk if attachment is not None else None,
                now,
            ],
        )
        row = cursor.fetchone()
    if row is None:
        raise ValidationError({"body": _("This chat has ended.")})
    message_id, seq = row
    message = ChatMessage(
        id=message_id,
        org_id=conversation.org_id,
        conversation=conversation,
        seq=seq,
        sender=sender,
        author=author,
        body=body,
        attachment=attachment,
        created_at=now,
    )
    message._state.adding = False
    message._state.db = connection.alias
    conversation.last_seq, conversation.last_message_at = seq, now
    event = realtime.message_event(message)
    org_id, pk = conversation.org_id, conversation.pk
    transaction.on_commit(lambda: realtime.publish(org_id, pk, event))
    return message


def _append_sql() -> str:
    conversations, messages = Conversation._meta.db_table, ChatMessage._meta.db_table
    return (
        f"WITH numbered AS (UPDATE {conversations} SET last_seq = last_seq + 1,"  # noqa: S608
        " last_message_at = %s WHERE org_id = %s AND id = %s AND state = ANY(%s)"
        " RETURNING last_seq)"
        f" INSERT INTO {messages} (org_id, conversation_id, seq, sender, author_id, body,"
        " attachment_id, created_at)"
        " SELECT %s, %s, numbered.last_seq, %s, %s, %s, %s, %s FROM numbered"
        " RETURNING id, seq"
    )


_APPEND_SQL = _append_sql()  # table names only: no input


@transaction.atomic
def message_post_visitor(*, conversation: Conversation, body: str) -> ChatMessage:
    """The visitor's message (the conversation came from `conversation_for_visitor`)."""
    return _append(conversation, sender=Sender.VISITOR, author=None, body=_clean_body(body))


@transaction.atomic
def message_post_operator(
    *, actor: Membership, conversation: Conversation, body: str
) -> ChatMessage:
    """An operator's reply; a waiting chat is accepted by it."""
    if conversation.org_id != actor.org.id or not can_operate(actor, conversation.department):
        raise PermissionDenied
    body = _clean_body(body)
    if conversation.state == Conversation.State.WAITING:
        conversation_accept(actor=actor, conversation=conversation)
    return _append(conversation, sender=Sender.OPERATOR, author=actor.user, body=body)


@transaction.atomic
def conversation_accept(*, actor: Membership, conversation: Conversation) -> Conversation:
    """The operator takes a waiting chat (the first to accept wins); refused once taken."""
    if conversation.org_id != actor.org.id or not can_operate(actor, conversation.department):
        raise PermissionDenied
    routing.ensure_under_limit(actor.org, actor.user)  # the operator's concurrent-chat limit
    now = timezone.now()
    taken = (
        Conversation.objects.for_org(actor.org)
        .filter(pk=conversation.pk, state=Conversation.State.WAITING)
        .update(
            state=Conversation.State.LIVE,
            accepted_by=actor.user,
            accepted_at=now,
            assigned_to=actor.user,
            due_at=None,
        )
    )
    if not taken:
        raise ValidationError(_("Another operator has already accepted this chat."))
    conversation.state, conversation.accepted_by, conversation.accepted_at = (
        Conversation.State.LIVE,
        actor.user,
        now,
    )
    name = actor.user.full_name or actor.user.email
    _append(
        conversation,
        sender=Sender.SYSTEM,
        author=None,
        body=_("%(name)s joined the chat.") % {"name": name},
    )
    return conversation


# Apps above chat that follow ended chats (the API's webhooks) register a listener at start-up;
# each is called with the conversation inside the ending transaction. A registry: chat imports
# none of them.
_ended_listeners: list = []


def conversation_ended_listen(listener) -> None:
    """Call `listener(conversation)` when a chat ends (registered once)."""
    if listener not in _ended_listeners:
        _ended_listeners.append(listener)


@transaction.atomic
def conversation_end(*, conversation: Conversation, actor: Membership | None = None) -> None:
    """End the chat: by the visitor (`actor` None, the conversation came from its token) or
    by an operator. Ending an ended chat changes nothing."""
    if actor is not None and (
        conversation.org_id != actor.org.id or not can_operate(actor, conversation.department)
    ):
        raise PermissionDenied
    if conversation.state not in Conversation.IN_PROGRESS:
        return
    body = (
        _("The visitor ended the chat.")
        if actor is None
        else _("%(name)s ended the chat.") % {"name": actor.user.full_name or actor.user.email}
    )
    _append(conversation, sender=Sender.SYSTEM, author=None, body=body)
    Conversation.objects.for_org(conversation.org_id).filter(pk=conversation.pk).update(
        state=Conversation.State.ENDED, ended_at=timezone.now(), due_at=None
    )
    conversation.state = Conversation.State.ENDED
    for listener in _ended_listeners:
        listener(conversation)
    org_id, pk = conversation.org_id, conversation.pk
    transaction.on_commit(lambda: realtime.publish(org_id, pk, {"type": "state", "state": "ended"}))


def typing_notify(*, conversation: Conversation, sender: str) -> None:
    """Ephemeral: published, never stored."""
    if conversation.state in Conversation.IN_PROGRESS:
        realtime.publish(conversation.org_id, conversation.pk, {"type": "typing", "sender": sender})
