"""The organization's tags move from tickets to customers (one tagging model for tickets,
contacts and accounts, CUS-01). State only: the table keeps its name `tickets_tag`, its rows,
its constraint `tag_name_uniq` and its composite keys; nothing is written to the database."""

import django.db.models.deletion
import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0002_composite_keys"),
        ("tenancy", "0005_signatures_mail_preferences"),
        ("tickets", "0008_ticket_escalation_level"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Tag",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("name", models.CharField(max_length=50, verbose_name="name")),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        (
                            "org",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to="tenancy.organization",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "tickets_tag",
                        "ordering": ["name", "pk"],
                        "constraints": [
                            models.UniqueConstraint(
                                models.F("org"),
                                django.db.models.functions.text.Lower("name"),
                                name="tag_name_uniq",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
