"""What the seeds say: ORG-02 (seed 004: the default department is named after the portal),
ORG-05 (seed 002: the account admin reaches every app; suite admins may change the plan) and
the separation of app roles (ORG-04) from admin levels (ORG-05)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from helpdesk.tenancy.models import Department, Organization
from helpdesk.tenancy.permissions import Power, has_power
from helpdesk.tenancy.services.members import member_set_access
from helpdesk.tenancy.services.organizations import organization_create
from tests.conftest import login
from tests.factories import UserFactory


def url(name: str, **kwargs) -> str:
    return reverse(f"setup:{name}", kwargs={"portal": "acme", **kwargs})


ALL_ROLES = {"desk": "admin", "crm": "admin", "chat": "supervisor"}


def test_org02_default_department_is_named_after_the_portal(db):
    membership = organization_create(
        user=UserFactory(), name="株式会社サンプル商事", portal="sample-shoji"
    )
    [department] = Department.objects.for_org(membership.org)
    assert department.name == "sample-shoji"
    assert membership.org.name == "株式会社サンプル商事"


def test_org05_desk_admin_role_cannot_remove_the_account_admins_desk_access(client, acme):
    """A Desk "admin" is an app role: it configures the Desk but does not decide who uses it."""
    desk_admin = acme.member(desk_role="admin")
    login(client, desk_admin)
    client.post(
        url("user_detail", member_id=acme.admin.pk),
        {"desk_role": "", "crm_role": "admin", "chat_role": "supervisor"},
    )
    acme.admin.refresh_from_db()
    assert acme.admin.desk_role == "admin"
    with pytest.raises(PermissionDenied):
        member_set_access(actor=desk_admin, member=acme.admin, roles={**ALL_ROLES, "desk": ""})
    acme.admin.refresh_from_db()
    assert acme.admin.desk_role == "admin"
    # ... and it still configures the Desk: departments are its to manage.
    assert client.get(url("departments")).status_code == 200


def test_org05_desk_admin_role_does_not_manage_anyones_access(client, acme, bob):
    desk_admin = acme.member(desk_role="admin")
    with pytest.raises(PermissionDenied):
        member_set_access(actor=desk_admin, member=bob, roles={**ALL_ROLES, "desk": "restricted"})
    bob.refresh_from_db()
    assert bob.desk_role == "agent"


def test_org05_suite_admin_cannot_take_app_access_from_the_account_admin(acme):
    suite = acme.member(admin_level="suite", desk_role="admin")
    with pytest.raises(PermissionDenied):
        member_set_access(actor=suite, member=acme.admin, roles={**ALL_ROLES, "chat": ""})
    acme.admin.refresh_from_db()
    assert acme.admin.chat_role == "supervisor"


def test_org05_account_admin_keeps_every_app_even_when_changing_their_own_roles(client, acme):
    with pytest.raises(ValidationError):
        member_set_access(actor=acme.admin, member=acme.admin, roles={**ALL_ROLES, "crm": ""})
    member_set_access(actor=acme.admin, member=acme.admin, roles={**ALL_ROLES, "desk": "agent"})
    acme.admin.refresh_from_db()
    assert acme.admin.desk_role == "agent"
    assert acme.admin.apps == ["desk", "crm", "chat"]


def test_org05_account_admin_reaches_every_app_whatever_the_stored_roles(client, acme):
    """Even a row written before this rule (or by hand) cannot lock the account admin out."""
    acme.admin.desk_role = acme.admin.crm_role = acme.admin.chat_role = ""
    acme.admin.save()
    login(client, acme.admin)
    for path in ("/acme/desk/", "/acme/crm/", "/acme/chat/"):
        assert client.get(path).status_code == 200, path


def test_org05_suite_admin_changes_the_plan(client, acme):
    """Seed 002, row 13: suite admins may upgrade or change the subscription too."""
    suite = acme.member(admin_level="suite", desk_role="admin")
    login(client, suite)
    page = client.get(url("organization")).content.decode()
    assert 'action="/acme/setup/organization/plan/"' in page
    response = client.post(url("organization_plan"), {"plan": "enterprise"})
    assert response.status_code == 302
    assert Organization.objects.get(pk=acme.org.pk).plan == "enterprise"
    # The portal, the details and the hand-over stay the account admin's.
    response = client.post(url("organization_details"), {"name": "Hacked", "time_zone": "UTC"})
    assert response.status_code == 403


def test_org05_app_admin_and_app_roles_cannot_change_the_plan(client, acme):
    for member in (
        acme.member(admin_level="app", admin_app="desk", desk_role="admin"),
        acme.member(desk_role="admin", crm_role="admin"),
    ):
        login(client, member)
        response = client.post(url("organization_plan"), {"plan": "enterprise"})
        assert response.status_code == 403
    assert Organization.objects.get(pk=acme.org.pk).plan == "trial"


@pytest.mark.parametrize(
    ("level", "power", "expected"),
    [
        ("account", Power.HAND_OVER_ACCOUNT_ADMIN, True),
        ("suite", Power.HAND_OVER_ACCOUNT_ADMIN, False),
        ("suite", Power.CHANGE_PORTAL, False),
        ("suite", Power.UPDATE_DETAILS, False),
        ("suite", Power.CHANGE_PLAN, True),
        ("suite", Power.EXPORT_USERS, True),
        ("suite", Power.MANAGE_USERS, True),
        ("app", Power.MANAGE_USERS, False),
        ("app", Power.CHANGE_PLAN, False),
        ("", Power.VIEW_SUBSCRIPTION, False),
    ],
)
def test_org05_admin_level_table_follows_seed_002(acme, level, power, expected):
    if level == "account":
        member = acme.admin
    else:
        member = acme.member(admin_level=level, admin_app="desk" if level == "app" else "")
    assert has_power(member, power) is expected


def test_org05_app_admin_manages_access_to_their_own_app_only(acme):
    member = acme.member(admin_level="app", admin_app="crm", desk_role="")
    assert has_power(member, Power.MANAGE_APP_ACCESS, "crm")
    assert not has_power(member, Power.MANAGE_APP_ACCESS, "desk")


@pytest.mark.parametrize("level", ["suite", "app", ""])
def test_org05_membership_app_admin_agrees_with_the_admin_level_table(acme, level):
    """Membership.is_app_admin (models cannot import permissions) follows the table."""
    member = acme.member(
        admin_level=level, admin_app="crm" if level == "app" else "", desk_role="agent"
    )
    for app in ("desk", "crm", "chat"):
        assert member.is_app_admin(app) == has_power(member, Power.MANAGE_APP_SETTINGS, app)
