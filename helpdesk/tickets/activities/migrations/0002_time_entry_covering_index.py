# The time entries of a ticket carry their minutes, billing flags and author in the index, so
# the contact and account pages total a customer's time from the index alone (CUS-08). Built
# CONCURRENTLY under a new name and swapped for the old index (not atomic), so a large
# database is not locked meanwhile and the ticket page always has an index to read.

from django.db import migrations, models

SQL = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS "timeentry_ticket_{tmp}" ON activities_timeentry
    (org_id, ticket_id, work_date DESC){include};
DROP INDEX CONCURRENTLY IF EXISTS "timeentry_ticket";
ALTER INDEX "timeentry_ticket_{tmp}" RENAME TO "timeentry_ticket";
"""
COVER = " INCLUDE (minutes, billable, billed, user_id)"


def _statements(sql: str) -> list[str]:
    return [s.strip() for s in sql.split(";") if s.strip()]


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("activities", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    _statements(SQL.format(tmp="new", include=COVER)),
                    _statements(SQL.format(tmp="old", include="")),
                )
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="timeentry", name="timeentry_ticket"),
                migrations.AddIndex(
                    model_name="timeentry",
                    index=models.Index(
                        fields=["org", "ticket", "-work_date"],
                        include=("minutes", "billable", "billed", "user"),
                        name="timeentry_ticket",
                    ),
                ),
            ],
        ),
    ]
