"""ORG-05, ORG-07: the account admin's organization settings."""

from __future__ import annotations

from django.urls import reverse

from helpdesk.tenancy.models import Membership, Organization, PortalAlias
from tests.conftest import login
from tests.factories import UserFactory


def url(name: str, portal: str = "acme") -> str:
    return reverse(f"setup:{name}", kwargs={"portal": portal})


def test_org05_change_portal_keeps_old_urls_redirecting(client, acme):
    login(client, acme.admin)
    response = client.post(url("organization_portal"), {"portal": "acme-corp"})
    assert response.status_code == 302
    assert response.url == "/acme-corp/setup/organization/"
    org = Organization.objects.get(pk=acme.org.pk)
    assert org.portal == "acme-corp"
    assert PortalAlias.objects.filter(org=org, name="acme").exists()
    old = client.get("/acme/setup/users/?status=active")
    assert old.status_code == 302 and old.url == "/acme-corp/setup/users/?status=active"
    # Nobody else can take the old name, and the organization can take it back.
    assert client.post(reverse("signup"), {"org_name": "X", "portal": "acme"}).status_code == 200
    client.post(url("organization_portal", "acme-corp"), {"portal": "acme"})
    org.refresh_from_db()
    assert org.portal == "acme"
    assert set(PortalAlias.objects.filter(org=org).values_list("name", flat=True)) == {"acme-corp"}


def test_org05_invalid_portal_change_shows_error_and_keeps_portal(client, acme, globex):
    login(client, acme.admin)
    for portal, text in (("globex", "already taken"), ("login", "reserved"), ("A!", "3 to 30")):
        response = client.post(url("organization_portal"), {"portal": portal})
        assert response.status_code == 400
        assert text in response.content.decode()
    assert Organization.objects.get(pk=acme.org.pk).portal == "acme"
    assert not PortalAlias.objects.exists()


def test_org05_account_admin_hands_over_the_role(client, acme, bob):
    login(client, acme.admin)
    response = client.post(url("organization_transfer"), {"member": bob.pk})
    assert response.status_code == 302
    levels = dict(Membership.objects.for_org(acme.org).values_list("user__email", "admin_level"))
    assert levels == {"alice@acme.test": "suite", "bob@acme.test": "account"}
    # Alice is no longer the account admin: she cannot change the portal any more.
    assert client.post(url("organization_portal"), {"portal": "alice-co"}).status_code == 403


def test_org05_hand_over_refuses_inactive_or_foreign_members(client, acme, globex):
    invited = acme.member(status="invited")
    login(client, acme.admin)
    for member in (invited, globex.admin):
        response = client.post(url("organization_transfer"), {"member": member.pk})
        assert response.status_code == 400
    assert Membership.objects.for_org(acme.org).get(admin_level="account") == acme.admin


def test_org05_suite_admin_sees_but_cannot_change_organization(client, acme):
    suite = acme.member(admin_level="suite", desk_role="admin")
    login(client, suite)
    page = client.get(url("organization"))
    assert page.status_code == 200
    assert "Only the account administrator" in page.content.decode()
    response = client.post(url("organization_details"), {"name": "Hacked", "time_zone": "UTC"})
    assert response.status_code == 403
    assert Organization.objects.get(pk=acme.org.pk).name == "Acme"


def test_org05_update_organization_details(client, acme):
    login(client, acme.admin)
    response = client.post(
        url("organization_details"),
        {
            "name": "Acme K.K.",
            "time_zone": "Europe/Paris",
            "phone": "03-1234-5678",
            "website": "acme.example",
            "address": "Tokyo",
        },
    )
    assert response.status_code == 302
    org = Organization.objects.get(pk=acme.org.pk)
    assert (org.name, org.time_zone, org.website) == (
        "Acme K.K.",
        "Europe/Paris",
        "https://acme.example",
    )
    response = client.post(url("organization_details"), {"name": "", "time_zone": "Mars/Base"})
    assert response.status_code == 400
    assert Organization.objects.get(pk=acme.org.pk).name == "Acme K.K."


def test_org07_plan_change_and_downgrade_over_the_limit_is_refused(client, acme):
    login(client, acme.admin)
    assert client.post(url("organization_plan"), {"plan": "enterprise"}).status_code == 302
    assert Organization.objects.get(pk=acme.org.pk).plan == "enterprise"
    for n in range(10):
        acme.member(user=UserFactory(email=f"x{n}@acme.test"))
    response = client.post(url("organization_plan"), {"plan": "trial"})
    assert response.status_code == 400
    assert "at most 10 users" in response.content.decode()
    assert Organization.objects.get(pk=acme.org.pk).plan == "enterprise"
    response = client.post(url("organization_plan"), {"plan": "platinum"})
    assert response.status_code == 400
