"""Thin Celery wrappers of the blueprints app: take the organization and IDs, call a service
(ScopedTask runs each in its organization's row-level-security scope)."""

from __future__ import annotations

from celery import shared_task

from .removal.services import removal_run


@shared_task(bind=True, max_retries=3, retry_backoff=True, autoretry_for=(OSError,))
def blueprint_removal_task(self, org_id: int, job_id: int) -> dict[str, int] | None:
    """Remove a blueprint from all its tickets (BP-18)."""
    job = removal_run(org_id=org_id, job_id=job_id)
    return None if job is None else {"done": job.done, "total": job.total}
