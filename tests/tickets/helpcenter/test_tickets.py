"""TKT-08: customers submit tickets (published departments, public fields, attachments, plain
text shown as typed), follow and answer them; they never see private comments, forwards,
internal fields, history or anyone else's tickets; an account's tickets only when allowed."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Contact
from helpdesk.tickets.models import CustomField, Thread, Ticket, TicketFollower, TicketHistory
from helpdesk.tickets.services.threads import thread_add

from .conftest import open_help_center, sign_in

pytestmark = pytest.mark.django_db


def _fields(desk):
    public = CustomField.objects.create(
        org=desk.org,
        department=desk.department,
        label="Order number",
        key="order",
        type="text",
        required=True,
    )
    internal = CustomField.objects.create(
        org=desk.org,
        department=desk.department,
        label="Internal score",
        key="score",
        type="number",
    )
    return public, internal


def test_tkt08_customer_submits_a_ticket_with_public_fields_and_a_file(customer, desk, hc):
    public, internal = _fields(desk)
    hc.public_field_ids = [public.pk]
    hc.save()
    page = customer.get("/acme/help/tickets/new/")
    assert b"Order number" in page.content and b"Internal score" not in page.content
    response = customer.post(
        "/acme/help/tickets/new/",
        {
            "department": desk.department.pk,
            "subject": "Invoice <missing>",
            "description": "Hello,\n<b>not bold</b> & more",
            "cf_order": "A-100",
            "cf_score": "99",  # not offered: dropped
            "files": SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 data"),
        },
    )
    ticket = Ticket.objects.for_org(desk.org).get(subject="Invoice <missing>")
    assert response.status_code == 302
    assert response["Location"] == f"/acme/help/tickets/{ticket.number}/"
    assert ticket.contact == desk.contact and ticket.account == desk.account
    assert ticket.channel == "web" and ticket.department == desk.department
    assert ticket.custom_fields == {"order": "A-100"}
    history = TicketHistory.objects.for_org(desk.org).filter(ticket=ticket)
    # The file came with the ticket: its "created" row names it; no "Customer replied".
    assert [h.action for h in history] == ["created"]
    assert history[0].changes["attachments"] == [None, ["receipt.pdf"]]
    assert history[0].actor is None and history[0].ip_address == "127.0.0.1"
    [entry] = Thread.objects.for_org(desk.org).filter(ticket=ticket)
    assert entry.kind == Thread.Kind.INCOMING and entry.contact == desk.contact
    assert [a.name for a in entry.attachments.all()] == ["receipt.pdf"]
    # Shown exactly as typed, on the customer's page and the agent's.
    page = customer.get(response["Location"])
    assert b"&lt;b&gt;not bold&lt;/b&gt; &amp; more" in page.content
    assert b"Invoice &lt;missing&gt;" in page.content
    assert b"Order number" in page.content and b"A-100" in page.content
    download = customer.get(
        f"/acme/help/tickets/{ticket.number}/attachments/{entry.attachments.get().pk}/"
    )
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"%PDF-1.4 data"


def test_tkt08_submission_errors_say_what_to_fix_and_save_nothing(customer, desk, hc, settings):
    public, _internal = _fields(desk)
    hc.public_field_ids = [public.pk]
    hc.save()
    settings.ATTACHMENT_MAX_BYTES = 10
    response = customer.post(
        "/acme/help/tickets/new/",
        {
            "department": desk.department.pk,
            "subject": "",
            "description": "   ",
            "files": [
                SimpleUploadedFile("tool.exe", b"MZ"),
                SimpleUploadedFile("big.pdf", b"x" * 100),
            ],
        },
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "This field is required." in content  # subject, and the required public field
    assert "Describe your question." in content
    assert Ticket.objects.for_org(desk.org).count() == 0
    response = customer.post(
        "/acme/help/tickets/new/",
        {
            "department": desk.department.pk,
            "subject": "Files",
            "description": "see attached",
            "cf_order": "A-1",
            "files": [
                SimpleUploadedFile("tool.exe", b"MZ"),
                SimpleUploadedFile("big.pdf", b"x" * 100),
            ],
        },
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "“tool.exe”: files of this type are not allowed." in content
    assert "“big.pdf” is too large" in content
    assert Ticket.objects.for_org(desk.org).count() == 0


def test_tkt08_only_published_departments_take_tickets(customer, desk, hc):
    hc.department_ids = [desk.department.pk, desk.other_department.pk]
    hc.save()
    choose = customer.get("/acme/help/tickets/new/")
    assert b"Billing" in choose.content
    unpublished = open_help_center(desk.org, [desk.department])
    assert unpublished.department_ids == [desk.department.pk]
    response = customer.post(
        "/acme/help/tickets/new/",
        {"department": desk.other_department.pk, "subject": "S", "description": "D"},
    )
    # Only one department is published now: the ticket goes there, never to Billing.
    assert response.status_code == 302
    assert Ticket.objects.for_org(desk.org).get().department == desk.department


def test_tkt08_signed_out_visitors_are_sent_to_sign_in(client, desk, hc):
    response = client.get("/acme/help/tickets/new/")
    assert response.status_code == 302
    assert response["Location"].startswith("/acme/help/signin/?next=")


def test_tkt08_private_comments_forwards_and_history_never_appear(customer, desk, hc):
    ticket = desk.ticket(subject="Printer")
    thread_add(actor=desk.agent, ticket=ticket, kind="reply", body="We are on it")
    thread_add(
        actor=desk.agent,
        ticket=ticket,
        kind="comment",
        body="SECRET internal note",
        files=[SimpleUploadedFile("internal.txt", b"internal")],
    )
    thread_add(actor=desk.agent, ticket=ticket, kind="forward", body="FWD to vendor", to="v@x.test")
    page = customer.get(f"/acme/help/tickets/{ticket.number}/")
    content = page.content.decode()
    assert "We are on it" in content
    assert "SECRET internal note" not in content and "FWD to vendor" not in content
    assert "internal.txt" not in content
    comment_file = Thread.objects.for_org(desk.org).get(kind="comment").attachments.get()
    assert (
        customer.get(
            f"/acme/help/tickets/{ticket.number}/attachments/{comment_file.pk}/"
        ).status_code
        == 404
    )
    assert "Updated" not in content and "203.0.113.5" not in content


def test_tkt08_customer_reply_is_an_incoming_message_with_history_and_mail(customer, desk, hc):
    ticket = desk.ticket(subject="Printer", owner=desk.agent.user)
    TicketFollower.objects.create(org=desk.org, ticket=ticket, user=desk.admin.user)
    mail.outbox.clear()
    response = customer.post(
        f"/acme/help/tickets/{ticket.number}/reply/", {"body": "Still <broken>"}
    )
    assert response.status_code == 302
    entry = Thread.objects.for_org(desk.org).get(ticket=ticket)
    assert entry.kind == Thread.Kind.INCOMING and entry.contact == desk.contact
    assert entry.author is None
    assert TicketHistory.objects.for_org(desk.org).filter(ticket=ticket, action="incoming").exists()
    recipients = {address for m in mail.outbox for address in m.to}
    assert desk.admin.user.email in recipients  # a follower
    assert desk.agent.user.email in recipients  # the owner
    page = customer.get(f"/acme/help/tickets/{ticket.number}/")
    assert b"Still &lt;broken&gt;" in page.content


def test_tkt08_empty_reply_is_refused(customer, desk, hc):
    ticket = desk.ticket()
    response = customer.post(f"/acme/help/tickets/{ticket.number}/reply/", {"body": "  "})
    assert response.status_code == 400
    assert b"Write a message." in response.content
    assert not Thread.objects.for_org(desk.org).exists()


def test_tkt08_customer_sees_only_their_own_tickets(customer, desk, hc):
    mine = desk.ticket(subject="Mine")
    colleague = Contact.objects.create(
        org=desk.org, last_name="Suzuki", email="suzuki@umbrella.test", account=desk.account
    )
    theirs = desk.ticket(subject="Colleague's ticket", contact=colleague)
    stranger = Contact.objects.create(org=desk.org, last_name="Other", email="o@else.test")
    other = desk.ticket(subject="Stranger's ticket", contact=stranger)
    home = customer.get("/acme/help/").content.decode()
    assert "Mine" in home and "Colleague" not in home and "Stranger" not in home
    for ticket in (theirs, other):
        for url in (
            f"/acme/help/tickets/{ticket.number}/",
            f"/acme/help/tickets/{ticket.number}/reply/",
            f"/acme/help/tickets/{ticket.number}/rate/",
        ):
            response = customer.post(url, {"body": "x", "value": "good"})
            assert response.status_code == 404, url
    assert customer.get(f"/acme/help/tickets/{mine.number}/").status_code == 200
    assert not Thread.objects.for_org(desk.org).exists()


def test_tkt08_account_tickets_only_when_the_admin_allows(customer, desk, hc):
    colleague = Contact.objects.create(
        org=desk.org, last_name="Suzuki", email="suzuki@umbrella.test", account=desk.account
    )
    theirs = desk.ticket(subject="Colleague's ticket", contact=colleague)
    assert customer.get(f"/acme/help/tickets/{theirs.number}/").status_code == 404
    hc.show_account_tickets = True
    hc.save()
    home = customer.get("/acme/help/").content.decode()
    assert "Colleague&#x27;s ticket" in home and "Showing the tickets of Umbrella" in home
    assert customer.get(f"/acme/help/tickets/{theirs.number}/").status_code == 200


def test_tkt08_customer_of_a_never_reaches_b(client, desk, hc, globex):
    """A contact with the same address at Globex: Acme's session reaches none of Globex's
    tickets, by number or by Globex's portal; Globex's session none of Acme's."""
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    open_help_center(globex.org, [globex.department])
    twin = Contact.objects.create(org=globex.org, last_name="Twin", email=desk.contact.email)
    globex.admin.org = globex.org
    secret = ticket_create(
        actor=globex.admin,
        data=TicketInput(subject="Globex secret", department=globex.department, contact=twin),
    )
    mine = desk.ticket(subject="Acme ticket")
    sign_in(client, "acme", desk.contact.email)
    for url in (
        f"/acme/help/tickets/{secret.number + 100}/",
        f"/globex/help/tickets/{secret.number}/",
    ):
        response = client.get(url)
        assert response.status_code in (302, 404) and b"Globex secret" not in response.content
    assert b"Globex secret" not in client.get("/acme/help/").content
    sign_in(client, "globex", desk.contact.email)
    assert b"Globex secret" in client.get("/globex/help/").content
    response = client.get(f"/globex/help/tickets/{mine.number}/")
    assert b"Acme ticket" not in response.content


def test_tkt08_tkt09_rules_run_on_a_help_center_ticket(customer, desk, hc):
    """The rules pipeline runs on what customers submit: an assignment rule gives the ticket
    its owner, who is mailed."""
    from helpdesk.tickets.rules.models import AssignmentRule

    AssignmentRule.objects.create(org=desk.org, name="All to Bob", to_owner=desk.agent.user)
    mail.outbox.clear()
    customer.post(
        "/acme/help/tickets/new/",
        {"department": desk.department.pk, "subject": "Help", "description": "Please"},
    )
    ticket = Ticket.objects.for_org(desk.org).get(subject="Help")
    assert ticket.owner == desk.agent.user
    assert any(desk.agent.user.email in m.to for m in mail.outbox)
