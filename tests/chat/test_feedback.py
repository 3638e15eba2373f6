"""Visitor feedback (CHAT-04, CHAT-07; issue 15 item 5): at the end of a chat the visitor rates
it and may comment; once; the department's feedback addresses hear when that setting is on;
the operator sees it on the chat's page and supervisors on the feedback list, as text."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from chat.models import ChatFeedback, Conversation
from chat.services import conversations as svc
from tests.conftest import login

from .visitor_helpers import XSS, email_on, end, start, visitor_client, visitor_url

pytestmark = pytest.mark.django_db


def rate(client, tenant, chat, rating="5", comment=""):
    return client.post(
        visitor_url(tenant, "visitor_feedback", chat["id"]),
        {"token": chat["token"], "rating": rating, "comment": comment},
    )


def test_chat07_visitor_rates_the_chat_once_it_has_ended(acme):
    visitor = visitor_client()
    chat = start(visitor, acme)
    early = rate(visitor, acme, chat, "5")
    assert early.status_code == 400
    assert early.json()["errors"]["__all__"] == ["You can rate the chat once it has ended."]
    end(visitor, acme, chat)
    for bad in ("0", "6", "x", ""):
        response = rate(visitor, acme, chat, bad)
        assert response.status_code == 400
        assert response.json()["errors"]["rating"] == ["Choose a rating from 1 to 5."]
    too_long = rate(visitor, acme, chat, "4", "x" * 2001)
    assert too_long.json()["errors"]["comment"] == ["At most 2000 characters."]
    assert not ChatFeedback.objects.for_org(acme.org).exists()

    assert rate(visitor, acme, chat, "4", "Quick and kind").status_code == 201
    twice = rate(visitor, acme, chat, "1", "changed my mind")
    assert twice.status_code == 400
    feedback = ChatFeedback.objects.for_org(acme.org).get()
    assert (feedback.rating, feedback.comment) == (4, "Quick and kind")


def test_chat04_feedback_is_mailed_when_the_setting_is_on(acme, django_capture_on_commit_callbacks):
    email_on(acme, "feedback", "quality@acme.test")
    visitor = visitor_client()
    chat = start(visitor, acme)
    end(visitor, acme, chat)
    with django_capture_on_commit_callbacks(execute=True):
        assert rate(visitor, acme, chat, "2", f"Slow {XSS}").status_code == 201
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["quality@acme.test"]
    # Staff mail is written in the site's language (an organization has none of its own).
    with translation.override(settings.LANGUAGE_CODE):
        expected = gettext("Visitor feedback: %(rating)d of 5") % {"rating": 2}
    assert mail.outbox[0].subject == expected
    assert f"Slow {XSS}" in mail.outbox[0].body


def test_chat04_no_feedback_mail_while_the_setting_is_off(acme, django_capture_on_commit_callbacks):
    visitor = visitor_client()
    chat = start(visitor, acme)
    end(visitor, acme, chat)
    with django_capture_on_commit_callbacks(execute=True):
        assert rate(visitor, acme, chat, "5").status_code == 201
    assert mail.outbox == []


def test_chat07_operator_and_supervisor_see_the_rating_and_the_comment_as_text(client, acme):
    visitor = visitor_client()
    chat = start(visitor, acme)
    conversation = Conversation.objects.for_org(acme.org).get()
    acme.admin.org = acme.org
    svc.conversation_accept(actor=acme.admin, conversation=conversation)
    end(visitor, acme, chat)
    assert rate(visitor, acme, chat, "3", XSS).status_code == 201

    login(client, acme.admin)
    page = client.get(
        reverse(
            "chat:conversation",
            kwargs={"portal": acme.org.portal, "chat_conversation_id": conversation.pk},
        )
    ).content.decode()
    assert "3 of 5" in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert XSS not in page
    listing = client.get(reverse("chat:feedback", kwargs={"portal": acme.org.portal}))
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "3 of 5" in text and "Vera Visitor" in text and "Acme Admin" in text
    assert XSS not in text


def test_chat07_feedback_list_shows_an_operator_only_their_own_chats(client, acme, globex):
    from tests.factories import UserFactory

    olga = acme.member(
        user=UserFactory(email="olga@acme.test", full_name="Olga Operator"),
        desk_role="",
        chat_role="operator",
    )
    visitor = visitor_client()
    chat = start(visitor, acme)
    end(visitor, acme, chat)
    rate(visitor, acme, chat, "5", "Alice was great")
    login(client, olga)
    text = client.get(reverse("chat:feedback", kwargs={"portal": acme.org.portal})).content
    assert b"Alice was great" not in text
    # Another organization's member: the 404 of a missing portal.
    login(client, globex.admin)
    assert (
        client.get(reverse("chat:feedback", kwargs={"portal": acme.org.portal})).status_code == 404
    )
