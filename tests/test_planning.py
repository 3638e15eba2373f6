"""helpdesk.planning: statements planned for their values (issue 14, CRM record ticket lists)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from helpdesk.planning import execute_for_values


@pytest.mark.django_db
def test_the_values_are_written_into_the_statement_quoted():
    """No parameter is left for a generic plan: the statement carries its values as quoted
    literals (a quote in a value stays a value), and the result is the same."""
    at = dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC)
    sql = "SELECT %s::text, %s::timestamptz, 3 = ANY(%s), %s::int + 1"
    with CaptureQueriesContext(connection) as ran, connection.cursor() as cursor:
        execute_for_values(cursor, sql, ["it's'; DROP TABLE x; --", at, [1, 2, 3], 41])
        row = cursor.fetchone()
    assert row == ("it's'; DROP TABLE x; --", at, True, 42)
    (statement,) = ran.captured_queries
    assert "%s" not in statement["sql"] and "'it''s''; DROP TABLE x; --'" in statement["sql"]


@pytest.mark.django_db
def test_values_for_values_gives_the_querysets_rows(acme):
    """The same dicts as the `.values()` queryset, from a statement with its values written in."""
    from helpdesk.planning import values_for_values
    from helpdesk.tenancy.models import Membership

    rows = (
        Membership.objects.for_org(acme.org)
        .filter(status="active")
        .order_by("-pk")
        .values("pk", "user__email", "admin_level")[:3]
    )
    with CaptureQueriesContext(connection) as ran:
        got = values_for_values(rows)
    assert got == list(rows) and got
    assert "%s" not in ran.captured_queries[0]["sql"]
