"""TKT-08: customers sign up and sign in by mailed links (signed, expiring, single use); the
help-center session is per portal and no staff sign-in; mails are rate-limited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.utils import timezone

from customers.models import Contact
from helpdesk.tickets.helpcenter.auth import MAILS_PER_ADDRESS_PER_HOUR
from helpdesk.tickets.helpcenter.models import SignInLink

from .conftest import mailed_link, open_help_center, sign_in

pytestmark = pytest.mark.django_db


def test_tkt08_sign_up_confirms_by_mail_and_creates_the_contact(client, desk, hc):
    response = client.post(
        "/acme/help/signup/", {"name": "Hanako Sato", "email": "Hanako@Example.test"}
    )
    assert response.status_code == 302 and response["Location"] == "/acme/help/sent/"
    assert not Contact.objects.for_org(desk.org).filter(email="hanako@example.test").exists()
    [message] = mail.outbox
    assert message.to == ["hanako@example.test"]
    link = mailed_link("hanako@example.test")
    # Opening the link (a mail scanner does) uses nothing: it shows a button.
    page = client.get(link)
    assert page.status_code == 200 and b"hanako@example.test" in page.content
    assert client.get("/acme/help/").context["customer"] is None
    response = client.post(link)
    assert response.status_code == 302
    contact = Contact.objects.for_org(desk.org).get(email="hanako@example.test")
    assert contact.last_name == "Hanako Sato"
    home = client.get("/acme/help/")
    assert home.context["customer"].contact == contact
    assert b"My tickets" in home.content


def test_tkt08_sign_up_form_says_what_to_fix(client, desk, hc):
    response = client.post("/acme/help/signup/", {"name": "", "email": "not-an-address"})
    assert response.status_code == 400
    assert b"This field is required." in response.content
    assert b"Enter a valid email address." in response.content
    assert not mail.outbox


def test_tkt08_magic_link_is_single_use(client, desk, hc):
    client.post("/acme/help/signin/", {"email": desk.contact.email})
    link = mailed_link(desk.contact.email)
    assert client.post(link).status_code == 302
    other = client.__class__(HTTP_ACCEPT_LANGUAGE="en")
    other.capture = client.capture
    response = other.post(link)
    assert response.status_code == 410
    assert b"This link cannot be used" in response.content
    assert other.get("/acme/help/").context["customer"] is None


def test_tkt08_magic_link_expires(client, desk, hc):
    client.post("/acme/help/signin/", {"email": desk.contact.email})
    link = mailed_link(desk.contact.email)
    SignInLink.objects.for_org(desk.org).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert client.post(link).status_code == 410


def test_tkt08_a_forged_or_damaged_link_is_refused(client, desk, hc):
    client.post("/acme/help/signin/", {"email": desk.contact.email})
    link = mailed_link(desk.contact.email)
    token = link.rstrip("/").rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert client.post(f"/acme/help/link/{forged}/").status_code == 410
    assert client.post("/acme/help/link/garbage/").status_code == 410


def test_tkt08_sign_in_answers_the_same_for_unknown_addresses(client, desk, hc):
    known = client.post("/acme/help/signin/", {"email": desk.contact.email})
    unknown = client.post("/acme/help/signin/", {"email": "nobody@example.test"})
    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"]


def test_tkt08_sign_in_mails_are_rate_limited(client, desk, hc):
    for _ in range(MAILS_PER_ADDRESS_PER_HOUR):
        assert client.post("/acme/help/signin/", {"email": "x@example.test"}).status_code == 302
    response = client.post("/acme/help/signin/", {"email": "x@example.test"})
    assert response.status_code == 429
    assert b"Too many sign-in mails" in response.content
    assert len([m for m in mail.outbox if "x@example.test" in m.to]) == MAILS_PER_ADDRESS_PER_HOUR


def test_tkt08_help_center_session_is_per_portal_and_no_staff_sign_in(client, desk, hc, globex):
    open_help_center(globex.org, [globex.department])
    sign_in(client, "acme", desk.contact.email)
    assert client.get("/acme/help/").context["customer"] is not None
    # Globex's help center does not know this session.
    assert client.get("/globex/help/").context["customer"] is None
    # Nor does the desk: a customer is no member.
    response = client.get("/acme/desk/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_tkt08_a_link_of_one_portal_means_nothing_on_another(client, desk, hc, globex):
    open_help_center(globex.org, [globex.department])
    client.post("/acme/help/signin/", {"email": desk.contact.email})
    link = mailed_link(desk.contact.email)
    assert client.post(link.replace("/acme/", "/globex/")).status_code == 410
    assert client.get("/globex/help/").context["customer"] is None


def test_tkt08_signing_out_ends_the_session(customer):
    response = customer.post("/acme/help/signout/")
    assert response.status_code == 302
    assert customer.get("/acme/help/").context["customer"] is None


def test_tkt08_disabled_or_missing_help_center_is_the_404_of_no_portal(client, desk):
    for url in ("/acme/help/", "/acme/help/signin/", "/nosuchportal/help/"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"Acme" not in response.content


def test_tkt08_sign_in_mails_from_one_client_are_rate_limited(client, desk, hc):
    from helpdesk.tickets.helpcenter.auth import MAILS_PER_CLIENT_PER_HOUR

    for n in range(MAILS_PER_CLIENT_PER_HOUR):
        response = client.post("/acme/help/signin/", {"email": f"guess{n}@example.test"})
        assert response.status_code == 302
    response = client.post("/acme/help/signin/", {"email": "one-more@example.test"})
    assert response.status_code == 429
    assert not [m for m in mail.outbox if "one-more@example.test" in m.to]
