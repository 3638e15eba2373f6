"""Chat's Celery tasks (issue 15, item 3): the missed-chat sweep, run by the beat every
`CHAT_MISSED_SWEEP_SECONDS`. It takes no organization: the sweep finds them through the
cross-tenant read and scopes each itself (chat/services/missed.py)."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True)
def missed_sweep_task() -> int:
    from .services.missed import missed_sweep

    return missed_sweep().missed


@shared_task(ignore_result=True)
def tracking_prune_task() -> int:
    """Beat, daily (CHAT-08): page views older than `CHAT_TRACKING_DAYS`, and visitors not
    seen since, in every organization."""
    from .services.tracking import tracking_prune

    return tracking_prune()
