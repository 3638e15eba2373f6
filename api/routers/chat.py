"""Chat transcripts over the API (issue 16, item 1): the member's organization's chats and
their messages, read only. A chat supervisor or chat admin reads every chat; an operator
those of the departments they answer, as in the console. Cursor pages by id (chats) and by
`seq` (messages)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from chat.models import ChatMessage, ChatOperator, Conversation
from chat.services.access import can_configure
from helpdesk.tenancy.models import App, Membership, User
from helpdesk.tenancy.permissions import ensure_app

from ..base import problem_responses, refuse_unknown
from ..schemas import PersonRef, Ref
from .customers import _page

router = Router(tags=["chat"])

StateValue = Literal["waiting", "live", "ended", "missed"]


class ChatFilters(Schema):
    model_config = ConfigDict(extra="forbid")

    state: StateValue | None = None
    department: int | None = Field(None, ge=1)
    size: int = Field(25, ge=1, le=100)
    cursor: str | None = Field(None, max_length=500)


class MessageFilters(Schema):
    model_config = ConfigDict(extra="forbid")

    after: int = Field(0, ge=0, le=2_000_000_000, description="Messages after this `seq`.")
    size: int = Field(100, ge=1, le=500)


class VisitorOut(Schema):
    name: str
    email: str
    language: str


class ChatOut(Schema):
    id: int
    department: Ref | None
    state: StateValue
    visitor: VisitorOut
    accepted_by: PersonRef | None
    accepted_at: dt.datetime | None
    last_message_at: dt.datetime | None
    messages: int = Field(description="How many messages the chat has (the last `seq`).")
    created_at: dt.datetime
    ended_at: dt.datetime | None


class ChatPage(Schema):
    items: list[ChatOut]
    next_cursor: str | None = None


class ChatMessageOut(Schema):
    seq: int
    sender: Literal["visitor", "operator", "system"]
    author: PersonRef | None
    body: str = Field(description="Plain text, as typed.")
    created_at: dt.datetime


class ChatMessagePage(Schema):
    items: list[ChatMessageOut]
    next_after: int | None = Field(None, description="Pass as `after` for the next page.")


def _person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.display_name, "email": user.email}


def chat_out(chat: Conversation) -> dict[str, Any]:
    department = chat.department
    return {
        "id": chat.pk,
        "department": {"id": department.pk, "name": department.name} if department else None,
        "state": chat.state,
        "visitor": {
            "name": chat.visitor_name,
            "email": chat.visitor_email,
            "language": chat.visitor_language,
        },
        "accepted_by": _person(chat.accepted_by),
        "accepted_at": chat.accepted_at,
        "last_message_at": chat.last_message_at,
        "messages": chat.last_seq,
        "created_at": chat.created_at,
        "ended_at": chat.ended_at,
    }


def _readable(request: HttpRequest) -> QuerySet[Conversation]:
    """The chats the token's member may read: all (supervisor, chat admin) or those of the
    departments they answer."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    ensure_app(membership, App.CHAT)
    chats = Conversation.objects.for_org(membership.org).select_related("department", "accepted_by")
    if not can_configure(membership):
        operated = ChatOperator.objects.for_org(membership.org).filter(user_id=membership.user_id)
        chats = chats.filter(department_id__in=operated.values("department_id"))
    return chats


def _chat(request: HttpRequest, chat_conversation_id: int) -> Conversation:
    chat = _readable(request).filter(pk=chat_conversation_id).first()
    if chat is None:
        raise Http404
    return chat


@router.get("/chats", response={200: ChatPage, **problem_responses()})
def chats_list(request: HttpRequest, filters: Query[ChatFilters]):
    """Chats, oldest first, a page at a time (follow `next_cursor`)."""
    refuse_unknown(request.GET, ChatFilters.model_fields)
    qs = _readable(request)
    if filters.state:
        qs = qs.filter(state=filters.state)
    if filters.department:
        qs = qs.filter(department_id=filters.department)
    return _page(qs, Conversation, filters, chat_out)


@router.get("/chats/{int:chat_conversation_id}", response={200: ChatOut, **problem_responses()})
def chat_read(request: HttpRequest, chat_conversation_id: int):
    return chat_out(_chat(request, chat_conversation_id))


@router.get(
    "/chats/{int:chat_conversation_id}/messages",
    response={200: ChatMessagePage, **problem_responses()},
)
def chat_messages(request: HttpRequest, chat_conversation_id: int, filters: Query[MessageFilters]):
    """The transcript: the chat's messages in order, a page at a time."""
    refuse_unknown(request.GET, MessageFilters.model_fields)
    chat = _chat(request, chat_conversation_id)
    rows = list(
        ChatMessage.objects.for_org(chat.org_id)
        .filter(conversation=chat, seq__gt=filters.after)
        .select_related("author")
        .order_by("seq")[: filters.size + 1]
    )
    page = rows[: filters.size]
    return {
        "items": [
            {
                "seq": m.seq,
                "sender": m.sender,
                "author": _person(m.author),
                "body": m.body,
                "created_at": m.created_at,
            }
            for m in page
        ],
        "next_after": page[-1].seq if len(rows) > filters.size and page else None,
    }
