"""Tags now live in customers (`customers.Tag`, same table `tickets_tag`): the ticket links
point at it. State only; the database keeps its table, rows and keys."""

import django.db.models.deletion
import helpdesk.tenancy.fields
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0003_tag_moved_from_tickets"),
        ("tickets", "0008_ticket_escalation_level"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="tickettag",
                    name="tag",
                    field=helpdesk.tenancy.fields.TenantForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="ticket_tags",
                        to="customers.tag",
                    ),
                ),
                migrations.DeleteModel(name="Tag"),
            ],
            database_operations=[],
        ),
    ]
