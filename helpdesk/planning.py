"""Statements whose best plan depends on their values.

psycopg prepares a statement a connection has run a few times (settings: `prepare_threshold`),
and after five runs PostgreSQL may settle on a generic plan, made without the values. For a
small lookup that saves the planning; for a count over one record's tickets it can cost
dearly: the generic plan cannot know that an account has 50,000 tickets and a contact five,
and the CRM's account tickets list spent 85 ms in a generic plan of its view counts against
27 ms planned for its values (bench/crm_pages.py). It imports no app."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.db.models import QuerySet


def execute_for_values(cursor: CursorWrapper, sql: str, params: Sequence[Any]) -> None:
    """Run `sql` with its values written into the statement (psycopg's client-side binding,
    `compose_sql`, quoting each as a literal), so PostgreSQL plans it for them every time: a
    statement without parameters has no generic plan to fall back on."""
    ops: Any = connection.ops  # PostgreSQL's operations (`compose_sql` is theirs)
    cursor.execute(ops.compose_sql(sql, list(params)))


def values_for_values(queryset: QuerySet) -> list[dict[str, Any]]:
    """The rows of a `.values(...)` queryset, read with `execute_for_values`: a page of one
    record's tickets, whose generic plan (the record unknown) walked the organization's
    tickets instead of the record's index (10 ms against 0.2 ms, bench/crm_pages.py). Values
    come as psycopg gives them (no field converters: text, numbers and aware datetimes)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        execute_for_values(cursor, sql, params)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
