"""Abuse of the widget's new endpoints (CHAT-07; issue 15 "Abuse"): one chat's token opens no
other chat's files, feedback or transcript, and guessed ids are the 404 of a missing chat; the
transcript and feedback endpoints are rate-limited; what a visitor types as a name shows as
text on every operator's page (chat, feedback, blocked visitors)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from chat.models import BlockedIP, ChatAttachment, ChatFeedback, Conversation
from tests.conftest import login

from .visitor_helpers import XSS, end, start, visitor_client, visitor_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_chat07_a_token_opens_no_other_chat_and_guessed_ids_find_nothing(acme):
    visitor = visitor_client()
    mine = start(visitor, acme)
    theirs = start(visitor_client("198.51.100.9"), acme, email="other@shop.example")
    visitor.post(
        visitor_url(acme, "visitor_files", theirs["id"]),
        {"token": theirs["token"], "file": SimpleUploadedFile("theirs.txt", b"secret")},
    )
    end(visitor, acme, theirs)
    attachment = ChatAttachment.objects.for_org(acme.org).get()
    other_id = theirs["id"]
    calls = [
        ("post", visitor_url(acme, "visitor_feedback", other_id), {"rating": "1"}),
        ("post", visitor_url(acme, "visitor_transcript", other_id), {"email": "me@evil.example"}),
        (
            "post",
            visitor_url(acme, "visitor_files", other_id),
            {"file": SimpleUploadedFile("x.txt", b"x")},
        ),
        (
            "get",
            visitor_url(acme, "visitor_file", other_id, chat_attachment_id=attachment.pk),
            {},
        ),
    ]
    for token in (mine["token"], "", "x" * 43):
        for method, url, data in calls:
            response = getattr(visitor, method)(url, {"token": token, **data})
            assert response.status_code == 404, (url, token)
            assert response.json() == {"error": "not found"}
    for guess in (other_id + 1, other_id + 1000, 999999999):
        response = visitor.post(
            visitor_url(acme, "visitor_feedback", guess), {"token": mine["token"], "rating": "5"}
        )
        assert response.status_code == 404
    assert not ChatFeedback.objects.for_org(acme.org).exists()
    assert Conversation.objects.for_org(acme.org).get(pk=other_id).transcript_to == ""
    assert ChatAttachment.objects.for_org(acme.org).count() == 1
    assert mail.outbox == []


def test_chat07_transcript_and_feedback_requests_are_rate_limited(acme, settings):
    settings.CHAT_RATE_LIMIT_START_PER_MINUTE = 3
    settings.CHAT_RATE_LIMIT_MESSAGE_PER_MINUTE = 2
    visitor = visitor_client()
    chat = start(visitor, acme)  # 1 of the 3 starts
    url = visitor_url(acme, "visitor_transcript", chat["id"])
    codes = [visitor.post(url, {"token": chat["token"]}).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    end(visitor, acme, chat)
    url = visitor_url(acme, "visitor_feedback", chat["id"])
    codes = [
        visitor.post(url, {"token": chat["token"], "rating": "9"}).status_code for _ in range(3)
    ]
    assert codes == [400, 400, 429]
    response = visitor.post(url, {"token": chat["token"], "rating": "5"})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1


def test_chat07_a_visitors_name_shows_as_text_on_the_operators_pages(client, acme):
    visitor = visitor_client()
    chat = start(visitor, acme, name=XSS)
    end(visitor, acme, chat)
    visitor.post(
        visitor_url(acme, "visitor_feedback", chat["id"]),
        {"token": chat["token"], "rating": "2", "comment": XSS},
    )
    conversation = Conversation.objects.for_org(acme.org).get()
    BlockedIP.objects.create(org=acme.org, ip="192.0.2.7", conversation=conversation)
    login(client, acme.admin)
    portal = acme.org.portal
    pages = [
        reverse("chat:conversation", kwargs={"portal": portal, "chat_conversation_id": chat["id"]}),
        reverse("chat:feedback", kwargs={"portal": portal}),
        reverse("chat:blocked", kwargs={"portal": portal}),
    ]
    for url in pages:
        text = client.get(url).content.decode()
        assert "&lt;img src=x onerror=alert(1)&gt;" in text, url
        assert XSS not in text, url
