"""Setup that finds its way (issue 8 item 9, DEP-01, DEP-02, DEP-03): layouts, business
hours and holidays from the Setup menu; the menu marks where you are (aria-current); a
department's Delete button only where deleting can succeed, otherwise disabled with the
reason. Alice is Acme's account admin, Bob an agent, Charlie (Globex) the outsider."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from helpdesk.tenancy.models import Department
from tests.conftest import login


def current(response) -> list[str]:
    """The labels of the Setup menu's entries marked aria-current."""
    nav = re.search(r'<nav class="sidebar".*?</nav>', response.content.decode(), re.S).group(0)
    return [
        html.unescape(label)
        for label in re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]+)</a>', nav)
    ]


def menu(response) -> list[str]:
    nav = re.search(r'<nav class="sidebar".*?</nav>', response.content.decode(), re.S).group(0)
    return re.findall(r"<a [^>]*>([^<]+)</a>", nav)


@pytest.fixture
def billing(acme):
    return Department.objects.create(org=acme.org, name="Billing", time_zone="Asia/Tokyo")


def setup_url(name: str, org, **kwargs) -> str:
    return reverse(f"setup:{name}", kwargs={"portal": org.portal, **kwargs})


def test_dep_menu_leads_to_layouts_hours_and_holidays(alice_client, acme, billing):
    response = alice_client.get(setup_url("home", acme.org))
    assert menu(response) == [
        "Overview",
        "Organization",
        "Users",
        "Departments",
        "Layouts",
        "Customer fields",  # CUS-01: contact and account fields (the customers pages)
        "Business hours",
        "Holidays",
        "Incoming email",
        "IMAP mailboxes",
        "Help center",
        "Rules",
        "Blueprints",
        "After-actions",
        "SLA policies",
        "Mail templates",
        "CRM integration keys",  # CRM-02: keys another organization's CRM connects with
        "Webhooks",  # issue 16: signed event deliveries to other systems
    ]
    nav = re.search(r'<nav class="sidebar".*?</nav>', response.content.decode(), re.S).group(0)
    assert re.findall(r"<h2>([^<]+)</h2>", nav) == [
        "Setup",
        "Channels",
        "Automation",
        "Integrations",
    ]
    for name, target in (
        ("layouts", reverse("layout:home", kwargs={"portal": "acme", "dept_id": billing.pk})),
        ("hours", setup_url("department_hours", acme.org, dept_id=billing.pk)),
        ("holidays", setup_url("department_holidays", acme.org, dept_id=billing.pk)),
    ):
        page = alice_client.get(setup_url(name, acme.org))
        assert page.status_code == 200
        assert f'href="{target}"' in page.content.decode()
        assert alice_client.get(target).status_code == 200


@pytest.mark.parametrize(
    ("page", "marked"),
    [
        ("home", "Overview"),
        ("organization", "Organization"),
        ("users", "Users"),
        ("departments", "Departments"),
        ("layouts", "Layouts"),
        ("hours", "Business hours"),
        ("holidays", "Holidays"),
        ("department_edit", "Departments"),
        ("department_agents", "Departments"),
        ("department_hours", "Business hours"),
        ("department_holidays", "Holidays"),
        ("layout", "Layouts"),
    ],
)
def test_dep_menu_marks_where_you_are(alice_client, acme, page, marked):
    dept = acme.department
    if page == "layout":
        url = reverse("layout:home", kwargs={"portal": "acme", "dept_id": dept.pk})
    elif page.startswith("department_"):
        url = setup_url(page, acme.org, dept_id=dept.pk)
    else:
        url = setup_url(page, acme.org)
    response = alice_client.get(url)
    assert response.status_code == 200
    assert current(response) == [marked]


def test_dep_only_one_department_cannot_be_deleted_and_says_why(alice_client, acme):
    response = alice_client.get(setup_url("departments", acme.org))
    body = html.unescape(response.content.decode())
    assert re.search(r'<button type="button" class="button small danger" disabled', body)
    assert "An organization needs at least one department." in body
    assert setup_url("department_delete", acme.org, dept_id=acme.department.pk) not in body


def test_dep_department_with_tickets_and_last_enabled_show_disabled_delete(
    alice_client, acme, billing
):
    from tests.customers.factories import make_ticket

    make_ticket(acme, None)
    spare = Department.objects.create(org=acme.org, name="Spare", is_enabled=False)
    response = alice_client.get(setup_url("departments", acme.org))
    body = html.unescape(response.content.decode())
    rows = dict(re.findall(r'<tr data-department="([^"]+)">(.*?)</tr>', body, re.S))
    assert "still has tickets" in rows[acme.department.name]
    assert "disabled" in rows[acme.department.name]
    # Billing has no tickets and another department is enabled: it can go.
    assert setup_url("department_delete", acme.org, dept_id=billing.pk) in rows["Billing"]
    assert setup_url("department_delete", acme.org, dept_id=spare.pk) in rows["Spare"]

    # The confirmation page says why too, and its button is disabled.
    page = alice_client.get(setup_url("department_delete", acme.org, dept_id=acme.department.pk))
    text = html.unescape(page.content.decode())
    assert "still has tickets" in text
    assert re.search(r'<button type="submit" class="button danger" disabled', text)

    # Billing alone enabled after disabling acme's: now Billing is the last enabled one.
    Department.objects.filter(pk=acme.department.pk).update(is_enabled=False)
    body = html.unescape(alice_client.get(setup_url("departments", acme.org)).content.decode())
    rows = dict(re.findall(r'<tr data-department="([^"]+)">(.*?)</tr>', body, re.S))
    assert "At least one department must stay enabled." in rows["Billing"]


def test_dep_agents_cannot_open_the_setting_pages(client, acme, bob):
    login(client, bob)
    for name in ("layouts", "hours", "holidays"):
        assert client.get(setup_url(name, acme.org)).status_code == 403


def test_dep_outsider_gets_404(client, acme, globex, billing):
    login(client, globex.admin)
    for name in ("layouts", "hours", "holidays", "departments"):
        response = client.get(setup_url(name, acme.org))
        assert response.status_code == 404
        assert "Billing" not in response.content.decode()
