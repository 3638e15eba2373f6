"""The CRM lists' orders and search (issue 14, Performance).

The contacts list's default order (name, then id) and the deals list's (expected close date,
then id) get indexes that give their first page in 25 index entries, where the deals list
sorted all 20,000 deals and the contacts list sorted within each last name.

`crmsync.selectors.contains` searches as `column ILIKE '%text%'`, which a pg_trgm GIN index
serves (the `rls` sync marks ILIKE LEAKPROOF so the index is used under row-level security).
pg_trgm is a contrib extension: the embedded PostgreSQL (pgserver, helpdesk/embedded.py) does
not ship it, and a role that may not create it cannot install it. Then this migration makes no
trigram index and says so; search still works, by scanning the organization's rows.

The indexes are not in the models' Meta because they exist only where pg_trgm does; each is a
multi-column GIN index, so an OR over the columns reads one index (a BitmapOr of its
columns)."""

from __future__ import annotations

import logging

import django.db.models.functions.text
from django.db import migrations, models, transaction

logger = logging.getLogger(__name__)

TRIGRAM_INDEXES = {
    "crm_contact_search": (
        "crmsync_crmcontact",
        ("last_name", "first_name", "email", "secondary_email", "phone", "mobile"),
    ),
    "crm_account_search": ("crmsync_crmaccount", ("name", "website", "phone", "industry")),
    "crm_deal_search": ("crmsync_deal", ("name",)),
}


def _trigram_available(connection) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone():
            return True
        cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")
        available = cursor.fetchone() is not None
    if not available:
        logger.debug(
            "PostgreSQL has no pg_trgm extension (the embedded server ships none): the CRM "
            "lists' search works without its trigram indexes, scanning the rows."
        )
        return False
    try:
        # A savepoint: a refused CREATE EXTENSION must not abort the migration's transaction.
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # noqa: BLE001 - any refusal: go on without the indexes
        logger.warning(
            "Cannot create the pg_trgm extension (%s): the CRM lists' search works without "
            "its trigram indexes; run CREATE EXTENSION pg_trgm as a superuser, then migrate "
            "crmsync back to 0003 and forward again to make them.",
            exc,
        )
        return False
    return True


def create_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    if not _trigram_available(schema_editor.connection):
        return
    with schema_editor.connection.cursor() as cursor:
        for name, (table, columns) in TRIGRAM_INDEXES.items():
            keys = ", ".join(f'"{column}" gin_trgm_ops' for column in columns)
            # Constants of this module, not input.
            cursor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ({keys})')


def drop_indexes(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        for name in TRIGRAM_INDEXES:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("crmsync", "0003_desk_tickets_and_signals"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="crmcontact",
            name="crm_contact_org_last_name",
        ),
        migrations.AddIndex(
            model_name="crmcontact",
            index=models.Index(
                models.F("org"),
                django.db.models.functions.text.Lower("last_name"),
                django.db.models.functions.text.Lower("first_name"),
                models.F("id"),
                name="crm_contact_org_name",
            ),
        ),
        migrations.AddIndex(
            model_name="deal",
            index=models.Index(fields=["org", "expected_close", "id"], name="crm_deal_org_close"),
        ),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
