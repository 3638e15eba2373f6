"""Transcript mail when a chat ends (CHAT-04, CHAT-07; issue 15 item 5): to the department's
transcript addresses when that setting is on, to the visitor when they asked for it, with the
department's CC addresses on that mail to the visitor (CC setting) and from the department's
from address. Nothing is sent while a setting is off."""

from __future__ import annotations

import pytest
from django.core import mail

from chat.models import Conversation

from .visitor_helpers import XSS, email_on, end, start, visitor_client, visitor_url

pytestmark = pytest.mark.django_db


def ask(client, tenant, chat, email=""):
    return client.post(
        visitor_url(tenant, "visitor_transcript", chat["id"]),
        {"token": chat["token"], "email": email},
    )


def test_chat04_transcript_goes_to_the_department_addresses_when_a_chat_ends(
    acme, django_capture_on_commit_callbacks
):
    email_on(acme, "transcript", "log@acme.test, boss@acme.test")
    email_on(acme, "from", "chat@acme.test")
    visitor = visitor_client()
    chat = start(visitor, acme, message=f"Where is my order? {XSS}")
    with django_capture_on_commit_callbacks(execute=True):
        end(visitor, acme, chat)
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == ["log@acme.test", "boss@acme.test"]
    assert sent.from_email == "chat@acme.test"
    assert "Where is my order?" in sent.body
    assert XSS in sent.body  # plain text, exactly as typed
    assert "Vera Visitor" in sent.body
    assert "The visitor ended the chat." in sent.body


def test_chat04_no_transcript_mail_while_the_setting_is_off(
    acme, django_capture_on_commit_callbacks
):
    visitor = visitor_client()
    chat = start(visitor, acme)
    with django_capture_on_commit_callbacks(execute=True):
        end(visitor, acme, chat)
    assert mail.outbox == []


def test_chat07_visitor_asks_for_the_transcript_during_the_chat_and_gets_it_at_the_end_with_cc(
    acme, django_capture_on_commit_callbacks
):
    email_on(acme, "cc", "cc@acme.test")
    visitor = visitor_client()
    chat = start(visitor, acme)
    response = ask(visitor, acme, chat)  # empty: the address the visitor gave
    assert response.status_code == 200
    assert response.json() == {"sent": False}
    assert mail.outbox == []
    with django_capture_on_commit_callbacks(execute=True):
        end(visitor, acme, chat)
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["vera@shop.example"]
    assert mail.outbox[0].cc == ["cc@acme.test"]
    assert "Hello" in mail.outbox[0].body


def test_chat07_transcript_after_the_end_is_sent_at_once_and_only_once(acme):
    visitor = visitor_client()
    chat = start(visitor, acme, email="")
    end(visitor, acme, chat)
    bad = ask(visitor, acme, chat, "not an address")
    assert bad.status_code == 400
    assert bad.json()["errors"]["email"] == ["Enter a valid email address."]
    missing = ask(visitor, acme, chat)
    assert missing.json()["errors"]["email"] == ["Enter your email address."]
    assert mail.outbox == []

    assert ask(visitor, acme, chat, "vera@home.example").json() == {"sent": True}
    assert [m.to for m in mail.outbox] == [["vera@home.example"]]
    assert mail.outbox[0].cc == []  # the CC setting is off
    again = ask(visitor, acme, chat, "someone@else.example")
    assert again.status_code == 400
    assert len(mail.outbox) == 1


def test_chat07_transcript_needs_the_conversation_token(acme):
    visitor = visitor_client()
    chat = start(visitor, acme)
    response = visitor.post(
        visitor_url(acme, "visitor_transcript", chat["id"]),
        {"token": "guess", "email": "evil@example.com"},
    )
    assert response.status_code == 404
    assert Conversation.objects.for_org(acme.org).get().transcript_to == ""
