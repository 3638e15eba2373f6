"""TKT-07: replies join the right ticket (threading headers first, then "[#n]" from the
ticket's contact), our own mail never comes back as a ticket, a message delivered twice makes
one entry, mail finds its department, and what cannot be placed is held and can be retried."""

from __future__ import annotations

import pytest
from django.core import mail

from helpdesk.tickets.mailin.models import InboundMessage
from helpdesk.tickets.mailin.services import held_retry, ingest
from helpdesk.tickets.models import Attachment, Thread, Ticket
from helpdesk.tickets.services.threads import thread_add

from .conftest import corpus, folded_text, visible_text


def answer(*, subject: str, in_reply_to: str = "", references: str = "", sender: str = "") -> bytes:
    """The customer's emailed answer, quoting our reply the way Gmail does."""
    headers = [
        f"From: {sender or 'Jane Doe <jane.doe@gmail.com>'}",
        "To: support@acme.test",
        f"Subject: {subject}",
        "Message-ID: <CAF=answer-0001@mail.gmail.com>",
        "Date: Tue, 14 May 2024 10:00:00 +0000",
        "Content-Type: text/plain; charset=utf-8",
    ]
    if in_reply_to:
        headers.append(f"In-Reply-To: {in_reply_to}")
    if references:
        headers.append(f"References: {references}")
    body = (
        "Thanks, the printer works again.\n\n"
        "On Mon, May 13, 2024 at 9:00 AM Acme Support <support@acme.test> wrote:\n"
        "> We replaced the roller.\n"
    )
    return ("\r\n".join(headers) + "\r\n\r\n" + body).encode()


@pytest.fixture
def replied(acme, feed, django_capture_on_commit_callbacks):
    """A ticket from Jane's mail, answered by the admin; returns (ticket, our sent mail)."""
    ticket = feed("gmail_alternative.eml").ticket
    with django_capture_on_commit_callbacks(execute=True):
        thread_add(actor=acme.admin, ticket=ticket, kind="reply", body="We replaced the roller.")
    sent = mail.outbox[-1]
    return ticket, sent


@pytest.mark.django_db
def test_tkt07_an_emailed_answer_to_our_reply_lands_in_its_thread(acme, feed, replied):
    ticket, sent = replied
    our_id = sent.extra_headers["Message-ID"]
    assert f"[#{ticket.number}]" in sent.subject
    customers_first = Thread.objects.for_org(acme.org).filter(ticket=ticket).first().message_id
    result = feed(
        answer(
            subject=f"Re: {sent.subject}",
            in_reply_to=our_id,
            references=f"{customers_first} {our_id}",
        )
    )
    assert result.outcome == "appended"
    assert result.ticket.pk == ticket.pk
    kinds = list(
        Thread.objects.for_org(acme.org).filter(ticket=ticket).values_list("kind", flat=True)
    )
    assert kinds == ["incoming", "reply", "incoming"]
    body = result.thread.body
    assert "Thanks, the printer works again." in visible_text(body)
    assert "We replaced the roller." in folded_text(body)
    assert "We replaced the roller." not in visible_text(body)
    assert Ticket.objects.for_org(acme.org).count() == 1


@pytest.mark.django_db
def test_tkt07_our_reply_threads_under_the_customers_mail(acme, replied):
    ticket, sent = replied
    first = Thread.objects.for_org(acme.org).filter(ticket=ticket).first()
    assert (
        sent.extra_headers["In-Reply-To"]
        == first.message_id
        == "<CAF=gmail-alt-001@mail.gmail.com>"
    )


@pytest.mark.django_db
def test_tkt07_the_ticket_number_in_the_subject_threads_the_contacts_mail(acme, feed, replied):
    ticket, sent = replied
    result = feed(answer(subject=f"Re: {sent.subject}"))  # no threading headers (webmail)
    assert result.outcome == "appended" and result.ticket.pk == ticket.pk


@pytest.mark.django_db
def test_tkt07_a_stranger_naming_a_ticket_number_opens_a_new_ticket(acme, feed, replied):
    ticket, sent = replied
    result = feed(answer(subject=f"Re: {sent.subject}", sender="Eve <eve@elsewhere.example>"))
    assert result.outcome == "created" and result.ticket.pk != ticket.pk


@pytest.mark.django_db
def test_tkt07_our_own_mail_fed_back_creates_nothing(acme, feed, replied):
    _ticket, sent = replied
    result = feed(sent.message().as_bytes())
    assert result.outcome == "ignored"
    assert "our own outgoing mail" in result.reason
    assert Ticket.objects.for_org(acme.org).count() == 1


@pytest.mark.django_db
def test_tkt07_the_same_message_twice_makes_one_entry(acme, feed):
    first = feed("gmail_alternative.eml")
    second = feed("gmail_alternative.eml", source="endpoint")
    assert (first.outcome, second.outcome) == ("created", "duplicate")
    assert second.ticket.pk == first.ticket.pk
    assert Ticket.objects.for_org(acme.org).count() == 1
    assert Thread.objects.for_org(acme.org).count() == 1
    assert InboundMessage.objects.for_org(acme.org).count() == 1


@pytest.mark.django_db
def test_tkt07_a_message_without_id_is_recognised_by_its_bytes(acme, feed):
    assert feed("no_message_id.eml").outcome == "created"
    assert feed("no_message_id.eml").outcome == "duplicate"
    assert Ticket.objects.for_org(acme.org).count() == 1


@pytest.mark.django_db
def test_tkt07_the_same_message_id_in_two_organizations_is_two_entries(acme, globex, feed):
    feed("gmail_alternative.eml")
    other = ingest(globex.org, _corpus(), source="endpoint")
    assert other.outcome == "created"
    assert other.ticket.org_id == globex.org.pk


def _corpus() -> bytes:
    from .conftest import corpus

    return corpus("gmail_alternative.eml")


@pytest.mark.django_db
def test_tkt07_mail_goes_to_the_department_of_its_address(acme, feed, sales):
    raw = _corpus().replace(b"To: support@acme.test", b"To: Sales <SALES@acme.test>")
    assert feed(raw).ticket.department == sales


@pytest.mark.django_db
def test_tkt07_the_department_given_wins(acme, feed, sales):
    assert feed("gmail_alternative.eml", department=sales).ticket.department == sales


@pytest.mark.django_db
def test_tkt07_inline_images_point_at_their_attachments(acme, feed):
    result = feed("outlook_inline_image.eml")
    image = Attachment.objects.for_org(acme.org).get(name="image001.png")
    url = f"/acme/desk/tickets/{result.ticket.number}/attachments/{image.pk}/"
    assert f'src="{url}"' in result.thread.body
    assert "cid:" not in result.thread.body


@pytest.mark.django_db
def test_tkt07_a_held_message_is_placed_when_retried(acme, feed, support):
    from helpdesk.tenancy.models import Department

    Department.objects.for_org(acme.org).update(is_enabled=False)
    held = feed("gmail_alternative.eml")
    assert held.outcome == "held"
    assert "no enabled department" in held.reason
    Department.objects.for_org(acme.org).update(is_enabled=True)
    entry = InboundMessage.objects.for_org(acme.org).get()
    retried = held_retry(actor=acme.admin, entry=entry)
    assert retried.outcome == "created"
    entry.refresh_from_db()
    assert entry.outcome == "created" and entry.raw is None and entry.ticket == retried.ticket


@pytest.mark.django_db
def test_tkt07_an_answer_to_a_merged_ticket_lands_in_its_target(acme, feed, replied):
    from helpdesk.tickets.services.merge import ticket_merge

    source, sent = replied
    target = feed("no_message_id.eml").ticket
    ticket_merge(actor=acme.admin, source=source, target=target)
    by_header = feed(answer(subject="Re: anything", in_reply_to=sent.extra_headers["Message-ID"]))
    assert by_header.outcome == "appended" and by_header.ticket.pk == target.pk
    again = answer(subject=f"Re: {sent.subject}").replace(b"answer-0001", b"answer-0002")
    by_number = feed(again)  # "[#n]" of the merged ticket, from its contact
    assert by_number.outcome == "appended" and by_number.ticket.pk == target.pk


def _set_kind(ticket, kind):
    from helpdesk.tickets.models import TicketStatus

    status = (
        TicketStatus.objects.for_org(ticket.org)
        .filter(department=ticket.department, kind=kind)
        .first()
    )
    Ticket.objects.for_org(ticket.org).filter(pk=ticket.pk).update(status=status, status_kind=kind)
    return status


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["closed", "on_hold"])
def test_tkt07_a_customer_reply_reopens_a_closed_or_on_hold_ticket(acme, feed, replied, kind):
    """The customer answers after we closed the ticket (or put it on hold): it is open again,
    in the department's default status, with a history row saying why; the reply is on it."""
    from helpdesk.tickets.models import TicketHistory
    from helpdesk.tickets.services.tickets import default_status

    ticket, sent = replied
    _set_kind(ticket, kind)
    result = feed(
        answer(subject=f"Re: {sent.subject}", in_reply_to=sent.extra_headers["Message-ID"])
    )
    assert result.ticket.pk == ticket.pk
    ticket.refresh_from_db()
    assert ticket.status_kind == "open"
    assert ticket.status == default_status(ticket.department)
    assert ticket.closed_at is None
    row = TicketHistory.objects.for_org(acme.org).filter(ticket=ticket).latest("pk")
    assert row.action == "reopened" and "status" in row.changes
    assert Thread.objects.for_org(acme.org).filter(ticket=ticket, kind="incoming").count() == 2


@pytest.mark.django_db
def test_tkt07_a_customer_reply_leaves_an_open_ticket_as_it_is(acme, feed, replied):
    from helpdesk.tickets.models import TicketHistory

    ticket, sent = replied
    status_before = ticket.status_id
    feed(answer(subject=f"Re: {sent.subject}", in_reply_to=sent.extra_headers["Message-ID"]))
    ticket.refresh_from_db()
    assert ticket.status_id == status_before
    assert not TicketHistory.objects.for_org(acme.org).filter(ticket=ticket, action="reopened")


@pytest.mark.django_db
def test_tkt07_the_log_purge_keeps_held_and_recent_messages(acme, globex, feed, settings):
    """Beat's daily purge: log rows older than MAILIN_LOG_DAYS go, in every organization;
    held messages stay whatever their age, recent rows stay."""
    import datetime as dt

    from django.utils import timezone

    from helpdesk.tickets.mailin.services import log_purge
    from helpdesk.tickets.mailin.tasks import mailin_log_purge_task

    settings.MAILIN_LOG_DAYS = 30
    old = feed("gmail_alternative.eml")
    recent = feed(answer(subject="Another question"))
    held = ingest(acme.org, b"no headers at all", source="command")
    theirs = ingest(globex.org, corpus("gmail_alternative.eml"), source="command")
    assert held.outcome == "held"
    long_ago = timezone.now() - dt.timedelta(days=31)
    for org in (acme.org, globex.org):
        InboundMessage.objects.for_org(org).exclude(pk=recent.entry.pk).update(received_at=long_ago)
    assert mailin_log_purge_task() == 2  # Acme's old placed row and Globex's
    left = set(InboundMessage.objects.for_org(acme.org).values_list("pk", flat=True))
    assert left == {recent.entry.pk, held.entry.pk}
    assert not InboundMessage.objects.for_org(globex.org).filter(pk=theirs.entry.pk).exists()
    assert old.ticket.pk  # the tickets themselves are untouched
    assert Ticket.objects.for_org(acme.org).filter(pk=old.ticket.pk).exists()
    assert log_purge() == 0  # idempotent
