"""The contacts' and accounts' search column (issue 14, Performance; crmsync.models
`SEARCH_SEPARATOR`): `search_text`, their searched columns lowered and joined, and a trigram
index on it in place of the multi-column one of 0004, whose ILIKE per column lowered every
row it tested. The accounts keep a trigram index on their name alone, which the contacts and
deals searches read for "the account's name contains". As in 0004, the indexes exist only
where PostgreSQL has pg_trgm."""

import importlib

import django.db.models.functions.text
from django.db import migrations, models

_0004 = importlib.import_module("crmsync.migrations.0004_list_performance")

# name: (table, columns) made by this migration, as in 0004; the 0004 indexes it replaces.
TRIGRAM_INDEXES = {
    "crm_contact_text": ("crmsync_crmcontact", ("search_text",)),
    "crm_account_text": ("crmsync_crmaccount", ("search_text",)),
    "crm_account_name_trgm": ("crmsync_crmaccount", ("name",)),
}
REPLACED = ("crm_contact_search", "crm_account_search")


def _create(cursor, indexes) -> None:
    for name, (table, columns) in indexes.items():
        keys = ", ".join(f'"{column}" gin_trgm_ops' for column in columns)
        # Constants of these modules, not input.
        cursor.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ({keys})')


def create_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    if not _0004._trigram_available(schema_editor.connection):
        return
    with schema_editor.connection.cursor() as cursor:
        for name in REPLACED:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        _create(cursor, TRIGRAM_INDEXES)


def restore_indexes(apps, schema_editor) -> None:
    with schema_editor.connection.cursor() as cursor:
        for name in TRIGRAM_INDEXES:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone():
            _create(cursor, {name: _0004.TRIGRAM_INDEXES[name] for name in REPLACED})


class Migration(migrations.Migration):
    dependencies = [
        ("crmsync", "0004_list_performance"),
    ]

    operations = [
        migrations.AddField(
            model_name="crmaccount",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Lower(
                    django.db.models.functions.text.Concat(
                        models.F("name"),
                        models.Value("\x1f"),
                        models.F("website"),
                        models.Value("\x1f"),
                        models.F("phone"),
                        models.Value("\x1f"),
                        models.F("industry"),
                        output_field=models.TextField(),
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.AddField(
            model_name="crmcontact",
            name="search_text",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.functions.text.Lower(
                    django.db.models.functions.text.Concat(
                        models.F("last_name"),
                        models.Value("\x1f"),
                        models.F("first_name"),
                        models.Value("\x1f"),
                        models.F("email"),
                        models.Value("\x1f"),
                        models.F("secondary_email"),
                        models.Value("\x1f"),
                        models.F("phone"),
                        models.Value("\x1f"),
                        models.F("mobile"),
                        output_field=models.TextField(),
                    )
                ),
                output_field=models.TextField(),
            ),
        ),
        migrations.RunPython(create_indexes, restore_indexes),
    ]
