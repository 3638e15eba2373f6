"""My profile's owner events (issue 8 item 6, ORG-04): "a ticket is assigned to me" and "a
customer replies on a ticket I own" mail the owner once, never for what they did themselves,
and not when they turned the event off."""

from __future__ import annotations

import pytest
from django.core import mail

from helpdesk.tickets.models import Thread
from helpdesk.tickets.services.owner_mail import owner_mail_send
from helpdesk.tickets.services.owners import owner_notify
from helpdesk.tickets.services.tickets import TicketInput, ticket_update, tickets_bulk_update


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def _owner_mails():
    return [m for m in mail.outbox if "which events mail you" in m.body]


def test_org04_assignment_mails_the_new_owner_once(desk, committed):
    ticket = committed(desk.ticket, actor=desk.admin, owner=desk.agent.user)
    mails = _owner_mails()
    assert [m.to for m in mails] == [[desk.agent.user.email]]
    assert f"[#{ticket.number}] Assigned to you: Printer on fire" == mails[0].subject
    assert "Yamada" in mails[0].body  # who the ticket is from
    assert f"/acme/desk/tickets/{ticket.number}/" in mails[0].body

    mail.outbox.clear()
    committed(ticket_update, actor=desk.admin, ticket=ticket, data=TicketInput(priority="high"))
    assert _owner_mails() == []  # no new assignment, no mail


def test_org04_taking_a_ticket_yourself_mails_nobody(desk, committed):
    ticket = committed(desk.ticket, actor=desk.admin)
    committed(
        ticket_update, actor=desk.agent, ticket=ticket, data=TicketInput(owner=desk.agent.user)
    )
    assert _owner_mails() == []


def test_org04_bulk_assignment_mails_the_owner_per_ticket(desk, committed):
    first, second = desk.ticket(), desk.ticket(subject="Second")
    committed(
        tickets_bulk_update,
        actor=desk.admin,
        numbers=[first.number, second.number],
        action="assign",
        value=desk.agent.user_id,
    )
    subjects = sorted(m.subject for m in _owner_mails())
    assert subjects == [
        f"[#{first.number}] Assigned to you: Printer on fire",
        f"[#{second.number}] Assigned to you: Second",
    ]


def test_org04_muted_assignment_mail_is_not_sent(desk, committed):
    desk.agent.muted_mail_events = ["ticket_assigned"]
    desk.agent.save(update_fields=["muted_mail_events"])
    committed(desk.ticket, actor=desk.admin, owner=desk.agent.user)
    assert _owner_mails() == []


def test_org04_a_reassigned_ticket_does_not_mail_the_former_owner(desk):
    ticket = desk.ticket(actor=desk.admin, owner=desk.agent.user)
    ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(owner=desk.admin.user))
    sent = owner_mail_send(
        org_id=desk.org.pk, event="assigned", ticket_id=ticket.pk, owner_id=desk.agent.user_id
    )
    assert sent is False and _owner_mails() == []


def test_org04_customer_reply_mails_the_owner_once(desk, committed):
    ticket = desk.ticket(actor=desk.admin, owner=desk.agent.user)
    thread = Thread.objects.create(
        org_id=desk.org.pk, ticket=ticket, kind=Thread.Kind.INCOMING, body="<p>Still broken</p>"
    )
    mail.outbox.clear()
    committed(owner_notify, ticket=ticket, event="customer_reply", actor=None, thread=thread)
    mails = _owner_mails()
    assert [m.to for m in mails] == [[desk.agent.user.email]]
    assert mails[0].subject == f"[#{ticket.number}] The customer replied: Printer on fire"
    assert "Yamada" in mails[0].body and "replied:" in mails[0].body
    assert "Still broken" in mails[0].body
    again = owner_mail_send(
        org_id=desk.org.pk,
        event="customer_reply",
        ticket_id=ticket.pk,
        owner_id=desk.agent.user_id,
        thread_id=thread.pk,
    )
    assert again is False and len(_owner_mails()) == 1

    desk.agent.muted_mail_events = ["reply_on_my_ticket"]
    desk.agent.save(update_fields=["muted_mail_events"])
    other = Thread.objects.create(
        org_id=desk.org.pk, ticket=ticket, kind=Thread.Kind.INCOMING, body="<p>Hello?</p>"
    )
    committed(owner_notify, ticket=ticket, event="customer_reply", actor=None, thread=other)
    assert len(_owner_mails()) == 1
