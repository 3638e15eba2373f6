"""CRM-04..CRM-07: the sync of accounts, contacts and products between Acme's CRM and a desk.

Cora (CRM admin) links Acme's CRM to Acme's own desk, two-way, matching by secondary email too;
Alice (Acme's admin) edits the desk. Deliveries run as the Celery task does (`deliver_task`,
under the CRM organization's row-level-security scope)."""

from __future__ import annotations

import pytest

from crmsync.models import (
    CrmContact,
    Integration,
    OutboxEntry,
    SyncConflict,
    SyncError,
    SyncLink,
    SyncRun,
)
from crmsync.services import integration as svc
from crmsync.services import records as crm
from crmsync.services.sync import CRM, Sides, deliver_row
from crmsync.tasks import deliver_task, dry_run_task, initial_sync_task
from customers import services as desk
from customers.models import Contact, CustomerHistory


@pytest.fixture
def sync(acme, cora):
    """Acme's CRM synced two-way with Acme's desk, enabled (its initial sync not run yet)."""
    integration = svc.integration_connect_own(actor=cora)
    integration = svc.integration_options(
        actor=cora,
        integration=integration,
        direction=Integration.Direction.TWO_WAY,
        match_secondary_email=True,
        product_department_ids=[],
    )
    return svc.integration_transition(actor=cora, integration=integration, action="enable")


def deliver(integration: Integration) -> int:
    return deliver_task(integration.org_id, integration.pk)


def crm_contact(cora, **values) -> CrmContact:
    values.setdefault("last_name", "Tanaka")
    return crm.contact_save(actor=cora, contact=CrmContact(org=cora.org, **values))


def desk_contact(acme, **values) -> Contact:
    values.setdefault("last_name", "Tanaka")
    return desk.contact_save(actor=acme.admin, contact=Contact(org=acme.org, **values))


def pending(org) -> int:
    return OutboxEntry.objects.for_org(org).filter(delivered_at=None).count()


def linked_pair(acme, cora, sync, **values) -> tuple[CrmContact, Contact]:
    """A CRM contact created and delivered: its desk twin."""
    contact = crm_contact(cora, **values)
    deliver(sync)
    link = SyncLink.objects.for_org(acme.org).get(kind="contact", crm_id=contact.pk)
    return contact, Contact.objects.for_org(acme.org).get(pk=link.desk_id)


def history(acme, contact: Contact, action: str = "updated") -> list[dict]:
    rows = CustomerHistory.objects.for_org(acme.org).filter(
        kind="contact", record_id=contact.pk, action=action
    )
    return [row.changes for row in rows.order_by("pk")]


# --- Delivery ----------------------------------------------------------------------------------
def test_crm04_an_edit_syncs_once_and_does_not_bounce_back(acme, cora, sync):
    contact, twin = linked_pair(acme, cora, sync, first_name="Yui", email="yui@cust.test")
    assert (twin.first_name, twin.email) == ("Yui", "yui@cust.test")

    contact.phone = "03-1234-5678"
    crm.contact_save(actor=cora, contact=contact)
    assert pending(acme.org) == 1
    assert deliver(sync) == 1

    twin.refresh_from_db()
    assert twin.phone == "03-1234-5678"
    # The desk change the sync made wrote no outbox row: nothing goes back to the CRM.
    assert pending(acme.org) == 0
    assert deliver(sync) == 0
    assert history(acme, twin) == [{"phone": [None, "03-1234-5678"]}]
    assert CrmContact.objects.for_org(acme.org).count() == 1


def test_crm04_the_same_event_delivered_twice_changes_nothing(acme, cora, sync):
    contact, twin = linked_pair(acme, cora, sync, email="ken@cust.test")
    contact.title = "Buyer"
    crm.contact_save(actor=cora, contact=contact)
    row = OutboxEntry.objects.for_org(acme.org).get(delivered_at=None)
    integration = Integration.objects.for_org(acme.org).get()
    sides = Sides(integration)
    assert deliver_row(sides, CRM, row.pk) == "applied"
    twin.refresh_from_db()
    stamp = twin.updated_at
    # Redelivered (the broker handed the task out again): the row is marked, nothing changes.
    assert deliver_row(sides, CRM, row.pk) is None
    assert deliver(sync) == 0
    twin.refresh_from_db()
    assert (twin.title, twin.updated_at) == ("Buyer", stamp)
    assert len(history(acme, twin)) == 1


def test_crm04_both_sides_editing_different_fields_keep_both_edits(acme, cora, sync):
    contact, twin = linked_pair(acme, cora, sync, email="mio@cust.test", title="Clerk")
    contact.phone = "090-1111-2222"  # the CRM changes the phone
    crm.contact_save(actor=cora, contact=contact)
    twin.title = "Manager"  # meanwhile the desk changes the title
    desk.contact_save(actor=acme.admin, contact=twin)
    assert pending(acme.org) == 2

    deliver(sync)

    contact.refresh_from_db()
    twin.refresh_from_db()
    assert (contact.phone, contact.title) == ("090-1111-2222", "Manager")
    assert (twin.phone, twin.title) == ("090-1111-2222", "Manager")
    assert not SyncConflict.objects.for_org(acme.org).exists()
    assert pending(acme.org) == 0


@pytest.mark.parametrize("newer", ["desk", "crm"])
def test_crm04_both_sides_editing_one_field_keep_the_newer_and_log_a_conflict(
    acme, cora, sync, newer
):
    contact, twin = linked_pair(acme, cora, sync, email="rin@cust.test", title="Clerk")
    edits = [
        lambda: crm.contact_save(actor=cora, contact=_set(contact, title="CRM title")),
        lambda: desk.contact_save(actor=acme.admin, contact=_set(twin, title="Desk title")),
    ]
    for edit in edits if newer == "desk" else reversed(edits):
        edit()  # the second edit is the newer one

    deliver(sync)

    contact.refresh_from_db()
    twin.refresh_from_db()
    kept = "Desk title" if newer == "desk" else "CRM title"
    assert contact.title == twin.title == kept
    conflict = SyncConflict.objects.for_org(acme.org).get()
    assert (conflict.field, conflict.crm_value, conflict.desk_value, conflict.kept) == (
        "title",
        "CRM title",
        "Desk title",
        newer,
    )
    assert deliver(sync) == 0 and contact.title == kept


def _set(record, **values):
    for name, value in values.items():
        setattr(record, name, value)
    return record


def test_crm05_a_secondary_email_match_overwrites_the_desks_primary_and_keeps_the_old(
    acme, cora, sync
):
    old = desk_contact(acme, last_name="Sato", email="sato@old.test")
    crm_contact(cora, last_name="Sato", email="sato@new.test", secondary_email="sato@old.test")

    deliver(sync)

    assert Contact.objects.for_org(acme.org).count() == 1  # matched, not duplicated
    old.refresh_from_db()
    assert (old.email, old.secondary_email) == ("sato@new.test", "sato@old.test")
    changes = history(acme, old)[-1]
    assert changes["email"] == ["sato@old.test", "sato@new.test"]
    assert changes["secondary_email"] == [None, "sato@old.test"]


def test_crm05_both_sides_creating_the_same_person_make_one_pair(acme, cora, sync):
    crm_contact(cora, last_name="Kato", email="kato@cust.test", phone="111")
    desk_contact(acme, last_name="Kato", email="kato@cust.test", title="Owner")

    deliver(sync)

    assert CrmContact.objects.for_org(acme.org).count() == 1
    assert Contact.objects.for_org(acme.org).count() == 1
    link = SyncLink.objects.for_org(acme.org).get(kind="contact")
    twin = Contact.objects.for_org(acme.org).get(pk=link.desk_id)
    mine = CrmContact.objects.for_org(acme.org).get(pk=link.crm_id)
    assert (twin.phone, twin.title) == (mine.phone, mine.title) == ("111", "Owner")


def test_crm04_one_way_sends_desk_edits_nowhere(acme, cora):
    integration = svc.integration_connect_own(actor=cora)
    integration = svc.integration_transition(actor=cora, integration=integration, action="enable")
    contact, twin = linked_pair(acme, cora, integration, email="one@cust.test")
    twin.title = "Desk only"
    desk.contact_save(actor=acme.admin, contact=twin)
    assert pending(acme.org) == 0
    contact.refresh_from_db()
    assert contact.title == ""


# --- States (CRM-07) ---------------------------------------------------------------------------
def test_crm07_pause_collects_and_resume_delivers(
    acme, cora, sync, django_capture_on_commit_callbacks
):
    contact, twin = linked_pair(acme, cora, sync, email="aoi@cust.test")
    sync = svc.integration_transition(actor=cora, integration=sync, action="pause")
    contact.mobile = "080-0000-0000"
    crm.contact_save(actor=cora, contact=contact)
    twin.title = "Lead"
    desk.contact_save(actor=acme.admin, contact=twin)
    assert pending(acme.org) == 2
    assert deliver(sync) == 0  # paused: collected, not delivered
    contact.refresh_from_db()
    twin.refresh_from_db()
    assert (contact.title, twin.mobile) == ("", "")

    with django_capture_on_commit_callbacks(execute=True):
        svc.integration_transition(actor=cora, integration=sync, action="resume")

    contact.refresh_from_db()
    twin.refresh_from_db()
    assert (contact.title, twin.mobile) == ("Lead", "080-0000-0000")
    assert pending(acme.org) == 0


# --- Dry run and initial sync -------------------------------------------------------------------
def test_crm05_dry_run_counts_matched_to_create_to_update_and_ambiguous(acme, cora):
    integration = svc.integration_connect_own(actor=cora)
    integration = svc.integration_options(
        actor=cora,
        integration=integration,
        direction=Integration.Direction.TWO_WAY,
        match_secondary_email=False,
        product_department_ids=[],
    )
    desk_contact(acme, last_name="Same", email="same@cust.test")
    desk_contact(acme, last_name="Diff", email="diff@cust.test", phone="1")
    desk_contact(acme, last_name="DeskOnly", email="deskonly@cust.test")
    # Two desk contacts with one address (an import made them): one CRM contact matches both.
    Contact.objects.create(org=acme.org, last_name="Twin A", email="twin@cust.test")
    Contact.objects.create(org=acme.org, last_name="Twin B", email="twin@cust.test")
    crm_contact(cora, last_name="Same", email="same@cust.test")
    crm_contact(cora, last_name="Diff", email="diff@cust.test", phone="2")
    crm_contact(cora, last_name="New", email="new@cust.test")
    crm_contact(cora, last_name="Twin", email="twin@cust.test")

    from crmsync.services.sync_jobs import run_start

    run = run_start(actor=cora, integration=integration, kind=SyncRun.Kind.DRY_RUN)
    dry_run_task(acme.org.pk, run.pk)
    run.refresh_from_db()

    assert run.state == SyncRun.State.DONE
    assert run.counts["contact"] == {
        "matched": 1,
        "to_update": 1,
        "to_create": 1,
        "to_create_crm": 1,  # the desk-only contact (the twins are undecided)
        "ambiguous": 1,
    }
    assert [(a["label"], len(a["desk_ids"])) for a in run.ambiguous] == [
        ("Twin <twin@cust.test>", 2)
    ]
    # A dry run changes nothing.
    assert not SyncLink.objects.for_org(acme.org).exists()
    assert Contact.objects.for_org(acme.org).count() == 5


def test_crm04_initial_sync_links_creates_and_reports_the_ambiguous(
    acme, cora, django_capture_on_commit_callbacks
):
    desk_contact(acme, last_name="Desk", email="d@cust.test")
    Contact.objects.create(org=acme.org, last_name="Dup", email="dup@cust.test")
    Contact.objects.create(org=acme.org, last_name="Dup", email="dup@cust.test")
    crm_contact(cora, last_name="Both", email="d@cust.test", phone="5")
    crm_contact(cora, last_name="Dup", email="dup@cust.test")
    crm_contact(cora, last_name="Crm", email="c@cust.test")
    integration = svc.integration_connect_own(actor=cora)
    with django_capture_on_commit_callbacks(execute=True):
        svc.integration_transition(actor=cora, integration=integration, action="enable")
    run = SyncRun.objects.for_org(acme.org).get(kind=SyncRun.Kind.INITIAL)
    assert (run.state, run.done, run.total, run.percent) == (SyncRun.State.DONE, 3, 3, 100)
    assert run.counts == {"synced": 2, "ambiguous": 1}
    assert SyncLink.objects.for_org(acme.org).count() == 2
    assert Contact.objects.for_org(acme.org).filter(email="c@cust.test").count() == 1
    assert Contact.objects.for_org(acme.org).get(email="d@cust.test").phone == "5"
    assert SyncError.objects.for_org(acme.org).get().type == SyncError.Type.AMBIGUOUS
    # Started again (e.g. the same task redelivered): nothing more happens.
    initial_sync_task(acme.org.pk, run.pk)
    assert Contact.objects.for_org(acme.org).count() == 4


def test_crm04_two_way_initial_sync_brings_each_side_the_others_records(
    acme, cora, django_capture_on_commit_callbacks
):
    from crmsync.models import CrmAccount
    from customers.models import Account

    desk.account_save(actor=acme.admin, account=Account(org=acme.org, name="Desk Co"))
    desk_contact(acme, last_name="Deskonly", email="deskonly@cust.test")
    crm.account_save(actor=cora, account=CrmAccount(org=acme.org, name="Crm Co", phone="9"))
    crm_contact(cora, last_name="Crmonly", email="crmonly@cust.test", title="CTO")
    integration = svc.integration_connect_own(actor=cora)
    integration = svc.integration_options(
        actor=cora,
        integration=integration,
        direction=Integration.Direction.TWO_WAY,
        match_secondary_email=False,
        product_department_ids=[],
    )
    with django_capture_on_commit_callbacks(execute=True):
        svc.integration_transition(actor=cora, integration=integration, action="enable")

    run = SyncRun.objects.for_org(acme.org).get(kind=SyncRun.Kind.INITIAL)
    assert (run.state, run.done, run.total) == (SyncRun.State.DONE, 4, 4)
    assert Account.objects.for_org(acme.org).get(name="Crm Co").phone == "9"
    assert CrmAccount.objects.for_org(acme.org).filter(name="Desk Co").exists()
    assert Contact.objects.for_org(acme.org).get(email="crmonly@cust.test").title == "CTO"
    assert CrmContact.objects.for_org(acme.org).filter(email="deskonly@cust.test").exists()
    assert SyncLink.objects.for_org(acme.org).count() == 4
    # The desk's new records came in with an "added" history entry.
    crm_twin = Contact.objects.for_org(acme.org).get(email="crmonly@cust.test")
    assert history(acme, crm_twin, "added")
    # And from now on an edit flows as usual.
    mine = CrmContact.objects.for_org(acme.org).get(email="deskonly@cust.test")
    crm.contact_save(actor=cora, contact=_set(mine, phone="777"))
    deliver(integration)
    assert Contact.objects.for_org(acme.org).get(email="deskonly@cust.test").phone == "777"


# --- A contact's account (CRM-04) --------------------------------------------------------------
def _crm_account(cora, name):
    from crmsync.models import CrmAccount

    return crm.account_save(actor=cora, account=CrmAccount(org=cora.org, name=name))


def _desk_twin(acme, kind, crm_id):
    return SyncLink.objects.for_org(acme.org).get(kind=kind, crm_id=crm_id).desk_id


def test_crm04_a_contacts_account_follows_the_links_both_ways(acme, cora, sync):
    from customers.models import Account

    first, second = _crm_account(cora, "First Co"), _crm_account(cora, "Second Co")
    contact, twin = linked_pair(acme, cora, sync, email="acc@cust.test", account=first)
    desk_first, desk_second = (
        _desk_twin(acme, "account", first.pk),
        _desk_twin(acme, "account", second.pk),
    )
    assert twin.account_id == desk_first

    # The CRM moves the contact to another account: the desk follows, once.
    contact.account = second
    crm.contact_save(actor=cora, contact=contact)
    deliver(sync)
    twin.refresh_from_db()
    assert twin.account_id == desk_second
    assert pending(acme.org) == 0
    assert history(acme, twin) == [{"account": ["First Co", "Second Co"]}]

    # Two-way: the desk moves it back; the CRM follows with its own account's id.
    twin.account = Account.objects.for_org(acme.org).get(pk=desk_first)
    desk.contact_save(actor=acme.admin, contact=twin)
    deliver(sync)
    contact.refresh_from_db()
    assert contact.account_id == first.pk
    assert (
        SyncLink.objects.for_org(acme.org).get(kind="contact", crm_id=contact.pk).synced["account"]
        == first.pk
    )


def test_crm04_the_initial_sync_gives_new_desk_contacts_their_accounts(
    acme, cora, django_capture_on_commit_callbacks
):
    account = _crm_account(cora, "Bulk Co")
    crm_contact(cora, last_name="One", email="one@cust.test", account=account)
    crm_contact(cora, last_name="Two", email="two@cust.test")
    integration = svc.integration_connect_own(actor=cora)
    with django_capture_on_commit_callbacks(execute=True):
        svc.integration_transition(actor=cora, integration=integration, action="enable")
    desk_account = _desk_twin(acme, "account", account.pk)
    contacts = Contact.objects.for_org(acme.org)
    assert contacts.get(email="one@cust.test").account_id == desk_account
    assert contacts.get(email="two@cust.test").account_id is None
