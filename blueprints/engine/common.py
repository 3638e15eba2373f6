"""What the engine's modules share: the tickets being moved, the race's exception."""

from __future__ import annotations

import contextvars
import logging
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection

log = logging.getLogger(__name__)

# Tickets whose status the engine is moving (the pipeline step leaves them alone).
_moving: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "blueprint_moving", default=frozenset()
)


class TransitionConflict(ValidationError):
    """The ticket is no longer where the member saw it (another member completed a transition
    first, or the transition was removed): the loser of a race."""


# Two statements of every transition, in SQL: the ORM's building of them cost four to five
# times their running (0.86 and 1.0 ms of CPU against 0.18, measured on madoguchi_bench).
def lock_ticket(org_id: int, ticket_id: int) -> bool:
    """Lock the ticket's row alone (`FOR UPDATE`, no join: a locking read joined to the status
    would drop the row when a concurrent transition changed its status); False when the
    ticket is gone."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM tickets_ticket WHERE org_id = %s AND id = %s FOR UPDATE",
            [org_id, ticket_id],
        )
        return cursor.fetchone() is not None


def close_windows(org_id: int, instance_id: int) -> None:
    """Delete the instance's transition windows (it left the state they were opened in)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM blueprints_transitionwindow WHERE org_id = %s AND instance_id = %s",
            [org_id, instance_id],
        )


# The engine's own rows are written in SQL (`helpdesk.bulkinsert.insert_row`): building the
# ORM's INSERT cost more CPU than running it (bench/blueprints.py --profile).
def move_instance(org_id: int, instance_id: int, state_id: int, at: Any) -> None:
    """Put the ticket's instance in state `state_id`, entered at `at`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE blueprints_ticketblueprint SET state_id = %s, entered_at = %s "
            "WHERE org_id = %s AND id = %s",
            [state_id, at, org_id, instance_id],
        )
