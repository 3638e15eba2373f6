"""ORG-02: signing in resists guessing, and signing up tells nobody who has an account.

- Failed sign-ins are counted per account and per client address (django-axes); past the
  limit, the login page says that signing in is paused and links the password reset, whose
  mailed link lifts the account's pause.
- The sign-up form answers the same for an address with an account and without one; the
  account's owner gets a mail instead, and a new person gets a link to finish signing up.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from helpdesk.tenancy.models import Department, Membership, Organization, User
from tests.factories import PASSWORD

LIMIT = 3
ALICE = "alice@acme.test"


@pytest.fixture(autouse=True)
def _small_limit(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT


def _login(client, email, password, ip="198.51.100.7", **extra):
    return client.post(
        reverse("login"), {"username": email, "password": password}, REMOTE_ADDR=ip, **extra
    )


def _fail(client, email, times, ip="198.51.100.7"):
    for _ in range(times):
        assert _login(client, email, "wrong-guess", ip=ip).status_code in (200, 429)


PAUSED = "Too many failed attempts to log in"


# --- Throttling --------------------------------------------------------------------------
def test_org02_account_is_paused_after_failures_from_many_addresses(client, acme):
    """ORG-02: guesses at one account from different addresses pause that account, with a
    clear message and a way back (the password reset link)."""
    for i in range(LIMIT):
        _fail(client, ALICE, 1, ip=f"203.0.113.{i + 1}")
    response = _login(client, ALICE, PASSWORD, ip="192.0.2.50")  # the right password
    assert response.status_code == 429
    page = response.content.decode()
    assert PAUSED in page and "paused for 15 minutes" in page
    assert f'href="{reverse("password_reset")}"' in page
    assert "_auth_user_id" not in client.session
    # The account's pause does not touch other accounts from those addresses.
    client.post(reverse("logout"))
    other = User.objects.create_user(email="dan@acme.test", password=PASSWORD)
    assert _login(client, other.email, PASSWORD, ip="203.0.113.1").status_code == 302


def test_org02_changing_the_case_of_the_address_buys_no_new_attempts(client, acme):
    """ORG-02: one account, whatever the case the guesser types it in."""
    for email in ("alice@acme.test", "ALICE@acme.test", "Alice@ACME.test"):
        _fail(client, email, 1, ip="203.0.113.9")
    assert _login(client, ALICE, PASSWORD, ip="192.0.2.51").status_code == 429


def test_org02_one_address_is_paused_after_failures_on_many_accounts(client, acme):
    """ORG-02: spraying many accounts from one address pauses that address, and the
    answer is the same whether the accounts exist or not."""
    for email in ("nobody@acme.test", "ghost@acme.test", ALICE):
        _fail(client, email, 1, ip="198.51.100.99")
    response = _login(client, ALICE, PASSWORD, ip="198.51.100.99")
    assert response.status_code == 429 and PAUSED in response.content.decode()
    unknown = _login(client, "nobody-else@acme.test", "x", ip="198.51.100.99")
    assert unknown.status_code == 429 and PAUSED in unknown.content.decode()
    # Alice, from her own address, is not paused.
    assert _login(client, ALICE, PASSWORD, ip="192.0.2.77").status_code == 302


def test_org02_pause_ends_after_the_cool_off(client, acme):
    """ORG-02: failures older than the cool-off (15 minutes) no longer count."""
    _fail(client, ALICE, LIMIT)
    assert _login(client, ALICE, PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - dt.timedelta(minutes=16))
    assert _login(client, ALICE, PASSWORD).status_code == 302


def test_org02_password_reset_lifts_the_pause(client, acme, django_capture_on_commit_callbacks):
    """ORG-02: the way back: reset the password by mail, then log in at once."""
    _fail(client, ALICE, LIMIT)
    assert _login(client, ALICE, PASSWORD).status_code == 429
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": ALICE})
    assert response.status_code == 302
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", mail.outbox[-1].body).group(1)
    page = client.get(link, follow=True)
    response = client.post(
        page.request["PATH_INFO"],
        {"new_password1": "brand-new-secret-9", "new_password2": "brand-new-secret-9"},
        REMOTE_ADDR="198.51.100.7",
    )
    assert response.status_code == 302
    assert _login(client, ALICE, "brand-new-secret-9").status_code == 302


def test_org02_pause_message_is_in_japanese(client, acme):
    """ORG-02: the message is translated."""
    _fail(client, ALICE, LIMIT)
    response = _login(client, ALICE, PASSWORD, HTTP_ACCEPT_LANGUAGE="ja")
    page = response.content.decode()
    assert response.status_code == 429
    assert "ログインを15分間停止しています" in page
    assert "パスワードの再設定" in page


# --- Sign-up without enumeration -----------------------------------------------------------
SIGNUP = {"org_name": "Kaisha", "portal": "kaisha", "full_name": "Kenji"}


def _counts() -> tuple[int, int, int, int]:
    return (
        Organization.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        Department.objects.count(),
    )


def _signup(client, capture, email):
    with capture(execute=True):
        return client.post(reverse("signup"), {**SIGNUP, "email": email})


def test_org02_signup_answers_the_same_for_a_known_and_a_new_address(
    client, acme, django_capture_on_commit_callbacks
):
    """ORG-02: an address with an account gets exactly the answer a new one gets; nothing
    is created either way until the mailed link is opened."""
    before = _counts()
    known = _signup(client, django_capture_on_commit_callbacks, "ALICE@acme.test")
    known_page = client.get(known.url)
    new = _signup(client, django_capture_on_commit_callbacks, "kenji@kaisha.test")
    new_page = client.get(new.url)
    assert (known.status_code, known.url) == (new.status_code, new.url) == (302, "/signup/sent/")
    assert known_page.status_code == new_page.status_code == 200

    def strip(page, email):  # the page repeats the address typed; the rest is the same
        html = page.content.decode().replace(email, "EMAIL")
        html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)
        return re.sub(r'"X-CSRFToken": "[^"]+"', "", html)

    assert strip(known_page, "ALICE@acme.test") == strip(new_page, "kenji@kaisha.test")
    assert "Check your email" in new_page.content.decode()
    assert _counts() == before

    # The owner hears about it (in their language), with a way to log in or reset.
    owner_mail, new_mail = mail.outbox
    assert owner_mail.to == [ALICE]
    assert "tried to sign up" in owner_mail.subject
    assert "/accounts/login/" in owner_mail.body and "/accounts/password-reset/" in owner_mail.body
    assert "/signup/confirm/" not in owner_mail.body
    assert new_mail.to == ["kenji@kaisha.test"]
    assert "/signup/confirm/" in new_mail.body


def test_org02_signup_link_creates_the_organization_once(
    client, db, django_capture_on_commit_callbacks
):
    """ORG-02: the mailed link asks for a password, creates everything, signs in, and works
    once."""
    _signup(client, django_capture_on_commit_callbacks, "kenji@kaisha.test")
    link = re.search(r"https?://[^/]+(/signup/confirm/\S+/)", mail.outbox[0].body).group(1)
    page = client.get(link)
    assert page.status_code == 200
    assert "Kaisha" in page.content.decode() and "/kaisha/" in page.content.decode()
    weak = client.post(link, {"password1": "123", "password2": "123"})
    assert weak.status_code == 400 and "too short" in weak.content.decode()
    assert not Organization.objects.filter(portal="kaisha").exists()
    done = client.post(
        link, {"password1": "a-long-passphrase-1", "password2": "a-long-passphrase-1"}
    )
    assert done.status_code == 302 and done.url == "/kaisha/"
    membership = Membership.objects.get(org__portal="kaisha")
    assert membership.user.email == "kenji@kaisha.test" and membership.is_account_admin
    assert client.get("/kaisha/", follow=True).request["PATH_INFO"] == "/kaisha/desk/dashboard/"
    # A second use finds the account made.
    client.post(reverse("logout"))
    again = client.get(link)
    assert again.status_code == 410 and "already done" in again.content.decode()


def test_org02_forged_or_old_signup_link_is_refused(
    client, db, django_capture_on_commit_callbacks, monkeypatch
):
    """ORG-02: a changed or expired link creates nothing and says how to get a new one."""
    _signup(client, django_capture_on_commit_callbacks, "kenji@kaisha.test")
    link = re.search(r"https?://[^/]+(/signup/confirm/\S+/)", mail.outbox[0].body).group(1)
    forged = client.get(link.replace("/confirm/", "/confirm/x"))
    assert forged.status_code == 410 and "Sign up again" in forged.content.decode()
    from helpdesk.tenancy.services import signup

    monkeypatch.setattr(signup, "SIGNUP_LINK_MAX_AGE", -1)
    assert client.get(link).status_code == 410


def test_org02_portal_taken_before_the_link_is_opened(
    client, db, django_capture_on_commit_callbacks
):
    """ORG-02: if someone took the portal meanwhile, the page says so and nothing is made."""
    from tests.conftest import _signup as make_org

    _signup(client, django_capture_on_commit_callbacks, "kenji@kaisha.test")
    link = re.search(r"https?://[^/]+(/signup/confirm/\S+/)", mail.outbox[0].body).group(1)
    make_org("Other", "kaisha", "other@other.test")
    response = client.post(
        link, {"password1": "a-long-passphrase-1", "password2": "a-long-passphrase-1"}
    )
    assert response.status_code == 400
    assert "already taken" in response.content.decode()
    assert not User.objects.filter(email="kenji@kaisha.test").exists()
