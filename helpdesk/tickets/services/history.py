"""Ticket history (TKT-05): written by the services, inside their transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.db import models

from helpdesk.bulkinsert import insert_row

from .. import pipeline
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


# Apps above tickets that follow what happens to tickets (blueprints: actions done inside a
# transition window, BP-09/BP-13; auto-transitions on a customer reply or rating, BP-05)
# register a listener at start-up; each is called with every row written, inside the writing
# service's transaction. A registry, as the pipeline's: tickets imports none of them.
_listeners: list[Callable[[TicketHistory], None]] = []


def history_listen(listener: Callable[[TicketHistory], None]) -> None:
    """Call `listener(row)` after each history row is written (registered once)."""
    if listener not in _listeners:
        _listeners.append(listener)


def history_record(
    *,
    ticket: Ticket,
    actor,
    ip: str | None,
    action: str,
    changes: dict[str, list[Any]] | None = None,
) -> TicketHistory:
    # Every change writes one: an INSERT built once (the ORM's building cost more than it).
    row = insert_row(
        TicketHistory(
            org_id=ticket.org_id,
            ticket=ticket,
            actor=actor,
            ip_address=ip or None,
            action=action,
            changes=changes or {},
        )
    )
    for listener in _listeners:
        listener(row)
    return row


def history_record_many(rows: list[TicketHistory]) -> list[TicketHistory]:
    """Write many unsaved history rows in one INSERT (each with its org, ticket, action and
    changes set), then tell the listeners about each: for processes that change many tickets
    at once (SLA escalations, BP-15). The listeners run inside one `pipeline.batch()`, so what
    they read per organization (its webhook subscriptions, the CRMs syncing with its desk) is
    read once for all the rows, not once a row (bench/sla.py: two cache round trips an
    escalation)."""
    saved = TicketHistory.objects.bulk_create(rows)
    with pipeline.batch():
        for row in saved:
            for listener in _listeners:
                listener(row)
    return saved
