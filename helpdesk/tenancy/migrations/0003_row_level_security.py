"""Row-level security (ORG-01): the runtime and cross-tenant roles, their grants, and a policy
on every tenant table that exists so far. `rls.sync` runs again after every `migrate`, so
tables that later migrations create get theirs too (helpdesk/tenancy/rls.py)."""

from django.db import migrations


def forwards(apps, schema_editor):
    from helpdesk.tenancy import rls

    rls.sync(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("tenancy", "0002_department_email")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop, elidable=False)]
