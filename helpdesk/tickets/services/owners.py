"""Telling a ticket's owner (My profile's events, issue 8 item 6): the changing service calls
`owner_notify` inside its transaction and one task is enqueued on commit, which sends the mail
(`owner_mail`). Kept apart from `owner_mail` so the task module imports that one and nothing
imports back (no cycle), as with `followers` and `follower_mail`."""

from __future__ import annotations

from django.db import transaction

from helpdesk.tenancy.models import User

from ..models import Thread, Ticket
from .owner_mail import MAIL_EVENTS


def owner_notify(
    *, ticket: Ticket, event: str, actor: User | None, thread: Thread | None = None
) -> None:
    """Tell the ticket's current owner about `event` ("assigned", or "customer_reply" with the
    incoming `thread`), unless the owner is the actor or there is none. Call inside the
    changing service's transaction: nothing is sent for a rolled-back change."""
    if event not in MAIL_EVENTS:
        raise ValueError(event)
    if event == "customer_reply" and thread is None:
        raise ValueError("customer_reply needs its thread")
    owner_id = ticket.owner_id
    if owner_id is None or (actor is not None and actor.pk == owner_id):
        return
    from ..tasks import owner_notify_task

    org_id, ticket_id = ticket.org_id, ticket.pk
    thread_id = thread.pk if thread is not None else None
    transaction.on_commit(
        lambda: owner_notify_task.delay(org_id, event, ticket_id, owner_id, thread_id)
    )
