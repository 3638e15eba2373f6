"""ORG-01: the plan that distributes the schema on Citus (manage.py citus_plan), in the order
Citus accepts (RECIPES.md): foreign keys dropped, reference tables, tenant tables distributed
by org_id and co-located, foreign keys back."""

from __future__ import annotations

import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from helpdesk.tenancy import keys, rls


def _plan() -> list[str]:
    out = StringIO()
    call_command("citus_plan", stdout=out)
    return out.getvalue().splitlines()


def _phase(statement: str) -> int:
    for number, marker in enumerate(
        ("DROP CONSTRAINT", "create_reference_table", "create_distributed_table", "ADD CONSTRAINT")
    ):
        if marker in statement:
            return number
    raise AssertionError(statement)


def test_org01_citus_plan_runs_in_an_order_citus_accepts(db):
    plan = _plan()
    phases = [_phase(s) for s in plan]
    assert phases == sorted(phases), "drop keys, reference tables, distribute, add keys back"

    distributed = re.findall(
        r"create_distributed_table\('(\w+)', 'org_id', colocate_with => '(\w+)'\)", "\n".join(plan)
    )
    tables = [t for t, _ in distributed]
    assert sorted(tables) == rls.tenant_tables()  # each tenant table once, by org_id
    anchor = tables[0]
    assert distributed[0] == (anchor, "none")
    assert all(colocate == anchor for _, colocate in distributed[1:])

    reference = set(re.findall(r"create_reference_table\('(\w+)'\)", "\n".join(plan)))
    assert {"tenancy_organization", "tenancy_user"} <= reference
    assert not reference & set(tables)

    dropped = re.findall(r'ALTER TABLE "(\w+)" DROP CONSTRAINT "(\w+)"', "\n".join(plan))
    added = re.findall(r'ALTER TABLE "(\w+)" ADD CONSTRAINT "(\w+)" FOREIGN KEY', "\n".join(plan))
    assert sorted(dropped) == sorted(added)
    assert ("tickets_ticket", "tickets_ticket_contact_id_org_fk") in added


def test_org01_citus_plan_refuses_a_schema_not_ready(db):
    keys.unsync()
    with pytest.raises(CommandError, match="not ready to distribute"):
        call_command("citus_plan", stdout=StringIO())


def test_org01_citus_plan_execute_needs_a_citus_coordinator(db):
    with pytest.raises(CommandError, match="citus extension is not installed"):
        call_command("citus_plan", "--execute", stdout=StringIO())
