"""Followers of a ticket (TKT-01): members who get a mail for each reply, comment or status
change of it, one mail per event and follower, never for what they did themselves.

The service that changes the ticket calls `followers_notify` inside its transaction; when the
ticket has followers, one task per event is enqueued on commit (nothing is sent for a
rolled-back change) and mails each follower (`follower_mail`)."""

from __future__ import annotations

import contextvars
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, transaction

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


# {ticket id: its followers' user ids} read ahead for a change of many tickets.
_known: contextvars.ContextVar[dict[int, frozenset[int]] | None] = contextvars.ContextVar(
    "followers_known", default=None
)


@contextmanager
def followers_read_ahead(*, org_id: int, ticket_ids: Iterable[int]) -> Iterator[None]:
    """Inside: `followers_notify` knows the followers of `ticket_ids` from one query instead
    of one per ticket (a bulk change, TKT-06)."""
    ids = set(ticket_ids)
    known: dict[int, set[int]] = {pk: set() for pk in ids}
    for ticket_id, user_id in (
        TicketFollower.objects.for_org(org_id)
        .filter(ticket_id__in=ids)
        .values_list("ticket_id", "user_id")
    ):
        known[ticket_id].add(user_id)
    token = _known.set({pk: frozenset(users) for pk, users in known.items()})
    try:
        yield
    finally:
        _known.reset(token)


FOLLOWED_SQL = f"""
SELECT 1 FROM {TicketFollower._meta.db_table}
WHERE org_id = %s AND ticket_id = %s AND user_id IS DISTINCT FROM %s LIMIT 1
"""  # noqa: S608 - constants only


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
    Call inside the changing service's transaction: when the ticket has a follower other than
    the actor (one indexed read), one task is enqueued on commit and mails them from there.
    Most tickets have none, and the read costs a tenth of enqueueing a task that finds
    nobody (bench/blueprints.py --profile), also in a bulk change of 500 tickets."""
    if event not in EVENTS:
        raise ValueError(event)
    obj = thread if event == "thread" else history
    if obj is None:
        raise ValueError(f"{event} needs its object")
    from ..tasks import followers_notify_task

    org_id, object_id, ticket_id = ticket.org_id, obj.pk, ticket.pk
    actor_id = actor.pk if actor is not None else None
    known = _known.get()
    if known is not None and ticket_id in known:
        if not any(user != actor_id for user in known[ticket_id]):
            return
    else:
        with connection.cursor() as cursor:
            cursor.execute(FOLLOWED_SQL, [org_id, ticket_id, actor_id])
            if cursor.fetchone() is None:
                return
    transaction.on_commit(
        lambda: followers_notify_task.delay(org_id, event, object_id, ticket_id, actor_id)
    )
