"""Thin Celery wrappers: take IDs, call services."""

from __future__ import annotations

from celery import shared_task

from .services.follower_mail import followers_mail
from .services.mail import thread_mail_send
from .services.owner_mail import owner_mail_send


@shared_task(bind=True, max_retries=5, retry_backoff=True, autoretry_for=(OSError,))
def send_thread_mail_task(self, org_id: int, thread_id: int) -> bool:
    return thread_mail_send(org_id=org_id, thread_id=thread_id)


@shared_task(bind=True, max_retries=5, retry_backoff=True, autoretry_for=(OSError,))
def followers_notify_task(
    self, org_id: int, event: str, object_id: int, ticket_id: int, actor_id: int | None
) -> int:
    return followers_mail(
        org_id=org_id, event=event, object_id=object_id, ticket_id=ticket_id, actor_id=actor_id
    )


@shared_task(bind=True, max_retries=5, retry_backoff=True, autoretry_for=(OSError,))
def owner_notify_task(
    self, org_id: int, event: str, ticket_id: int, owner_id: int, thread_id: int | None
) -> bool:
    return owner_mail_send(
        org_id=org_id, event=event, ticket_id=ticket_id, owner_id=owner_id, thread_id=thread_id
    )
