"""The webhook delivery task (issue 16, item 4): thin, takes the organization and the
delivery's id (ScopedTask sets the row-level-security scope); retried with exponential
back-off while the failure may pass."""

from __future__ import annotations

from celery import shared_task

MAX_RETRIES = 5  # six tries in all


def backoff(retries: int) -> int:
    """Seconds before the next try: 30 s, 2 min, 8 min, 32 min, ~2 h."""
    return 30 * 4**retries


@shared_task(bind=True, max_retries=MAX_RETRIES)
def webhook_deliver_task(self, org_id: int, delivery_id: int) -> str:
    from .webhooks.services import Outcome, delivery_attempt

    last_try = self.request.retries >= self.max_retries
    outcome = delivery_attempt(org_id=org_id, delivery_id=delivery_id, last_try=last_try)
    if outcome == Outcome.RETRY:
        # A worker queues the next try after the back-off (retry raises); in eager mode (tests,
        # the embedded default) Celery re-applies a returned Retry at once, as the next try.
        eager = bool(self.request.is_eager)
        return self.retry(countdown=backoff(self.request.retries), throw=not eager)
    return outcome
