"""Mail to a ticket's owner (My profile's events, issue 8 item 6): "a ticket is assigned to
me" and "a customer replies on a ticket I own". Never for what the owner did themselves.

The changing service calls `owners.owner_notify` inside its transaction; one task is enqueued
on commit and calls `owner_mail_send`, which sends at most one mail, claimed in the cache like
follower mail so a task delivered twice sends it once. The mail goes only if the ticket still
has that owner when the task runs, the owner is an active member who sees the ticket and wants
such mail."""

from __future__ import annotations

from django.http import Http404

from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.notifications import MailEvent, wants_mail

from ..html import html_to_text
from ..models import Thread, Ticket
from .follower_mail import ensure_may_see, member_mail_send

MAIL_EVENTS = {
    "assigned": MailEvent.TICKET_ASSIGNED,
    "customer_reply": MailEvent.REPLY_ON_MY_TICKET,
}


def owner_mail_send(
    *, org_id: int, event: str, ticket_id: int, owner_id: int, thread_id: int | None = None
) -> bool:
    """Send the owner's mail about one event, once. False when skipped: the ticket has
    another owner by now, the owner left or may no longer see it, turned the event off on
    their profile, or already got this mail."""
    if event not in MAIL_EVENTS:
        return False
    ticket = (
        Ticket.objects.for_org(org_id)
        .filter(pk=ticket_id, owner_id=owner_id)
        .select_related("department", "status", "contact")
        .defer("search_vector")
        .first()
    )
    membership = (
        Membership.objects.for_org(org_id)
        .filter(user_id=owner_id, status=Membership.Status.ACTIVE)
        .select_related("user", "org")
        .first()
    )
    if ticket is None or membership is None:
        return False
    thread: Thread | None = None
    if event == "customer_reply":
        thread = Thread.objects.for_org(org_id).filter(pk=thread_id, ticket_id=ticket_id).first()
        if thread is None:
            return False
    try:
        ensure_may_see(membership, ticket)
    except Http404:
        return False
    if not wants_mail(user=membership.user, org=membership.org, event=MAIL_EVENTS[event]):
        return False
    # Assignments are keyed by the assignment's time (the ticket's last activity), so being
    # assigned the same ticket again later is a new mail; a reply by its thread.
    marker = thread.pk if thread is not None else ticket.last_activity_at.timestamp()
    key = f"owner-mail:{org_id}:{event}:{ticket_id}:{owner_id}:{marker}"
    return member_mail_send(
        key=key,
        template="tickets/emails/owner",
        membership=membership,
        ticket=ticket,
        context={
            "event": event,
            "thread": thread,
            "text": html_to_text(thread.body) if thread is not None else "",
        },
    )
