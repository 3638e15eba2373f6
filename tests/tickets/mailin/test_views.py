"""TKT-07: the relay's inbound endpoint (its secret, its limits) and Setup › Incoming email (the
secret, where other mail goes, held messages: list, view, retry, delete; the ignored log)."""

from __future__ import annotations

import re

import pytest
from django.core import mail  # noqa: F401 - locmem outbox is reset per test

from helpdesk.tenancy.models import Department
from helpdesk.tickets.mailin.models import InboundMessage, MailSettings
from helpdesk.tickets.mailin.services import mail_settings
from helpdesk.tickets.models import Ticket
from tests.conftest import login

from .conftest import corpus

URL = "/acme/mail/inbound/"


def same_page(content: str, path: str) -> str:
    """The page without what differs on every answer (the masked CSRF token) and the path."""
    content = re.sub(r'("X-CSRFToken": "|value=")[A-Za-z0-9]{64}', r"\1", content)
    return content.replace(path, "PATH")


def post(client, raw: bytes, secret: str, url: str = URL):
    return client.generic(
        "POST",
        url,
        raw,
        content_type="message/rfc822",
        HTTP_AUTHORIZATION=f"Bearer {secret}",
    )


@pytest.mark.django_db
def test_tkt07_endpoint_takes_raw_mime_with_the_secret(client, acme, support):
    secret = mail_settings(acme.org).secret
    response = post(client, corpus("outlook_inline_image.eml"), secret)
    assert response.status_code == 200
    ticket = Ticket.objects.for_org(acme.org).get()
    assert response.content.decode().strip() == f"created #{ticket.number}"
    assert ticket.subject == "見積もりのお問い合わせ"
    assert InboundMessage.objects.for_org(acme.org).get().source == "endpoint"
    again = post(client, corpus("outlook_inline_image.eml"), secret)
    assert again.content.decode().startswith("duplicate")


@pytest.mark.django_db
def test_tkt07_endpoint_answers_a_wrong_secret_like_a_missing_portal(client, acme, globex, support):
    missing = client.post("/no-such-portal/mail/inbound/", b"x", content_type="message/rfc822")
    globex_secret = mail_settings(globex.org).secret
    for response in (
        post(client, corpus("gmail_alternative.eml"), "wrong"),
        post(client, corpus("gmail_alternative.eml"), ""),
        post(client, corpus("gmail_alternative.eml"), globex_secret),  # another org's secret
        client.get(URL, HTTP_AUTHORIZATION=f"Bearer {mail_settings(acme.org).secret}"),
    ):
        assert response.status_code == missing.status_code == 404
        assert same_page(response.content.decode(), URL) == same_page(
            missing.content.decode(), "/no-such-portal/mail/inbound/"
        )
    assert not Ticket.objects.for_org(acme.org).exists()
    assert not InboundMessage.objects.for_org(acme.org).exists()


@pytest.mark.django_db
def test_tkt07_endpoint_limits(client, acme, support, sales, globex, settings):
    secret = mail_settings(acme.org).secret
    assert post(client, b"   ", secret).status_code == 400
    foreign = f"{URL}?department={globex.department.pk}"
    assert post(client, corpus("gmail_alternative.eml"), secret, foreign).status_code == 400
    to_sales = post(client, corpus("gmail_alternative.eml"), secret, f"{URL}?department={sales.pk}")
    assert to_sales.status_code == 200
    assert Ticket.objects.for_org(acme.org).get().department == sales
    settings.MAILIN_MAX_BYTES = 200
    assert post(client, corpus("html_only.eml"), secret).status_code == 413


@pytest.mark.django_db
def test_tkt07_setup_shows_and_regenerates_the_secret(client, acme, bob):
    login(client, acme.admin)
    page = client.get("/acme/setup/mailin/")
    assert page.status_code == 200
    old = MailSettings.objects.for_org(acme.org).get().secret
    assert old in page.content.decode()
    assert "Incoming email" in page.content.decode()
    client.post("/acme/setup/mailin/secret/")
    new = MailSettings.objects.for_org(acme.org).get().secret
    assert new != old and new in client.get("/acme/setup/mailin/").content.decode()
    login(client, bob)  # an agent is no Desk admin
    assert client.get("/acme/setup/mailin/").status_code in (403, 404)
    assert client.post("/acme/setup/mailin/secret/").status_code in (403, 404)
    assert MailSettings.objects.for_org(acme.org).get().secret == new


@pytest.mark.django_db
def test_tkt07_setup_chooses_the_department_of_other_mail(client, acme, sales, feed):
    login(client, acme.admin)
    bad = client.post("/acme/setup/mailin/", {"default_department": "999999"})
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()
    client.post("/acme/setup/mailin/", {"default_department": sales.pk})
    raw = corpus("gmail_alternative.eml").replace(b"To: support@acme.test", b"To: info@acme.test")
    raw = raw.replace(b"Delivered-To: support@acme.test\r\n", b"")
    assert feed(raw).ticket.department == sales


@pytest.mark.django_db
def test_tkt07_held_messages_listed_viewed_retried_and_deleted(client, acme, feed):
    Department.objects.for_org(acme.org).update(is_enabled=False)
    feed("gmail_alternative.eml")
    feed("garbage.eml")
    feed("auto_reply_ooo.eml")
    login(client, acme.admin)
    page = client.get("/acme/setup/mailin/").content.decode()
    assert page.count('data-testid="held-row"') == 2
    assert "the organization has no enabled department" in page
    assert "auto-reply (Auto-Submitted: auto-replied)" in page  # the ignored log
    held = InboundMessage.objects.for_org(acme.org).get(sender="jane.doe@gmail.com")
    detail = client.get(f"/acme/setup/mailin/held/{held.pk}/").content.decode()
    assert (
        "Printer on floor 3 is jammed" in detail and "Message-ID: &lt;CAF=gmail-alt-001" in detail
    )
    raw = client.get(f"/acme/setup/mailin/held/{held.pk}/raw/")
    assert raw.content == corpus("gmail_alternative.eml")
    assert raw["Content-Disposition"].startswith("attachment")
    still = client.post(f"/acme/setup/mailin/held/{held.pk}/retry/", follow=True)
    assert "The message is still held" in still.content.decode()
    Department.objects.for_org(acme.org).update(is_enabled=True)
    placed = client.post(f"/acme/setup/mailin/held/{held.pk}/retry/", follow=True)
    ticket = Ticket.objects.for_org(acme.org).get()
    assert f"The message was placed on ticket #{ticket.number}." in placed.content.decode()
    garbage = InboundMessage.objects.for_org(acme.org).get(outcome="held")
    client.post(f"/acme/setup/mailin/held/{garbage.pk}/delete/")
    assert not InboundMessage.objects.for_org(acme.org).filter(outcome="held").exists()
    assert client.get(f"/acme/setup/mailin/held/{garbage.pk}/").status_code == 404
