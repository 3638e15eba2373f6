"""The after-action task: thin, takes the organization and the run's id (ScopedTask sets the
row-level-security scope). Imports the services when it runs, so importing this module at
start-up pulls in nothing."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial

from celery import shared_task
from django.db import transaction

MAX_RETRIES = 4  # five tries in all (services.MAX_ATTEMPTS)


def backoff(retries: int) -> int:
    """Seconds before the next try: 30 s, 2 min, 8 min, 32 min."""
    return 30 * 4**retries


@shared_task(bind=True, max_retries=MAX_RETRIES)
def after_action_run_task(self, org_id: int, run_id: int) -> object:
    from .services import Outcome, after_action_execute

    last_try = self.request.retries >= self.max_retries
    outcome = after_action_execute(org_id=org_id, run_id=run_id, last_try=last_try)
    if outcome == Outcome.RETRY:
        # A worker queues the next try after the backoff (retry raises); in eager mode (tests,
        # the embedded default) Celery re-applies a returned Retry at once, as the next try.
        eager = bool(self.request.is_eager)
        return self.retry(countdown=backoff(self.request.retries), throw=not eager)
    return outcome


def enqueue(runs: Iterable) -> None:
    """Queue a task per run once the current transaction commits."""
    for run in runs:
        transaction.on_commit(partial(after_action_run_task.delay, run.org_id, run.pk))
