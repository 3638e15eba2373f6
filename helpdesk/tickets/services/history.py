"""Ticket history (TKT-05): written by the services, inside their transaction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models

from ..models import Ticket, TicketHistory


def _plain(value: Any) -> Any:
    """A JSON-ready, human-meaningful form of a field value."""
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    return {
        key: [_plain(before.get(key)), _plain(after.get(key))]
        for key in after
        if _plain(before.get(key)) != _plain(after.get(key))
    }


def history_record(
    *,
    ticket: Ticket,
    actor,
    ip: str | None,
    action: str,
    changes: dict[str, list[Any]] | None = None,
) -> TicketHistory:
    return TicketHistory.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        actor=actor,
        ip_address=ip or None,
        action=action,
        changes=changes or {},
    )
