"""Files in a chat (CHAT-07; issue 15 item 2): the visitor attaches a file from the widget;
it is stored privately under the organization, limited in size and type, and shows in the
chat as a message naming it; the visitor downloads it with the token, the operator through
the console (a link), both served safely (never sniffed, sandboxed, private)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from chat.models import ChatAttachment
from tests.conftest import login

from .visitor_helpers import XSS, console_url, end, start, visitor_client, visitor_url

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def send(client, tenant, chat, upload, token=None):
    return client.post(
        visitor_url(tenant, "visitor_files", chat["id"]),
        {"token": chat["token"] if token is None else token, "file": upload},
    )


def test_chat07_visitor_attaches_a_file_and_both_sides_download_it(client, acme):
    visitor = visitor_client()
    chat = start(visitor, acme)
    name = f"{XSS}.txt"
    response = send(visitor, acme, chat, SimpleUploadedFile(name, b"order 42", "text/plain"))
    assert response.status_code == 201, response.content
    message = response.json()["message"]
    assert message["body"] == name and message["sender"] == "visitor"
    attachment = ChatAttachment.objects.for_org(acme.org).get()
    assert message["attachment"]["id"] == attachment.pk
    assert attachment.file.name.startswith(f"org/{acme.org.pk}/chat/")
    assert XSS not in attachment.file.name

    # The visitor: with the token only.
    url = visitor_url(acme, "visitor_file", chat["id"], chat_attachment_id=attachment.pk)
    got = visitor.get(url, {"token": chat["token"]})
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == b"order 42"
    assert got["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in got["Content-Security-Policy"]
    assert visitor.get(url, {"token": "guess"}).status_code == 404

    # The operator sees a link, the name as text, and downloads it.
    login(client, acme.admin)
    page = client.get(console_url(acme, "conversation", chat["id"])).content.decode()
    file_url = console_url(acme, "conversation_file", chat["id"], chat_attachment_id=attachment.pk)
    assert f'href="{file_url}"' in page
    assert XSS not in page
    assert client.get(file_url).status_code == 200

    # The messages the widget polls carry the file.
    polled = visitor.get(
        visitor_url(acme, "visitor_messages", chat["id"]), {"token": chat["token"]}
    ).json()
    assert polled["messages"][-1]["attachment"]["id"] == attachment.pk


def test_chat07_files_are_limited_in_size_and_type(acme, settings):
    settings.CHAT_ATTACHMENT_MAX_BYTES = 10
    visitor = visitor_client()
    chat = start(visitor, acme)
    cases = [
        (SimpleUploadedFile("run.exe", b"MZ", "application/octet-stream"), "not allowed"),
        (SimpleUploadedFile("page.html", b"<script>", "text/html"), "not allowed"),
        (SimpleUploadedFile("big.txt", b"x" * 11, "text/plain"), "too large"),
        (SimpleUploadedFile("empty.txt", b"", "text/plain"), "empty"),
    ]
    for upload, expected in cases:
        response = send(visitor, acme, chat, upload)
        assert response.status_code == 400
        assert expected in response.json()["errors"]["file"][0]
    missing = visitor.post(visitor_url(acme, "visitor_files", chat["id"]), {"token": chat["token"]})
    assert missing.json()["errors"]["file"] == ["Choose a file."]
    assert not ChatAttachment.objects.for_org(acme.org).exists()


def test_chat07_no_file_into_an_ended_chat_or_without_the_token(acme, globex):
    visitor = visitor_client()
    chat = start(visitor, acme)
    wrong = send(visitor, acme, chat, SimpleUploadedFile("a.txt", b"a"), token="guess")
    assert wrong.status_code == 404
    end(visitor, acme, chat)
    late = send(visitor, acme, chat, SimpleUploadedFile("a.txt", b"a"))
    assert late.status_code == 400
    assert late.json()["errors"]["file"] == ["This chat has ended."]
    assert not ChatAttachment.objects.for_org(acme.org).exists()


def test_chat07_another_chats_file_is_a_404_for_the_visitor(acme):
    visitor = visitor_client()
    mine = start(visitor, acme)
    theirs = start(visitor_client("198.51.100.9"), acme)
    send(visitor, acme, theirs, SimpleUploadedFile("secret.txt", b"secret"))
    attachment = ChatAttachment.objects.for_org(acme.org).get()
    url = visitor_url(acme, "visitor_file", mine["id"], chat_attachment_id=attachment.pk)
    assert visitor.get(url, {"token": mine["token"]}).status_code == 404


def test_chat07_file_uploads_are_rate_limited(acme, settings):
    settings.CHAT_RATE_LIMIT_FILE_PER_MINUTE = 2
    visitor = visitor_client()
    chat = start(visitor, acme)
    codes = [
        send(visitor, acme, chat, SimpleUploadedFile("a.txt", b"a")).status_code for _ in range(3)
    ]
    assert codes == [201, 201, 429]
