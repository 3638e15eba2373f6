"""Thin Celery wrappers of the help center: take IDs, call the services."""

from __future__ import annotations

from celery import shared_task

from .mails import rating_mail_send, signin_link_mail_send


@shared_task(bind=True, max_retries=5, retry_backoff=True, autoretry_for=(OSError,))
def signin_link_mail_task(self, org_id: int, link_id: int) -> bool:
    return signin_link_mail_send(org_id=org_id, link_id=link_id)


@shared_task(bind=True, max_retries=5, retry_backoff=True, autoretry_for=(OSError,))
def rating_mail_task(self, org_id: int, ticket_id: int) -> bool:
    return rating_mail_send(org_id=org_id, ticket_id=ticket_id)
