"""Thin Celery wrapper of the customer imports: takes the organization and the job's id and
calls the service (ScopedTask runs it in its organization's row-level-security scope)."""

from __future__ import annotations

from celery import shared_task

from .services import import_run


@shared_task(bind=True, acks_late=True)
def customer_import_task(self, org_id: int, job_id: int) -> dict[str, object] | None:
    """Write a confirmed import of contacts or accounts (CUS-01)."""
    job = import_run(org_id=org_id, job_id=job_id)
    return None if job is None else {"status": job.status, "done": job.done, "total": job.total}
