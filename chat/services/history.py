"""What the console lists (issue 15, item 3): the chats an operator answers now, and a
visitor's past chats (by email address or tracked visitor) that the operator may open."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership

from ..models import ChatOperator, Conversation
from .access import can_configure

PAST_LIMIT = 20


def _operable(actor: Membership) -> QuerySet[Conversation]:
    chats = Conversation.objects.for_org(actor.org)
    if not can_configure(actor):
        operated = ChatOperator.objects.for_org(actor.org).filter(user_id=actor.user_id)
        chats = chats.filter(department_id__in=operated.values("department_id"))
    return chats


def past_chats(actor: Membership, conversation: Conversation) -> list[Conversation]:
    """The visitor's other chats, newest first: same email address (any case) or the same
    tracked visitor; only those of departments the member may answer."""
    ensure_same_org(actor.org, conversation)
    same = Q()
    if conversation.visitor_email:
        same |= Q(visitor_email__iexact=conversation.visitor_email)
    visitor_id = getattr(conversation, "visitor_id", None)
    if visitor_id:
        same |= Q(visitor_id=visitor_id)
    if not same:
        return []
    return list(
        _operable(actor)
        .filter(same)
        .exclude(pk=conversation.pk)
        .select_related("department", "accepted_by")
        .order_by("-created_at", "-pk")[:PAST_LIMIT]
    )


def chats_for_console(actor: Membership) -> dict[str, list[Conversation]]:
    """`offered`: waiting chats routed to the member; `waiting`: the other waiting chats of
    their departments; `mine`: live chats they answer; `live`: other operators' live chats."""
    chats = list(
        _operable(actor)
        .filter(state__in=Conversation.IN_PROGRESS)
        .select_related("department", "accepted_by", "assigned_to")
        .order_by("created_at", "pk")
    )
    me = actor.user_id
    waiting = [c for c in chats if c.state == Conversation.State.WAITING]
    live = [c for c in chats if c.state == Conversation.State.LIVE]
    return {
        "offered": [c for c in waiting if c.assigned_to_id == me],
        "waiting": [c for c in waiting if c.assigned_to_id != me],
        "mine": [c for c in live if c.accepted_by_id == me],
        "live": [c for c in live if c.accepted_by_id != me],
    }
