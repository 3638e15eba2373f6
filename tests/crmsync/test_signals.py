"""CRM-14 sales signals: the owners of a desk ticket's CRM contact, account and deal hear of
a new ticket, comment, reply, escalation, rating and of the ticket passing its due date.

Acme's CRM syncs two-way with Acme's own desk (Cora, CRM admin, set it up). Sam owns the CRM
contact Yui, Sue the account Kaisha, Dee the deal; Yui and Kaisha are synced to the desk.
Alice (account admin) and Bob (agent) work the desk. Tasks run eagerly, after commit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from crmsync import signals
from crmsync.models import (
    CrmAccount,
    CrmContact,
    Deal,
    DealTicket,
    Integration,
    SalesSignal,
    SignalPreference,
    SyncLink,
)
from crmsync.services import integration as svc
from crmsync.services import records as crm
from crmsync.signals import signal_task
from crmsync.tasks import deliver_task
from customers.models import Account, Contact
from helpdesk.tickets.helpcenter.ratings import rating_set
from helpdesk.tickets.models import StatusKind, Ticket, TicketHistory, TicketStatus
from helpdesk.tickets.services.escalation import Escalation, tickets_escalate
from helpdesk.tickets.services.incoming import thread_incoming_add
from helpdesk.tickets.services.threads import thread_add
from helpdesk.tickets.services.tickets import TicketInput, ticket_create, ticket_update
from tests.conftest import login
from tests.factories import DepartmentAgentFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()  # this engineer's own Redis database: cached integrations and bookmarks
    yield
    cache.clear()


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run a service as a request would: its after-commit tasks run (eagerly) at the end."""

    def run(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


@pytest.fixture
def dee(acme):
    return acme.member(
        user=UserFactory(email="dee@acme.test", full_name="Dee Deals"),
        desk_role="",
        crm_role="sales",
    )


@pytest.fixture
def sync(acme, cora):
    integration = svc.integration_connect_own(actor=cora)
    integration = svc.integration_options(
        actor=cora,
        integration=integration,
        direction=Integration.Direction.TWO_WAY,
        match_secondary_email=False,
        product_department_ids=[],
    )
    return svc.integration_transition(actor=cora, integration=integration, action="enable")


class World:
    def __init__(self, acme, cora, sam, sue, dee, sync):
        self.acme, self.sync = acme, sync
        self.sam, self.sue, self.dee = sam, sue, dee
        org = acme.org
        self.crm_account = crm.account_save(
            actor=cora, account=CrmAccount(org=org, name="Kaisha", owner=sue.user)
        )
        self.crm_contact = crm.contact_save(
            actor=cora,
            contact=CrmContact(org=org, last_name="Yui", email="yui@cust.test", owner=sam.user),
        )
        self.deal = crm.deal_save(actor=cora, deal=Deal(org=org, name="Big deal", owner=dee.user))
        deliver_task(org.pk, sync.pk)
        links = dict(
            SyncLink.objects.for_org(org).filter(integration=sync).values_list("kind", "desk_id")
        )
        self.contact = Contact.objects.for_org(org).get(pk=links["contact"])
        self.account = Account.objects.for_org(org).get(pk=links["account"])

    def ticket(self, committed, actor=None, **values) -> Ticket:
        values.setdefault("subject", "Printer on fire")
        return committed(
            ticket_create,
            actor=actor or self.acme.admin,
            data=TicketInput(
                department=self.acme.department,
                contact=self.contact,
                account=self.account,
                **values,
            ),
        )

    def link_deal(self, ticket: Ticket) -> None:
        DealTicket.objects.create(
            org=self.acme.org, integration=self.sync, deal=self.deal, ticket_id=ticket.pk
        )


@pytest.fixture
def world(acme, cora, sam, sue, dee, sync) -> World:
    return World(acme, cora, sam, sue, dee, sync)


@pytest.fixture
def bob(acme):
    """An agent of Acme's department (the ticket's)."""
    member = acme.member(user=UserFactory(email="bob@acme.test", full_name="Bob"))
    DepartmentAgentFactory(department=acme.department, user=member.user)
    return member


def received(org, event=None) -> list[tuple[str, str, str]]:
    """(user email, event, record kind) of the organization's signals, oldest first."""
    rows = SalesSignal.objects.for_org(org).select_related("user").order_by("pk")
    if event:
        rows = rows.filter(event=event)
    return [(s.user.email, s.event, s.record_kind) for s in rows]


def _status(org, department, kind):
    return TicketStatus.objects.for_org(org).filter(department=department, kind=kind).first()


# --- The six events ----------------------------------------------------------------------------
def test_crm14_new_ticket_reaches_the_owners_of_its_contact_and_account(acme, world, committed):
    ticket = world.ticket(committed)

    assert received(acme.org) == [
        ("sam@acme.test", "new_ticket", "contact"),
        ("sue@acme.test", "new_ticket", "account"),
    ]
    signal = SalesSignal.objects.for_org(acme.org).filter(user=world.sam.user).get()
    assert (signal.ticket_number, signal.subject) == (ticket.number, "Printer on fire")
    assert signal.record_id == world.crm_contact.pk and signal.read_at is None


def test_crm14_agent_comment_reaches_contact_account_and_deal_owners(acme, bob, world, committed):
    ticket = world.ticket(committed)
    world.link_deal(ticket)

    committed(thread_add, actor=bob, ticket=ticket, kind="comment", body="Called them")

    assert received(acme.org, "new_comment") == [
        ("sam@acme.test", "new_comment", "contact"),
        ("sue@acme.test", "new_comment", "account"),
        ("dee@acme.test", "new_comment", "deal"),
    ]


def test_crm14_an_owner_of_two_records_gets_one_signal_for_the_first_reason(acme, world, committed):
    world.deal.owner = world.sam.user
    world.deal.save()
    ticket = world.ticket(committed)
    world.link_deal(ticket)
    committed(thread_add, actor=acme.admin, ticket=ticket, kind="comment", body="Noted")

    assert received(acme.org, "new_comment") == [
        ("sam@acme.test", "new_comment", "contact"),
        ("sue@acme.test", "new_comment", "account"),
    ]


def test_crm14_the_account_of_the_tickets_contact_brings_its_owner_too(acme, world, committed):
    """An account's tickets are also its contacts' (as the CRM's ticket lists count them)."""
    ticket = committed(
        ticket_create,
        actor=acme.admin,
        data=TicketInput(
            subject="No account given", department=acme.department, contact=world.contact
        ),
    )
    assert ticket.account_id is None
    assert received(acme.org) == [("sam@acme.test", "new_ticket", "contact")]

    Contact.objects.for_org(acme.org).filter(pk=world.contact.pk).update(account=world.account)
    committed(thread_add, actor=acme.admin, ticket=ticket, kind="comment", body="Moved")
    assert received(acme.org, "new_comment") == [
        ("sam@acme.test", "new_comment", "contact"),
        ("sue@acme.test", "new_comment", "account"),
    ]


def test_crm14_customer_reply_and_agent_reply_are_new_replies_a_forward_is_not(
    acme, bob, world, committed
):
    ticket = world.ticket(committed)
    committed(thread_incoming_add, ticket=ticket, contact=world.contact, body="Still burning")
    assert len(received(acme.org, "new_reply")) == 2

    committed(thread_add, actor=bob, ticket=ticket, kind="reply", body="On our way", to="")
    committed(thread_add, actor=bob, ticket=ticket, kind="forward", body="FYI", to="vendor@x.test")
    assert (
        received(acme.org, "new_reply")
        == [
            ("sam@acme.test", "new_reply", "contact"),
            ("sue@acme.test", "new_reply", "account"),
        ]
        * 2
    )


def test_crm14_sla_escalation_is_signalled(acme, world, committed):
    ticket = world.ticket(committed)
    committed(
        tickets_escalate,
        org_id=acme.org.pk,
        escalations=[Escalation(ticket_id=ticket.pk, level=1, target="resolution")],
    )
    assert received(acme.org, "escalated") == [
        ("sam@acme.test", "escalated", "contact"),
        ("sue@acme.test", "escalated", "account"),
    ]


def test_crm14_a_customer_rating_is_signalled(acme, world, committed):
    ticket = world.ticket(committed)
    closed = _status(acme.org, ticket.department, StatusKind.CLOSED)
    committed(ticket_update, actor=acme.admin, ticket=ticket, data=TicketInput(status=closed))
    ticket.refresh_from_db()

    committed(rating_set, ticket=ticket, contact=world.contact, value="good", comment="Thanks")
    assert len(received(acme.org, "new_rating")) == 2
    # Editing only the comment is not a new rating.
    committed(rating_set, ticket=ticket, contact=world.contact, value="good", comment="Fast!")
    assert len(received(acme.org, "new_rating")) == 2


def test_crm14_overdue_tickets_are_signalled_once_per_due_date(acme, world, committed):
    ticket = world.ticket(committed)
    past = timezone.now() - dt.timedelta(minutes=5)
    Ticket.objects.for_org(acme.org).filter(pk=ticket.pk).update(due_at=past)

    assert signals.overdue_sweep() == 1
    assert received(acme.org, "overdue") == [
        ("sam@acme.test", "overdue", "contact"),
        ("sue@acme.test", "overdue", "account"),
    ]
    # The next sweep starts where this one ended; even from scratch it signals nothing twice.
    assert signals.overdue_sweep() == 0
    cache.clear()
    assert signals.overdue_sweep() == 1
    assert len(received(acme.org, "overdue")) == 2

    # A new due date that passes is signalled again; a closed ticket is not.
    later = timezone.now() - dt.timedelta(seconds=30)
    ticket.refresh_from_db()
    committed(ticket_update, actor=acme.admin, ticket=ticket, data=TicketInput(due_at=later))
    assert len(received(acme.org, "overdue")) == 4  # at once: the sweep would not see it
    signals.overdue_sweep()
    assert len(received(acme.org, "overdue")) == 4
    other = world.ticket(committed, subject="Closed already")
    Ticket.objects.for_org(acme.org).filter(pk=other.pk).update(
        due_at=timezone.now() - dt.timedelta(seconds=5), status_kind=StatusKind.CLOSED
    )
    signals.overdue_sweep()
    assert len(received(acme.org, "overdue")) == 4


def test_crm14_a_new_ticket_already_past_its_due_date_is_overdue_at_once(acme, world, committed):
    world.ticket(committed, due_at=timezone.now() - dt.timedelta(hours=2))
    assert len(received(acme.org, "overdue")) == 2
    signals.overdue_sweep()
    assert len(received(acme.org, "overdue")) == 2


def test_crm14_overdue_sweep_is_bounded_and_continues_next_run(acme, world, committed):
    tickets = [world.ticket(committed, subject=f"T{n}") for n in range(3)]
    past = timezone.now() - dt.timedelta(minutes=5)
    Ticket.objects.for_org(acme.org).filter(pk__in=[t.pk for t in tickets]).update(due_at=past)

    assert signals.overdue_sweep(batch=2) == 2
    assert signals.overdue_sweep(batch=2) == 1
    assert signals.overdue_sweep(batch=2) == 0
    assert len(received(acme.org, "overdue")) == 6


# --- Who receives ------------------------------------------------------------------------------
def test_crm14_a_user_who_turned_an_event_off_gets_none(acme, sam, bob, world, committed):
    signals.signal_preference_save(actor=sam, events=["new_ticket", "new_reply"], mail=False)
    ticket = world.ticket(committed)
    committed(thread_add, actor=bob, ticket=ticket, kind="comment", body="Internal")

    assert received(acme.org, "new_comment") == [("sue@acme.test", "new_comment", "account")]
    assert ("sam@acme.test", "new_ticket", "contact") in received(acme.org)


def test_crm14_mail_flag_sends_one_mail_with_the_ticket_link(acme, sam, bob, world, committed):
    signals.signal_preference_save(actor=sam, events=["new_comment"], mail=True)
    ticket = world.ticket(committed)
    mail.outbox.clear()

    committed(thread_add, actor=bob, ticket=ticket, kind="comment", body="Internal")

    mails = [m for m in mail.outbox if "sam@acme.test" in m.to]
    assert len(mails) == 1
    assert mails[0].subject == f"[#{ticket.number}] New comment: Printer on fire"
    url = reverse("crm:ticket", kwargs={"portal": "acme", "number": ticket.number})
    assert url in mails[0].body
    # Sue did not ask for mail: none for her, though she has the signal.
    assert not [m for m in mail.outbox if "sue@acme.test" in m.to]
    assert ("sue@acme.test", "new_comment", "account") in received(acme.org)


def test_crm14_the_person_who_caused_the_event_is_not_notified(acme, sue, world, committed):
    ken = acme.member(
        user=UserFactory(email="ken@acme.test", full_name="Ken"),
        desk_role="agent",
        crm_role="sales",
    )
    DepartmentAgentFactory(department=acme.department, user=ken.user)
    world.crm_contact.owner = ken.user
    world.crm_contact.save()
    ticket = world.ticket(committed, actor=ken)
    committed(thread_add, actor=ken, ticket=ticket, kind="comment", body="Mine")

    assert [r[0] for r in received(acme.org)] == ["sue@acme.test", "sue@acme.test"]


def test_crm14_owners_without_crm_access_are_not_notified(acme, sam, world, committed):
    sam.crm_role = ""
    sam.save()
    world.ticket(committed)
    assert [r[0] for r in received(acme.org)] == ["sue@acme.test"]


def test_crm14_the_same_history_row_twice_makes_one_signal(acme, bob, world, committed):
    ticket = world.ticket(committed)
    committed(thread_add, actor=bob, ticket=ticket, kind="comment", body="Once")
    row = TicketHistory.objects.for_org(acme.org).filter(action="comment").get()

    # The broker hands the task out again.
    key = signals.history_key(row.pk)
    assert signal_task(acme.org.pk, world.sync.pk, ticket.pk, "new_comment", bob.user_id, key) == 0
    assert len(received(acme.org, "new_comment")) == 2


def test_crm14_no_signal_after_the_integration_is_removed(acme, cora, bob, world, committed):
    ticket = world.ticket(committed)
    svc.integration_remove(actor=cora, integration=world.sync)
    assert not SalesSignal.objects.for_org(acme.org).exists()

    committed(thread_add, actor=bob, ticket=ticket, kind="comment", body="After")
    assert not SalesSignal.objects.for_org(acme.org).exists()


def test_crm14_no_signal_while_the_integration_is_deactivated(acme, cora, bob, world, committed):
    ticket = world.ticket(committed)
    svc.integration_transition(actor=cora, integration=world.sync, action="deactivate")
    committed(thread_add, actor=bob, ticket=ticket, kind="comment", body="Quiet")
    assert received(acme.org, "new_comment") == []


def test_crm14_a_desk_without_crm_costs_no_query(globex, django_assert_num_queries):
    """The listener runs in every ticket write: without a CRM on the desk it reads only the
    cache (after the first look, which fills it)."""
    from helpdesk.tenancy.rls import tenant_scope

    with tenant_scope(globex.org.pk):
        ticket = ticket_create(
            actor=globex.admin,
            data=TicketInput(subject="No CRM here", department=globex.department),
        )
        row = TicketHistory.objects.for_org(globex.org).filter(ticket=ticket).first()
    with django_assert_num_queries(0):
        signals.history_recorded(row)
        row.action = "comment"
        signals.history_recorded(row)


# --- The pages ---------------------------------------------------------------------------------
def test_crm14_the_list_shows_my_signals_and_mark_read_works(
    client, acme, sam, bob, world, committed
):
    ticket = world.ticket(committed)
    committed(thread_add, actor=bob, ticket=ticket, kind="comment", body="Hello")
    login(client, sam)

    page = client.get("/acme/crm/signals/")
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="unread"') == 2
    assert "New comment" in html and "New ticket" in html
    assert f"#{ticket.number} Printer on fire" in html
    assert "Yui" in html  # the record that brought it
    assert 'data-testid="signals-unread">2' in html
    assert "sue@acme.test" not in html

    newest = SalesSignal.objects.for_org(acme.org).filter(user=sam.user).order_by("-pk").first()
    response = client.post(f"/acme/crm/signals/{newest.pk}/read/")
    assert response.status_code == 302
    newest.refresh_from_db()
    assert newest.read_at is not None
    assert client.get("/acme/crm/signals/").content.decode().count('class="unread"') == 1

    client.post("/acme/crm/signals/read-all/")
    html = client.get("/acme/crm/accounts/").content.decode()
    assert 'data-testid="signals-unread"' not in html
    assert not SalesSignal.objects.for_org(acme.org).filter(user=sam.user, read_at=None).exists()
    # Sue's stay unread.
    assert SalesSignal.objects.for_org(acme.org).filter(user=world.sue.user, read_at=None).count()


def test_crm14_each_signal_links_to_the_ticket_in_the_crm(client, acme, sam, world, committed):
    ticket = world.ticket(committed)
    login(client, sam)
    html = client.get("/acme/crm/signals/").content.decode()
    url = reverse("crm:ticket", kwargs={"portal": "acme", "number": ticket.number})
    assert f'href="{url}"' in html


def test_crm14_another_users_or_organizations_signal_is_404(
    client, acme, globex, sam, sue, world, committed
):
    world.ticket(committed)
    sues = SalesSignal.objects.for_org(acme.org).get(user=sue.user)
    login(client, sam)
    assert client.post(f"/acme/crm/signals/{sues.pk}/read/").status_code == 404
    sues.refresh_from_db()
    assert sues.read_at is None

    login(client, globex.admin)
    assert client.post(f"/globex/crm/signals/{sues.pk}/read/").status_code == 404
    page = client.get("/globex/crm/signals/")
    assert page.status_code == 200 and b"Printer on fire" not in page.content
    assert client.get("/acme/crm/signals/").status_code == 404


def test_crm14_settings_page_saves_preferences_and_refuses_nonsense(client, acme, sam):
    login(client, sam)
    page = client.get("/acme/crm/signals/settings/")
    assert page.status_code == 200 and b"Ticket overdue" in page.content

    response = client.post(
        "/acme/crm/signals/settings/", {"events": ["overdue", "new_rating"], "mail": "on"}
    )
    assert response.status_code == 302
    pref = SignalPreference.objects.for_org(acme.org).get(user=sam.user)
    assert (pref.events, pref.mail) == (["overdue", "new_rating"], True)

    bad = client.post("/acme/crm/signals/settings/", {"events": ["explode"]})
    assert bad.status_code == 400 and b"Select a valid choice." in bad.content
    pref.refresh_from_db()
    assert (pref.events, pref.mail) == (["overdue", "new_rating"], True)


def test_crm14_pages_need_crm_access(client, acme, dan):
    login(client, dan)
    assert client.get("/acme/crm/signals/").status_code in (403, 404)
