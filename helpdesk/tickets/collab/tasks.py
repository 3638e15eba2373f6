"""Thin Celery wrappers: take IDs, call services."""

from __future__ import annotations

from celery import shared_task

from .services.mail import approval_mail


@shared_task(bind=True, max_retries=5, retry_backoff=True, autoretry_for=(OSError,))
def approval_mail_task(
    self, org_id: int, approval_id: int, event: str, user_ids: list[int], decision_id: int | None
) -> int:
    return approval_mail(
        org_id=org_id,
        approval_id=approval_id,
        event=event,
        user_ids=user_ids,
        decision_id=decision_id,
    )
