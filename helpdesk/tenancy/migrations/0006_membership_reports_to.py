# Membership.manager becomes Membership.reports_to (issue 11: "the owner's manager", a
# "reports to" set in Setup). A rename, not a second field: the satisfaction report's
# supervisors and the SLA escalations read the same line of reporting. PostgreSQL keeps the
# composite key (org_id, reports_to_id) across the column rename; the sync re-checks it.

import django.db.models.deletion
import helpdesk.tenancy.fields
import helpdesk.tenancy.keys

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tenancy', '0005_signatures_mail_preferences'),
    ]

    operations = [
        migrations.RenameField(
            model_name='membership',
            old_name='manager',
            new_name='reports_to',
        ),
        migrations.AlterField(
            model_name='membership',
            name='reports_to',
            field=helpdesk.tenancy.fields.TenantForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='reports', to='tenancy.membership', verbose_name='reports to'),
        ),
        helpdesk.tenancy.keys.sync_operation(),
    ]
