"""Thin Celery wrappers of the rules app: take IDs, call services."""

from __future__ import annotations

from celery import shared_task

from .mail import workflow_mail_send


@shared_task(bind=True, max_retries=5, retry_backoff=True, autoretry_for=(OSError,))
def workflow_mail_task(self, org_id: int, rule_id: int, ticket_id: int, token: str) -> int:
    return workflow_mail_send(org_id=org_id, rule_id=rule_id, ticket_id=ticket_id, token=token)
