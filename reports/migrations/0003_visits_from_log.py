"""The visits of history written before the report existed (BP-26): rebuilt from the
transition log with window functions (each entry into a state ends at the ticket's next log
row, LEAD, which also says whether a transition ended it and who took it), then each ended visit's business seconds under its department's schedule. A
ticket that already has visits is left alone, so the migration may run on a live database."""

import datetime as dt
import zoneinfo

from django.db import migrations

from helpdesk.businesstime import Schedule, working_between

FROM_LOG = """
INSERT INTO reports_statevisit
    (org_id, ticket_id, blueprint_id, state_id, department_id, entered_at, left_at, seconds,
     by_transition, transition_id, actor_id)
SELECT x.org_id, x.ticket_id, x.blueprint_id, s.id, t.department_id, x.at, x.next_at,
    CASE WHEN x.next_at IS NOT NULL
         THEN GREATEST(EXTRACT(EPOCH FROM x.next_at - x.at), 0)::integer END,
    coalesce(x.next_kind IN ('transition', 'auto') AND x.next_name <> '', false),
    CASE WHEN x.next_kind IN ('transition', 'auto') THEN x.next_transition END,
    CASE WHEN x.next_kind IN ('transition', 'auto') THEN x.next_actor END
FROM (
    SELECT l.org_id, l.ticket_id, l.blueprint_id, l.kind, l.to_status_id, l.at,
        LEAD(l.at) OVER w AS next_at,
        LEAD(l.kind) OVER w AS next_kind,
        LEAD(l.name) OVER w AS next_name,
        LEAD(l.transition_id) OVER w AS next_transition,
        LEAD(l.actor_id) OVER w AS next_actor
    FROM blueprints_transitionlog l
    WINDOW w AS (PARTITION BY l.org_id, l.ticket_id ORDER BY l.at, l.id)
) x
JOIN blueprints_state s
    ON s.org_id = x.org_id AND s.blueprint_id = x.blueprint_id AND s.status_id = x.to_status_id
JOIN tickets_ticket t ON t.org_id = x.org_id AND t.id = x.ticket_id
WHERE x.kind IN ('entered', 'transition', 'auto')
    AND (x.next_at IS NOT NULL OR EXISTS (
        SELECT 1 FROM blueprints_ticketblueprint b
        WHERE b.org_id = x.org_id AND b.ticket_id = x.ticket_id AND b.state_id = s.id))
    AND NOT EXISTS (
        SELECT 1 FROM reports_statevisit v WHERE v.org_id = x.org_id AND v.ticket_id = x.ticket_id)
"""


def _schedule(apps, org_id: int, department_id: int) -> Schedule | None:
    """The department's schedule from the historical models (as the tenancy selector builds
    it); None when the department is gone."""
    department = (
        apps.get_model("tenancy", "Department")
        .objects.filter(org_id=org_id, pk=department_id)
        .first()
    )
    if department is None:
        return None
    try:
        tz = zoneinfo.ZoneInfo(department.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("UTC")
    week: list[list[tuple[dt.time, dt.time]]] = [[] for _ in range(7)]
    intervals = apps.get_model("tenancy", "BusinessInterval").objects.filter(
        org_id=org_id, department_id=department_id
    )
    for weekday, start, end in intervals.values_list("weekday", "start", "end"):
        week[weekday].append((start, end))
    holidays = apps.get_model("tenancy", "Holiday").objects.filter(
        org_id=org_id, department_id=department_id
    )
    return Schedule(
        tz=tz,
        week=tuple(tuple(sorted(day)) for day in week),
        holidays=frozenset(holidays.values_list("date", flat=True)),
    )


def forwards(apps, schema_editor) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute(FROM_LOG)
        cursor.execute(
            "SELECT id, org_id, department_id, entered_at, left_at FROM reports_statevisit "
            "WHERE left_at IS NOT NULL AND business_seconds IS NULL ORDER BY org_id, department_id"
        )
        rows = cursor.fetchall()
    schedules: dict[tuple[int, int], Schedule | None] = {}
    updates = []
    for pk, org_id, department_id, entered, left in rows:
        key = (org_id, department_id)
        if key not in schedules:
            schedules[key] = _schedule(apps, org_id, department_id)
        schedule = schedules[key]
        seconds = int(working_between(entered, left, schedule).total_seconds()) if schedule else 0
        updates.append((max(seconds, 0), pk))
    with connection.cursor() as cursor:
        cursor.executemany(
            "UPDATE reports_statevisit SET business_seconds = %s WHERE id = %s", updates
        )


class Migration(migrations.Migration):
    dependencies = [("reports", "0002_visit_ended_by")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
