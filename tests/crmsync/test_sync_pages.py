"""CRM-04, CRM-05, CRM-07: the sync health page of CRM Setup, through the pages."""

from __future__ import annotations

from django.urls import reverse

from crmsync.models import CrmContact, Integration, OutboxEntry, SyncRun
from crmsync.services import integration as svc
from customers.models import Contact
from tests.conftest import login


def url(name: str, org, **kwargs) -> str:
    return reverse(name, kwargs={"portal": org.portal, **kwargs})


def test_crm05_dry_run_from_the_page_shows_its_counts(
    client, acme, cora, django_capture_on_commit_callbacks
):
    svc.integration_connect_own(actor=cora)
    Contact.objects.create(org=acme.org, last_name="Same", email="same@cust.test")
    CrmContact.objects.create(org=acme.org, last_name="Same", email="same@cust.test")
    CrmContact.objects.create(org=acme.org, last_name="New", email="new@cust.test")
    login(client, cora)
    page = client.get(url("crm:sync", acme.org))
    assert page.status_code == 200 and b"Start a dry run" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("crm:sync_dry_run", acme.org))
    assert response.status_code == 302
    run = SyncRun.objects.for_org(acme.org).get()
    assert run.state == SyncRun.State.DONE
    assert run.counts["contact"]["matched"] == 1 and run.counts["contact"]["to_create"] == 1

    partial = client.get(url("crm:sync_run", acme.org, sync_run_id=run.pk))
    assert partial.status_code == 200
    assert b'data-kind="contact"' in partial.content and b"hx-get" not in partial.content
    assert b'data-kind="contact"' in client.get(url("crm:sync", acme.org)).content


def test_crm04_resync_of_a_record_queues_it_and_a_bad_number_is_refused(client, acme, cora):
    integration = svc.integration_connect_own(actor=cora)
    svc.integration_transition(actor=cora, integration=integration, action="enable")
    contact = CrmContact.objects.create(org=acme.org, last_name="Re", email="re@cust.test")
    login(client, cora)
    bad = client.post(url("crm:sync_resync", acme.org), {"kind": "contact", "crm_id": "abc"})
    assert bad.status_code == 400 and b'value="abc"' in bad.content
    missing = client.post(url("crm:sync_resync", acme.org), {"kind": "contact", "crm_id": "999999"})
    assert missing.status_code == 400 and b"No such record" in missing.content
    ok = client.post(url("crm:sync_resync", acme.org), {"kind": "contact", "crm_id": contact.pk})
    assert ok.status_code == 302
    row = OutboxEntry.objects.for_org(acme.org).get(record_id=contact.pk)
    assert row.kind == "contact" and "email" in row.fields


def test_crm04_sync_health_is_for_crm_admins_only(client, acme, cora, sam):
    svc.integration_connect_own(actor=cora)
    login(client, sam)
    assert client.get(url("crm:sync", acme.org)).status_code == 403
    assert client.post(url("crm:sync_dry_run", acme.org)).status_code == 403
    assert not SyncRun.objects.for_org(acme.org).exists()
    assert Integration.objects.for_org(acme.org).get().state == "disabled"
