"""ORG-01: the database refuses a ticket that points into another organization (the composite
keys of helpdesk/tenancy/keys.py), checked with raw SQL that bypasses the ORM."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction


def _copy_row_sql(table: str, columns: list[str], overrides: dict[str, object]):
    select = ", ".join("%s" if c in overrides else f'"{c}"' for c in columns)
    params = [overrides[c] for c in columns if c in overrides]
    cols = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({cols}) SELECT {select} FROM "{table}" WHERE id = %s', params


@pytest.mark.parametrize("reference", ["contact_id", "department_id", "status_id"])
def test_org01_database_refuses_a_ticket_pointing_into_another_org(desk, globex, reference):
    from customers.models import Contact
    from helpdesk.tickets.models import Ticket, TicketStatus

    ticket = desk.ticket()
    theirs = {
        "contact_id": Contact.objects.create(
            org=globex.org, last_name="Mallory", email="m@x.test"
        ).id,
        "department_id": globex.department.id,
        "status_id": TicketStatus.objects.create(
            org=globex.org, department=globex.department, name="Theirs", kind="open"
        ).id,
    }[reference]
    columns = [
        f.column for f in Ticket._meta.concrete_fields if f.column not in ("id", "search_vector")
    ]
    sql, params = _copy_row_sql(
        "tickets_ticket", columns, {"number": ticket.number + 1000, reference: theirs}
    )
    with (
        pytest.raises(IntegrityError, match="violates foreign key"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, [*params, ticket.id])
    # The same copy with its own organization's references is accepted.
    sql, params = _copy_row_sql("tickets_ticket", columns, {"number": ticket.number + 1000})
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(sql, [*params, ticket.id])
