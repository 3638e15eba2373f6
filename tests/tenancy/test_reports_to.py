"""Whom a member reports to (BP-15's "the owner's manager", issue 11 item 3), set on the user's
page in Setup: another member of the same organization, never themselves, never a loop.

Alice is Acme's account admin; Bob, Carol and Dora are Acme members; Charlie is at Globex."""

from __future__ import annotations

import html

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.services.members import member_set_access, member_set_reports_to
from tests.conftest import login
from tests.factories import UserFactory


def url(member: Membership) -> str:
    return reverse("setup:user_detail", kwargs={"portal": "acme", "member_id": member.pk})


def roles_of(member: Membership) -> dict[str, str]:
    return {
        "desk_role": member.desk_role,
        "crm_role": member.crm_role,
        "chat_role": member.chat_role,
        "admin_level": member.admin_level,
        "admin_app": member.admin_app,
    }


def reports_to_id(member: Membership) -> int | None:
    return Membership.objects.get(pk=member.pk).reports_to_id


@pytest.fixture
def carol(acme) -> Membership:
    return acme.member(user=UserFactory(email="carol@acme.test", full_name="Carol"))


@pytest.fixture
def dora(acme) -> Membership:
    return acme.member(user=UserFactory(email="dora@acme.test", full_name="Dora"))


def test_bp15_reports_to_is_set_and_shown_on_the_users_page(client, acme, bob, carol):
    login(client, acme.admin)
    page = html.unescape(client.get(url(bob)).content.decode())
    assert "Reports to" in page
    assert "Carol" in page and "Nobody" in page
    response = client.post(url(bob), {**roles_of(bob), "reports_to": carol.pk})
    assert response.status_code == 302
    assert reports_to_id(bob) == carol.pk
    page = client.get(url(bob)).content.decode()
    assert f'<option value="{carol.pk}" selected>' in page
    # Choosing "Nobody" clears it.
    assert client.post(url(bob), {**roles_of(bob), "reports_to": ""}).status_code == 302
    assert reports_to_id(bob) is None


def test_bp15_another_organizations_member_is_refused(client, acme, globex, bob):
    login(client, acme.admin)
    response = client.post(url(bob), {**roles_of(bob), "reports_to": globex.admin.pk})
    assert response.status_code == 400
    assert "Select a valid choice" in html.unescape(response.content.decode())
    assert reports_to_id(bob) is None
    # And the service refuses it whoever calls it.
    with pytest.raises(PermissionDenied):
        member_set_reports_to(actor=acme.admin, member=bob, reports_to=globex.admin)
    assert reports_to_id(bob) is None


def test_bp15_nobody_reports_to_themselves(client, acme, bob):
    login(client, acme.admin)
    response = client.post(url(bob), {**roles_of(bob), "reports_to": bob.pk})
    assert response.status_code == 400
    assert reports_to_id(bob) is None
    with pytest.raises(ValidationError, match="cannot report to themselves"):
        member_set_reports_to(actor=acme.admin, member=bob, reports_to=bob)


def test_bp15_a_loop_in_the_line_of_reporting_is_refused(client, acme, bob, carol, dora):
    """Bob reports to Carol, Carol to Dora: Dora cannot report to Bob (nor to Carol)."""
    member_set_reports_to(actor=acme.admin, member=bob, reports_to=carol)
    member_set_reports_to(actor=acme.admin, member=carol, reports_to=dora)
    login(client, acme.admin)
    response = client.post(url(dora), {**roles_of(dora), "reports_to": bob.pk})
    assert response.status_code == 400
    text = html.unescape(response.content.decode())
    assert "Bob already reports to Dora, directly or through others" in text
    assert reports_to_id(dora) is None
    with pytest.raises(ValidationError, match="Carol already reports to Dora"):
        member_set_reports_to(actor=acme.admin, member=dora, reports_to=carol)
    # Nothing else was saved with the refused form (roles stay as they were).
    assert Membership.objects.get(pk=dora.pk).desk_role == dora.desk_role
    # Outside the line it is fine: Dora reports to Alice.
    member_set_reports_to(actor=acme.admin, member=dora, reports_to=acme.admin)
    assert reports_to_id(dora) == acme.admin.pk


def test_bp15_only_user_managers_change_it(client, acme, bob, carol):
    """A Desk app admin sees the field disabled; a forged value is ignored; the service says no."""
    desk_admin = acme.member(admin_level="app", admin_app="desk", desk_role="admin")
    login(client, desk_admin)
    response = client.post(url(bob), {**roles_of(bob), "reports_to": carol.pk})
    assert response.status_code == 302
    assert reports_to_id(bob) is None
    with pytest.raises(PermissionDenied):
        member_set_reports_to(actor=desk_admin, member=bob, reports_to=carol)
    with pytest.raises(PermissionDenied):
        member_set_access(actor=desk_admin, member=bob, roles={}, reports_to=carol)
    assert reports_to_id(bob) is None


def test_rpt01_a_manager_is_a_supervisor_of_the_satisfaction_report(client, acme, bob, carol):
    """The report's supervisors are the same line of reporting (one field, not two)."""
    login(client, carol)
    report = "/acme/desk/reports/satisfaction/"
    assert client.get(report).status_code == 403
    member_set_reports_to(actor=acme.admin, member=bob, reports_to=carol)
    assert client.get(report).status_code == 200
