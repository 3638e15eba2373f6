"""Followers of a ticket (TKT-01): members who get a mail for each reply, comment or status
change of it, one mail per event and follower, never for what they did themselves.

The service that changes the ticket calls `followers_notify` inside its transaction; one task
per event is enqueued on commit (nothing is sent for a rolled-back change) and mails each
follower (`follower_mail`)."""

from __future__ import annotations

from django.db import transaction

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, User

from ..models import Thread, Ticket, TicketFollower, TicketHistory
from .follower_mail import EVENTS, ensure_may_see


@transaction.atomic
def ticket_follow(*, actor: Membership, ticket: Ticket) -> bool:
    """The member follows the ticket; False when they already did. Any member who sees the
    ticket may follow it (restricted agents included: they only read)."""
    ensure_may_see(actor, ticket)
    _row, created = TicketFollower.objects.get_or_create(
        org_id=ticket.org_id, ticket=ticket, user=actor.user
    )
    return created


@transaction.atomic
def ticket_unfollow(*, actor: Membership, ticket: Ticket) -> bool:
    """The member stops following; False when they did not follow it."""
    ensure_same_org(actor.org, ticket)
    deleted, _rows = (
        TicketFollower.objects.for_org(actor.org).filter(ticket=ticket, user=actor.user).delete()
    )
    return bool(deleted)


def followers_notify(
    *,
    ticket: Ticket,
    actor: User | None,
    event: str,
    thread: Thread | None = None,
    history: TicketHistory | None = None,
) -> None:
    """Mail the followers of `ticket`, except `actor`, about a thread entry (`event="thread"`,
    give `thread`) or a status change (`"status"`, give the history row that records it).
    Call inside the changing service's transaction: one task is enqueued on commit and reads
    the followers there, so the change itself costs no query (a bulk change of 500 tickets
    stays as fast as before)."""
    if event not in EVENTS:
        raise ValueError(event)
    obj = thread if event == "thread" else history
    if obj is None:
        raise ValueError(f"{event} needs its object")
    from ..tasks import followers_notify_task

    org_id, object_id, ticket_id = ticket.org_id, obj.pk, ticket.pk
    actor_id = actor.pk if actor is not None else None
    transaction.on_commit(
        lambda: followers_notify_task.delay(org_id, event, object_id, ticket_id, actor_id)
    )
