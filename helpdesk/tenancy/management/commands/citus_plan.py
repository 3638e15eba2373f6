"""Print (and with --execute, run) the statements that distribute the schema on Citus.

    python manage.py citus_plan              # print the plan for this database
    python manage.py citus_plan --execute    # run it, on a Citus coordinator, as the owner

The order is the one Citus accepts (README, "Citus plan"): foreign keys that touch the tables
being converted are dropped first (a global table made a reference table while tenant tables
still reference it would turn them into "citus local tables", which cannot then be
distributed); then the global tables that tenant tables reference, and those connected to them
by foreign keys, become reference tables; then every tenant table is distributed by org_id,
co-located with the others; last, the foreign keys are added back, unchanged.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import sql

from helpdesk.tenancy import keys, rls

ANCHOR = "tenancy_membership"  # every tenant table is co-located with this one


def _foreign_keys(cursor) -> list[tuple[str, str, str, str]]:
    """(table, constraint, referenced table, definition) of every foreign key in the schema."""
    cursor.execute(
        "SELECT c.relname, con.conname, t.relname, pg_get_constraintdef(con.oid)"
        " FROM pg_constraint con"
        " JOIN pg_class c ON c.oid = con.conrelid"
        " JOIN pg_class t ON t.oid = con.confrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
        " WHERE con.contype = 'f' ORDER BY c.relname, con.conname"
    )
    return cursor.fetchall()


def plan(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """The statements, in order, as SQL text."""
    tenant = set(rls.tenant_tables())
    with connections[using].cursor() as wrapper:
        cursor = wrapper.cursor
        fks = _foreign_keys(cursor)
        # Reference tables: the global tables tenant tables point at, and every global table
        # connected to one of those by a foreign key (either way), transitively.
        reference = {
            target for table, _, target, _ in fks if table in tenant and target not in tenant
        }
        grew = True
        while grew:
            grew = False
            for table, _, target, _ in fks:
                if table in tenant or target in tenant:
                    continue
                for a, b in ((table, target), (target, table)):
                    if a in reference and b not in reference:
                        reference.add(b)
                        grew = True
        moved = tenant | reference
        dropped = [fk for fk in fks if fk[0] in moved or fk[2] in moved]

        def q(statement: sql.Composable) -> str:
            return statement.as_string(cursor.connection)

        statements = [
            q(
                sql.SQL("ALTER TABLE {} DROP CONSTRAINT {};").format(
                    sql.Identifier(table), sql.Identifier(name)
                )
            )
            for table, name, _, _ in dropped
        ]
        statements += [
            q(sql.SQL("SELECT create_reference_table({});").format(sql.Literal(table)))
            for table in sorted(reference)
        ]
        ordered = [ANCHOR] + sorted(tenant - {ANCHOR})
        for table in ordered:
            colocate = "none" if table == ANCHOR else ANCHOR
            statements.append(
                q(
                    sql.SQL(
                        "SELECT create_distributed_table({}, 'org_id', colocate_with => {});"
                    ).format(sql.Literal(table), sql.Literal(colocate))
                )
            )
        statements += [
            q(
                sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {};").format(
                    sql.Identifier(table), sql.Identifier(name), sql.SQL(definition)
                )
            )
            for table, name, _, definition in dropped
        ]
    return statements


class Command(BaseCommand):
    help = "Print (or run, with --execute) the statements that distribute the schema on Citus."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--execute",
            action="store_true",
            help="run the statements (on a Citus coordinator, as the tables' owner)",
        )
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, execute: bool = False, database: str = DEFAULT_DB_ALIAS, **options):
        problems = keys.problems(using=database)
        if problems:
            raise CommandError(
                "The schema is not ready to distribute; run `migrate` first:\n  "
                + "\n  ".join(problems)
            )
        statements = plan(using=database)
        if not execute:
            self.stdout.write("\n".join(statements))
            return
        with connections[database].cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
            if cursor.fetchone() is None:
                raise CommandError(
                    "The citus extension is not installed in this database: run this on a "
                    "Citus coordinator (CREATE EXTENSION citus)."
                )
        # One statement at a time: Citus refuses some of them inside a transaction block that
        # already ran others. A failure names the statement; the plan can be run again once
        # fixed, from that statement on (the ones before it are done).
        with connections[database].cursor() as cursor:
            for number, statement in enumerate(statements, 1):
                self.stdout.write(statement)
                try:
                    cursor.execute(statement)
                except Exception as exc:
                    raise CommandError(f"Statement {number} failed: {exc}") from exc
        self.stdout.write(self.style.SUCCESS(f"Distributed {len(rls.tenant_tables())} tables."))
