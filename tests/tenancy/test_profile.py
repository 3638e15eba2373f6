"""My profile (issue 8, item 6): name, password, time zone, language, signature and the mail
events a member wants; `wants_mail` for whoever sends such mail; the account admin's admin
level shown right in Setup."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.notifications import MailEvent, members_wanting_mail, wants_mail
from tests.conftest import login
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def _url(portal: str = "acme") -> str:
    return reverse("profile", kwargs={"portal": portal})


def _profile_data(**changes) -> dict:
    data = {
        "section": "profile",
        "full_name": "Bob Builder",
        "time_zone": "Europe/Paris",
        "language": "en",
        "signature": "Bob\nAcme support",
        "mail_events": [MailEvent.TICKET_ASSIGNED, MailEvent.FOLLOWED_STATUS],
    }
    data.update(changes)
    return data


def test_profile_saves_name_zone_language_signature_and_mail(client, bob):
    login(client, bob)
    page = client.get(_url())
    assert page.status_code == 200
    assert "My profile" in page.content.decode()
    response = client.post(_url(), _profile_data())
    assert response.status_code == 302
    bob.refresh_from_db()
    bob.user.refresh_from_db()
    assert (bob.user.full_name, bob.user.time_zone, bob.user.language) == (
        "Bob Builder",
        "Europe/Paris",
        "en",
    )
    assert bob.signature == "Bob\nAcme support"
    assert set(bob.muted_mail_events) == {MailEvent.REPLY_ON_MY_TICKET, MailEvent.FOLLOWED_REPLY}
    page = client.get(_url()).content.decode()
    assert "Bob Builder" in page and "Acme support" in page


def test_profile_language_applies_to_the_next_page(client, bob):
    login(client, bob)
    page = client.post(_url(), _profile_data(language="ja"), follow=True).content.decode()
    assert "マイプロフィール" in page
    assert "プロフィールを保存しました。" in page  # said in the language just chosen


def test_profile_refuses_empty_name_and_unknown_zone(client, bob):
    login(client, bob)
    response = client.post(_url(), _profile_data(full_name=" ", time_zone="Mars/Olympus"))
    assert response.status_code == 400
    bob.user.refresh_from_db()
    assert bob.user.full_name == "Bob"


def test_profile_password_change_keeps_the_session(client, bob):
    login(client, bob)
    response = client.post(
        _url(),
        {
            "section": "password",
            "old_password": PASSWORD,
            "new_password1": "a fresh long passphrase 42",
            "new_password2": "a fresh long passphrase 42",
        },
    )
    assert response.status_code == 302
    bob.user.refresh_from_db()
    assert bob.user.check_password("a fresh long passphrase 42")
    assert client.get(_url()).status_code == 200  # still signed in


def test_profile_wrong_old_password_is_refused(client, bob):
    login(client, bob)
    response = client.post(
        _url(),
        {"section": "password", "old_password": "nope", "new_password1": "x", "new_password2": "x"},
    )
    assert response.status_code == 400
    bob.user.refresh_from_db()
    assert bob.user.check_password(PASSWORD)


def test_profile_of_another_organization_is_404(client, bob, globex):
    login(client, bob)
    assert client.get(_url("globex")).status_code == 404
    assert client.post(_url("globex"), _profile_data()).status_code == 404


def test_profile_signature_and_mail_are_per_organization(client, bob, globex):
    other = Membership.objects.create(org=globex.org, user=bob.user, desk_role="agent")
    login(client, bob)
    client.post(_url(), _profile_data())
    other.refresh_from_db()
    assert other.signature == "" and other.muted_mail_events == []


def test_wants_mail_respects_preferences(acme, bob, globex):
    bob.muted_mail_events = [MailEvent.FOLLOWED_REPLY]
    bob.save(update_fields=["muted_mail_events"])
    assert wants_mail(user=bob.user, org=acme.org, event=MailEvent.FOLLOWED_STATUS)
    assert not wants_mail(user=bob.user, org=acme.org, event=MailEvent.FOLLOWED_REPLY)
    assert not wants_mail(user=bob.user, org=globex.org, event=MailEvent.FOLLOWED_STATUS)
    alice = acme.admin.user
    assert members_wanting_mail(
        org=acme.org, user_ids=[bob.user.pk, alice.pk], event=MailEvent.FOLLOWED_REPLY
    ) == {alice.pk}
    bob.status = Membership.Status.DEACTIVATED
    bob.save(update_fields=["status"])
    assert not wants_mail(user=bob.user, org=acme.org, event=MailEvent.FOLLOWED_STATUS)


def test_org05_account_admin_page_shows_account_admin_level(alice_client, acme):
    url = reverse("setup:user_detail", kwargs={"portal": "acme", "member_id": acme.admin.pk})
    html = alice_client.get(url).content.decode()
    assert '<option value="account" selected>Account admin</option>' in html
    assert '<option value="" selected>None</option>' not in html
