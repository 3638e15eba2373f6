"""A cursor for statements whose best plan depends on their values.

psycopg prepares a statement a connection has run a few times (settings: `prepare_threshold`),
and after five runs PostgreSQL may settle on a generic plan, made without the values. For a
small lookup that saves the planning; for a count over one record's tickets it can cost
dearly: the generic plan cannot know that an account has 50,000 tickets and a contact five,
and the CRM's account tickets list spent 85 ms in a generic plan of its view counts against
27 ms planned for its values (bench/crm_pages.py). It imports no app."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper


@contextmanager
def custom_plan_cursor() -> Iterator[CursorWrapper]:
    """A cursor, inside a transaction, whose statements PostgreSQL plans for their values
    every time (`SET LOCAL plan_cache_mode = force_custom_plan`, one statement more). For
    reads only: the block is rolled back at its end, which also ends the setting when the
    caller's own transaction goes on (a savepoint's rollback undoes its SET LOCAL)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_custom_plan")
        try:
            yield cursor
        finally:
            transaction.set_rollback(True)
