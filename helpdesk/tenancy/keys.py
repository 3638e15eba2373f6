"""Composite keys: a schema Citus can distribute by organization, and the third wall (ORG-01).

In the database, every tenant table's primary key is `(org_id, id)`, and every reference from
one tenant table to another is a foreign key `(org_id, x_id) -> (org_id, id)`: the database
itself refuses a row of organization A that points at a row of B, and Citus accepts the
tables as distributed by `org_id`, co-located. References to global tables (users,
organizations) stay single-column; on Citus those tables are reference tables. A user's
places in an organization (department agent, team member) also reference the membership,
`(org_id, user_id) -> tenancy_membership (org_id, user_id)`: nobody is placed in a department
of an organization they are not a member of.

Django keeps `id` as the model's primary key (one sequence, unique ids, simple URLs), and has
no composite foreign key field. So the models declare references with `TenantForeignKey`
(Django writes no constraint for it) and `MemberForeignKey` (both in fields.py, which the
models import; this module reads the models), and `sync()` writes the keys
from those declarations after every `migrate`, like the row-level-security policies (one
post_migrate handler in apps.py runs both). A new tenant model gets its keys by construction;
the model check `tenancy.E006` refuses a plain ForeignKey between two tenant models, and the
catalog check `tenancy.E005` reads the live database.

Each tenant table also keeps a plain (non-unique) index on `id` alone: Django's own writes
(`save()`, deletes) and joins look rows up by `id`, which the `(org_id, id)` key cannot serve.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from psycopg import sql


# --- What the models declare -------------------------------------------------------------------
@dataclass(frozen=True)
class Key:
    table: str
    columns: tuple[str, ...]
    target: str
    target_columns: tuple[str, ...]
    # A user's places go with their membership: the database deletes them with it (CASCADE),
    # so leaving an organization never trips over a saved view or a follow.
    cascade: bool = False

    @property
    def name(self) -> str:
        """`<table>_<column>_org_fk`, shortened with a hash to PostgreSQL's 63 characters."""
        name = f"{self.table}_{self.columns[-1]}_org_fk"
        if len(name) > 63:
            digest = hashlib.sha256(name.encode()).hexdigest()[:8]
            name = f"{name[:50]}_{digest}_fk"
        return name


def tenant_keys() -> list[Key]:
    """Every composite foreign key the tenant models declare."""
    from .fields import MemberForeignKey, TenantForeignKey
    from .models import Membership
    from .rls import tenant_models

    keys = []
    for model in tenant_models():
        table = model._meta.db_table
        for field in model._meta.local_fields:
            if isinstance(field, TenantForeignKey):
                related: Any = field.remote_field.model
                target = related._meta.db_table
                keys.append(Key(table, ("org_id", field.column), target, ("org_id", "id")))
            elif isinstance(field, MemberForeignKey):
                membership = Membership._meta.db_table
                keys.append(
                    Key(
                        table,
                        ("org_id", field.column),
                        membership,
                        ("org_id", "user_id"),
                        cascade=True,
                    )
                )
    return sorted(keys, key=lambda k: (k.table, k.columns))


# --- The live database -------------------------------------------------------------------------
@dataclass(frozen=True)
class Constraint:
    table: str
    name: str
    kind: str  # p, u, f
    columns: tuple[str, ...]
    target: str | None
    target_columns: tuple[str, ...]
    cascade: bool = False  # a foreign key that deletes its rows with the referenced one


def constraints(*, using: str = DEFAULT_DB_ALIAS) -> list[Constraint]:
    """Primary keys, unique constraints and foreign keys of the schema's tables, and unique
    indexes (Django writes expression unique constraints as indexes) as kind `u`."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, con.conname, con.contype,
                   ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                         ORDER BY k.i),
                   t.relname,
                   ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                         JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n
                         ORDER BY k.i),
                   con.confdeltype = 'c'
            FROM pg_constraint con
            JOIN pg_class c ON c.oid = con.conrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
            LEFT JOIN pg_class t ON t.oid = con.confrelid
            WHERE con.contype IN ('p', 'u', 'f')
            UNION ALL
            SELECT c.relname, i.relname, 'u',
                   ARRAY(SELECT coalesce(a.attname, '<expression>')
                         FROM unnest(ix.indkey::int2[]) WITH ORDINALITY k(n, o)
                         LEFT JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.n
                         ORDER BY k.o),
                   NULL, ARRAY[]::name[], false
            FROM pg_index ix
            JOIN pg_class i ON i.oid = ix.indexrelid
            JOIN pg_class c ON c.oid = ix.indrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()
            WHERE ix.indisunique AND NOT ix.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint con WHERE con.conindid = ix.indexrelid)
            """
        )
        return [
            Constraint(table, name, kind, tuple(cols), target, tuple(target_cols or ()), cascade)
            for table, name, kind, cols, target, target_cols, cascade in cursor.fetchall()
        ]


def problems(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """What keeps the tenant tables from being distributed by org_id (or lets a row point into
    another organization), in words; empty when the schema is right."""
    from .rls import tenant_tables

    tenant = set(tenant_tables())
    found: list[str] = []
    primary = {}
    catalog = constraints(using=using)
    for con in catalog:
        if con.table not in tenant:
            continue
        if con.kind == "p":
            primary[con.table] = con.columns
            if con.columns != ("org_id", "id"):
                found.append(f"{con.table}: primary key {con.columns} is not (org_id, id)")
        elif con.kind == "u" and "org_id" not in con.columns:
            found.append(f"{con.table}: unique {con.name} {con.columns} lacks org_id")
        elif (
            con.kind == "f"
            and con.target in tenant
            and ("org_id" not in con.columns or "org_id" not in con.target_columns)
        ):
            found.append(
                f"{con.table}: foreign key {con.name} {con.columns} -> {con.target} "
                f"{con.target_columns} lacks org_id"
            )
    present = {con.table for con in catalog}
    for table in sorted(tenant & present - set(primary)):
        found.append(f"{table}: no primary key")
    declared = {(c.table, c.columns, c.target, c.cascade) for c in catalog if c.kind == "f"}
    from .models import Organization

    organization = Organization._meta.db_table
    for table in sorted(tenant & present):
        if (table, ("org_id",), organization, False) not in declared:
            found.append(f"{table}: foreign key ('org_id',) -> {organization} is missing")
    for key in tenant_keys():
        if (
            key.table in present
            and (key.table, key.columns, key.target, key.cascade) not in declared
        ):
            found.append(f"{key.table}: foreign key {key.columns} -> {key.target} is missing")
    return sorted(found)


# --- Writing the keys --------------------------------------------------------------------------
def _run(cursor, statement: sql.Composable) -> None:
    cursor.execute(statement.as_string(cursor.connection))


def _columns_of(cursor) -> dict[str, set[str]]:
    cursor.execute(
        "SELECT c.relname, a.attname FROM pg_attribute a"
        " JOIN pg_class c ON c.oid = a.attrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
        " WHERE c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped"
    )
    columns: dict[str, set[str]] = {}
    for table, column in cursor.fetchall():
        columns.setdefault(table, set()).add(column)
    return columns


def sync(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Bring the live schema to the declared keys. Idempotent; runs after every migrate.

    Order matters: single-column foreign keys between tenant tables (Django's, from before
    this module) hang on the `id` primary keys and go first; then the primary keys become
    `(org_id, id)`; then the composite foreign keys are added (validating existing rows: a
    row that points into another organization stops the migration, by design)."""
    from .rls import tenant_tables

    tenant = set(tenant_tables())
    current = constraints(using=using)
    with connections[using].cursor() as wrapper:
        cursor = wrapper.cursor
        columns = _columns_of(cursor)
        for con in current:
            if (
                con.kind == "f"
                and con.table in tenant
                and con.target in tenant
                and "org_id" not in con.columns
            ):
                _run(
                    cursor,
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        sql.Identifier(con.table), sql.Identifier(con.name)
                    ),
                )
        for con in current:
            if con.kind == "p" and con.table in tenant and con.columns != ("org_id", "id"):
                _run(
                    cursor,
                    sql.SQL(
                        "ALTER TABLE {table} DROP CONSTRAINT {old},"
                        " ADD CONSTRAINT {new} PRIMARY KEY (org_id, id)"
                    ).format(
                        table=sql.Identifier(con.table),
                        old=sql.Identifier(con.name),
                        new=sql.Identifier(f"{con.table}_pkey"),
                    ),
                )
        for table in sorted(tenant & set(columns)):
            _run(
                cursor,
                sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} (id)").format(
                    sql.Identifier(f"{table}_id_idx"[:63]), sql.Identifier(table)
                ),
            )
        existing = {(c.table, c.columns): c for c in current if c.kind == "f"}
        for key in tenant_keys():
            found = existing.get((key.table, key.columns))
            if found is not None and found.target == key.target and found.cascade == key.cascade:
                continue
            if not set(key.columns) <= columns.get(key.table, set()) or key.target not in columns:
                continue  # a later migration creates it; the sync after `migrate` adds the key
            if found is not None:  # written before with another action: write it again
                _run(
                    cursor,
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        sql.Identifier(found.table), sql.Identifier(found.name)
                    ),
                )
            _run(
                cursor,
                sql.SQL(
                    "ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY ({cols})"
                    " REFERENCES {target} ({target_cols}){action}"
                    " DEFERRABLE INITIALLY DEFERRED"
                ).format(
                    action=sql.SQL(" ON DELETE CASCADE" if key.cascade else ""),
                    table=sql.Identifier(key.table),
                    name=sql.Identifier(key.name),
                    cols=sql.SQL(", ").join(map(sql.Identifier, key.columns)),
                    target=sql.Identifier(key.target),
                    target_cols=sql.SQL(", ").join(map(sql.Identifier, key.target_columns)),
                ),
            )


def unsync(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Undo `sync` (for migrating backwards): drop the composite foreign keys and make `id`
    the primary key again, so Django's single-column keys can be written back."""
    from .rls import tenant_tables

    tenant = set(tenant_tables())
    current = constraints(using=using)
    with connections[using].cursor() as wrapper:
        cursor = wrapper.cursor
        for con in current:
            if con.kind == "f" and con.table in tenant and con.target in tenant:
                _run(
                    cursor,
                    sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                        sql.Identifier(con.table), sql.Identifier(con.name)
                    ),
                )
        for con in current:
            if con.kind == "p" and con.table in tenant and con.columns != ("id",):
                _run(
                    cursor,
                    sql.SQL(
                        "ALTER TABLE {table} DROP CONSTRAINT {old},"
                        " ADD CONSTRAINT {new} PRIMARY KEY (id)"
                    ).format(
                        table=sql.Identifier(con.table),
                        old=sql.Identifier(con.name),
                        new=sql.Identifier(f"{con.table}_pkey"),
                    ),
                )


def sync_operation():
    """The migration operation that writes the keys (and takes them back when migrating
    backwards): the last operation of every migration that adds or alters tenant references."""
    from django.db import migrations

    def forwards(apps, schema_editor) -> None:
        sync(using=schema_editor.connection.alias)

    def backwards(apps, schema_editor) -> None:
        unsync(using=schema_editor.connection.alias)

    return migrations.RunPython(forwards, backwards, elidable=False)
