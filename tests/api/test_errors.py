"""Issue 16, item 3: one error shape for every failure (RFC 9457 problem details), with the
field errors a form would show; never a 500 for bad input."""

from __future__ import annotations

import pytest

from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

KEYS = {"type", "title", "status", "detail"}


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= KEYS and body["status"] == status
    assert body["type"].startswith("urn:madoguchi:problem:") and body["title"] and body["detail"]
    return body


def test_api03_problem_details_for_every_refusal(acme, alice_api, settings):
    # 400: a body that is not JSON.
    _problem(
        alice_api.client.post(
            alice_api.url("tickets"),
            "{not json",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {alice_api.token}",
        ),
        400,
    )
    # 401: no token, on an existing portal and on a missing one alike.
    anonymous = ApiClient("", "acme")
    unauth = _problem(anonymous.get("tickets"), 401)
    assert _problem(ApiClient("", "nowhere").get("tickets"), 401) == unauth
    assert anonymous.get("tickets")["WWW-Authenticate"].startswith("Bearer")
    # 404: a ticket that does not exist; an unknown path under the API.
    _problem(alice_api.get("tickets/999"), 404)
    _problem(alice_api.get("no-such-thing"), 404)
    # 405: a method the path does not take.
    response = alice_api.client.delete(
        alice_api.url("tickets"), HTTP_AUTHORIZATION=f"Bearer {alice_api.token}"
    )
    _problem(response, 405)
    assert "GET" in response["Allow"]
    # 422: wrong types, unknown fields, missing fields: errors by field.
    body = _problem(alice_api.post("tickets", {"subject": 5, "department_id": "x"}), 422)
    assert set(body["errors"]) == {"subject", "department_id"}
    body = _problem(
        alice_api.post(
            "tickets", {"subject": "a", "department_id": acme.department.pk, "colour": "red"}
        ),
        422,
    )
    assert "colour" in body["errors"]
    body = _problem(alice_api.post("tickets", {}), 422)
    assert {"subject", "department_id"} <= set(body["errors"])
    body = _problem(alice_api.post("tickets", ["a", "list"]), 422)
    body = _problem(
        alice_api.post(
            "tickets", {"subject": "a", "department_id": acme.department.pk, "owner_id": 10**9}
        ),
        422,
    )
    assert body["errors"] == {"owner_id": ["Select a valid choice."]}
    # 429.
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    alice_api.get("departments")
    _problem(alice_api.get("departments"), 429)


def test_api03_permission_denied_by_a_service_is_a_403_problem(acme):
    from helpdesk.tenancy.models import DeskRole
    from tests.api.conftest import issue

    restricted = acme.member(desk_role=DeskRole.RESTRICTED)
    api = ApiClient(issue(restricted), "acme")
    body = _problem(api.post("contacts", {"last_name": "Kim"}), 403)
    assert "contacts" in body["detail"]
    no_desk = acme.member(desk_role="")
    body = _problem(ApiClient(issue(no_desk), "acme").get("tickets"), 403)
    assert "access to this app" in body["detail"]


def test_api03_problem_messages_follow_the_members_language(acme):
    from helpdesk.tenancy.models import User
    from tests.api.conftest import issue

    User.objects.filter(pk=acme.admin.user_id).update(language="ja")
    api = ApiClient(issue(acme.admin), "acme")
    body = api.get("tickets/999").json()
    assert body["status"] == 404 and body["title"] != "Not found"


def test_api03_token_requests_need_no_csrf_token(acme, alice_api):
    """A script has no CSRF cookie: the token is the credential (the session is not used)."""
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post(
        alice_api.url("contacts"),
        {"last_name": "Kim"},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {alice_api.token}",
    )
    assert response.status_code == 201, response.content


def test_api03_unknown_parameters_are_refused_like_unknown_fields(acme, alice_api):
    """A misspelt filter would otherwise list everything: it is a 422 naming it."""
    body = alice_api.get("tickets", {"priorty": "high"}).json()
    assert body["status"] == 422 and body["errors"] == {"priorty": ["Unknown parameter."]}
    assert alice_api.get("contacts", {"query": "kim"}).json()["errors"] == {
        "query": ["Unknown parameter."]
    }
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    acme.admin.org = acme.org
    ticket = ticket_create(
        actor=acme.admin, data=TicketInput(subject="A", department=acme.department)
    )
    comment = alice_api.post_form(f"tickets/{ticket.number}/comments", {"body": "x", "cc": "a@b.c"})
    assert comment.status_code == 422 and "cc" in comment.json()["errors"]
