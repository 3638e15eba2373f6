"""CRM-04, ORG-01: Acme's CRM syncs with Globex's desk (a key Charlie issued). The desk's rows
are written under Globex's own row-level-security scope; Initech, a third organization with a
contact of the same address, is never touched; a revoked key stops the delivery."""

from __future__ import annotations

import pytest

from crmsync.models import (
    CrmContact,
    Integration,
    IntegrationKey,
    OutboxEntry,
    SyncError,
    SyncLink,
)
from crmsync.services import integration as svc
from crmsync.services import records as crm
from crmsync.tasks import deliver_task
from customers import services as desk
from customers.models import Contact, CustomerHistory
from tests.conftest import _signup


@pytest.fixture
def initech(db):
    return _signup("Initech", "initech", "peter@initech.test")


@pytest.fixture
def synced(acme, globex, cora):
    _row, key = svc.key_issue(actor=globex.admin, label="Acme sales")
    integration = svc.integration_connect_other(
        actor=cora, portal=globex.org.portal, admin_email="charlie@globex.test", key=key
    )
    integration = svc.integration_options(
        actor=cora,
        integration=integration,
        direction=Integration.Direction.TWO_WAY,
        match_secondary_email=False,
        product_department_ids=[],
    )
    return svc.integration_transition(actor=cora, integration=integration, action="enable")


def test_crm04_another_organizations_desk_syncs_both_ways_and_a_third_is_untouched(
    acme, globex, initech, cora, synced
):
    stranger = desk.contact_save(
        actor=initech.admin,
        contact=Contact(org=initech.org, last_name="Ito", email="ito@cust.test", title="Keep"),
    )
    before = list(Contact.objects.for_org(initech.org).values())
    contact = crm.contact_save(
        actor=cora, contact=CrmContact(org=acme.org, last_name="Ito", email="ito@cust.test")
    )
    assert deliver_task(acme.org.pk, synced.pk) == 1

    twin = Contact.objects.for_org(globex.org).get(email="ito@cust.test")
    assert twin.last_name == "Ito"
    link = SyncLink.objects.for_org(acme.org).get()
    assert (link.crm_id, link.desk_id) == (contact.pk, twin.pk)

    twin.title = "Director"  # Charlie edits the desk contact at Globex
    desk.contact_save(actor=globex.admin, contact=twin)
    row = OutboxEntry.objects.for_org(globex.org).get(delivered_at=None)
    assert (row.side, row.crm_org_id, row.integration_id) == ("desk", acme.org.pk, synced.pk)
    assert deliver_task(acme.org.pk, synced.pk) == 1
    contact.refresh_from_db()
    assert contact.title == "Director"

    # Initech: its contact of the same address, its outbox and its history are as they were.
    assert list(Contact.objects.for_org(initech.org).values()) == before
    assert stranger.title == "Keep"
    assert not OutboxEntry.objects.for_org(initech.org).exists()
    assert CustomerHistory.objects.for_org(initech.org).filter(action="updated").count() == 0


def test_crm04_a_revoked_key_stops_the_delivery(acme, globex, cora, synced):
    contact = crm.contact_save(
        actor=cora, contact=CrmContact(org=acme.org, last_name="Ono", email="ono@cust.test")
    )
    deliver_task(acme.org.pk, synced.pk)
    key = svc.key_revoke(actor=globex.admin, key=IntegrationKey.objects.for_org(globex.org).get())
    assert key.revoked_at is not None
    contact.title = "After revoking"
    crm.contact_save(actor=cora, contact=contact)

    assert deliver_task(acme.org.pk, synced.pk) == 0
    assert Contact.objects.for_org(globex.org).get(email="ono@cust.test").title == ""
    assert OutboxEntry.objects.for_org(acme.org).filter(delivered_at=None).count() == 1
    error = SyncError.objects.for_org(acme.org).get()
    assert error.type == SyncError.Type.AUTHORISATION and "revoked" in error.message
