"""Follower mail (TKT-01): what the task enqueued by `followers.followers_notify` does. Each
mail claims its (event, follower) pair in the cache before it is sent, so a task delivered
twice, or retried after one follower's mail failed, sends each mail once. Kept apart from
`followers` so the task module imports this one and nothing imports back (no cycle)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import Http404
from django.urls import reverse

from helpdesk.mail import build_email
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.notifications import MailEvent, wants_mail

from ..html import html_to_text
from ..models import Thread, Ticket, TicketFollower, TicketHistory
from .access import can, ticket_access
from .mail import department_from_address

# The profile's mail preference that governs each event.
MAIL_EVENTS = {"thread": MailEvent.FOLLOWED_REPLY, "status": MailEvent.FOLLOWED_STATUS}
EVENTS = tuple(MAIL_EVENTS)
CLAIM_SECONDS = 7 * 24 * 3600


def ensure_may_see(membership: Membership, ticket: Ticket) -> None:
    """404 unless the member sees the ticket (its organization, their departments, or a
    department it is shared with, TKT-04)."""
    ensure_same_org(membership.org, ticket)
    if not can(membership, "view") or ticket_access(membership, ticket) is None:
        raise Http404


def followers_mail(
    *, org_id: int, event: str, object_id: int, ticket_id: int, actor_id: int | None
) -> int:
    """Send the event's mail to each follower but the actor (each once: see
    `follower_mail_send`). Returns how many were sent now."""
    followers = TicketFollower.objects.for_org(org_id).filter(ticket_id=ticket_id)
    if actor_id is not None:
        followers = followers.exclude(user_id=actor_id)
    sent = 0
    for user_id in followers.order_by("pk").values_list("user_id", flat=True):
        sent += follower_mail_send(org_id=org_id, event=event, object_id=object_id, user_id=user_id)
    return sent


def follower_mail_send(*, org_id: int, event: str, object_id: int, user_id: int) -> bool:
    """Mail one follower about one event, once. Skipped (False) when the follower no longer
    follows, is no active member, may no longer see the ticket, or already got this mail."""
    if event not in EVENTS:
        return False
    thread: Thread | None = None
    history: TicketHistory | None = None
    if event == "thread":
        thread = (
            Thread.objects.for_org(org_id).filter(pk=object_id).select_related("author").first()
        )
        ticket_id = thread.ticket_id if thread else None
    else:
        history = (
            TicketHistory.objects.for_org(org_id)
            .filter(pk=object_id)
            .select_related("actor")
            .first()
        )
        ticket_id = history.ticket_id if history else None
    if ticket_id is None:
        return False
    ticket = (
        Ticket.objects.for_org(org_id)
        .filter(pk=ticket_id, followers__user_id=user_id)
        .select_related("department", "status")
        .defer("search_vector")
        .first()
    )
    membership = (
        Membership.objects.for_org(org_id)
        .filter(user_id=user_id, status=Membership.Status.ACTIVE)
        .select_related("user", "org")
        .first()
    )
    if ticket is None or membership is None:
        return False
    try:
        ensure_may_see(membership, ticket)
    except Http404:
        return False
    if not wants_mail(user=membership.user, org=membership.org, event=MAIL_EVENTS[event]):
        return False
    # The row's creation time makes the key unique even where ids restart (a new database).
    stamp = (thread or history).created_at.timestamp()  # type: ignore[union-attr]
    key = f"follower-mail:{org_id}:{event}:{object_id}:{stamp}:{user_id}"
    return member_mail_send(
        key=key,
        template="tickets/emails/follower",
        membership=membership,
        ticket=ticket,
        context={
            "event": event,
            "thread": thread,
            "text": html_to_text(thread.body) if thread else "",
            "actor": (thread.author if thread else history.actor if history else None),
            "status": (history.changes.get("status") if history else None) or [None, None],
        },
    )


def member_mail_send(
    *, key: str, template: str, membership: Membership, ticket: Ticket, context: dict[str, Any]
) -> bool:
    """Mail a member about a ticket once: claim `key` in the cache (False when it was already
    claimed), send the `template` mail in their language from the ticket's department with
    the ticket, the member and a link to the ticket added to `context`, and release the claim
    if sending fails, so the task's retry sends it. Shared by follower and owner mail."""
    if not cache.add(key, 1, CLAIM_SECONDS):
        return False
    user = membership.user
    url = settings.SITE_URL.rstrip("/") + reverse(
        "desk:ticket_detail", kwargs={"portal": membership.org.portal, "number": ticket.number}
    )
    message = build_email(
        template,
        {**context, "ticket": ticket, "user": user, "url": url},
        getattr(user, "language", None),
        from_email=department_from_address(ticket.department),
        to=[user.email],
    )
    try:
        message.send()
    except Exception:
        cache.delete(key)  # the task's retry sends it
        raise
    return True
