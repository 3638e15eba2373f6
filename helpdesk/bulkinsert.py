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
transaction. It imports no app."""

from __future__ import annotations

import json
from typing import Any

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
    fields = [f for f in model._meta.concrete_fields if with_ids or not f.primary_key]
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
