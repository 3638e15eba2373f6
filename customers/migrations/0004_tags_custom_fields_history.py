"""Contacts and accounts get tags of the one tagging model (ContactTag, AccountTag -> the
tags shared with tickets), custom fields (CustomerField, `custom_fields` values) and a history
(CustomerHistory, CUS-04). The comma-separated `Contact.tags` becomes ContactTag rows, then
goes."""

import django.db.models.deletion
import django.utils.timezone
import helpdesk.tenancy.fields
from django.conf import settings
from django.db import migrations, models


TAG_MAX_LENGTH = 50


def tag_names(text: str) -> list[str]:
    """The tags of a comma-separated text as the services clean them: trimmed, inner spaces
    collapsed, cut to the tag length, repeats in another case dropped (first spelling kept)."""
    kept: dict[str, str] = {}
    for raw in (text or "").split(","):
        name = " ".join(raw.split())[:TAG_MAX_LENGTH].strip()
        if name:
            kept.setdefault(name.lower(), name)
    return list(kept.values())


def contact_tags_to_links(apps, schema_editor) -> None:
    """Each contact's comma-separated tags become ContactTag rows; a name the organization
    already has as a tag (any case, tickets' too) reuses that tag."""
    Contact = apps.get_model("customers", "Contact")
    Tag = apps.get_model("customers", "Tag")
    ContactTag = apps.get_model("customers", "ContactTag")
    tags: dict[tuple[int, str], int] = {}
    for tag in Tag.objects.all().only("pk", "org_id", "name").iterator():
        tags.setdefault((tag.org_id, tag.name.lower()), tag.pk)
    links = []
    contacts = Contact.objects.exclude(tags="").only("pk", "org_id", "tags").order_by("pk")
    for contact in contacts.iterator(chunk_size=2000):
        for name in tag_names(contact.tags):
            key = (contact.org_id, name.lower())
            if key not in tags:
                tags[key] = Tag.objects.create(org_id=contact.org_id, name=name).pk
            links.append(ContactTag(org_id=contact.org_id, contact_id=contact.pk, tag_id=tags[key]))
        if len(links) >= 5000:
            ContactTag.objects.bulk_create(links, ignore_conflicts=True)
            links = []
    ContactTag.objects.bulk_create(links, ignore_conflicts=True)


def contact_links_to_tags(apps, schema_editor) -> None:
    """Backwards: the links become the comma-separated text again (as long as it fits)."""
    Contact = apps.get_model("customers", "Contact")
    ContactTag = apps.get_model("customers", "ContactTag")
    names: dict[int, list[str]] = {}
    for link in ContactTag.objects.select_related("tag").order_by("tag__name", "pk"):
        names.setdefault(link.contact_id, []).append(link.tag.name)
    for contact_id, tags in names.items():
        Contact.objects.filter(pk=contact_id).update(tags=", ".join(tags)[:255])


class Migration(migrations.Migration):

    dependencies = [
        ('customers', '0003_tag_moved_from_tickets'),
        ('tenancy', '0006_membership_reports_to'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='account',
            name='custom_fields',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name='contact',
            name='custom_fields',
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.CreateModel(
            name='AccountTag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('account', helpdesk.tenancy.fields.TenantForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='account_tags', to='customers.account')),
                ('org', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organization')),
                ('tag', helpdesk.tenancy.fields.TenantForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='account_tags', to='customers.tag')),
            ],
            options={
                'ordering': ['tag__name', 'pk'],
                'indexes': [models.Index(fields=['org', 'tag', 'account'], name='account_tag_by_tag')],
                'constraints': [models.UniqueConstraint(fields=('org', 'account', 'tag'), name='account_tag_uniq')],
            },
        ),
        migrations.CreateModel(
            name='ContactTag',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('contact', helpdesk.tenancy.fields.TenantForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='contact_tags', to='customers.contact')),
                ('org', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organization')),
                ('tag', helpdesk.tenancy.fields.TenantForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='contact_tags', to='customers.tag')),
            ],
            options={
                'ordering': ['tag__name', 'pk'],
                'indexes': [models.Index(fields=['org', 'tag', 'contact'], name='contact_tag_by_tag')],
                'constraints': [models.UniqueConstraint(fields=('org', 'contact', 'tag'), name='contact_tag_uniq')],
            },
        ),
        migrations.CreateModel(
            name='CustomerField',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('module', models.CharField(choices=[('contact', 'Contact'), ('account', 'Account')], max_length=10, verbose_name='records')),
                ('label', models.CharField(max_length=80, verbose_name='label')),
                ('key', models.SlugField(db_index=False, max_length=60, verbose_name='key')),
                ('type', models.CharField(choices=[('text', 'Single line'), ('textarea', 'Multi-line'), ('number', 'Number'), ('date', 'Date'), ('datetime', 'Date and time'), ('picklist', 'Pick list'), ('checkbox', 'Checkbox'), ('email', 'Email'), ('url', 'URL')], max_length=10, verbose_name='type')),
                ('required', models.BooleanField(default=False, verbose_name='required')),
                ('order', models.PositiveSmallIntegerField(default=0, verbose_name='order')),
                ('choices', models.JSONField(blank=True, default=list, verbose_name='pick list values')),
                ('is_active', models.BooleanField(default=True, verbose_name='active')),
                ('org', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organization')),
            ],
            options={
                'ordering': ['order', 'pk'],
                'constraints': [models.UniqueConstraint(fields=('org', 'module', 'key'), name='customer_field_key')],
            },
        ),
        migrations.CreateModel(
            name='CustomerHistory',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('contact', 'Contact'), ('account', 'Account')], max_length=10)),
                ('record_id', models.BigIntegerField()),
                ('actor_name', models.CharField(blank=True, max_length=200)),
                ('ip_address', models.GenericIPAddressField(blank=True, null=True)),
                ('action', models.CharField(choices=[('added', 'Added'), ('updated', 'Updated'), ('deleted', 'Deleted'), ('merged', 'Merged'), ('tagged', 'Tagged'), ('untagged', 'Tag removed'), ('owner_changed', 'Owner changed'), ('product_linked', 'Product linked'), ('product_unlinked', 'Product unlinked'), ('imported', 'Imported'), ('note_added', 'Note added'), ('note_deleted', 'Note deleted'), ('file_added', 'File added'), ('file_deleted', 'File deleted')], max_length=20)),
                ('changes', models.JSONField(blank=True, default=dict)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('actor', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('org', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenancy.organization')),
            ],
            options={
                'ordering': ['-created_at', '-pk'],
                'indexes': [models.Index(fields=['org', 'kind', 'record_id', '-created_at'], name='customer_history_record')],
            },
        ),
        migrations.RunPython(contact_tags_to_links, contact_links_to_tags, elidable=False),
        migrations.RemoveField(
            model_name='contact',
            name='tags',
        ),
]
