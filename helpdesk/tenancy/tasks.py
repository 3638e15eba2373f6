"""Thin Celery wrappers: take IDs, call services."""

from __future__ import annotations

from celery import shared_task

from .services import mail
from .services.invitations import invitations_purge_stale


@shared_task(bind=True, max_retries=5, retry_backoff=True, autoretry_for=(OSError,))
def send_invitation_email_task(self, org_id: int, invitation_id: int) -> bool:
    return mail.invitation_send(org_id=org_id, invitation_id=invitation_id)


@shared_task(bind=True, max_retries=5, retry_backoff=True, autoretry_for=(OSError,))
def send_password_reset_email_task(self, user_id: int) -> bool:
    return mail.password_reset_send(user_id=user_id)


@shared_task
def purge_stale_invitations_task() -> int:
    return invitations_purge_stale()


@shared_task(bind=True, max_retries=5, retry_backoff=True, autoretry_for=(OSError,))
def send_signup_confirmation_email_task(
    self, *, email: str, portal: str, url: str, language: str
) -> bool:
    return mail.signup_confirmation_send(email=email, portal=portal, url=url, language=language)


@shared_task(bind=True, max_retries=5, retry_backoff=True, autoretry_for=(OSError,))
def send_signup_attempt_email_task(self, user_id: int) -> bool:
    return mail.signup_attempt_send(user_id=user_id)
