"""TKT-07, TKT-09: the message that opens a ticket is part of its creation, not a reply to it.
The rules run on the new ticket as they would on any; what follows a customer's *reply* (the
"Customer replied" history row, the reopening of a ticket that is not open, the owner's
"customer replied" mail) does not follow the first message."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from helpdesk.tickets.models import Thread, Ticket, TicketHistory
from helpdesk.tickets.services.incoming import (
    IncomingMessage,
    thread_incoming_add,
    ticket_create_with_message,
)


def _open_by_mail(desk, subject: str = "Printer on fire", files=()) -> Ticket:
    thread = ticket_create_with_message(
        org=desk.org,
        contact=desk.contact,
        department=desk.department,
        subject=subject,
        message=IncomingMessage(body="It smokes.", files=files, message_id="<first@umbrella>"),
    )
    return Ticket.objects.get(pk=thread.ticket_id)


@pytest.mark.django_db
def test_tkt07_an_opening_message_writes_one_created_row_that_names_its_files(
    desk, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    ticket = _open_by_mail(desk, files=[SimpleUploadedFile("dir/photo.png", b"png bytes")])
    [created] = TicketHistory.objects.for_org(desk.org).filter(ticket=ticket)
    assert created.action == "created"  # no "Customer replied": nobody had written yet
    assert created.changes["attachments"] == [None, ["photo.png"]]
    [entry] = Thread.objects.for_org(desk.org).filter(ticket=ticket)
    assert [a.name for a in entry.attachments.all()] == ["photo.png"]
    # The customer's next message is a reply, and is recorded as one.
    thread_incoming_add(ticket=ticket, contact=desk.contact, body="Still smoking.")
    actions = list(
        TicketHistory.objects.for_org(desk.org)
        .filter(ticket=ticket)
        .values_list("action", flat=True)
    )
    assert actions == ["created", "incoming"]


@pytest.mark.django_db
def test_tkt09_a_new_mail_ticket_assigned_by_round_robin_mails_its_owner_once(
    desk, round_robin_on, django_capture_on_commit_callbacks
):
    round_robin_on(desk.department)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = _open_by_mail(desk)
    assert ticket.owner_id is not None
    owner_mail = [m for m in mail.outbox if m.to == [ticket.owner.email]]
    assert len(owner_mail) == 1, [m.subject for m in owner_mail]  # "assigned", not twice


@pytest.mark.django_db
def test_tkt09_a_status_the_rules_give_a_new_mail_ticket_is_kept(desk, make_rule):
    """A workflow rule puts invoices on hold: the opening message does not reopen the ticket
    (a later reply does, as any customer reply to a ticket on hold)."""
    on_hold = desk.status("On Hold")
    make_rule(
        name="Invoices wait",
        trigger="create",
        condition={"field": "subject", "op": "contains", "value": "invoice"},
        field_updates={"status": on_hold.pk},
    )
    ticket = _open_by_mail(desk, subject="Wrong invoice")
    assert ticket.status_id == on_hold.pk
    thread_incoming_add(ticket=ticket, contact=desk.contact, body="Any news?")
    ticket.refresh_from_db()
    assert ticket.status.name == "Open"
