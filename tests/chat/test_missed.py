"""Missed chats (issue 15, item 3): a waiting chat nobody accepts within its department's time
becomes missed (the beat's sweep); the department's missed-chat mail goes out when that
setting is on; the visitor can leave a message, which becomes a desk ticket."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from chat.models import ChatDepartment, Conversation, EmailKind, EmailSetting
from chat.services import conversations as svc
from chat.services import missed
from chat.tasks import missed_sweep_task
from customers.models import Contact
from helpdesk.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def default_department(tenant) -> ChatDepartment:
    return ChatDepartment.objects.for_org(tenant.org).order_by("pk").first()


def start(tenant, email="vera@shop.example", name="Vera", message="Is anyone there?"):
    return svc.conversation_start(
        entry=default_department(tenant),
        department_id=None,
        name=name,
        email=email,
        message=message,
        ip="192.0.2.7",
        language="en",
    )


def missed_setting(tenant, *, on=True, addresses=("leads@acme.test",)):
    EmailSetting.objects.for_org(tenant.org).filter(
        department=default_department(tenant), kind=EmailKind.MISSED
    ).update(is_enabled=on, addresses=list(addresses))


def leave_url(tenant, conversation) -> str:
    return reverse(
        "chat:visitor_leave_message",
        kwargs={"portal": tenant.org.portal, "chat_conversation_id": conversation.pk},
    )


def test_missed_a_chat_becomes_missed_after_the_departments_time(
    acme, django_capture_on_commit_callbacks
):
    department = default_department(acme)
    assert department.missed_after_seconds == 120  # the default: two minutes
    department.missed_after_seconds = 60
    department.save()
    chat = start(acme).conversation
    assert chat.due_at is not None
    assert abs((chat.due_at - chat.created_at).total_seconds() - 60) < 5

    # Before its time nothing happens.
    assert missed.missed_sweep(now=timezone.now() + dt.timedelta(seconds=30)).missed == 0
    chat.refresh_from_db()
    assert chat.state == "waiting"

    with django_capture_on_commit_callbacks(execute=True):
        assert missed.missed_sweep(now=timezone.now() + dt.timedelta(seconds=61)).missed == 1
    chat.refresh_from_db()
    assert (chat.state, chat.due_at) == ("missed", None)
    assert chat.missed_at is not None
    last = chat.messages.order_by("-seq").first()
    assert last.sender == "system" and "Leave a message" in last.body
    # A second sweep finds nothing more.
    assert missed.missed_sweep(now=timezone.now() + dt.timedelta(hours=1)).missed == 0


def test_missed_an_accepted_or_ended_chat_is_never_missed(acme):
    accepted = start(acme, email="a@shop.example").conversation
    acme.admin.org = acme.org
    svc.conversation_accept(actor=acme.admin, conversation=accepted)
    ended = start(acme, email="b@shop.example").conversation
    svc.conversation_end(conversation=ended)
    assert missed.missed_sweep(now=timezone.now() + dt.timedelta(hours=1)).missed == 0
    assert {c.state for c in Conversation.objects.for_org(acme.org)} == {"live", "ended"}


def test_missed_the_beat_task_sweeps_every_organization(acme, globex):
    ours = start(acme).conversation
    theirs = start(globex).conversation
    Conversation.objects.for_org(acme.org).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    Conversation.objects.for_org(globex.org).update(due_at=timezone.now() - dt.timedelta(seconds=1))
    assert missed_sweep_task() == 2
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.state, theirs.state) == ("missed", "missed")


def test_missed_mail_goes_to_the_departments_addresses_when_the_setting_is_on(
    acme, django_capture_on_commit_callbacks
):
    missed_setting(acme, on=True, addresses=["leads@acme.test", "boss@acme.test"])
    start(acme, message="Do you ship to Osaka?")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        missed.missed_sweep(now=timezone.now() + dt.timedelta(minutes=3))
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["leads@acme.test", "boss@acme.test"]
    assert "Vera" in sent.subject
    assert "Do you ship to Osaka?" in sent.body
    assert "vera@shop.example" in sent.body


def test_missed_no_mail_when_the_setting_is_off(acme, django_capture_on_commit_callbacks):
    missed_setting(acme, on=False)
    start(acme)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert missed.missed_sweep(now=timezone.now() + dt.timedelta(minutes=3)).missed == 1
    assert mail.outbox == []


def test_missed_the_visitor_leaves_a_message_that_becomes_a_ticket(client, acme):
    started = start(acme, email="", name="Vera", message="Hello?")
    missed.missed_sweep(now=timezone.now() + dt.timedelta(minutes=3))
    url = leave_url(acme, started.conversation)

    # Without the token: a missing conversation.
    assert client.post(url, {"email": "vera@shop.example", "message": "x"}).status_code == 404
    # Bad input: field errors, nothing saved.
    response = client.post(url, {"token": started.token, "email": "not-an-address", "message": ""})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"email", "message"}
    assert response["Access-Control-Allow-Origin"] == "*"
    assert not Ticket.objects.for_org(acme.org).exists()

    response = client.post(
        url,
        {
            "token": started.token,
            "name": "Vera",
            "email": "vera@shop.example",
            "message": "Please call me back <b>tomorrow</b>.",
        },
    )
    assert response.status_code == 201
    assert response.json() == {"sent": True}
    ticket = Ticket.objects.for_org(acme.org).get()
    assert ticket.channel == "chat"
    assert ticket.contact.email == "vera@shop.example"
    thread = ticket.threads.get()
    assert "Please call me back &lt;b&gt;tomorrow&lt;/b&gt;." in thread.body  # as typed
    assert "Hello?" in thread.body  # the missed chat rides along
    started.conversation.refresh_from_db()
    assert started.conversation.ticket_id == ticket.pk

    # Once per chat.
    again = client.post(
        url, {"token": started.token, "email": "vera@shop.example", "message": "Again"}
    )
    assert again.status_code == 400
    assert Ticket.objects.for_org(acme.org).count() == 1


def test_missed_a_message_can_be_left_only_on_a_missed_chat(client, acme):
    started = start(acme)
    response = client.post(
        leave_url(acme, started.conversation),
        {"token": started.token, "email": "vera@shop.example", "message": "Hi"},
    )
    assert response.status_code == 400
    assert not Ticket.objects.for_org(acme.org).exists()


def test_missed_a_left_message_finds_the_existing_contact(client, acme):
    contact = Contact.objects.create(org=acme.org, last_name="Vera", email="vera@shop.example")
    started = start(acme)
    missed.missed_sweep(now=timezone.now() + dt.timedelta(minutes=3))
    response = client.post(
        leave_url(acme, started.conversation),
        {"token": started.token, "message": "Call me"},  # the chat's address is used
    )
    assert response.status_code == 201
    assert Ticket.objects.for_org(acme.org).get().contact_id == contact.pk
    assert Contact.objects.for_org(acme.org).count() == 1


def test_missed_the_departments_time_is_set_in_setup_and_checked(client, acme):
    from tests.conftest import login

    department = default_department(acme)
    url = reverse(
        "chat:department_field",
        kwargs={"portal": acme.org.portal, "chat_department_id": department.pk},
    )
    login(client, acme.admin)
    key = "d-missed_after_seconds-missed_after_seconds"
    page = client.get(
        reverse(
            "chat:department",
            kwargs={"portal": acme.org.portal, "chat_department_id": department.pk},
        )
    ).content.decode()
    assert "Missed after (seconds)" in page
    response = client.post(url, {"field": "missed_after_seconds", key: "10"})
    assert response.status_code == 400
    assert "greater than or equal to 30" in response.content.decode()
    department.refresh_from_db()
    assert department.missed_after_seconds == 120
    response = client.post(
        url, {"field": "missed_after_seconds", key: "300"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    department.refresh_from_db()
    assert department.missed_after_seconds == 300
    chat = start(acme).conversation
    assert abs((chat.due_at - chat.created_at).total_seconds() - 300) < 5
