"""TKT-07: IMAP mailboxes polled into tickets, against the tests' own dovecot.

Messages go in with APPEND; the poller (the service the Celery task calls, and the task run
eagerly through the beat sweep) reads them through the ingestion service. Nothing is read
twice across polls, a changed UIDVALIDITY re-reads without doubling tickets, and failures are
recorded on the mailbox with a backoff."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from helpdesk.tenancy.models import Department
from helpdesk.tickets.imap import crypto, services
from helpdesk.tickets.imap.models import Mailbox, PollError
from helpdesk.tickets.imap.services import due_mailboxes, mailbox_poll
from helpdesk.tickets.imap.tasks import imap_poll_due_task
from helpdesk.tickets.mailin.models import InboundMessage
from helpdesk.tickets.models import Thread, Ticket
from tests.factories import DepartmentFactory

from .conftest import append, mailbox_for, make_message


def _poll(mailbox: Mailbox) -> services.PollResult:
    return mailbox_poll(org_id=mailbox.org_id, mailbox_id=mailbox.pk)


def _subjects(org) -> list[str]:
    return sorted(Ticket.objects.for_org(org).values_list("subject", flat=True))


def _fresh(mailbox: Mailbox) -> Mailbox:
    return Mailbox.objects.for_org(mailbox.org).get(pk=mailbox.pk)


@pytest.fixture
def sales(acme) -> Department:
    return DepartmentFactory(org=acme.org, name="Sales")


@pytest.mark.django_db
def test_tkt07_poller_creates_tickets_and_never_reads_a_message_twice(
    acme, sales, dovecot, imap_account
):
    feeder = dovecot.connect(*imap_account)
    append(feeder, make_message("Printer on fire"))
    append(feeder, make_message("Invoice missing", sender="Dan <dan@customer.test>"))
    mailbox = mailbox_for(acme, dovecot, imap_account, department=sales)

    first = _poll(mailbox)
    assert (first.outcome, first.read, first.outcomes) == ("polled", 2, {"created": 2})
    assert _subjects(acme.org) == ["Invoice missing", "Printer on fire"]
    ticket = Ticket.objects.for_org(acme.org).get(subject="Printer on fire")
    assert ticket.department == sales  # the mailbox's department
    assert ticket.contact.email == "carol@customer.test"
    assert Thread.objects.for_org(acme.org).filter(ticket=ticket, kind="incoming").count() == 1

    # Polling again reads nothing: not even a duplicate reaches the ingestion.
    again = _poll(mailbox)
    assert (again.outcome, again.read) == ("polled", 0)
    assert InboundMessage.objects.for_org(acme.org).count() == 2

    # New mail arrives: only it is read.
    append(feeder, make_message("Password reset"))
    third = _poll(mailbox)
    assert (third.read, third.outcomes) == (1, {"created": 1})
    assert _subjects(acme.org) == ["Invoice missing", "Password reset", "Printer on fire"]
    assert InboundMessage.objects.for_org(acme.org).count() == 3

    mailbox = _fresh(mailbox)
    assert mailbox.last_uid == 3 and mailbox.uidvalidity
    assert mailbox.last_poll_at and mailbox.last_success_at and not mailbox.last_error


@pytest.mark.django_db
def test_tkt07_a_reply_by_mail_joins_its_ticket(acme, dovecot, imap_account):
    feeder = dovecot.connect(*imap_account)
    append(feeder, make_message("Printer on fire", message_id="<first@customer.test>"))
    mailbox = mailbox_for(acme, dovecot, imap_account)
    _poll(mailbox)
    append(
        feeder,
        make_message(
            "Re: Printer on fire",
            body="Still burning.\n",
            headers={"In-Reply-To": "<first@customer.test>"},
        ),
    )
    assert _poll(mailbox).outcomes == {"appended": 1}
    ticket = Ticket.objects.for_org(acme.org).get()
    assert Thread.objects.for_org(acme.org).filter(ticket=ticket, kind="incoming").count() == 2


@pytest.mark.django_db
def test_tkt07_a_new_mailbox_reads_only_new_mail_unless_asked(acme, dovecot, imap_account):
    feeder = dovecot.connect(*imap_account)
    append(feeder, make_message("Old news"))
    mailbox = mailbox_for(acme, dovecot, imap_account, import_existing=False)
    assert _poll(mailbox).read == 0
    assert _fresh(mailbox).last_uid == 1
    append(feeder, make_message("Fresh news"))
    assert _poll(mailbox).read == 1
    assert _subjects(acme.org) == ["Fresh news"]


@pytest.mark.django_db
def test_tkt07_uidvalidity_change_rereads_without_doubling(acme, dovecot, imap_account):
    feeder = dovecot.connect(*imap_account)
    feeder.create("Support")
    one, two = make_message("One"), make_message("Two")
    append(feeder, one, "Support")
    append(feeder, two, "Support")
    mailbox = mailbox_for(acme, dovecot, imap_account, folder="Support")
    assert _poll(mailbox).read == 2
    before = _fresh(mailbox).uidvalidity

    # The server renumbers the folder (here: deleted and made again, as after a restore).
    feeder.delete("Support")
    feeder.create("Support")
    append(feeder, one, "Support")
    append(feeder, two, "Support")
    append(feeder, make_message("Three"), "Support")

    result = _poll(mailbox)
    assert result.read == 3
    assert result.outcomes == {"duplicate": 2, "created": 1}
    assert _subjects(acme.org) == ["One", "Three", "Two"]
    mailbox = _fresh(mailbox)
    assert mailbox.uidvalidity != before and mailbox.last_uid == 3
    assert _poll(mailbox).read == 0


@pytest.mark.django_db
def test_tkt07_bad_password_is_recorded_with_backoff(acme, dovecot, imap_account):
    username, _password = imap_account
    mailbox = mailbox_for(acme, dovecot, (username, "wrong password"))
    assert _poll(mailbox).outcome == "failed"
    mailbox = _fresh(mailbox)
    assert mailbox.last_error == PollError.AUTH
    assert "AUTHENTICATIONFAILED" in mailbox.last_error_detail
    assert mailbox.failures == 1
    now = timezone.now()
    assert now < mailbox.next_poll_at <= now + timedelta(minutes=1)
    # Not retried hot: the sweep leaves it alone until its time comes, and waits longer after
    # each failure.
    assert (acme.org.pk, mailbox.pk) not in due_mailboxes()
    assert (acme.org.pk, mailbox.pk) in due_mailboxes(now=now + timedelta(minutes=1))
    _poll(mailbox)
    mailbox = _fresh(mailbox)
    assert mailbox.failures == 2
    assert mailbox.next_poll_at > timezone.now() + timedelta(seconds=90)
    assert services.backoff(20) == timedelta(hours=1)


@pytest.mark.django_db
def test_tkt07_unreachable_server_is_recorded(acme, dovecot, imap_account):
    mailbox = mailbox_for(acme, dovecot, imap_account)
    Mailbox.objects.filter(pk=mailbox.pk).update(port=1)
    assert _poll(mailbox).outcome == "failed"
    assert _fresh(mailbox).last_error == PollError.UNREACHABLE


@pytest.mark.django_db
def test_tkt07_success_clears_the_last_error(acme, dovecot, imap_account):
    mailbox = mailbox_for(acme, dovecot, imap_account)
    Mailbox.objects.filter(pk=mailbox.pk).update(
        last_error=PollError.AUTH, failures=3, last_error_detail="x"
    )
    assert _poll(mailbox).outcome == "polled"
    mailbox = _fresh(mailbox)
    assert (mailbox.last_error, mailbox.failures, mailbox.next_poll_at) == ("", 0, None)


@pytest.mark.django_db
def test_tkt07_two_polls_of_one_mailbox_never_run_at_once(acme, dovecot, imap_account):
    feeder = dovecot.connect(*imap_account)
    append(feeder, make_message())
    mailbox = mailbox_for(acme, dovecot, imap_account)
    client = redis.Redis.from_url(settings.REDIS_URL)
    held = client.lock(f"madoguchi:imap:poll:{mailbox.pk}", timeout=30)
    assert held.acquire(blocking=False)
    try:
        assert _poll(mailbox).outcome == "locked"
        assert Ticket.objects.for_org(acme.org).count() == 0
    finally:
        held.release()
    assert _poll(mailbox).read == 1


@pytest.mark.django_db
def test_tkt07_a_message_that_fails_to_ingest_is_kept_for_the_next_poll(
    acme, dovecot, imap_account, monkeypatch
):
    from helpdesk.tickets.mailin import services as mailin

    feeder = dovecot.connect(*imap_account)
    append(feeder, make_message("First"))
    append(feeder, make_message("Second"))
    mailbox = mailbox_for(acme, dovecot, imap_account)
    real = mailin.ingest
    calls = []

    def flaky(org, raw, **kwargs):
        calls.append(raw)
        if len(calls) == 2:
            raise RuntimeError("database hiccup")
        return real(org, raw, **kwargs)

    monkeypatch.setattr(mailin, "ingest", flaky)
    assert _poll(mailbox).outcome == "failed"
    mailbox = _fresh(mailbox)
    assert (mailbox.last_uid, mailbox.last_error) == (1, PollError.INGEST)
    assert _subjects(acme.org) == ["First"]

    monkeypatch.setattr(mailin, "ingest", real)
    assert _poll(mailbox).read == 1
    assert _subjects(acme.org) == ["First", "Second"]


@pytest.mark.django_db
def test_tkt07_mark_seen_marks_read_messages_on_the_server(acme, dovecot, imap_account):
    feeder = dovecot.connect(*imap_account)
    append(feeder, make_message())
    mailbox = mailbox_for(acme, dovecot, imap_account, mark_seen=True)
    _poll(mailbox)
    feeder.select("INBOX")
    assert feeder.uid("SEARCH", None, "SEEN")[1][0].split() == [b"1"]


@pytest.mark.django_db
def test_tkt07_beat_sweep_polls_each_due_mailbox_in_its_organization(
    acme, globex, dovecot, imap_account
):
    acme_account, globex_account, off_account = imap_account, dovecot.add_user(), dovecot.add_user()
    for account, subject in [
        (acme_account, "For Acme"),
        (globex_account, "For Globex"),
        (off_account, "Disabled"),
    ]:
        append(dovecot.connect(*account), make_message(subject))
    mailbox_for(acme, dovecot, acme_account)
    mailbox_for(globex, dovecot, globex_account)
    mailbox_for(acme, dovecot, off_account, enabled=False)

    assert imap_poll_due_task.delay().get() == 2  # run eagerly: each poll as its own task
    assert _subjects(acme.org) == ["For Acme"]
    assert _subjects(globex.org) == ["For Globex"]


@pytest.mark.django_db
def test_tkt07_a_busy_mailbox_is_read_in_batches(acme, dovecot, imap_account):
    feeder = dovecot.connect(*imap_account)
    for n in range(5):
        append(feeder, make_message(f"Message {n}"))
    mailbox = mailbox_for(acme, dovecot, imap_account)
    first = mailbox_poll(org_id=acme.org.pk, mailbox_id=mailbox.pk, batch=3)
    assert (first.read, first.more) == (3, True)
    second = mailbox_poll(org_id=acme.org.pk, mailbox_id=mailbox.pk, batch=3)
    assert (second.read, second.more) == (2, False)
    assert Ticket.objects.for_org(acme.org).count() == 5


@pytest.mark.django_db
def test_tkt07_key_rotation_reencrypts_every_password(
    acme, globex, dovecot, imap_account, settings
):
    from django.core.management import call_command

    settings.MAIL_PASSWORD_KEY = ["old key"]
    acme_box = mailbox_for(acme, dovecot, imap_account)
    globex_box = mailbox_for(globex, dovecot, dovecot.add_user())

    settings.MAIL_PASSWORD_KEY = ["new key", "old key"]
    call_command("imap_rotate_key", stdout=io.StringIO())
    settings.MAIL_PASSWORD_KEY = ["new key"]
    for box in (acme_box, globex_box):
        assert crypto.decrypt(_fresh(box).password_encrypted) == "secret"
    assert _poll(acme_box).outcome == "polled"

    # A password made with a key nobody lists any more is reported, not guessed at.
    settings.MAIL_PASSWORD_KEY = ["another key"]
    assert _poll(acme_box).outcome == "failed"
    assert _fresh(acme_box).last_error == PollError.KEY
