"""ORG-02, ORG-08: sign-up, log in, password reset, switching organizations."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.urls import reverse

from helpdesk.tenancy.models import Department, DepartmentAgent, Membership, Organization, User
from tests.conftest import login
from tests.factories import PASSWORD

SIGNUP = {
    "org_name": "Kaisha",
    "portal": "kaisha",
    "full_name": "Kenji",
    "email": "kenji@kaisha.test",
    "password1": "a-long-passphrase-1",
    "password2": "a-long-passphrase-1",
}


def _counts() -> tuple[int, int, int, int]:
    return (
        Organization.objects.count(),
        User.objects.count(),
        Membership.objects.count(),
        Department.objects.count(),
    )


def _confirm(client, capture, data=SIGNUP):
    """Sign up, then open the mailed link and choose the password (ORG-02)."""
    with capture(execute=True):
        response = client.post(reverse("signup"), data)
    assert response.status_code == 302 and response.url == reverse("signup_sent")
    link = re.search(r"https?://[^/]+(/signup/confirm/\S+/)", mail.outbox[-1].body).group(1)
    return client.post(
        link, {"password1": data["password1"], "password2": data["password2"]}, follow=False
    )


@pytest.mark.django_db
def test_org02_signup_creates_org_account_admin_and_default_department(
    client, django_capture_on_commit_callbacks
):
    response = _confirm(client, django_capture_on_commit_callbacks)
    org = Organization.objects.get(portal="kaisha")
    assert response.status_code == 302
    assert response.url == f"/{org.portal}/"
    membership = Membership.objects.get(org=org)
    assert membership.user.email == "kenji@kaisha.test"
    assert membership.is_account_admin
    assert membership.apps == ["desk", "crm", "chat"]
    department = Department.objects.for_org(org).get()
    assert department.name == "kaisha"  # the portal, not the display name (ORG-02)
    assert (
        DepartmentAgent.objects.for_org(org)
        .filter(department=department, user=membership.user)
        .exists()
    )
    # Signed in: the portal opens the desk.
    assert client.get(response.url, follow=True).request["PATH_INFO"] == "/kaisha/desk/dashboard/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("portal", "message"),
    [
        ("ab", "3 to 30"),
        ("Has Spaces", "3 to 30"),
        ("-dash", "3 to 30"),
        ("admin", "is reserved"),
        ("signup", "is reserved"),
        ("static", "is reserved"),
    ],
)
def test_org02_invalid_or_reserved_portal_is_refused_and_nothing_created(client, portal, message):
    before = _counts()
    response = client.post(reverse("signup"), {**SIGNUP, "portal": portal})
    assert response.status_code == 200
    assert message in response.content.decode()
    assert _counts() == before


def test_org02_taken_portal_and_alias_are_refused(client, acme):
    from helpdesk.tenancy.models import PortalAlias

    PortalAlias.objects.create(org=acme.org, name="old-acme")
    for portal in ("acme", "old-acme"):
        before = _counts()
        response = client.post(reverse("signup"), {**SIGNUP, "portal": portal})
        assert "already taken" in response.content.decode()
        assert _counts() == before


def test_org02_duplicate_email_creates_nothing_and_tells_only_the_owner(
    client, acme, django_capture_on_commit_callbacks
):
    """The answer is the one a new address gets (tests/tenancy/test_signin_security.py)."""
    before = _counts()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("signup"), {**SIGNUP, "email": "ALICE@acme.test"})
    assert response.status_code == 302 and response.url == reverse("signup_sent")
    assert _counts() == before
    assert not Organization.objects.filter(portal="kaisha").exists()
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]


@pytest.mark.django_db
def test_org02_password_mismatch_and_weak_password_are_refused(
    client, django_capture_on_commit_callbacks
):
    before = _counts()
    response = _confirm(
        client, django_capture_on_commit_callbacks, {**SIGNUP, "password2": "something-else-1"}
    )
    assert "do not match" in response.content.decode()
    response = _confirm(
        client,
        django_capture_on_commit_callbacks,
        {**SIGNUP, "password1": "123", "password2": "123"},
    )
    assert "too short" in response.content.decode()
    assert _counts() == before


def test_org08_person_creates_second_org_and_switches(client, acme):
    login(client, acme.admin)
    response = client.post(reverse("signup"), {"org_name": "Second", "portal": "second"})
    assert response.status_code == 302
    portals = set(
        Membership.objects.filter(user=acme.admin.user).values_list("org__portal", flat=True)
    )
    assert portals == {"acme", "second"}
    page = client.get(reverse("org_list")).content.decode()
    assert "/acme/" in page and "/second/" in page
    # Opening one organization makes it the landing place next time.
    client.get("/acme/")
    assert client.get(reverse("home")).url == "/acme/"
    client.get("/second/")
    assert client.get(reverse("home")).url == "/second/"


def test_org02_login_with_email_and_logout(client, acme):
    response = client.post(reverse("login"), {"username": "alice@acme.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).url == "/acme/"
    client.post(reverse("logout"))
    assert client.get("/acme/setup/").status_code == 302


def test_org02_wrong_password_shows_a_clear_message(client, acme):
    response = client.post(reverse("login"), {"username": "alice@acme.test", "password": "x"})
    assert response.status_code == 200
    assert "did not match" in response.content.decode()


def test_org02_password_reset_by_email_in_users_language(
    client, acme, django_capture_on_commit_callbacks
):
    user = acme.admin.user
    user.language = "en"
    user.save()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "alice@acme.test"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@acme.test"]
    link = re.search(r"https?://[^/]+(/accounts/reset/\S+/)", message.body).group(1)
    page = client.get(link, follow=True)
    assert page.context["validlink"]
    response = client.post(
        page.request["PATH_INFO"],
        {"new_password1": "brand-new-secret-9", "new_password2": "brand-new-secret-9"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("brand-new-secret-9")
    # The link works once.
    assert not client.get(link, follow=True).context["validlink"]


def test_org02_password_reset_for_unknown_email_sends_nothing(
    client, db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("password_reset"), {"email": "nobody@nowhere.test"})
    assert response.status_code == 302  # same answer: no account enumeration
    assert mail.outbox == []
