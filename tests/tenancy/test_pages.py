"""Every page renders for the people who may see it, in both languages."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.conftest import login


@pytest.mark.parametrize("language", ["en", "ja"])
def test_org06_setup_pages_render_for_the_account_admin(client, acme, bob, language):
    acme.admin.user.language = language
    acme.admin.user.save()
    login(client, acme.admin)
    dept = acme.department
    portal = acme.org.portal
    urls = [
        reverse("org_list"),
        reverse("signup"),
        reverse("desk:home", kwargs={"portal": portal}),
        reverse("crm_home", kwargs={"portal": portal}),
        reverse("chat_home", kwargs={"portal": portal}),
        reverse("setup:home", kwargs={"portal": portal}),
        reverse("setup:organization", kwargs={"portal": portal}),
        reverse("setup:users", kwargs={"portal": portal}),
        reverse("setup:user_invite", kwargs={"portal": portal}),
        reverse("setup:user_detail", kwargs={"portal": portal, "member_id": bob.pk}),
        reverse("setup:user_delete", kwargs={"portal": portal, "member_id": bob.pk}),
        reverse("setup:departments", kwargs={"portal": portal}),
        reverse("setup:department_create", kwargs={"portal": portal}),
        reverse("setup:department_edit", kwargs={"portal": portal, "dept_id": dept.pk}),
        reverse("setup:department_agents", kwargs={"portal": portal, "dept_id": dept.pk}),
        reverse("setup:department_hours", kwargs={"portal": portal, "dept_id": dept.pk}),
        reverse("setup:department_holidays", kwargs={"portal": portal, "dept_id": dept.pk}),
        reverse("setup:department_delete", kwargs={"portal": portal, "dept_id": dept.pk}),
        reverse("setup:team_create", kwargs={"portal": portal, "dept_id": dept.pk}),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Content-Language"] == language


def test_org03_navigation_shows_only_reachable_apps(client, acme):
    sales = acme.member(desk_role="", crm_role="sales")
    login(client, sales)
    response = client.get(reverse("crm_home", kwargs={"portal": acme.org.portal}))
    assert response.status_code == 200
    assert b'data-nav="crm"' in response.content
    assert b'data-nav="desk"' not in response.content
    assert b'data-nav="chat"' not in response.content
    assert b'data-nav="setup"' not in response.content
    assert client.get(reverse("desk:home", kwargs={"portal": acme.org.portal})).status_code == 403
    # The portal root opens the first app the member may reach.
    assert client.get(f"/{acme.org.portal}/").url == f"/{acme.org.portal}/crm/"


def test_org01_anonymous_visitor_is_sent_to_log_in(client, acme):
    response = client.get(f"/{acme.org.portal}/setup/")
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_org01_unknown_portal_is_404(client, acme):
    login(client, acme.admin)
    assert client.get("/no-such-portal/setup/").status_code == 404


def test_healthz_reports_database_and_broker(client, db):
    response = client.get("/healthz")
    body = response.json()
    assert body["database"] == "ok"
    assert "broker" in body
    assert response.status_code == (200 if body["broker"] == "ok" else 503)
