"""What the engine's modules share: the tickets being moved, the race's exception."""

from __future__ import annotations

import contextvars
import logging
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Model

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


# The engine's own rows, written in SQL (no model signals listen to them): building the ORM's
# INSERT and UPDATE cost more CPU than running them (bench/blueprints.py --profile).
_INSERTS: dict[type[Model], tuple[str, list[Any]]] = {}
ModelT = TypeVar("ModelT", bound=Model)


def _insert(model: type[Model]) -> tuple[str, list[Any]]:
    """The model's `INSERT ... RETURNING pk` with a placeholder per concrete field, and the
    fields in their order."""
    if model not in _INSERTS:
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        columns = ", ".join(f'"{f.column}"' for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        _INSERTS[model] = (
            f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({marks})'  # noqa: S608
            f' RETURNING "{meta.pk.column}"',
            fields,
        )
    return _INSERTS[model]


def _values(obj: Model, fields: list[Any]) -> list[Any]:
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def _inserted(obj: ModelT, pk: Any) -> ModelT:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def insert_row(obj: ModelT) -> ModelT:
    """INSERT the unsaved model instance `obj` (a transition log entry, a ticket's instance)
    in one statement, as `save()` would (field defaults and conversions included); sets its
    primary key. Returns it."""
    sql, fields = _insert(type(obj))
    with connection.cursor() as cursor:
        cursor.execute(sql, _values(obj, fields))
        return _inserted(obj, cursor.fetchone()[0])


def insert_rows(*objs: Model) -> None:
    """INSERT unsaved model instances that do not refer to one another in one statement (a
    round trip instead of one each), as `insert_row` does each; sets their primary keys."""
    parts, values = [], []
    for n, obj in enumerate(objs):
        sql, fields = _insert(type(obj))
        parts.append(f"r{n} AS ({sql})")
        values += _values(obj, fields)
    picks = ", ".join(f"(SELECT * FROM r{n})" for n in range(len(objs)))  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {', '.join(parts)} SELECT {picks}", values)  # noqa: S608
        for obj, pk in zip(objs, cursor.fetchone(), strict=True):
            _inserted(obj, pk)


def move_instance(org_id: int, instance_id: int, state_id: int, at: Any) -> None:
    """Put the ticket's instance in state `state_id`, entered at `at`."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE blueprints_ticketblueprint SET state_id = %s, entered_at = %s "
            "WHERE org_id = %s AND id = %s",
            [state_id, at, org_id, instance_id],
        )
