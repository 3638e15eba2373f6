"""Issue 16, item 2: personal API tokens (shown once, stored hashed, named, expiring, scoped,
revocable, last use shown), acting as their member in their organization only, rate-limited."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from django.utils import timezone

from api.models import ApiToken
from api.services import token_revoke
from helpdesk.tenancy.models import DeskRole, Membership
from tests.api.conftest import ApiClient, issue
from tests.conftest import login
from tests.factories import DepartmentAgentFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_api02_token_created_in_profile_is_shown_once_and_stored_hashed(client, acme):
    login(client, acme.admin)
    profile = client.get("/acme/profile/")
    assert profile.status_code == 200
    assert b'id="api-tokens"' in profile.content
    assert b"/acme/api/v1/docs/" in profile.content  # the reference is linked

    response = client.post(
        "/acme/profile/api-tokens/", {"name": "Nightly report", "scope": "read", "expires": "30"}
    )
    assert response.status_code == 200
    token = ApiToken.objects.for_org(acme.org).get()
    raw = response.context["new_token"]
    assert raw.startswith("mado_") and raw.encode() in response.content
    assert b'data-copy="new-api-token"' in response.content  # the copy button (static JS)
    assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in (token.prefix, token.name, token.token_hash)
    assert token.scopes == ["read"] and not token.can_write
    assert dt.timedelta(days=29) < token.expires_at - timezone.now() <= dt.timedelta(days=30)

    again = client.get("/acme/profile/")
    assert raw.encode() not in again.content  # never shown again
    assert token.prefix.encode() in again.content
    assert b"Nightly report" in again.content and b"Not used yet" in again.content

    api = ApiClient(raw, "acme")
    assert api.get("tickets").status_code == 200
    again = client.get("/acme/profile/")
    assert b"Not used yet" not in again.content


def test_api02_create_form_errors_are_shown(client, acme):
    login(client, acme.admin)
    response = client.post("/acme/profile/api-tokens/", {"name": "", "scope": "admin"})
    assert response.status_code == 400
    assert not ApiToken.objects.for_org(acme.org).exists()


def test_api02_revoked_and_expired_tokens_are_refused(client, acme):
    raw = issue(acme.admin)
    api = ApiClient(raw, "acme")
    assert api.get("tickets").status_code == 200

    login(client, acme.admin)
    token = ApiToken.objects.for_org(acme.org).get()
    response = client.post(f"/acme/profile/api-tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    refused = api.get("tickets")
    assert refused.status_code == 401
    assert refused["Content-Type"] == "application/problem+json"
    assert "revoked" in refused.json()["detail"]
    assert b"Revoked" in client.get("/acme/profile/").content

    expired = issue(acme.admin, expires_at=timezone.now() + dt.timedelta(seconds=1))
    ApiToken.objects.for_org(acme.org).filter(revoked_at=None).update(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    refused = ApiClient(expired, "acme").get("tickets")
    assert refused.status_code == 401 and "expired" in refused.json()["detail"]


def test_api02_a_member_cannot_revoke_anothers_token(client, acme, bob):
    issue(acme.admin)
    token = ApiToken.objects.for_org(acme.org).get()
    login(client, bob)
    assert client.post(f"/acme/profile/api-tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_api02_last_use_is_written_at_most_once_a_minute(acme):
    api = ApiClient(issue(acme.admin), "acme")
    api.get("tickets")
    token = ApiToken.objects.for_org(acme.org).get()
    first = token.last_used_at
    assert first is not None
    api.get("tickets")
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.for_org(acme.org).update(last_used_at=first - dt.timedelta(minutes=2))
    api.get("tickets")
    token.refresh_from_db()
    assert token.last_used_at > first


def test_api02_read_token_cannot_write(acme):
    api = ApiClient(issue(acme.admin, write=False), "acme")
    assert api.get("tickets").status_code == 200
    response = api.post("tickets", {"subject": "x", "department_id": acme.department.pk})
    assert response.status_code == 403
    body = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert body["status"] == 403 and "only read" in body["detail"]


def test_api02_token_of_an_inactive_member_is_refused(acme, bob):
    api = ApiClient(issue(bob), "acme")
    assert api.get("tickets").status_code == 200
    Membership.objects.for_org(acme.org).filter(pk=bob.pk).update(
        status=Membership.Status.DEACTIVATED
    )
    response = api.get("tickets")
    assert response.status_code == 401 and "not active" in response.json()["detail"]


def test_api02_token_acts_with_its_members_role(acme):
    """A restricted agent's token may comment and nothing more (ORG-04)."""
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    restricted = acme.member(user=UserFactory(), desk_role=DeskRole.RESTRICTED)
    DepartmentAgentFactory(org=acme.org, department=acme.department, user=restricted.user)
    ticket = ticket_create(
        actor=acme.admin,
        data=TicketInput(
            subject="Printer", department=acme.department, contact_email="c@acme.test"
        ),
    )
    api = ApiClient(issue(restricted), "acme")
    comment = api.post_form(f"tickets/{ticket.number}/comments", {"body": "seen"})
    assert comment.status_code == 201, comment.content
    reply = api.post_form(f"tickets/{ticket.number}/replies", {"body": "hello"})
    assert reply.status_code == 403 and reply.json()["status"] == 403
    update = api.patch(f"tickets/{ticket.number}", {"priority": "high"})
    assert update.status_code == 403
    create = api.post("tickets", {"subject": "New", "department_id": acme.department.pk})
    assert create.status_code == 403
    assert "creating tickets" in create.json()["detail"]


def test_api02_rate_limit_answers_429_with_retry_after(acme, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    api = ApiClient(issue(acme.admin), "acme")
    statuses = [api.get("tickets").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get("tickets")
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["status"] == 429
    # Per token: another token of the same member is not limited by the first one's use.
    assert ApiClient(issue(acme.admin), "acme").get("tickets").status_code == 200


def test_api02_token_of_another_organization_gets_404(acme, globex):
    """A token works in its organization only: on another portal it is unknown (the answer
    of a portal that does not exist)."""
    acme_api = ApiClient(issue(acme.admin), "globex")
    response = acme_api.get("tickets")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    missing = ApiClient(acme_api.token, "no-such-portal").get("tickets")
    assert missing.status_code == 404
    assert response.json() == missing.json()
    # A garbage token anywhere: the same 404.
    assert ApiClient("mado_nonsense", "acme").get("tickets").json() == missing.json()


def test_api02_revoking_twice_changes_nothing(acme):
    issue(acme.admin)
    token = ApiToken.objects.for_org(acme.org).get()
    acme.admin.org = acme.org
    first = token_revoke(actor=acme.admin, token=token).revoked_at
    token.refresh_from_db()
    assert token_revoke(actor=acme.admin, token=token).revoked_at == first
