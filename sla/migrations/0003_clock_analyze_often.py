from django.db import migrations


class Migration(migrations.Migration):
    """The desk's "escalated" view reads the open clocks that reached a level (the partial
    index `sla_clock_escalated`). The planner picks its plan from how many it expects: a burst
    of escalations makes them many while the statistics still say few, and the view then
    reads every escalated ticket to show a page. PostgreSQL re-analyzes a table after a tenth
    of its rows changed (100,000 of a million clocks): here after a thousand and 0.2 %."""

    dependencies = [("sla", "0002_escalation_level_from_clocks")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE sla_clock SET (autovacuum_analyze_scale_factor = 0.002,"
            " autovacuum_analyze_threshold = 1000)",
            "ALTER TABLE sla_clock RESET (autovacuum_analyze_scale_factor,"
            " autovacuum_analyze_threshold)",
        ),
    ]
