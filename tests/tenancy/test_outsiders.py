"""ORG-01: an outsider learns nothing. A non-member gets exactly the answer a portal that does
not exist gives: same status, same template, nothing of the organization; an anonymous
visitor gets the same login redirect for both; an alias redirects members only."""

from __future__ import annotations

import re

import pytest

from helpdesk.tenancy.services.organizations import organization_change_portal
from tests.conftest import login

PATHS = [
    "/{portal}/",
    "/{portal}/desk/",
    "/{portal}/customers/contacts/5/",
    "/{portal}/desk/tickets/1/attachments/1/",
    "/{portal}/setup/users/",
    "/{portal}/invitation/not-a-token/",
]


def _normalised(response) -> tuple[int, list[str], str]:
    # The page names the path it was asked for (the language form's "next"): nothing else
    # may differ but the per-response secrets, the CSRF token and the CSP nonce.
    body = response.content.decode().replace(response.wsgi_request.path, "/<path>/")
    body = re.sub(r'(name="csrfmiddlewaretoken" value=")[^"]+', r"\1", body)
    body = re.sub(r'("X-CSRFToken": ")[^"]+', r"\1", body)
    body = re.sub(r'nonce="[^"]+"', 'nonce=""', body)
    templates = [t.name for t in response.templates if t.name]
    return response.status_code, templates, body


@pytest.mark.parametrize("path", PATHS)
def test_org01_non_member_gets_the_missing_portal_page(client, acme, globex, path):
    login(client, acme.admin)
    outsider = client.get(path.format(portal="globex"))
    missing = client.get(path.format(portal="no-such-portal"))
    assert outsider.status_code == 404
    assert _normalised(outsider) == _normalised(missing)
    assert "Globex" not in outsider.content.decode()


@pytest.mark.parametrize("path", PATHS[:-1])
def test_org01_anonymous_gets_the_same_login_redirect(client, globex, path):
    existing = client.get(path.format(portal="globex"))
    missing = client.get(path.format(portal="no-such-portal"))
    assert existing.status_code == missing.status_code == 302
    assert existing["Location"].split("?")[0] == missing["Location"].split("?")[0]
    assert "/accounts/login/" in existing["Location"]


def test_org01_anonymous_invitation_guess_gets_the_missing_portal_page(client, globex):
    existing = client.get("/globex/invitation/not-a-token/")
    missing = client.get("/no-such-portal/invitation/not-a-token/")
    assert existing.status_code == 404
    assert _normalised(existing) == _normalised(missing)


def test_org01_renamed_portal_redirects_members_only(client, acme, globex):
    organization_change_portal(actor=globex.admin, org=globex.org, portal="globex-corp")
    login(client, globex.admin)
    response = client.get("/globex/desk/")
    assert response.status_code == 302
    assert response["Location"] == "/globex-corp/desk/"

    login(client, acme.admin)
    outsider = client.get("/globex/desk/")
    missing = client.get("/no-such-portal/desk/")
    assert outsider.status_code == 404
    assert _normalised(outsider) == _normalised(missing)
