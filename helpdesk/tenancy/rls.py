"""PostgreSQL row-level security: the second wall between organizations (ORG-01).

The first wall is the code: every query names its organization (`for_org`). The second is the
database. Every tenant table has a policy that lets the *runtime role* see and write only the
rows of the organization held in the connection's `madoguchi.org_id` setting, and nothing
when that setting is empty. The runtime role neither owns the tables nor bypasses RLS;
migrations run as the owner, and `sync()` (run after every `migrate`) creates the roles,
grants and policies, so a table added by a later migration is covered by construction.

Requests and Celery tasks run inside `tenant_scope(org_id)`: it switches the connection to
the runtime role and sets the organization, and on exit puts back exactly what was there
before, so a pooled connection never carries one request's organization into the next, and
scopes nest (a task run eagerly inside a request). Switching the role as well as the setting
means a process that logs in as the owner (the test suite, a misconfigured deployment) still
serves requests under RLS; in production the process logs in as the runtime role and the
switch is a no-op.

The few reads that must cross organizations live in `crosstenant.py`, on their own
connection and role.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DEFAULT_DB_ALIAS, connections, models
from psycopg import sql

logger = logging.getLogger(__name__)

ORG_SETTING = "madoguchi.org_id"
POLICY = "tenant_isolation"
CROSS_POLICY = "cross_tenant_read"
# The current organization as the policies read it: NULL (no rows) when unset or empty.
CURRENT_ORG = f"NULLIF(current_setting('{ORG_SETTING}', true), '')::bigint"


# --- Which tables -----------------------------------------------------------------------------
def tenant_models() -> list[type[models.Model]]:
    """Concrete, managed models that derive from TenantModel (they all carry `org_id`)."""
    from .models import TenantModel

    return [
        model
        for model in apps.get_models()
        if issubclass(model, TenantModel) and not model._meta.abstract and model._meta.managed
    ]


def tenant_tables() -> list[str]:
    return sorted(model._meta.db_table for model in tenant_models())


# --- Scope: the organization of a request or task --------------------------------------------
@dataclass(frozen=True)
class ScopeToken:
    """What a connection had before a scope began: restored when the scope ends."""

    using: str
    role: str
    org_id: str


def scope_enter(org_id: int | None, *, using: str = DEFAULT_DB_ALIAS) -> ScopeToken:
    """Switch the connection to the runtime role and organization `org_id` (None: none, so no
    tenant rows are visible). One round trip; returns the token that `scope_exit` restores."""
    role = settings.DB_RUNTIME_ROLE
    if not role:
        return ScopeToken(using=using, role="", org_id="")  # switched off: bench/tickets.py
    with connections[using].cursor() as cursor:
        # MATERIALIZED: read the previous values before set_config changes them.
        cursor.execute(
            "WITH previous AS MATERIALIZED ("
            "  SELECT current_setting('role') AS role,"
            "         coalesce(current_setting(%s, true), '') AS org_id)"
            " SELECT previous.role, previous.org_id,"
            "        set_config('role', %s, false),"
            "        set_config(%s, %s, false)"
            " FROM previous",
            [ORG_SETTING, role, ORG_SETTING, "" if org_id is None else str(int(org_id))],
        )
        previous_role, previous_org, _role, _org = cursor.fetchone()
    return ScopeToken(using=using, role=previous_role, org_id=previous_org)


def scope_exit(token: ScopeToken) -> None:
    """Put back the role and organization the connection had before `scope_enter`. If the
    connection is unusable (a failed transaction), close it rather than hand it on with a
    stale organization."""
    connection = connections[token.using]
    if not token.role or connection.connection is None:
        return  # closed meanwhile: the next connection starts clean
    if connection.needs_rollback:
        # A broken transaction encloses the scope (context managers nest), and its rollback
        # reverts what the scope set along with everything else.
        return
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('role', %s, false), set_config(%s, %s, false)",
                [token.role, ORG_SETTING, token.org_id],
            )
    except Exception:
        if connection.in_atomic_block:
            raise  # the enclosing transaction rolls the settings back with everything else
        connection.close()
        raise


@contextmanager
def tenant_scope(org_id: int | None, *, using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the block under the runtime role with `org_id` as the current organization."""
    token = scope_enter(org_id, using=using)
    try:
        yield
    finally:
        scope_exit(token)


def current_org_id(*, using: str = DEFAULT_DB_ALIAS) -> int | None:
    with connections[using].cursor() as cursor:
        cursor.execute(f"SELECT {CURRENT_ORG}")  # noqa: S608 - a constant
        return cursor.fetchone()[0]


# --- Roles, grants and policies ----------------------------------------------------------------
def _role_ensure(cursor, name: str, password: str) -> None:
    """The role exists, may log in, and has no power over RLS, tables or other roles."""
    cursor.execute(
        "SELECT rolcanlogin AND NOT (rolsuper OR rolbypassrls OR rolcreatedb OR rolcreaterole)"
        " FROM pg_roles WHERE rolname = %s",
        [name],
    )
    row = cursor.fetchone()
    exists = row is not None
    if exists and row[0] and not password:
        return
    attributes: sql.Composable = sql.SQL("LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE")
    if password:
        attributes = sql.SQL("{} PASSWORD {}").format(attributes, sql.Literal(password))
    verb = sql.SQL("ALTER ROLE" if exists else "CREATE ROLE")
    try:
        _execute(cursor, sql.SQL("{} {} {}").format(verb, sql.Identifier(name), attributes))
    except psycopg.errors.InsufficientPrivilege as exc:
        raise ImproperlyConfigured(
            f"Cannot create or fix the database role {name!r}: migrate as a role with "
            f"CREATEROLE, or have an administrator create it (LOGIN NOSUPERUSER NOBYPASSRLS)."
        ) from exc


def _execute(cursor, statement: sql.Composable) -> None:
    cursor.execute(statement.as_string(cursor.connection))


# Full-text match (`search_vector @@ query`). PostgreSQL applies a table's policy before any
# condition whose function is not marked LEAKPROOF, and then cannot use an index for that
# condition: under RLS the ticket search would scan the organization's every ticket instead
# of the GIN index (1.8 s instead of 60 ms at 500,000 tickets, bench/tickets.py). The match
# functions have no side effects and raise no error that depends on a row, so we mark them.
# ILIKE (`texticlike`) likewise, for the CRM lists' search through trigram indexes (crmsync
# migration 0004): without it the CRM contacts search scans the organization's 100,000
# contacts under RLS (bench/crm_pages.py). It can raise an error only for a malformed
# pattern, its right-hand side, which the app always builds from escaped user input. LIKE
# (`textlike`) too, for the same search over the contacts' and accounts' lowered
# `search_text` (crmsync migration 0005). And `lower(text)`, the expression of the contacts'
# address indexes (`contact_org_email`, `contact_org_secondary_email`): without it a condition
# `lower(email) = %s` waits for the policy too, and finding the contact of each incoming mail
# (TKT-07) read every contact of the organization (bench/mail_ingest.py). It raises no error
# for any text.
LEAKPROOF_FUNCTIONS = (
    "pg_catalog.ts_match_vq(tsvector, tsquery)",
    "pg_catalog.ts_match_qv(tsquery, tsvector)",
    "pg_catalog.texticlike(text, text)",
    "pg_catalog.textlike(text, text)",
    "pg_catalog.lower(text)",
)


def _search_operators_leakproof(cursor) -> None:
    """Only a superuser may mark functions LEAKPROOF (the embedded server, CI and the compose
    file migrate as one); elsewhere search still works, without its index under RLS."""
    cursor.execute(
        "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"
        " UNION ALL SELECT bool_and(proleakproof) FROM pg_proc"
        " WHERE oid = ANY(%s::regprocedure[])",
        [list(LEAKPROOF_FUNCTIONS)],
    )
    superuser, done = (row[0] for row in cursor.fetchall())
    if done:
        return
    if not superuser:
        logger.warning(
            "Full-text search cannot use its index under row-level security: run "
            "`ALTER FUNCTION %s LEAKPROOF` as a superuser.",
            " LEAKPROOF; ALTER FUNCTION ".join(LEAKPROOF_FUNCTIONS),
        )
        return
    for function in LEAKPROOF_FUNCTIONS:
        cursor.execute(f"ALTER FUNCTION {function} LEAKPROOF")  # constants, not input


def sync(*, using: str = DEFAULT_DB_ALIAS) -> None:
    """Create the runtime and cross-tenant roles, grant them what they need, and give every
    tenant table its policy. Idempotent; runs after every migrate (as the owner)."""
    from .crosstenant import CROSS_TENANT_COLUMNS, cross_tenant_models

    runtime, cross = settings.DB_RUNTIME_ROLE, settings.DB_CROSS_ROLE
    if not runtime:
        raise ImproperlyConfigured("DB_RUNTIME_ROLE is empty: migrate with the runtime role set.")
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor = cursor.cursor  # psycopg's own cursor: statements built with psycopg.sql
        _role_ensure(cursor, runtime, settings.DB_RUNTIME_PASSWORD)
        _role_ensure(cursor, cross, settings.DB_CROSS_PASSWORD)
        runtime_id, cross_id = sql.Identifier(runtime), sql.Identifier(cross)
        cursor.execute("SELECT current_schema()")
        schema = sql.Identifier(cursor.fetchone()[0])
        _execute(
            cursor,
            sql.SQL("GRANT USAGE ON SCHEMA {} TO {}, {}").format(schema, runtime_id, cross_id),
        )
        _execute(
            cursor,
            sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {} TO {}").format(
                schema, runtime_id
            ),
        )
        _execute(
            cursor,
            sql.SQL("GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(
                schema, runtime_id
            ),
        )
        # The runtime role reads which migrations ran (checks) but never records one.
        _execute(
            cursor,
            sql.SQL("REVOKE INSERT, UPDATE, DELETE ON django_migrations FROM {}").format(
                runtime_id
            ),
        )
        # The cross-tenant role reads the global tables and a few tenant tables, nothing else.
        from .models import Organization, PortalAlias, User

        cross_tables = [m._meta.db_table for m in (Organization, PortalAlias, User)]
        # A swept table of a later migration is granted by the sync after that `migrate`.
        existing_tables = set(connection.introspection.table_names(cursor=None))
        cross_models = [m for m in cross_tenant_models() if m._meta.db_table in existing_tables]
        columns = {
            apps.get_model(label)._meta.db_table: names
            for label, names in CROSS_TENANT_COLUMNS.items()
            if apps.is_installed(label.split(".")[0])
        }
        cross_tables += [m._meta.db_table for m in cross_models if m._meta.db_table not in columns]
        _execute(
            cursor,
            sql.SQL("GRANT SELECT ON {} TO {}").format(
                sql.SQL(", ").join(map(sql.Identifier, cross_tables)), cross_id
            ),
        )
        for table, names in columns.items():
            if table not in existing_tables:
                continue
            # A table-wide grant (an earlier sync's) would cover every column: revoke it first.
            _execute(
                cursor,
                sql.SQL("REVOKE SELECT ON {} FROM {}").format(sql.Identifier(table), cross_id),
            )
            _execute(
                cursor,
                sql.SQL("GRANT SELECT ({}) ON {} TO {}").format(
                    sql.SQL(", ").join(map(sql.Identifier, names)),
                    sql.Identifier(table),
                    cross_id,
                ),
            )
        _search_operators_leakproof(cursor)
        cursor.execute(
            "SELECT tablename, policyname, roles FROM pg_policies"
            " WHERE schemaname = current_schema()"
        )
        existing = {(table, name): roles for table, name, roles in cursor.fetchall()}
        cursor.execute(
            "SELECT c.relname, c.relrowsecurity FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
            " WHERE c.relkind IN ('r', 'p')"
        )
        present = dict(cursor.fetchall())
        cross_read = {m._meta.db_table for m in cross_models}
        for table in tenant_tables():
            if table not in present:
                continue  # created by a later migration; the sync after `migrate` covers it
            table_id = sql.Identifier(table)
            if not present[table]:
                _execute(
                    cursor, sql.SQL("ALTER TABLE {} ENABLE ROW LEVEL SECURITY").format(table_id)
                )
            if existing.get((table, POLICY)) != [runtime]:
                _execute(
                    cursor,
                    sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(
                        sql.Identifier(POLICY), table_id
                    ),
                )
                _execute(
                    cursor,
                    sql.SQL(
                        "CREATE POLICY {} ON {} FOR ALL TO {} USING (org_id = {}) "
                        "WITH CHECK (org_id = {})"
                    ).format(
                        sql.Identifier(POLICY),
                        table_id,
                        runtime_id,
                        sql.SQL(CURRENT_ORG),
                        sql.SQL(CURRENT_ORG),
                    ),
                )
            if table in cross_read and existing.get((table, CROSS_POLICY)) != [cross]:
                _execute(
                    cursor,
                    sql.SQL("DROP POLICY IF EXISTS {} ON {}").format(
                        sql.Identifier(CROSS_POLICY), table_id
                    ),
                )
                _execute(
                    cursor,
                    sql.SQL("CREATE POLICY {} ON {} FOR SELECT TO {} USING (true)").format(
                        sql.Identifier(CROSS_POLICY), table_id, cross_id
                    ),
                )


def tables_without_policy(*, using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Tenant tables that exist in the database without RLS enabled or without the policy."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = current_schema()"
            " WHERE c.relname = ANY(%s) AND c.relkind = 'r'"
            " AND NOT (c.relrowsecurity AND EXISTS (SELECT 1 FROM pg_policies p"
            "     WHERE p.schemaname = n.nspname AND p.tablename = c.relname"
            "     AND p.policyname = %s))"
            " ORDER BY c.relname",
            [tenant_tables(), POLICY],
        )
        return [row[0] for row in cursor.fetchall()]
