"""TKT-02: nothing typed is lost. Plain text shows exactly as typed (escaped, never parsed);
only markup the rich-text editor produced (format "html") is sanitised. Inline images pasted
into the editor are stored as access-checked attachments of the message."""

from __future__ import annotations

import html

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from helpdesk.tickets.html import body_to_html, html_to_text, is_blank
from helpdesk.tickets.models import Attachment, Thread, Ticket
from helpdesk.tickets.services.threads import thread_add
from tests.conftest import login

TYPED = [
    "<script>alert(1)</script>",
    "a<b>c",
    "x &amp; y",
    "if a<b and b>c then 2 < 3",
    "Line one<br>still line one",
    "Thanks! 🙏🎉",
    "ログインできません。<重要> パスワードを再設定しても「エラー」になります。",
    "first line\nsecond line",
]
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


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


def _shown(text: str) -> str:
    """How text typed into a plain box appears in the page's HTML source."""
    return html.escape(text, quote=False).replace("\n", "<br>")


@pytest.mark.parametrize("typed", TYPED)
def test_tkt02_plain_text_is_kept_exactly_as_typed(typed):
    """TKT-02: the stored HTML, read back as text, is what was typed, character for character."""
    stored = body_to_html(typed)
    assert html_to_text(stored) == typed
    assert "<script" not in stored and "<b>" not in stored
    assert not is_blank(stored)


@pytest.mark.parametrize("typed", TYPED)
def test_tkt02_reply_keeps_hostile_and_ordinary_text_as_typed_in_page_and_mail(
    client, desk, post_thread, typed
):
    """TKT-02: a reply typed in the plain box (no JavaScript) is stored escaped, shows exactly
    as typed on the ticket page, and reaches the contact as typed in both mail parts."""
    ticket = desk.ticket()
    response = post_thread(desk.agent, ticket, kind="reply", body=typed)
    assert response.status_code == 302
    thread = Thread.objects.for_org(desk.org).get()
    assert html_to_text(thread.body) == typed
    page = client.get(url("ticket_detail", number=ticket.number)).content.decode()
    assert _shown(typed) in page
    assert "<script>alert(1)</script>" not in page
    message = mail.outbox[-1]
    assert message.to == ["taro@umbrella.test"]
    assert typed in message.body
    html_part = message.alternatives[0][0]
    assert _shown(typed) in html_part and "<script>alert" not in html_part


def test_tkt02_reply_made_only_of_markup_like_text_is_not_refused(desk, post_thread):
    """TKT-02: "<br>" typed as text is a message, not an empty one."""
    ticket = desk.ticket()
    response = post_thread(desk.agent, ticket, kind="comment", body="<br>")
    assert response.status_code == 302
    assert html_to_text(Thread.objects.for_org(desk.org).get().body) == "<br>"


def test_tkt02_editor_markup_keeps_formatting_and_drops_scripts(client, desk, post_thread):
    """TKT-02: the editor's HTML keeps bold, italic, lists, links, quote and code; scripts,
    handlers and javascript: links go; escaped text inside it stays text."""
    ticket = desk.ticket()
    body = (
        "<div><strong>Bold</strong> <em>italic</em> &lt;script&gt;alert(1)&lt;/script&gt;</div>"
        "<ul><li>one</li></ul><ol><li>two</li></ol><blockquote>quoted</blockquote>"
        '<pre>code()</pre><a href="https://example.com/x">link</a>'
        '<script>alert("x")</script><a href="javascript:alert(1)">bad</a>'
        '<b onclick="steal()">b</b>'
    )
    response = post_thread(desk.agent, ticket, kind="reply", body=body, body_format="html")
    assert response.status_code == 302
    stored = Thread.objects.for_org(desk.org).get().body
    for kept in (
        "<strong>Bold</strong>",
        "<em>italic</em>",
        "<li>one</li>",
        "<ol>",
        "<blockquote>quoted</blockquote>",
        "<pre>code()</pre>",
        'href="https://example.com/x"',
        "&lt;script&gt;alert(1)&lt;/script&gt;",
    ):
        assert kept in stored
    assert "<script" not in stored and "javascript:" not in stored and "onclick" not in stored
    assert "<script>alert(1)</script>" in mail.outbox[-1].body  # the text part, as typed


def test_tkt02_editor_markup_with_no_visible_text_is_refused(desk, post_thread):
    """TKT-02: emptiness is judged on what shows: empty paragraphs from the editor are blank."""
    ticket = desk.ticket()
    response = post_thread(
        desk.agent, ticket, kind="comment", body="<div><br></div><p> </p>", body_format="html"
    )
    assert response.status_code == 400
    assert "Write a message." in response.content.decode()
    assert not Thread.objects.for_org(desk.org).exists()


def test_tkt02_unknown_format_is_refused(desk, post_thread):
    ticket = desk.ticket()
    response = post_thread(desk.agent, ticket, kind="comment", body="hi", body_format="markdown")
    assert response.status_code == 400
    assert not Thread.objects.for_org(desk.org).exists()


def test_tkt02_service_defaults_to_plain_text(desk):
    """TKT-02: a caller that does not say the format gets plain text, never parsed markup."""
    ticket = desk.ticket(description="<i>not italic</i> & 日本語")
    assert html_to_text(ticket.description) == "<i>not italic</i> & 日本語"
    thread = thread_add(actor=desk.agent, ticket=ticket, kind="comment", body="<b>not bold</b>")
    assert "<b>" not in thread.body and html_to_text(thread.body) == "<b>not bold</b>"


def test_tkt02_description_typed_on_the_create_page_shows_as_typed(client, desk):
    login(client, desk.agent)
    typed = "a<b>c\n<script>alert(1)</script> x &amp; y 😀 日本語"
    response = client.post(
        url("ticket_create"),
        {
            "subject": "Plain",
            "department": desk.department.pk,
            "description": typed,
            "description_format": "text",
            "priority": "medium",
            "channel": "phone",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket = Ticket.objects.for_org(desk.org).get()
    assert html_to_text(ticket.description) == typed
    page = client.get(url("ticket_detail", number=ticket.number)).content.decode()
    assert _shown(typed) in page


def test_tkt02_edit_page_offers_plain_text_and_the_editor_its_html(client, desk):
    """Without JavaScript the description box holds readable text; the editor loads the
    stored HTML from data-editor-html."""
    ticket = desk.ticket(description="<p><strong>Hi</strong> there</p>", description_format="html")
    login(client, desk.admin)
    page = client.get(url("ticket_edit", number=ticket.number)).content.decode()
    assert (
        "Hi there</textarea>" in page
        and "&lt;strong&gt;Hi&lt;/strong&gt; there</textarea>" not in page
    )
    assert 'data-editor-html="&lt;p&gt;&lt;strong&gt;Hi&lt;/strong&gt; there&lt;/p&gt;"' in page
    assert 'name="description_format" value="text"' in page


def test_tkt02_composer_is_a_plain_textarea_with_a_text_format(client, desk):
    """Without JavaScript the reply box is a textarea that posts plain text."""
    ticket = desk.ticket()
    login(client, desk.agent)
    page = client.get(url("ticket_detail", number=ticket.number)).content.decode()
    assert "<textarea" in page and "data-editor" in page
    assert 'name="body_format" value="text"' in page
    assert 'class="composer-tools"' in page
    assert url("attachment_inline", number=ticket.number) in page


# --- inline images -----------------------------------------------------------------------


def _upload(client, ticket, name="shot.gif", content=GIF):
    return client.post(
        url("attachment_inline", number=ticket.number),
        {"file": SimpleUploadedFile(name, content, content_type="image/gif")},
    )


def test_tkt02_pasted_image_is_uploaded_then_shown_inline_in_the_message(client, desk, post_thread):
    """TKT-02: the upload answers an access-checked address; the message that shows it owns
    the image; the page shows it inline and the download serves it to members."""
    ticket = desk.ticket()
    login(client, desk.agent)
    response = _upload(client, ticket)
    assert response.status_code == 201
    src = response.json()["url"]
    attachment = Attachment.objects.for_org(desk.org).get()
    assert src == url("attachment", number=ticket.number, attachment_id=attachment.pk)
    assert attachment.thread_id is None and attachment.uploaded_by == desk.agent.user
    body = f'<div>See <strong>this</strong>:</div><figure><img src="{src}" width="1"></figure>'
    response = post_thread(desk.agent, ticket, kind="comment", body=body, body_format="html")
    assert response.status_code == 302
    thread = Thread.objects.for_org(desk.org).get()
    attachment.refresh_from_db()
    assert attachment.thread_id == thread.pk
    page = client.get(url("ticket_detail", number=ticket.number)).content.decode()
    assert f'<img src="{src}"' in page
    assert client.get(src).status_code == 200


def test_tkt02_image_only_message_is_not_empty(desk, post_thread, client):
    ticket = desk.ticket()
    login(client, desk.agent)
    src = _upload(client, ticket).json()["url"]
    response = post_thread(
        desk.agent, ticket, kind="comment", body=f'<img src="{src}">', body_format="html"
    )
    assert response.status_code == 302


def test_tkt02_inline_upload_refuses_other_files_and_outsiders(client, desk, globex):
    ticket = desk.ticket()
    login(client, desk.agent)
    response = _upload(client, ticket, name="page.html", content=b"<script>x</script>")
    assert response.status_code == 400
    assert _upload(client, ticket, name="empty.png", content=b"").status_code == 400
    login(client, desk.other_agent)  # another department: cannot see the ticket
    assert _upload(client, ticket).status_code == 404
    login(client, globex.admin)  # another organization
    assert _upload(client, ticket).status_code == 404
    client.logout()
    assert _upload(client, ticket).status_code == 302  # to the login page
    assert not Attachment.objects.for_org(desk.org).exists()


def test_tkt02_a_message_cannot_take_someone_elses_pending_image(client, desk, post_thread):
    """An id written into the markup claims only the author's own pending images."""
    ticket = desk.ticket()
    login(client, desk.admin)
    src = _upload(client, ticket).json()["url"]
    post_thread(
        desk.agent, ticket, kind="comment", body=f'<p>x <img src="{src}"></p>', body_format="html"
    )
    assert Attachment.objects.for_org(desk.org).get().thread_id is None


def test_tkt02_inline_image_goes_with_the_reply_mail(client, desk, post_thread):
    """The mail shows the image inline (by Content-ID): the page's address needs a login."""
    ticket = desk.ticket()
    login(client, desk.agent)
    src = _upload(client, ticket).json()["url"]
    post_thread(
        desk.agent, ticket, kind="reply", body=f'<p>Look <img src="{src}"></p>', body_format="html"
    )
    message = mail.outbox[-1].message()
    html_part = next(p for p in message.walk() if p.get_content_type() == "text/html")
    image = next(p for p in message.walk() if p.get_content_type() == "image/gif")
    content_id = image["Content-ID"].strip("<>")
    assert f'src="cid:{content_id}"' in html_part.get_payload(decode=True).decode()
    assert image.get_filename() == "shot.gif" and image.get_payload(decode=True) == GIF
    assert "/attachments/" not in html_part.get_payload(decode=True).decode()


def test_tkt02_inline_image_keeps_its_address_when_its_message_moves(client, desk, globex):
    """A merge moves messages with their files to another ticket; the image's address in the
    message body still serves it, to members who may see the ticket it belongs to now."""
    ticket, other = desk.ticket(), desk.ticket(subject="Target")
    login(client, desk.agent)
    src = _upload(client, ticket).json()["url"]
    Attachment.objects.for_org(desk.org).update(ticket=other)  # as a merge moves it
    assert client.get(src).status_code == 200
    moved = desk.ticket(department=desk.other_department, subject="Elsewhere")
    Attachment.objects.for_org(desk.org).update(ticket=moved)
    assert client.get(src).status_code == 404  # Bob cannot see the ticket it is on now
    login(client, globex.admin)
    assert client.get(src).status_code == 404


def test_tkt02_images_never_sent_are_purged_after_a_day(
    client, desk, django_capture_on_commit_callbacks
):
    """An image pasted into a message that was never sent goes after a day (on the author's
    next upload); one the description shows stays."""
    import datetime as dt
    import os

    from django.utils import timezone

    ticket = desk.ticket()
    login(client, desk.agent)
    forgotten = Attachment.objects.for_org(desk.org).get(
        pk=_upload(client, ticket).json()["url"].rstrip("/").rsplit("/", 1)[1]
    )
    kept_src = _upload(client, ticket).json()["url"]
    kept = Attachment.objects.for_org(desk.org).exclude(pk=forgotten.pk).get()
    ticket.description = f'<p><img src="{kept_src}"></p>'
    ticket.save(update_fields=["description"])
    day_ago = timezone.now() - dt.timedelta(days=1, minutes=1)
    Attachment.objects.for_org(desk.org).update(created_at=day_ago)
    path = forgotten.file.path
    with django_capture_on_commit_callbacks(execute=True):  # files go once the rows are gone
        _upload(client, ticket)
    remaining = set(Attachment.objects.for_org(desk.org).values_list("pk", flat=True))
    assert forgotten.pk not in remaining and kept.pk in remaining and len(remaining) == 2
    assert not os.path.exists(path)
