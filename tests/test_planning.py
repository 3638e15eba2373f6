"""helpdesk.planning: statements planned for their values (issue 14, CRM record ticket lists)."""

from __future__ import annotations

import pytest
from django.db import connection

from helpdesk.planning import custom_plan_cursor


def _mode() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_custom_plan_cursor_plans_for_the_values_only_inside_its_block():
    before = _mode()
    with custom_plan_cursor() as cursor:
        cursor.execute("SHOW plan_cache_mode")
        assert cursor.fetchone()[0] == "force_custom_plan"
        cursor.execute("SELECT %s::int + 1", [41])
        assert cursor.fetchone()[0] == 42
    assert _mode() == before != "force_custom_plan"
