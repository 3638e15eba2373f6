# The organization's replies and comments newest first (CUS-06: the contact and account pages'
# Interactions tab walks it and stops after a page). Built CONCURRENTLY (not atomic), so a
# large database is not locked meanwhile.

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0011_reply_figures"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="thread",
            index=models.Index(
                condition=models.Q(("kind__in", ["reply", "comment"])),
                fields=["org", "-created_at", "-id"],
                include=("ticket", "kind"),
                name="thread_interactions",
            ),
        ),
    ]
