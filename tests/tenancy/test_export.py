"""ORG-06: the user export (JSON) covers everything the organization holds about the user:
the account, membership and roles, departments and teams, and what the apps above tenancy hold
(tickets they created or own, thread entries, history rows and attachments they wrote,
customer records they own), and nothing of another organization."""

from __future__ import annotations

import json

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Contact
from helpdesk.tenancy.models import DepartmentAgent, TeamMember
from tests.conftest import _signup, login
from tests.factories import TeamFactory, UserFactory


def _desk(name: str, portal: str, **kwargs) -> str:
    return reverse(f"desk:{name}", kwargs={"portal": portal, **kwargs})


def _work_as(client, tenant, member, subject: str) -> None:
    """`member` creates a ticket they own and comments on it with a file."""
    DepartmentAgent.objects.get_or_create(
        org=tenant.org, department=tenant.department, user=member.user
    )
    login(client, member)
    response = client.post(
        _desk("ticket_create", tenant.org.portal),
        {
            "subject": subject,
            "department": tenant.department.pk,
            "priority": "medium",
            "channel": "web",
            "contact_email": f"customer@{tenant.org.portal}.test",
            "owner": member.user.pk,
        },
        REMOTE_ADDR="198.51.100.7",
    )
    assert response.status_code == 302
    number = int(response.url.rstrip("/").split("/")[-1])
    client.post(
        _desk("ticket_thread", tenant.org.portal, number=number),
        {
            "kind": "comment",
            "body": f"Checked the logs for {subject}",
            "files": SimpleUploadedFile("log.txt", b"error 42", content_type="text/plain"),
        },
    )


def test_org06_export_covers_tickets_threads_history_and_attachments(client, acme, globex):
    bob_user = UserFactory(email="bob@acme.test", full_name="Bob")
    bob = acme.member(user=bob_user, desk_role="agent")
    team = TeamFactory(org=acme.org, department=acme.department, name="Night shift")
    DepartmentAgent.objects.create(org=acme.org, department=acme.department, user=bob_user)
    TeamMember.objects.create(org=acme.org, team=team, user=bob_user)
    Contact.objects.create(org=acme.org, last_name="Yamada", email="y@x.test", owner=bob_user)
    _work_as(client, acme, bob, "Printer on fire")
    # Bob also works for Globex: none of it belongs in Acme's export.
    globex_bob = globex.member(user=bob_user, desk_role="agent")
    _work_as(client, globex, globex_bob, "Globex secret")

    login(client, acme.admin)
    response = client.get(
        reverse("setup:user_export", kwargs={"portal": "acme", "member_id": bob.pk})
    )
    assert response["Content-Type"].startswith("application/json")
    data = json.loads(response.content)
    text = response.content.decode()
    assert data["user"]["email"] == "bob@acme.test"
    assert data["membership"]["roles"]["desk"] == "agent"
    assert data["departments"] == ["acme"]
    assert data["teams"] == [{"name": "Night shift", "department": "acme"}]

    desk = data["desk"]
    [ticket] = desk["tickets"]
    assert ticket["subject"] == "Printer on fire"
    assert ticket["created_by_user"] and ticket["owned_by_user"]
    [entry] = desk["thread_entries"]
    assert entry["kind"] == "comment" and "Checked the logs" in entry["body"]
    assert {h["action"] for h in desk["history"]} >= {"created"}
    assert desk["history"][0]["ip_address"] == "198.51.100.7"
    [attachment] = desk["attachments"]
    assert (attachment["name"], attachment["size"]) == ("log.txt", 8)
    assert data["customers"]["contacts_owned"][0]["email"] == "y@x.test"
    assert "Globex" not in text


def test_org06_export_of_someone_who_wrote_nothing_has_empty_sections(client, acme):
    other = _signup("Initech", "initech", "peter@initech.test")
    assert other.org.pk != acme.org.pk
    quiet = acme.member(user=UserFactory(email="quiet@acme.test"))
    login(client, acme.admin)
    data = client.get(
        reverse("setup:user_export", kwargs={"portal": "acme", "member_id": quiet.pk})
    ).json()
    assert data["desk"] == {
        "tickets": [],
        "thread_entries": [],
        "history": [],
        "attachments": [],
    }
    assert data["customers"] == {"contacts_owned": [], "accounts_owned": []}


def test_org06_only_suite_admins_export_and_outsiders_get_404(client, acme, globex, bob):
    export = reverse("setup:user_export", kwargs={"portal": "acme", "member_id": bob.pk})
    login(client, acme.member(desk_role="admin"))
    assert client.get(export).status_code == 403
    login(client, globex.admin)
    assert client.get(export).status_code == 404
    other_export = reverse("setup:user_export", kwargs={"portal": "globex", "member_id": bob.pk})
    assert client.get(other_export).status_code == 404
