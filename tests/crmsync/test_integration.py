"""CRM-02, CRM-03, CRM-07, CRM-15, CRM-16: linking the CRM to a desk.

Acme's CRM (Cora is its CRM admin) links to its own desk, or to Globex's desk with a key that
Charlie (Globex's admin) issued. Initech is a third organization."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from crmsync.connector import key_hash
from crmsync.models import Integration, IntegrationKey
from crmsync.services import integration as svc
from helpdesk.tenancy.models import Invitation, Membership
from tests.conftest import _signup, login
from tests.factories import UserFactory


def url(name: str, org, **kwargs) -> str:
    return reverse(name, kwargs={"portal": org.portal, **kwargs})


@pytest.fixture
def initech(db):
    return _signup("Initech", "initech", "peter@initech.test")


@pytest.fixture
def globex_key(globex):
    row, key = svc.key_issue(actor=globex.admin, label="Acme sales")
    return row, key


def _connect(acme_admin, globex, key, email="charlie@globex.test"):
    return svc.integration_connect_other(
        actor=acme_admin, portal=globex.org.portal, admin_email=email, key=key
    )


# --- Keys --------------------------------------------------------------------------------------
def test_crm02_key_is_shown_once_and_only_its_hash_is_kept(client, globex):
    login(client, globex.admin)
    response = client.post(url("crmkeys:list", globex.org), {"label": "Acme sales"})
    assert response.status_code == 200
    key = response.context["new_key"]
    assert key.startswith("mdk_") and key.encode() in response.content
    row = IntegrationKey.objects.for_org(globex.org).get()
    assert row.key_hash == key_hash(key) and key not in (row.key_hash, row.prefix)
    again = client.get(url("crmkeys:list", globex.org))
    assert key.encode() not in again.content and row.prefix.encode() in again.content


def test_crm02_only_desk_admins_issue_and_revoke_keys(client, acme, globex, globex_key):
    agent = globex.member(desk_role="agent")
    login(client, agent)
    assert client.post(url("crmkeys:list", globex.org), {"label": "x"}).status_code == 403
    revoke = url("crmkeys:revoke", globex.org, key_id=globex_key[0].pk)
    assert client.post(revoke).status_code == 403
    assert IntegrationKey.objects.for_org(globex.org).get().revoked_at is None
    with pytest.raises(PermissionDenied):
        svc.key_issue(actor=agent, label="x")


# --- Connecting ---------------------------------------------------------------------------------
def test_crm02_key_of_portal_b_connects_only_bs_desk(acme, globex, initech, globex_key, cora):
    _row, key = globex_key
    with pytest.raises(ValidationError) as refused:
        svc.integration_connect_other(
            actor=cora, portal="initech", admin_email="peter@initech.test", key=key
        )
    assert "not issued by the desk of /initech/" in str(refused.value)
    assert not Integration.objects.for_org(acme.org).exists()
    integration = _connect(cora, globex, key)
    assert integration.desk_org_id == globex.org.pk
    assert svc.integration_problem(integration) is None


def test_crm02_wrong_admin_email_is_refused_and_nothing_saved(acme, globex, globex_key, cora):
    agent = globex.member(user=UserFactory(email="agent@globex.test"), desk_role="agent")
    for email in ("nobody@globex.test", agent.user.email):
        with pytest.raises(ValidationError) as refused:
            _connect(cora, globex, globex_key[1], email=email)
        assert refused.value.message_dict["admin_email"] == [
            f"{email} is not an admin of the desk of /globex/."
        ]
    assert not Integration.objects.for_org(acme.org).exists()


def test_crm02_revoked_key_is_refused_and_stops_a_working_integration_at_once(
    acme, globex, globex_key, cora, sam
):
    row, key = globex_key
    integration = _connect(cora, globex, key)
    svc.integration_transition(actor=cora, integration=integration, action="enable")
    svc.key_revoke(actor=globex.admin, key=row)
    problem = svc.integration_problem(integration)
    assert "has been revoked" in problem
    with pytest.raises(ValidationError, match="revoked"):
        svc.desk_invite(actor=cora, integration=integration, member=sam, desk_role="agent")
    assert not Membership.objects.for_org(globex.org).filter(user=sam.user).exists()
    svc.integration_remove(actor=cora, integration=integration)
    with pytest.raises(ValidationError) as refused:
        _connect(cora, globex, key)
    assert "revoked" in str(refused.value)
    assert not Integration.objects.for_org(acme.org).exists()


def test_crm02_one_desk_per_crm(acme, globex, globex_key, cora):
    svc.integration_connect_own(actor=cora)
    with pytest.raises(ValidationError, match="already linked to the desk of /acme/"):
        _connect(cora, globex, globex_key[1])
    assert Integration.objects.for_org(acme.org).count() == 1


def test_crm02_sales_users_cannot_set_up_the_integration(client, acme, sam):
    with pytest.raises(PermissionDenied):
        svc.integration_connect_own(actor=sam)
    login(client, sam)
    assert client.get(url("crm:setup", acme.org)).status_code == 403
    assert client.post(url("crm:connect_own", acme.org)).status_code == 403
    assert not Integration.objects.for_org(acme.org).exists()


def test_crm02_connect_page_shows_the_refusal_and_keeps_the_input(client, acme, globex, cora):
    login(client, cora)
    response = client.post(
        url("crm:connect_other", acme.org),
        {"portal": "globex", "admin_email": "charlie@globex.test", "key": "mdk_wrong"},
    )
    assert response.status_code == 400
    assert b"This key was not issued by the desk of /globex/" in response.content
    assert b'value="charlie@globex.test"' in response.content
    assert not Integration.objects.for_org(acme.org).exists()


# --- States (CRM-07, CRM-16) --------------------------------------------------------------------
def _move(cora, integration, action):
    return svc.integration_transition(actor=cora, integration=integration, action=action)


def test_crm07_once_enabled_only_pause_and_resume(acme, cora):
    integration = svc.integration_connect_own(actor=cora)
    assert integration.state == "disabled"
    assert _move(cora, integration, "enable").state == "enabled"
    assert _move(cora, integration, "pause").state == "paused"
    assert _move(cora, integration, "resume").state == "enabled"
    with pytest.raises(ValidationError, match="only be paused and resumed"):
        _move(cora, integration, "disable")
    with pytest.raises(ValidationError):
        _move(cora, integration, "enable")
    assert Integration.objects.for_org(acme.org).get().state == "enabled"


def test_crm16_deactivate_stops_everything_and_reactivates_paused(acme, cora, client):
    integration = svc.integration_connect_own(actor=cora)
    _move(cora, integration, "enable")
    integration = _move(cora, integration, "deactivate")
    assert integration.state == "deactivated"
    assert "deactivated" in svc.integration_problem(integration)
    with pytest.raises(ValidationError):
        _move(cora, integration, "resume")
    # It synced before: it comes back paused, for the admin to resume on purpose.
    assert _move(cora, integration, "reactivate").state == "paused"
    login(client, cora)
    response = client.post(url("crm:state", acme.org), {"action": "disable"})
    assert response.status_code == 400 and b"only be paused and resumed" in response.content


def test_crm16_when_the_admin_who_set_it_up_left_another_admin_reauthorises(acme, cora, client):
    integration = svc.integration_connect_own(actor=cora)
    _move(cora, integration, "enable")
    _move(cora, integration, "pause")
    cora.crm_role = "sales"
    cora.save()
    assert "re-authorise" in svc.integration_problem(integration)
    alice = acme.admin
    with pytest.raises(ValidationError, match="re-authorise"):
        _move(alice, integration, "resume")
    login(client, alice)
    client.post(url("crm:reauthorise", acme.org), {})
    integration.refresh_from_db()
    assert integration.authorised_by_id == alice.user_id
    assert svc.integration_problem(integration) is None
    assert _move(alice, integration, "resume").state == "enabled"


def test_crm16_remove_deletes_the_integration_after_confirming(client, acme, cora):
    svc.integration_connect_own(actor=cora)
    login(client, cora)
    assert b"Remove the integration" in client.get(url("crm:remove", acme.org)).content
    assert Integration.objects.for_org(acme.org).exists()
    client.post(url("crm:remove", acme.org))
    assert not Integration.objects.for_org(acme.org).exists()


# --- People (CRM-03) and the Desk tab (CRM-15) --------------------------------------------------
def test_crm03_mutual_users_and_inviting_to_this_organizations_desk(client, acme, cora, sam):
    svc.integration_connect_own(actor=cora)
    login(client, cora)
    page = client.get(url("crm:setup", acme.org))
    mutual = [m.user.email for m, _d in page.context["mutual"]]
    assert mutual == ["alice@acme.test"]  # the account admin has both; Sam and Cora only CRM
    response = client.post(
        url("crm:invite", acme.org), {"member": sam.pk, "desk_role": "restricted"}
    )
    assert response.status_code == 302
    sam.refresh_from_db()
    assert sam.desk_role == "restricted"
    page = client.get(url("crm:setup", acme.org))
    assert sorted(m.user.email for m, _d in page.context["mutual"]) == [
        "alice@acme.test",
        "sam@acme.test",
    ]


def test_crm03_inviting_to_another_organizations_desk_uses_its_invitation_flow(
    client, acme, globex, globex_key, cora, sam, django_capture_on_commit_callbacks
):
    integration = _connect(cora, globex, globex_key[1])
    with django_capture_on_commit_callbacks(execute=True):
        _membership, invitation = svc.desk_invite(
            actor=cora, integration=integration, member=sam, desk_role="agent"
        )
    assert invitation is not None
    member = Membership.objects.for_org(globex.org).get(user=sam.user)
    assert (member.status, member.desk_role, member.crm_role) == ("invited", "agent", "")
    assert Invitation.objects.for_org(globex.org).get().email == "sam@acme.test"
    assert [m.to for m in mail.outbox] == [["sam@acme.test"]]
    # Not mutual until Sam accepts; once active there, Sam is listed.
    assert svc.DeskConnector(integration).desk_users([sam.user_id]) == {}
    member.status = "active"
    member.save()
    login(client, cora)
    page = client.get(url("crm:setup", acme.org))
    assert [m.user.email for m, _d in page.context["mutual"]] == ["sam@acme.test"]
    with pytest.raises(ValidationError, match="already has access"):
        svc.desk_invite(actor=cora, integration=integration, member=sam, desk_role="admin")


def test_crm15_desk_tab_for_users_with_a_desk_account_and_removable(client, acme, cora, sam):
    svc.integration_connect_own(actor=cora)
    tab = b'data-testid="desk-tab"'
    login(client, sam)
    assert tab not in client.get(url("crm:deals", acme.org)).content  # no desk account
    sam.desk_role = "agent"
    sam.save()
    page = client.get(url("crm:deals", acme.org))
    assert tab in page.content and b'href="/acme/desk/dashboard/"' in page.content
    svc.crm_settings_save(actor=cora, currency="JPY", desk_tab=False)
    assert tab not in client.get(url("crm:deals", acme.org)).content


def test_crm15_desk_tab_leads_to_the_other_organizations_desk(
    client, acme, globex, globex_key, cora, sam
):
    _connect(cora, globex, globex_key[1])
    globex.member(user=sam.user, desk_role="agent")
    login(client, sam)
    page = client.get(url("crm_home", acme.org))
    assert b'href="/globex/desk/dashboard/"' in page.content
    svc.key_revoke(actor=globex.admin, key=globex_key[0])
    assert b'data-testid="desk-tab"' not in client.get(url("crm_home", acme.org)).content


# --- Sync settings (CRM-04..06 stored for the sync engine) -------------------------------------
def test_crm06_product_departments_are_the_linked_desks(acme, globex, globex_key, cora):
    integration = _connect(cora, globex, globex_key[1])
    theirs = globex.department
    with pytest.raises(ValidationError) as refused:
        svc.integration_options(
            actor=cora,
            integration=integration,
            direction="two_way",
            match_secondary_email=True,
            product_department_ids=[acme.department.pk],
        )
    assert "departments" in refused.value.message_dict
    svc.integration_options(
        actor=cora,
        integration=integration,
        direction="two_way",
        match_secondary_email=True,
        product_department_ids=[theirs.pk],
    )
    integration.refresh_from_db()
    assert (
        integration.direction,
        integration.match_secondary_email,
        integration.product_department_ids,
    ) == ("two_way", True, [theirs.pk])
    integration = _move(cora, integration, "enable")
    with pytest.raises(ValidationError, match="Pause the sync"):
        svc.integration_options(
            actor=cora,
            integration=integration,
            direction="one_way",
            match_secondary_email=False,
            product_department_ids=[],
        )


def test_crm02_crm03_through_the_pages_under_row_level_security(
    client, acme, globex, globex_key, cora, sam, django_capture_on_commit_callbacks
):
    """The whole set-up as requests (each under its organization's RLS scope): connect to
    Globex's desk, invite Sam there, see Sam among the mutual users once they joined."""
    login(client, cora)
    response = client.post(
        url("crm:connect_other", acme.org),
        {"portal": "globex", "admin_email": "Charlie@Globex.test", "key": globex_key[1]},
    )
    assert response.status_code == 302
    assert Integration.objects.for_org(acme.org).get().desk_org_id == globex.org.pk
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("crm:invite", acme.org), {"member": sam.pk, "desk_role": "agent"}
        )
    assert response.status_code == 302
    invited = Membership.objects.for_org(globex.org).get(user=sam.user)
    assert (invited.status, invited.desk_role) == ("invited", "agent")
    assert [m.to for m in mail.outbox] == [["sam@acme.test"]]
    page = client.get(url("crm:setup", acme.org))
    assert b'data-invited="sam@acme.test"' in page.content
    assert sam not in page.context["invite_form"].fields["member"].queryset
    invited.status = "active"
    invited.save()
    page = client.get(url("crm:setup", acme.org))
    assert b'data-mutual="sam@acme.test"' in page.content
    assert b"/globex/" in page.content
    response = client.post(url("crm:state", acme.org), {"action": "enable"})
    assert Integration.objects.for_org(acme.org).get().state == "enabled"
