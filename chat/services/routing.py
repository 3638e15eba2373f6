"""Presence, limits and routing of the operators' console (issue 15, item 3).

- **Presence**: each operator is available, busy or away (a member without a row is away).
  Only available operators get new chats; busy ones keep theirs.
- **Limit**: how many chats an operator takes at once. An operator's load is their live chats
  plus the waiting chats offered to them; routing never offers a chat past the limit, and
  accepting one is refused at the limit.
- **Routing**: a new (or transferred) waiting chat is offered to one operator of its
  department: the visitor's previous operator first (the one who answered their latest chat,
  by email address), when available and under their limit; otherwise the least-loaded
  available operator (ties: the one offered a chat longest ago, then the oldest member).
  Any operator of the department may still accept it; the one it is offered to sees it first.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import App, Membership, Organization, User

from ..models import (
    DEFAULT_CHAT_LIMIT,
    ChatDepartment,
    ChatOperator,
    Conversation,
    OperatorStatus,
    Presence,
)


# --- Presence and limits -----------------------------------------------------------------------
def status_of(org: Organization | int, user_id: int) -> OperatorStatus:
    """The operator's presence and limit; unsaved defaults (away) without a row."""
    status = OperatorStatus.objects.for_org(org).filter(user_id=user_id).first()
    if status is None:
        org_id = org if isinstance(org, int) else org.pk
        status = OperatorStatus(org_id=org_id, user_id=user_id)
    return status


def loads(org: Organization | int, user_ids: list[int]) -> dict[int, int]:
    """Each operator's load: live chats they accepted plus waiting chats offered to them."""
    result = dict.fromkeys(user_ids, 0)
    if not user_ids:
        return result
    chats = Conversation.objects.for_org(org)
    live = (
        chats.filter(state=Conversation.State.LIVE, accepted_by_id__in=user_ids)
        .values("accepted_by_id")
        .annotate(n=Count("pk"))
    )
    for row in live:
        result[row["accepted_by_id"]] += row["n"]
    offered = (
        chats.filter(state=Conversation.State.WAITING, assigned_to_id__in=user_ids)
        .values("assigned_to_id")
        .annotate(n=Count("pk"))
    )
    for row in offered:
        result[row["assigned_to_id"]] += row["n"]
    return result


def load_of(org: Organization | int, user_id: int) -> int:
    return loads(org, [user_id])[user_id]


@transaction.atomic
def presence_set(
    *, actor: Membership, presence: str, max_chats: int | None = None
) -> OperatorStatus:
    """The member sets their own presence (and, if given, their limit). Bad values change
    nothing (a ValidationError naming the field)."""
    if not actor.has_app(App.CHAT):
        raise ValidationError(_("You do not have access to this app."))
    errors: dict[str, list[str]] = {}
    if presence not in Presence.values:
        errors["presence"] = [_("Choose available, busy or away.")]
    if max_chats is not None and not 1 <= max_chats <= 50:
        errors["max_chats"] = [_("Enter a number from 1 to 50.")]
    if errors:
        raise ValidationError(errors)
    status, _created = OperatorStatus.objects.for_org(actor.org).get_or_create(
        org=actor.org,
        user_id=actor.user_id,
        defaults={"presence": presence, "max_chats": max_chats or DEFAULT_CHAT_LIMIT},
    )
    status.presence = presence
    if max_chats is not None:
        status.max_chats = max_chats
    status.save(update_fields=["presence", "max_chats", "updated_at"])
    _reroute_for(actor, status)
    return status


def _reroute_for(actor: Membership, status: OperatorStatus) -> None:
    """An operator who becomes available is offered the waiting chats nobody was offered;
    one who becomes busy or away gives back the waiting chats offered to them."""
    chats = Conversation.objects.for_org(actor.org).select_related("department")
    if status.presence == Presence.AVAILABLE:
        departments = ChatDepartment.objects.for_org(actor.org).filter(
            operator_links__user_id=actor.user_id, is_enabled=True
        )
        for department in departments:
            route_waiting(actor.org, department)
        return
    offered = chats.filter(state=Conversation.State.WAITING, assigned_to_id=actor.user_id)
    for conversation in offered.order_by("created_at", "pk")[:50]:
        route(conversation)


def ensure_under_limit(org: Organization | int, user: User, *, adding: int = 1) -> None:
    """Refuse (ValidationError) when taking one more chat would pass the member's limit."""
    status = status_of(org, user.pk)
    live = (
        Conversation.objects.for_org(org)
        .filter(state=Conversation.State.LIVE, accepted_by_id=user.pk)
        .count()
    )
    if live + adding > status.max_chats:
        raise ValidationError(
            _("%(name)s already has %(n)d chats, the most they take at once.")
            % {"name": user.display_name, "n": live}
        )


# --- Routing -----------------------------------------------------------------------------------
def department_operator_ids(org: Organization | int, department: ChatDepartment) -> list[int]:
    return list(
        ChatOperator.objects.for_org(org)
        .filter(department=department)
        .order_by("created_at", "pk")
        .values_list("user_id", flat=True)
    )


def _active_members(org: Organization | int, user_ids: list[int]) -> set[int]:
    return set(
        Membership.objects.for_org(org)
        .filter(user_id__in=user_ids, status=Membership.Status.ACTIVE)
        .values_list("user_id", flat=True)
    )


def routable_operators(org: Organization | int, department: ChatDepartment) -> list[int]:
    """The department's operators who may be offered a chat now: active members, available,
    under their limit; least loaded first (ties: in the order they joined the department)."""
    ids = department_operator_ids(org, department)
    active = _active_members(org, ids)
    ids = [i for i in ids if i in active]
    statuses = {s.user_id: s for s in OperatorStatus.objects.for_org(org).filter(user_id__in=ids)}
    load = loads(org, ids)
    ready = [
        i
        for i in ids
        if i in statuses
        and statuses[i].presence == Presence.AVAILABLE
        and load[i] < statuses[i].max_chats
    ]
    order = {user_id: n for n, user_id in enumerate(ids)}
    return sorted(ready, key=lambda i: (load[i], order[i]))


def previous_operator_id(conversation: Conversation) -> int | None:
    """Who answered this visitor's latest earlier chat: the same email address (any case) or
    the same tracked visitor (the widget's key, CHAT-08)."""
    same = Q()
    email = (conversation.visitor_email or "").strip()
    if email:
        same |= Q(visitor_email__iexact=email)
    visitor_id = getattr(conversation, "visitor_id", None)
    if visitor_id:
        same |= Q(visitor_id=visitor_id)
    if not same:
        return None
    return (
        Conversation.objects.for_org(conversation.org_id)
        .filter(same, accepted_by__isnull=False)
        .exclude(pk=conversation.pk)
        .order_by("-created_at", "-pk")
        .values_list("accepted_by_id", flat=True)
        .first()
    )


def route(conversation: Conversation) -> int | None:
    """Offer the waiting `conversation` to one operator of its department (see the module's
    docstring); returns that operator's id, or None when nobody may take it now. Runs in the
    caller's transaction."""
    if conversation.state != Conversation.State.WAITING or conversation.department is None:
        return None
    ready = routable_operators(conversation.org_id, conversation.department)
    chosen = None
    if ready:
        previous = previous_operator_id(conversation)
        chosen = previous if previous in ready else ready[0]
    Conversation.objects.for_org(conversation.org_id).filter(pk=conversation.pk).update(
        assigned_to_id=chosen
    )
    conversation.assigned_to_id = chosen
    return chosen


def on_start(conversation: Conversation) -> None:
    """A new waiting chat: its missed-chat timer starts, and it is offered to an operator."""
    if conversation.department is None:
        return
    due = timezone.now() + dt.timedelta(seconds=conversation.department.missed_after_seconds)
    Conversation.objects.for_org(conversation.org_id).filter(pk=conversation.pk).update(due_at=due)
    conversation.due_at = due
    route(conversation)


def prefer_previous(conversation: Conversation) -> None:
    """Once the chat is linked to its tracked visitor: offer it to the visitor's previous
    operator instead, when they may take it now (routing at the start knew only the email)."""
    if conversation.state != Conversation.State.WAITING or conversation.department is None:
        return
    previous = previous_operator_id(conversation)
    if previous is None or previous == conversation.assigned_to_id:
        return
    if previous in routable_operators(conversation.org_id, conversation.department):
        Conversation.objects.for_org(conversation.org_id).filter(
            pk=conversation.pk, state=Conversation.State.WAITING
        ).update(assigned_to_id=previous)
        conversation.assigned_to_id = previous


def route_waiting(org: Organization | int, department: ChatDepartment) -> int:
    """Offer the department's waiting chats that nobody was offered yet (an operator became
    available), oldest first; returns how many were offered."""
    routed = 0
    waiting = (
        Conversation.objects.for_org(org)
        .select_related("department")
        .filter(department=department, state=Conversation.State.WAITING, assigned_to=None)
        .order_by("created_at", "pk")
    )
    for conversation in waiting[:50]:
        if route(conversation) is None:
            break
        routed += 1
    return routed


def offered_to_filter(user_id: int) -> Q:
    return Q(state=Conversation.State.WAITING, assigned_to_id=user_id)
