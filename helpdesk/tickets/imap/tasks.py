"""Thin Celery wrappers of the IMAP poller: beat runs the sweep every IMAP_POLL_SECONDS; the
sweep enqueues one poll per due mailbox (ScopedTask runs each in its organization's scope)."""

from __future__ import annotations

from celery import shared_task

from . import services


@shared_task
def imap_poll_due_task() -> int:
    due = services.due_mailboxes()
    for org_id, mailbox_id in due:
        imap_poll_mailbox_task.delay(org_id, mailbox_id)
    return len(due)


# No retries here: a failure is recorded on the mailbox and the sweep tries again after the
# backoff. The lock's expiry (services.LOCK_SECONDS) bounds a hung poll; the time limit below
# ends it first.
@shared_task(soft_time_limit=services.LOCK_SECONDS - 30, time_limit=services.LOCK_SECONDS)
def imap_poll_mailbox_task(org_id: int, mailbox_id: int) -> dict:
    result = services.mailbox_poll(org_id=org_id, mailbox_id=mailbox_id)
    if result.more:
        imap_poll_mailbox_task.delay(org_id, mailbox_id)
    return {"outcome": result.outcome, "read": result.read, "outcomes": result.outcomes or {}}
