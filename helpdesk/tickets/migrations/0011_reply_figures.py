# The customer's waits kept per ticket (CUS-03): the contact and account pages sum them
# instead of walking every thread. The columns are added, filled from the threads in one
# UPDATE, then the contact's and account's ticket indexes are rebuilt to carry them (and the
# contact's index the ticket's account), so an overview is counted from an index alone.
#
# Not atomic, so that a large database (the 1,000,000-ticket benchmark, read by others
# meanwhile) is never locked for long: each column is added in its own short statement, the
# backfill holds row locks only, and each index is built CONCURRENTLY under a new name, then
# swapped for the old one, so the ticket page's customer panel always has an index to read.

from django.db import migrations, models

# As helpdesk.tickets.services.threads.REPLY_FIGURES_SQL, for every ticket (a copy: a
# migration must not change when the service does).
BACKFILL_SQL = """
WITH ev AS (
    SELECT t.id AS ticket_id, t.created_at AS at, 0 AS agent FROM tickets_ticket t
    UNION ALL
    SELECT th.ticket_id, th.created_at, CASE WHEN th.kind = 'reply' THEN 1 ELSE 0 END
    FROM tickets_thread th
    WHERE th.kind = 'incoming' OR (th.kind = 'reply' AND th.author_id IS NOT NULL)
),
g AS (
    SELECT ticket_id, at, agent,
        SUM(agent) OVER (PARTITION BY ticket_id ORDER BY at, agent ROWS UNBOUNDED PRECEDING)
            - agent AS k
    FROM ev
),
w AS (
    SELECT ticket_id, k,
        MIN(at) FILTER (WHERE agent = 0) AS asked,
        MIN(at) FILTER (WHERE agent = 1) AS answered
    FROM g GROUP BY ticket_id, k
),
f AS (
    SELECT ticket_id,
        MIN(answered - asked) FILTER (WHERE k = 0) AS first_response,
        COUNT(*) AS turns,
        SUM(answered - asked) AS wait
    FROM w WHERE answered IS NOT NULL AND asked IS NOT NULL
    GROUP BY ticket_id
)
UPDATE tickets_ticket tk
SET first_response = f.first_response, answered_turns = f.turns, answered_wait = f.wait
FROM f
WHERE tk.id = f.ticket_id
  AND (tk.first_response, tk.answered_turns, tk.answered_wait)
      IS DISTINCT FROM (f.first_response, f.turns, f.wait)
"""

STATS = (
    "department_id, status_kind, channel, due_at, closed_at, "
    "first_response, answered_turns, answered_wait"
)
SWAP = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}_new" ON tickets_ticket
    (org_id, {column}, created_at DESC, id DESC) INCLUDE ({include});
DROP INDEX CONCURRENTLY IF EXISTS "{name}";
ALTER INDEX "{name}_new" RENAME TO "{name}";
"""
UNSWAP = """
CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}_old" ON tickets_ticket
    (org_id, {column}, created_at DESC, id DESC) INCLUDE ({include});
DROP INDEX CONCURRENTLY IF EXISTS "{name}";
ALTER INDEX "{name}_old" RENAME TO "{name}";
"""
OLD_STATS = "department_id, status_kind, channel, due_at, closed_at"


def _swap(name: str, column: str, include: str, old_include: str) -> migrations.RunSQL:
    forward = SWAP.format(name=name, column=column, include=include)
    backward = UNSWAP.format(name=name, column=column, include=old_include)
    return migrations.RunSQL(
        [s.strip() for s in forward.split(";") if s.strip()],
        [s.strip() for s in backward.split(";") if s.strip()],
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0010_customer_tab_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="ticket",
            name="first_response",
            field=models.DurationField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="ticket",
            name="answered_turns",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="ticket",
            name="answered_wait",
            field=models.DurationField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(BACKFILL_SQL, migrations.RunSQL.noop),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                _swap("ticket_contact_recent", "contact_id", f"{STATS}, account_id", OLD_STATS),
                _swap("ticket_account_recent", "account_id", STATS, OLD_STATS),
            ],
            state_operations=[
                migrations.RemoveIndex(model_name="ticket", name="ticket_contact_recent"),
                migrations.RemoveIndex(model_name="ticket", name="ticket_account_recent"),
                migrations.AddIndex(
                    model_name="ticket",
                    index=models.Index(
                        fields=["org", "contact", "-created_at", "-id"],
                        include=(
                            "department",
                            "status_kind",
                            "channel",
                            "due_at",
                            "closed_at",
                            "first_response",
                            "answered_turns",
                            "answered_wait",
                            "account",
                        ),
                        name="ticket_contact_recent",
                    ),
                ),
                migrations.AddIndex(
                    model_name="ticket",
                    index=models.Index(
                        fields=["org", "account", "-created_at", "-id"],
                        include=(
                            "department",
                            "status_kind",
                            "channel",
                            "due_at",
                            "closed_at",
                            "first_response",
                            "answered_turns",
                            "answered_wait",
                        ),
                        name="ticket_account_recent",
                    ),
                ),
            ],
        ),
    ]
