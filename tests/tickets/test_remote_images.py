"""TKT-02: remote images in mail bodies and descriptions stay unloaded until the reader asks.

A remote image tells its sender who read a message, when and from which address. The ticket
page leaves such images out, says so, and offers "Show images" per message; only the answer to
that request lets the browser fetch remote images (its Content-Security-Policy)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from helpdesk.tickets.html import hide_remote_images, is_own_url
from helpdesk.tickets.services.threads import thread_add
from tests.conftest import login

PIXEL = "https://tracker.example/pixel.gif?who=agent"
OWN = "/acme/desk/tickets/1/attachments/9/"


def _directive(response, name: str) -> str:
    """One directive's sources in the response's Content-Security-Policy (the header's
    directives come in no fixed order)."""
    for part in response.headers["Content-Security-Policy"].split(";"):
        key, _, value = part.strip().partition(" ")
        if key == name:
            return value.strip()
    return ""


def _page(client, ticket, **params):
    url = reverse("desk:ticket_detail", kwargs={"portal": "acme", "number": ticket.number})
    return client.get(url, params)


def _img_srcs(html: str) -> list[str]:
    return re.findall(r'<img[^>]*\ssrc="([^"]*)"', html)


@pytest.fixture
def mail_ticket(desk):
    ticket = desk.ticket(
        description=f'<p>Our logo: <img src="{PIXEL}" alt="Umbrella logo"></p>'
        f'<p>Screenshot: <img src="{OWN}" alt="screenshot"></p>',
        description_format="html",  # as a mail brings it in
    )
    comment = thread_add(
        actor=desk.agent,
        ticket=ticket,
        kind="comment",
        body='<p>See <img src="http://cdn.example/banner.png" alt="banner"></p>',
        body_format="html",
    )
    plain = thread_add(actor=desk.agent, ticket=ticket, kind="comment", body="No images here.")
    return ticket, comment, plain


def test_tkt02_remote_images_are_not_loaded_and_a_notice_offers_them(client, desk, mail_ticket):
    """TKT-02: the page holds no remote image address; each message with some says so."""
    ticket, comment, plain = mail_ticket
    login(client, desk.agent)
    page = _page(client, ticket)
    html = page.content.decode()
    assert page.status_code == 200
    assert "tracker.example" not in html and "cdn.example" not in html
    # Our own image still shows; the remote ones keep their alt text.
    assert _img_srcs(html) == ["/static/img/logo.svg", OWN]
    assert 'alt="Umbrella logo"' in html and 'alt="banner"' in html
    assert html.count('data-testid="remote-images"') == 2
    assert "1 remote image in this message is not shown" in html
    assert f'href="?images={comment.pk}#thread-{comment.pk}"' in html
    assert 'href="?images=description#description"' in html
    # The page's policy lets the browser load images from our origin only.
    assert _directive(page, "img-src") == "'self'"


def test_tkt02_show_images_loads_one_messages_images_only(client, desk, mail_ticket):
    """TKT-02: "Show images" on one message shows its images, not the other messages'."""
    ticket, comment, _ = mail_ticket
    login(client, desk.agent)
    page = _page(client, ticket, images=comment.pk)
    html = page.content.decode()
    assert "http://cdn.example/banner.png" in _img_srcs(html)
    assert "tracker.example" not in html  # the description's image stays held back
    assert "Remote images in this message are shown." in html
    assert html.count('data-testid="remote-images"') == 1
    policy = page.headers["Content-Security-Policy"]
    assert re.search(r"img-src 'self' https: http:(;|$)", policy)

    page = _page(client, ticket, images="description")
    assert PIXEL.replace("&", "&amp;") in page.content.decode()
    assert "cdn.example" not in page.content.decode()


def test_tkt02_asking_for_images_of_a_message_without_any_changes_nothing(
    client, desk, mail_ticket
):
    """TKT-02: `?images=` naming a message without remote images (or nothing) relaxes no
    policy."""
    ticket, _, plain = mail_ticket
    login(client, desk.agent)
    for value in (plain.pk, "999999", "nonsense"):
        page = _page(client, ticket, images=value)
        assert page.status_code == 200
        assert _directive(page, "img-src") == "'self'"
        assert "tracker.example" not in page.content.decode()


def test_tkt02_page_is_in_japanese_too(client, desk, mail_ticket):
    """TKT-02: the notice and its button are translated."""
    ticket, _, _ = mail_ticket
    desk.agent.user.language = "ja"
    desk.agent.user.save()
    login(client, desk.agent)
    html = _page(client, ticket).content.decode()
    assert "画像を表示" in html


@pytest.mark.parametrize(
    ("url", "own"),
    [
        ("/acme/desk/tickets/1/attachments/2/", True),
        ("relative.png", True),
        ("http://localhost:8000/acme/x.png", True),
        ("https://tracker.example/p.gif", False),
        ("//tracker.example/p.gif", False),
        ("/\\tracker.example/p.gif", False),
        ("\\\\tracker.example/p.gif", False),
        ("/\t/tracker.example/p.gif", False),
        (" //tracker.example/p.gif", False),
        ("http:tracker.example", False),
        ("HTTPS://TRACKER.EXAMPLE/", False),
    ],
)
def test_tkt02_what_counts_as_our_own_image(settings, url, own):
    """TKT-02: addresses are read as a browser reads them; anything odd counts as remote."""
    settings.SITE_URL = "http://localhost:8000"
    assert is_own_url(url) is own


def test_tkt02_hiding_keeps_the_rest_of_the_message():
    html, hidden = hide_remote_images(
        '<p><a href="https://example.com/">a link</a> <img src="https://x.example/a.png" '
        'alt="a"> <img src="/own.png" alt="b"></p>'
    )
    assert hidden == 1
    assert html == (
        '<p><a href="https://example.com/" rel="noopener noreferrer">a link</a> '
        '<img alt="a"> <img src="/own.png" alt="b"></p>'
    )
    assert hide_remote_images("<p>plain</p>") == ("<p>plain</p>", 0)
