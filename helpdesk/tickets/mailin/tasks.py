"""Thin Celery wrappers of incoming mail (TKT-07)."""

from __future__ import annotations

from celery import shared_task

from .services import log_purge


@shared_task
def mailin_log_purge_task() -> int:
    """Beat, daily: the incoming-mail log's old rows (held messages stay)."""
    return log_purge()
