"""TKT-02, TKT-03, ORG-04: replies, forwards, comments, attachments."""

from __future__ import annotations

import os

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from helpdesk.tickets.models import Attachment, Thread, TicketHistory
from tests.conftest import login


def url(name: str, **kwargs) -> str:
    return reverse(f"desk:{name}", kwargs={"portal": "acme", **kwargs})


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def post_thread(client, django_capture_on_commit_callbacks):
    def _post(member, ticket, **data):
        login(client, member)
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(url("ticket_thread", number=ticket.number), data)

    return _post


def test_tkt02_reply_is_mailed_to_the_contact_with_threading_headers(desk, post_thread):
    desk.department.email = "support@acme.test"
    desk.department.save()
    ticket = desk.ticket()
    response = post_thread(desk.agent, ticket, kind="reply", body="Hello, we are on it.")
    assert response.status_code == 302
    first = mail.outbox[-1]
    assert first.to == ["taro@umbrella.test"]
    assert first.from_email == f"{desk.department.name} <support@acme.test>"
    assert first.subject == f"Re: [#{ticket.number}] Printer on fire"
    assert "Hello, we are on it." in first.body
    first_id = first.extra_headers["Message-ID"]
    assert first_id.endswith("@acme.test>")
    assert "In-Reply-To" not in first.extra_headers

    post_thread(desk.agent, ticket, kind="reply", body="Fixed now.")
    second = mail.outbox[-1]
    assert second.extra_headers["In-Reply-To"] == first_id
    assert second.extra_headers["References"] == first_id
    threads = list(Thread.objects.for_org(desk.org).filter(ticket=ticket))
    assert [t.message_id for t in threads] == [first_id, second.extra_headers["Message-ID"]]


def test_tkt02_reply_mail_is_sent_once_even_if_the_task_runs_twice(desk, post_thread):
    from helpdesk.tickets.services.mail import thread_mail_send

    ticket = desk.ticket()
    post_thread(desk.agent, ticket, kind="reply", body="Once")
    thread = Thread.objects.for_org(desk.org).get(ticket=ticket)
    assert thread_mail_send(org_id=desk.org.pk, thread_id=thread.pk) is False
    assert len(mail.outbox) == 1


def test_tkt02_forward_goes_to_the_given_addresses(desk, post_thread):
    ticket = desk.ticket()
    response = post_thread(
        desk.agent,
        ticket,
        kind="forward",
        body="FYI",
        to="vendor@example.com, second@example.com",
        cc="boss@example.com",
    )
    assert response.status_code == 302
    message = mail.outbox[-1]
    assert message.to == ["vendor@example.com", "second@example.com"]
    assert message.cc == ["boss@example.com"]
    assert message.subject.startswith("Fwd:")


def test_tkt02_forward_to_an_invalid_address_is_refused(desk, post_thread):
    ticket = desk.ticket()
    response = post_thread(desk.agent, ticket, kind="forward", body="FYI", to="not an address")
    assert response.status_code == 400
    assert "is not a valid email address" in response.content.decode()
    assert not Thread.objects.for_org(desk.org).exists()
    assert mail.outbox == []


def test_tkt02_private_comment_is_not_mailed(desk, post_thread):
    ticket = desk.ticket()
    response = post_thread(desk.restricted, ticket, kind="comment", body="Internal note")
    assert response.status_code == 302
    assert mail.outbox == []
    thread = Thread.objects.for_org(desk.org).get()
    assert (thread.kind, thread.author) == ("comment", desk.restricted.user)
    assert TicketHistory.objects.for_org(desk.org).filter(action="comment").exists()


def test_org04_restricted_agent_cannot_reply_or_forward_even_by_forged_post(
    client, desk, post_thread
):
    ticket = desk.ticket()
    for kind in ("reply", "forward"):
        response = post_thread(
            desk.restricted, ticket, kind=kind, body="Sneaky", to="x@example.com"
        )
        assert response.status_code == 403
    assert not Thread.objects.for_org(desk.org).exists()
    assert mail.outbox == []
    page = client.get(url("ticket_detail", number=ticket.number)).content.decode()
    assert 'value="reply"' not in page and 'value="forward"' not in page
    assert 'value="comment"' in page


def test_tkt02_script_in_editor_markup_is_removed_before_storage_and_rendering(
    client, desk, post_thread
):
    """TKT-02: markup the editor posts (format "html") is sanitised, not trusted."""
    ticket = desk.ticket(
        description='<img src=x onerror="alert(1)">Look', description_format="html"
    )
    post_thread(
        desk.agent,
        ticket,
        kind="reply",
        body='<p>Hi</p><script>alert("x")</script><a href="javascript:alert(1)">'
        'click</a><b onclick="steal()">bold</b>',
        body_format="html",
    )
    thread = Thread.objects.for_org(desk.org).get()
    assert "<script" not in thread.body and "javascript:" not in thread.body
    assert "onclick" not in thread.body and "<b>bold</b>" in thread.body
    ticket.refresh_from_db()
    assert "onerror" not in ticket.description
    page = client.get(url("ticket_detail", number=ticket.number)).content.decode()
    assert 'alert("x")' not in page and "onerror" not in page and "steal()" not in page


def test_tkt02_reply_without_a_contact_email_is_refused(desk, post_thread):
    ticket = desk.ticket(contact=None)
    response = post_thread(desk.agent, ticket, kind="reply", body="Hello?")
    assert response.status_code == 400
    assert "no contact with an email address" in response.content.decode()
    assert not Thread.objects.for_org(desk.org).exists()


def test_tkt02_empty_message_is_refused(desk, post_thread):
    ticket = desk.ticket()
    response = post_thread(desk.agent, ticket, kind="comment", body="   ")
    assert response.status_code == 400
    assert "Write a message." in response.content.decode()


def test_tkt03_attachment_is_stored_under_the_org_and_mailed_and_downloaded(
    client, desk, post_thread, settings
):
    ticket = desk.ticket()
    upload = SimpleUploadedFile("invoice.pdf", b"%PDF-1.4 test", content_type="application/pdf")
    response = post_thread(desk.agent, ticket, kind="reply", body="See attached", files=upload)
    assert response.status_code == 302
    attachment = Attachment.objects.for_org(desk.org).get()
    assert attachment.file.name.startswith(f"org/{desk.org.pk}/tickets/")
    assert attachment.name == "invoice.pdf" and attachment.size == 13
    assert os.path.exists(attachment.file.path)
    assert mail.outbox[-1].attachments[0][0] == "invoice.pdf"
    response = client.get(url("attachment", number=ticket.number, attachment_id=attachment.pk))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 test"
    assert response["X-Content-Type-Options"] == "nosniff"
    history = TicketHistory.objects.for_org(desk.org).get(action="reply")
    assert history.changes == {"attachments": [None, ["invoice.pdf"]]}


def test_tkt03_attachment_is_not_served_to_people_who_cannot_see_the_ticket(
    client, desk, post_thread, globex
):
    ticket = desk.ticket()
    post_thread(
        desk.agent,
        ticket,
        kind="comment",
        body="log",
        files=SimpleUploadedFile("log.txt", b"secret"),
    )
    attachment = Attachment.objects.for_org(desk.org).get()
    path = url("attachment", number=ticket.number, attachment_id=attachment.pk)
    login(client, desk.other_agent)  # another department
    assert client.get(path).status_code == 404
    login(client, globex.admin)  # another organization
    assert client.get(path).status_code == 404
    client.logout()
    assert client.get(path).status_code == 302  # to the login page


def test_tkt03_oversized_or_forbidden_files_are_refused_and_nothing_saved(
    desk, post_thread, settings
):
    settings.ATTACHMENT_MAX_BYTES = 10
    ticket = desk.ticket()
    for upload, message in (
        (SimpleUploadedFile("big.pdf", b"x" * 11), "is too large"),
        (SimpleUploadedFile("run.exe", b"MZ"), "not allowed"),
        (SimpleUploadedFile("page.html", b"<script>"), "not allowed"),
        (SimpleUploadedFile("image.svg", b"<svg/>"), "not allowed"),
    ):
        response = post_thread(desk.agent, ticket, kind="reply", body="file", files=upload)
        assert response.status_code == 400
        assert message in response.content.decode()
    assert not Thread.objects.for_org(desk.org).exists()
    assert not Attachment.objects.for_org(desk.org).exists()
    assert not os.path.exists(settings.MEDIA_ROOT / "org") or not any(
        (settings.MEDIA_ROOT / "org").rglob("*.*")
    )
    assert mail.outbox == []


def test_tkt03_files_are_removed_when_the_transaction_fails(desk, monkeypatch, settings):
    from helpdesk.tickets.services import threads as service

    ticket = desk.ticket()

    def broken(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "history_record", broken)
    with pytest.raises(RuntimeError):
        service.thread_add(
            actor=desk.agent,
            ticket=ticket,
            kind="comment",
            body="x",
            files=[SimpleUploadedFile("a.txt", b"data")],
        )
    assert not Attachment.objects.for_org(desk.org).exists()
    assert not any((settings.MEDIA_ROOT / "org").rglob("*.txt"))
