"""Insert many rows of one model in one statement (the customer import, CUS-01; the CRM's
initial sync, CRM-04).

`QuerySet.bulk_create` prepares every value of every row in Python (Django's field
preparation, then psycopg's adaptation of each array element): most of a bulk insert's time
on this machine. `insert_rows` takes dicts of values by column, sends them as one JSON
document and lets PostgreSQL build the rows (`json_populate_recordset`): the JSON is written
in C, and columns a row does not name take their defaults (the time for auto_now fields),
computed once per call, so a field added to a model later is written with its default.

Ids, when the caller needs them, come from the table's sequence first (`new_ids`, one query)
and are given in the rows. Nothing here validates: callers validate first and hold the
transaction. It imports no app.

`insert_row` and `insert_together` write one unsaved model instance, or a few of different
models, as `save()` would (defaults and field conversions included) but with an INSERT built
once per model: for rows written on every request or transition (a ticket's history row, a
blueprint's log entry), where the ORM's building of the statement cost more CPU than running
it. They send no model signals (nothing listens to those models' signals)."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models
from django.utils import timezone


def new_ids(model: type[models.Model], count: int) -> list[int]:
    """`count` fresh ids of the model's table, in order."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, model._meta.pk.column, count],
        )
        return [row[0] for row in cursor.fetchall()]


def _default(field: models.Field, now: Any) -> Any:
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return now
    return field.get_default()


def to_json(rows: list[dict[str, Any]]) -> str:
    return json.dumps(rows, cls=DjangoJSONEncoder, ensure_ascii=False)


def insert_rows(
    model: type[models.Model],
    rows: list[dict[str, Any]],
    *,
    with_ids: bool = True,
    ignore_conflicts: bool = False,
) -> None:
    """INSERT `rows` (dicts by column; "id" given when `with_ids`) into `model`'s table in one
    statement, the rows sent as one JSON document (json_populate_recordset); missing fields
    take their defaults."""
    if not rows:
        return
    now = timezone.now()
    fields = [
        f
        for f in model._meta.concrete_fields
        if (with_ids or not f.primary_key) and not f.generated  # PostgreSQL computes those
    ]
    # One JSON form of each default (timestamps formatted once, not per row).
    defaults = json.loads(
        to_json([{f.column: _default(f, now) for f in fields if not f.primary_key}])
    )[0]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    # Identifiers come from the model's options; the rows are one parameter.
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608
        f"FROM json_populate_recordset(NULL::{table}, %s::json)"
    )
    if ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, [to_json([{**defaults, **row} for row in rows])])


# --- One row (or a few) from model instances --------------------------------------------------
_INSERTS: dict[type[models.Model], tuple[str, list[Any]]] = {}
ModelT = TypeVar("ModelT", bound=models.Model)


def _insert(model: type[models.Model]) -> tuple[str, list[Any]]:
    """The model's `INSERT ... RETURNING pk` with a placeholder per concrete field, and the
    fields in their order."""
    if model not in _INSERTS:
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key and not f.generated]
        columns = ", ".join(f'"{f.column}"' for f in fields)
        marks = ", ".join(["%s"] * len(fields))
        _INSERTS[model] = (
            f'INSERT INTO "{meta.db_table}" ({columns}) VALUES ({marks})'  # noqa: S608
            f' RETURNING "{meta.pk.column}"',
            fields,
        )
    return _INSERTS[model]


def _values(obj: models.Model, fields: list[Any]) -> list[Any]:
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def _inserted(obj: ModelT, pk: Any) -> ModelT:
    obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias
    return obj


def insert_row(obj: ModelT) -> ModelT:
    """INSERT the unsaved model instance `obj` in one statement, as `save()` would (field
    defaults and conversions included); sets its primary key. Returns it."""
    sql, fields = _insert(type(obj))
    with connection.cursor() as cursor:
        cursor.execute(sql, _values(obj, fields))
        return _inserted(obj, cursor.fetchone()[0])


def insert_together(*objs: models.Model) -> None:
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
