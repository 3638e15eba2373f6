"""Departments: details, enable/disable, delete, agents and teams (DEP-01); business hours and
holidays (DEP-03). Services and the setup views under /<portal>/setup/departments/.

Alice is Acme's account admin, Bob an agent at Acme, Charlie (Globex) the outsider. Every
refused request is checked against the database, not only the status code."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from html.parser import HTMLParser

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from helpdesk.tenancy.models import (
    BusinessInterval,
    Department,
    DepartmentAgent,
    Holiday,
    Membership,
    Team,
    TeamMember,
)
from helpdesk.tenancy.services import departments as services
from tests.conftest import login
from tests.factories import (
    DepartmentAgentFactory,
    DepartmentFactory,
    HolidayFactory,
    TeamFactory,
    UserFactory,
)

T = dt.time


# --- Helpers ---------------------------------------------------------------------------------
def url(name: str, tenant, **kwargs) -> str:
    org = getattr(tenant, "org", tenant)
    return reverse(f"setup:{name}", kwargs={"portal": org.portal, **kwargs})


def page(response) -> str:
    """The response body as a reader sees it (entities such as &#x27; decoded)."""
    return html.unescape(response.content.decode())


def errors(response) -> list[str]:
    """The error texts shown on a page (to explain a failed assertion)."""
    return re.findall(
        r'<p class="error"[^>]*>(.*?)</p>|<div class="form-errors"[^>]*><p>(.*?)</p>',
        page(response),
    )


def snapshot(org) -> dict:
    """Everything the department settings can change in `org`."""
    return {
        "departments": list(
            Department.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "name", "description", "is_enabled", "time_zone")
        ),
        "agents": sorted(
            DepartmentAgent.objects.for_org(org).values_list("department_id", "user_id")
        ),
        "teams": list(
            Team.objects.for_org(org)
            .order_by("pk")
            .values_list("pk", "department_id", "name", "description")
        ),
        "team_members": sorted(TeamMember.objects.for_org(org).values_list("team_id", "user_id")),
        "intervals": sorted(
            BusinessInterval.objects.for_org(org).values_list(
                "department_id", "weekday", "start", "end"
            )
        ),
        "holidays": sorted(
            Holiday.objects.for_org(org).values_list("department_id", "date", "name")
        ),
    }


def intervals_of(department: Department) -> list[tuple[int, dt.time, dt.time]]:
    return list(
        BusinessInterval.objects.for_org(department.org)
        .filter(department=department)
        .order_by("weekday", "start")
        .values_list("weekday", "start", "end")
    )


def agent_ids(department: Department) -> set[int]:
    return set(
        DepartmentAgent.objects.for_org(department.org)
        .filter(department=department)
        .values_list("user_id", flat=True)
    )


def member_ids(team: Team) -> set[int]:
    return set(
        TeamMember.objects.for_org(team.org).filter(team=team).values_list("user_id", flat=True)
    )


class _FormParser(HTMLParser):
    """Collects, for each <form> of a page, the fields a browser would submit unchanged:
    inputs with their value, checked boxes only, a select's selected (else first) option,
    textareas; no buttons."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[list[tuple[str, str]]] = []
        self._select: dict | None = None
        self._textarea: list | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append([])
        elif not self.forms:
            return
        elif tag == "input":
            kind = (a.get("type") or "text").lower()
            if not a.get("name") or kind in {"submit", "button", "reset", "image", "file"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            default = "on" if kind in {"checkbox", "radio"} else ""
            self.forms[-1].append((a["name"], a.get("value") or default))
        elif tag == "select":
            self._select = {"name": a.get("name"), "first": None, "selected": None}
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in a:
                self._select["selected"] = value
        elif tag == "textarea":
            self._textarea = [a.get("name"), ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None:
            s, self._select = self._select, None
            value = s["selected"] if s["selected"] is not None else s["first"]
            if s["name"] and value is not None:
                self.forms[-1].append((s["name"], value))
        elif tag == "textarea" and self._textarea is not None:
            (name, text), self._textarea = self._textarea, None
            if name:
                self.forms[-1].append((name, text.removeprefix("\n")))


def browser_form(response, containing: str) -> dict[str, str | list[str]]:
    """What a browser posts for the page's form that has a field named `containing`, before
    the user touches anything. Tests then set the fields the user fills in."""
    parser = _FormParser()
    parser.feed(response.content.decode())
    for fields in parser.forms:
        if any(name == containing for name, _value in fields):
            data: dict[str, str | list[str]] = {}
            for name, value in fields:
                if name in data:
                    previous = data[name]
                    data[name] = (
                        [*previous, value] if isinstance(previous, list) else [previous, value]
                    )
                else:
                    data[name] = value
            return data
    raise AssertionError(f"no form with a field {containing!r} on the page")


def set_row(data: dict, index: int, weekday: int, start: str, end: str) -> None:
    """Fill one row of the business-hours table as a user would (type=time gives HH:MM)."""
    data[f"intervals-{index}-weekday"] = str(weekday)
    data[f"intervals-{index}-start"] = start
    data[f"intervals-{index}-end"] = end


# --- Fixtures --------------------------------------------------------------------------------
@pytest.fixture
def sales(acme):
    """A second, empty department of Acme."""
    return DepartmentFactory(org=acme.org, name="Sales", description="Pre-sales questions")


@pytest.fixture
def desk_app_admin(acme) -> Membership:
    return acme.member(
        user=UserFactory(full_name="Dana Desk"),
        admin_level="app",
        admin_app="desk",
        desk_role="agent",
    )


@pytest.fixture
def crm_admin(acme) -> Membership:
    return acme.member(
        user=UserFactory(full_name="Carl Crm"),
        admin_level="app",
        admin_app="crm",
        desk_role="",
        crm_role="admin",
    )


# --- DEP-01: departments ---------------------------------------------------------------------
def test_dep01_departments_are_listed_with_agent_and_team_counts(alice_client, acme, bob, sales):
    DepartmentAgentFactory(department=sales, user=bob.user)
    TeamFactory(department=sales)
    TeamFactory(department=sales)
    sales.is_enabled = False
    sales.save()
    response = alice_client.get(url("departments", acme))
    assert response.status_code == 200
    rows = dict(re.findall(r'<tr data-department="([^"]+)">(.*?)</tr>', page(response), re.S))
    assert set(rows) == {"acme", "Sales"}
    assert "<td>1</td><td>0</td><td>Asia/Tokyo</td>" in rows["acme"]
    assert "Enabled" in rows["acme"]
    assert "<td>1</td><td>2</td>" in rows["Sales"]
    assert "Disabled" in rows["Sales"]
    assert "Pre-sales questions" in rows["Sales"]


def test_dep01_create_department(alice_client, acme):
    response = alice_client.post(
        url("department_create", acme),
        {"name": "  Support  ", "description": "First line", "time_zone": "Europe/Berlin"},
        follow=True,
    )
    dept = Department.objects.for_org(acme.org).get(name="Support")
    assert response.redirect_chain[0][0] == url("department_agents", acme, dept_id=dept.pk)
    assert "Department “Support” created." in page(response)
    assert (dept.description, dept.time_zone, dept.is_enabled) == (
        "First line",
        "Europe/Berlin",
        True,
    )


def test_dep01_create_page_proposes_the_organization_time_zone(alice_client, acme):
    acme.org.time_zone = "America/Chicago"
    acme.org.save()
    data = browser_form(alice_client.get(url("department_create", acme)), "name")
    assert data["time_zone"] == "America/Chicago"


@pytest.mark.parametrize("name", ["Acme", "acme", "ACME", " aCmE "])
def test_dep01_create_duplicate_name_is_refused_case_insensitively(alice_client, acme, name):
    before = snapshot(acme.org)
    response = alice_client.post(
        url("department_create", acme), {"name": name, "description": "", "time_zone": "Asia/Tokyo"}
    )
    assert response.status_code == 400
    assert f"A department named “{name.strip()}” already exists." in page(response)
    assert snapshot(acme.org) == before


def test_dep01_create_without_name_is_refused(alice_client, acme):
    before = snapshot(acme.org)
    response = alice_client.post(
        url("department_create", acme),
        {"name": "   ", "description": "x", "time_zone": "Asia/Tokyo"},
    )
    assert response.status_code == 400
    assert "This field is required." in page(response)
    assert snapshot(acme.org) == before


def test_dep01_create_with_unknown_time_zone_is_refused(alice_client, acme):
    before = snapshot(acme.org)
    response = alice_client.post(
        url("department_create", acme),
        {"name": "Support", "description": "", "time_zone": "Mars/Olympus"},
    )
    assert response.status_code == 400
    assert "Select a valid choice." in page(response)
    assert snapshot(acme.org) == before


def test_dep01_same_name_is_allowed_in_another_organization(client, acme, globex):
    login(client, globex.admin)
    response = client.post(
        url("department_create", globex),
        {"name": "Acme", "description": "", "time_zone": "Asia/Tokyo"},
    )
    assert response.status_code == 302
    assert Department.objects.for_org(globex.org).filter(name="Acme").exists()
    assert Department.objects.for_org(acme.org).filter(name__iexact="Acme").count() == 1


def test_dep01_service_refuses_duplicate_name(acme):
    with pytest.raises(ValidationError) as exc:
        services.department_save(actor=acme.admin, department=Department(name="ACME"))
    assert "name" in exc.value.error_dict
    assert Department.objects.for_org(acme.org).count() == 1


def test_dep01_edit_department(alice_client, acme, sales):
    response = alice_client.post(
        url("department_edit", acme, dept_id=sales.pk),
        {"name": "Sales EMEA", "description": "Europe", "time_zone": "Europe/Paris"},
        follow=True,
    )
    assert response.redirect_chain[0][0] == url("department_edit", acme, dept_id=sales.pk)
    assert "Department saved." in page(response)
    sales.refresh_from_db()
    assert (sales.name, sales.description, sales.time_zone) == (
        "Sales EMEA",
        "Europe",
        "Europe/Paris",
    )


def test_dep01_edit_may_change_only_the_case_of_its_own_name(alice_client, acme):
    dept = acme.department
    response = alice_client.post(
        url("department_edit", acme, dept_id=dept.pk),
        {"name": "ACME", "description": "", "time_zone": dept.time_zone},
    )
    assert response.status_code == 302
    dept.refresh_from_db()
    assert dept.name == "ACME"


def test_dep01_edit_to_another_department_name_is_refused(alice_client, acme, sales):
    before = snapshot(acme.org)
    response = alice_client.post(
        url("department_edit", acme, dept_id=sales.pk),
        {"name": "acme", "description": "changed", "time_zone": "Europe/Paris"},
    )
    assert response.status_code == 400
    text = page(response)
    assert "A department named “acme” already exists." in text
    assert "<h1>Sales" in text  # the page still names the stored department
    assert snapshot(acme.org) == before


def test_dep01_disable_and_enable_department(alice_client, acme, sales):
    response = alice_client.post(url("department_toggle", acme, dept_id=sales.pk), follow=True)
    assert response.redirect_chain[0][0] == url("departments", acme)
    assert "“Sales” disabled." in page(response)
    sales.refresh_from_db()
    assert sales.is_enabled is False

    response = alice_client.post(url("department_toggle", acme, dept_id=sales.pk), follow=True)
    assert "“Sales” enabled." in page(response)
    sales.refresh_from_db()
    assert sales.is_enabled is True


def test_dep01_last_enabled_department_cannot_be_disabled(alice_client, acme, sales):
    sales.is_enabled = False
    sales.save()
    before = snapshot(acme.org)
    response = alice_client.post(
        url("department_toggle", acme, dept_id=acme.department.pk), follow=True
    )
    assert response.status_code == 200
    assert "At least one department must stay enabled." in page(response)
    assert snapshot(acme.org) == before
    assert Department.objects.get(pk=acme.department.pk).is_enabled is True


def test_dep01_only_department_cannot_be_disabled_by_the_service(acme):
    with pytest.raises(ValidationError, match="At least one department must stay enabled"):
        services.department_set_enabled(actor=acme.admin, department=acme.department, enabled=False)
    assert Department.objects.get(pk=acme.department.pk).is_enabled is True


def test_dep01_toggle_needs_post(alice_client, acme, sales):
    response = alice_client.get(url("department_toggle", acme, dept_id=sales.pk))
    assert response.status_code == 405
    assert Department.objects.get(pk=sales.pk).is_enabled is True


def test_dep01_delete_asks_for_confirmation(alice_client, acme, sales):
    response = alice_client.get(url("department_delete", acme, dept_id=sales.pk))
    assert response.status_code == 200
    text = page(response)
    assert "Delete “Sales”?" in text
    assert 'method="post"' in text
    assert Department.objects.for_org(acme.org).filter(pk=sales.pk).exists()


def test_dep01_delete_the_only_department_is_refused(alice_client, acme):
    before = snapshot(acme.org)
    response = alice_client.post(url("department_delete", acme, dept_id=acme.department.pk))
    assert response.status_code == 400
    assert "An organization needs at least one department." in page(response)
    assert snapshot(acme.org) == before


def test_dep01_delete_the_last_enabled_department_is_refused(alice_client, acme, sales):
    """Deleting must not leave an organization with only disabled departments, which
    disabling refuses too."""
    sales.is_enabled = False
    sales.save()
    before = snapshot(acme.org)
    response = alice_client.post(url("department_delete", acme, dept_id=acme.department.pk))
    assert response.status_code == 400
    assert "At least one department must stay enabled." in page(response)
    assert snapshot(acme.org) == before


def test_dep01_delete_department_with_its_agents_teams_hours_and_holidays(
    alice_client, acme, bob, sales
):
    DepartmentAgentFactory(department=sales, user=bob.user)
    team = TeamFactory(department=sales, name="Tier 1")
    TeamMember.objects.create(org=acme.org, team=team, user=bob.user)
    BusinessInterval.objects.create(
        org=acme.org, department=sales, weekday=0, start=T(9), end=T(17)
    )
    HolidayFactory(department=sales)
    response = alice_client.post(url("department_delete", acme, dept_id=sales.pk), follow=True)
    assert response.redirect_chain[0][0] == url("departments", acme)
    assert "Department “Sales” deleted." in page(response)
    assert not Department.objects.for_org(acme.org).filter(pk=sales.pk).exists()
    after = snapshot(acme.org)
    assert [d[1] for d in after["departments"]] == ["acme"]
    assert after["teams"] == after["team_members"] == after["intervals"] == []
    assert after["holidays"] == []
    assert after["agents"] == [(acme.department.pk, acme.admin.user_id)]
    assert Membership.objects.filter(pk=bob.pk).exists()  # the agent stays a member


# --- DEP-01: agents --------------------------------------------------------------------------
def test_dep01_agents_page_offers_only_desk_users_of_the_organization(
    alice_client, acme, bob, globex, crm_admin
):
    response = alice_client.get(url("department_agents", acme, dept_id=acme.department.pk))
    text = page(response)
    assert "bob@acme.test" in text
    assert "alice@acme.test" in text
    assert crm_admin.user.email not in text
    assert "charlie@globex.test" not in text


def test_dep01_set_agents(alice_client, acme, bob, sales):
    carol = acme.member(user=UserFactory(full_name="Carol"), desk_role="restricted")
    response = alice_client.post(
        url("department_agents", acme, dept_id=sales.pk),
        {"agents": [bob.user_id, carol.user_id]},
        follow=True,
    )
    assert response.redirect_chain[0][0] == url("department_agents", acme, dept_id=sales.pk)
    assert "Agents saved." in page(response)
    assert agent_ids(sales) == {bob.user_id, carol.user_id}

    response = alice_client.post(
        url("department_agents", acme, dept_id=sales.pk), {"agents": [acme.admin.user_id]}
    )
    assert response.status_code == 302
    assert agent_ids(sales) == {acme.admin.user_id}


def test_dep01_invited_member_may_be_an_agent(alice_client, acme, sales):
    invited = acme.member(status=Membership.Status.INVITED)
    response = alice_client.post(
        url("department_agents", acme, dept_id=sales.pk), {"agents": [invited.user_id]}
    )
    assert response.status_code == 302
    assert agent_ids(sales) == {invited.user_id}


def test_dep01_agent_without_desk_access_is_refused(alice_client, acme, bob, sales, crm_admin):
    DepartmentAgentFactory(department=sales, user=bob.user)
    before = snapshot(acme.org)
    response = alice_client.post(
        url("department_agents", acme, dept_id=sales.pk),
        {"agents": [bob.user_id, crm_admin.user_id]},
    )
    assert response.status_code == 400
    assert "Select a valid choice." in page(response)
    assert snapshot(acme.org) == before


def test_dep01_agent_from_another_organization_is_refused(alice_client, acme, globex, sales):
    before, before_globex = snapshot(acme.org), snapshot(globex.org)
    response = alice_client.post(
        url("department_agents", acme, dept_id=sales.pk), {"agents": [globex.admin.user_id]}
    )
    assert response.status_code == 400
    assert "Select a valid choice." in page(response)
    assert snapshot(acme.org) == before
    assert snapshot(globex.org) == before_globex


@pytest.mark.parametrize("who", ["no_desk", "deactivated", "outsider", "stranger"])
def test_dep01_service_refuses_agents_who_may_not_work_the_desk(acme, globex, sales, who):
    user = {
        "no_desk": lambda: acme.member(desk_role="", crm_role="sales").user,
        "deactivated": lambda: acme.member(status=Membership.Status.DEACTIVATED).user,
        "outsider": lambda: globex.admin.user,
        "stranger": lambda: UserFactory(),
    }[who]()
    before = snapshot(acme.org)
    with pytest.raises(
        ValidationError, match="Agents must be users of this organization with Desk access"
    ):
        services.department_set_agents(
            actor=acme.admin, department=sales, users=[acme.admin.user, user]
        )
    assert snapshot(acme.org) == before


def test_dep01_removing_an_agent_removes_them_from_the_department_teams(
    alice_client, acme, bob, sales
):
    for user in (bob.user, acme.admin.user):
        DepartmentAgentFactory(department=sales, user=user)
    tier1 = TeamFactory(department=sales, name="Tier 1")
    tier2 = TeamFactory(department=sales, name="Tier 2")
    for team in (tier1, tier2):
        for user in (bob.user, acme.admin.user):
            TeamMember.objects.create(org=acme.org, team=team, user=user)
    # Bob's team in another department is not touched.
    DepartmentAgentFactory(department=acme.department, user=bob.user)
    other = TeamFactory(department=acme.department, name="Escalations")
    TeamMember.objects.create(org=acme.org, team=other, user=bob.user)

    response = alice_client.post(
        url("department_agents", acme, dept_id=sales.pk), {"agents": [acme.admin.user_id]}
    )
    assert response.status_code == 302
    assert agent_ids(sales) == {acme.admin.user_id}
    assert member_ids(tier1) == member_ids(tier2) == {acme.admin.user_id}
    assert member_ids(other) == {bob.user_id}
    assert bob.user_id in agent_ids(acme.department)


def test_dep01_agents_page_lists_the_department_teams(alice_client, acme, bob, sales):
    DepartmentAgentFactory(department=sales, user=bob.user)
    team = TeamFactory(department=sales, name="Tier 1")
    TeamMember.objects.create(org=acme.org, team=team, user=bob.user)
    TeamFactory(department=acme.department, name="Not here")
    text = page(alice_client.get(url("department_agents", acme, dept_id=sales.pk)))
    assert "Tier 1" in text
    assert "Bob" in text
    assert "Not here" not in text


# --- DEP-01: teams ---------------------------------------------------------------------------
@pytest.fixture
def sales_agents(acme, bob, sales):
    for user in (bob.user, acme.admin.user):
        DepartmentAgentFactory(department=sales, user=user)
    return sales


def test_dep01_create_team_with_members(alice_client, acme, bob, sales_agents):
    response = alice_client.post(
        url("team_create", acme, dept_id=sales_agents.pk),
        {
            "name": " Tier 1 ",
            "description": "First line",
            "members": [bob.user_id, acme.admin.user_id],
        },
        follow=True,
    )
    assert response.redirect_chain[0][0] == url("department_agents", acme, dept_id=sales_agents.pk)
    assert "Team saved." in page(response)
    team = Team.objects.for_org(acme.org).get(department=sales_agents)
    assert (team.name, team.description) == ("Tier 1", "First line")
    assert member_ids(team) == {bob.user_id, acme.admin.user_id}


def test_dep01_team_form_offers_only_department_agents(alice_client, acme, bob, sales_agents):
    carol = acme.member(user=UserFactory(full_name="Carol Outside"))
    text = page(alice_client.get(url("team_create", acme, dept_id=sales_agents.pk)))
    assert "Bob" in text
    assert "Carol Outside" not in text
    assert carol.user_id not in agent_ids(sales_agents)


def test_dep01_team_members_must_be_department_agents(alice_client, acme, bob, sales_agents):
    carol = acme.member(user=UserFactory(full_name="Carol"))  # Desk agent, not of Sales
    before = snapshot(acme.org)
    response = alice_client.post(
        url("team_create", acme, dept_id=sales_agents.pk),
        {"name": "Tier 1", "description": "", "members": [bob.user_id, carol.user_id]},
    )
    assert response.status_code == 400
    assert "Select a valid choice." in page(response)
    assert snapshot(acme.org) == before


def test_dep01_service_refuses_team_members_who_are_not_department_agents(acme, bob, sales_agents):
    carol = acme.member()
    before = snapshot(acme.org)
    with pytest.raises(ValidationError) as exc:
        services.team_save(
            actor=acme.admin,
            team=Team(department=sales_agents, name="Tier 1"),
            members=[bob.user, carol.user],
        )
    assert exc.value.message_dict["members"] == ["Team members must be agents of the department."]
    assert snapshot(acme.org) == before


@pytest.mark.parametrize("name", ["Tier 1", "tier 1", " TIER 1 "])
def test_dep01_duplicate_team_name_is_refused(alice_client, acme, bob, sales_agents, name):
    TeamFactory(department=sales_agents, name="Tier 1")
    before = snapshot(acme.org)
    response = alice_client.post(
        url("team_create", acme, dept_id=sales_agents.pk),
        {"name": name, "description": "", "members": [bob.user_id]},
    )
    assert response.status_code == 400
    assert f"This department already has a team named “{name.strip()}”." in page(response)
    assert snapshot(acme.org) == before


def test_dep01_same_team_name_is_allowed_in_another_department(alice_client, acme, sales_agents):
    TeamFactory(department=acme.department, name="Tier 1")
    response = alice_client.post(
        url("team_create", acme, dept_id=sales_agents.pk), {"name": "Tier 1", "description": ""}
    )
    assert response.status_code == 302
    assert Team.objects.for_org(acme.org).filter(name="Tier 1").count() == 2


def test_dep01_edit_team_name_and_members(alice_client, acme, bob, sales_agents):
    team = TeamFactory(department=sales_agents, name="Tier 1")
    TeamMember.objects.create(org=acme.org, team=team, user=bob.user)
    form = browser_form(
        alice_client.get(url("team_edit", acme, dept_id=sales_agents.pk, team_id=team.pk)),
        "members",
    )
    assert form["members"] == str(bob.user_id)  # the current member is ticked
    response = alice_client.post(
        url("team_edit", acme, dept_id=sales_agents.pk, team_id=team.pk),
        {"name": "First line", "description": "Phones", "members": [acme.admin.user_id]},
    )
    assert response.status_code == 302
    team.refresh_from_db()
    assert (team.name, team.description) == ("First line", "Phones")
    assert member_ids(team) == {acme.admin.user_id}


def test_dep01_rename_team_to_a_taken_name_is_refused(alice_client, acme, bob, sales_agents):
    TeamFactory(department=sales_agents, name="Tier 1")
    team = TeamFactory(department=sales_agents, name="Tier 2")
    TeamMember.objects.create(org=acme.org, team=team, user=bob.user)
    before = snapshot(acme.org)
    response = alice_client.post(
        url("team_edit", acme, dept_id=sales_agents.pk, team_id=team.pk),
        {"name": "TIER 1", "description": "", "members": []},
    )
    assert response.status_code == 400
    text = page(response)
    assert "This department already has a team named “TIER 1”." in text
    assert "<h2>Tier 2</h2>" in text  # the heading names the stored team, not the refused name
    assert snapshot(acme.org) == before


def test_dep01_delete_team(alice_client, acme, bob, sales_agents):
    team = TeamFactory(department=sales_agents, name="Tier 1")
    TeamMember.objects.create(org=acme.org, team=team, user=bob.user)
    response = alice_client.post(
        url("team_delete", acme, dept_id=sales_agents.pk, team_id=team.pk), follow=True
    )
    assert response.redirect_chain[0][0] == url("department_agents", acme, dept_id=sales_agents.pk)
    assert "Team “Tier 1” deleted." in page(response)
    assert not Team.objects.for_org(acme.org).exists()
    assert not TeamMember.objects.for_org(acme.org).exists()
    assert agent_ids(sales_agents) == {bob.user_id, acme.admin.user_id}


def test_dep01_delete_team_needs_post(alice_client, acme, sales_agents):
    team = TeamFactory(department=sales_agents)
    response = alice_client.get(url("team_delete", acme, dept_id=sales_agents.pk, team_id=team.pk))
    assert response.status_code == 405
    assert Team.objects.for_org(acme.org).filter(pk=team.pk).exists()


def test_dep01_team_under_another_department_is_404(alice_client, acme, sales_agents):
    team = TeamFactory(department=sales_agents)
    wrong = acme.department.pk
    before = snapshot(acme.org)
    assert (
        alice_client.get(url("team_edit", acme, dept_id=wrong, team_id=team.pk)).status_code == 404
    )
    assert (
        alice_client.post(url("team_delete", acme, dept_id=wrong, team_id=team.pk)).status_code
        == 404
    )
    assert snapshot(acme.org) == before


# --- DEP-03: business hours ------------------------------------------------------------------
def hours_page(client, tenant, dept):
    response = client.get(url("department_hours", tenant, dept_id=dept.pk))
    assert response.status_code == 200
    return browser_form(response, "intervals-TOTAL_FORMS")


def test_dep03_business_hours_page_has_the_intervals_formset(alice_client, acme):
    data = hours_page(alice_client, acme, acme.department)
    assert data["intervals-TOTAL_FORMS"] == "2"
    assert data["intervals-INITIAL_FORMS"] == "0"
    assert data["time_zone"] == acme.department.time_zone


def test_dep03_several_intervals_a_day_saved_from_the_browser_form(alice_client, acme, sales):
    data = hours_page(alice_client, acme, sales)
    set_row(data, 0, 0, "09:00", "12:00")
    set_row(data, 1, 0, "13:00", "18:00")
    data["time_zone"] = "America/New_York"
    response = alice_client.post(url("department_hours", acme, dept_id=sales.pk), data, follow=True)
    assert response.redirect_chain[0][0] == url("department_hours", acme, dept_id=sales.pk)
    assert "Business hours saved." in page(response)
    assert intervals_of(sales) == [(0, T(9), T(12)), (0, T(13), T(18))]
    sales.refresh_from_db()
    assert sales.time_zone == "America/New_York"

    # The saved rows come back, with two empty rows to add more. Fill one, leave one empty.
    data = browser_form(response, "intervals-TOTAL_FORMS")
    assert (data["intervals-TOTAL_FORMS"], data["intervals-INITIAL_FORMS"]) == ("4", "2")
    assert data["time_zone"] == "America/New_York"
    set_row(data, 2, 1, "09:30", "17:30")
    response = alice_client.post(url("department_hours", acme, dept_id=sales.pk), data)
    assert response.status_code == 302, errors(response)
    assert intervals_of(sales) == [(0, T(9), T(12)), (0, T(13), T(18)), (1, T(9, 30), T(17, 30))]


def test_dep03_saving_the_page_unchanged_keeps_the_schedule(alice_client, acme, sales):
    services.business_hours_set(
        actor=acme.admin,
        department=sales,
        time_zone="Asia/Tokyo",
        intervals=[(0, T(9), T(12)), (0, T(13), T(18))],
    )
    before = snapshot(acme.org)
    data = hours_page(alice_client, acme, sales)
    response = alice_client.post(url("department_hours", acme, dept_id=sales.pk), data)
    assert response.status_code == 302, errors(response)
    assert snapshot(acme.org) == before


def test_dep03_remove_an_interval_with_its_checkbox(alice_client, acme, sales):
    services.business_hours_set(
        actor=acme.admin,
        department=sales,
        time_zone="Asia/Tokyo",
        intervals=[(0, T(9), T(12)), (0, T(13), T(18))],
    )
    data = hours_page(alice_client, acme, sales)
    assert data["intervals-0-start"].startswith("09:00")
    data["intervals-0-DELETE"] = "on"
    response = alice_client.post(url("department_hours", acme, dept_id=sales.pk), data)
    assert response.status_code == 302, errors(response)
    assert intervals_of(sales) == [(0, T(13), T(18))]


def test_dep03_overlapping_intervals_are_refused_and_the_schedule_kept(alice_client, acme, sales):
    services.business_hours_set(
        actor=acme.admin,
        department=sales,
        time_zone="Asia/Tokyo",
        intervals=[(0, T(9), T(12)), (1, T(9), T(17))],
    )
    before = snapshot(acme.org)
    data = hours_page(alice_client, acme, sales)
    set_row(data, 2, 0, "11:00", "14:00")  # Monday again, overlapping 9:00-12:00
    data["time_zone"] = "Europe/London"
    response = alice_client.post(url("department_hours", acme, dept_id=sales.pk), data)
    assert response.status_code == 400
    text = page(response)
    assert "Monday: intervals overlap." in text
    assert snapshot(acme.org) == before
    assert intervals_of(sales) == [(0, T(9), T(12)), (1, T(9), T(17))]
    assert Department.objects.get(pk=sales.pk).time_zone == "Asia/Tokyo"


def test_dep03_touching_intervals_do_not_overlap(acme, sales):
    services.business_hours_set(
        actor=acme.admin,
        department=sales,
        time_zone="Asia/Tokyo",
        intervals=[(2, T(13), T(18)), (2, T(9), T(13))],
    )
    assert intervals_of(sales) == [(2, T(9), T(13)), (2, T(13), T(18))]


def test_dep03_same_times_on_different_days_do_not_overlap(acme, sales):
    services.business_hours_set(
        actor=acme.admin,
        department=sales,
        time_zone="Asia/Tokyo",
        intervals=[(d, T(9), T(17)) for d in range(5)],
    )
    assert len(intervals_of(sales)) == 5


def test_dep03_interval_ending_before_it_starts_is_refused(alice_client, acme, sales):
    services.business_hours_set(
        actor=acme.admin, department=sales, time_zone="Asia/Tokyo", intervals=[(0, T(9), T(17))]
    )
    before = snapshot(acme.org)
    data = hours_page(alice_client, acme, sales)
    set_row(data, 1, 1, "18:00", "09:00")
    response = alice_client.post(url("department_hours", acme, dept_id=sales.pk), data)
    assert response.status_code == 400
    assert "The end must be after the start." in page(response)
    assert snapshot(acme.org) == before


def test_dep03_row_with_times_but_no_day_is_refused(alice_client, acme, sales):
    before = snapshot(acme.org)
    data = hours_page(alice_client, acme, sales)
    set_row(data, 0, 0, "09:00", "17:00")
    data["intervals-0-weekday"] = ""
    response = alice_client.post(url("department_hours", acme, dept_id=sales.pk), data)
    assert response.status_code == 400
    assert errors(response) == [("This field is required.", "")]  # the empty row 1 is ignored
    # ...and it is shown next to the day it is about.
    assert re.search(
        r'name="intervals-0-weekday".*?</select><p class="error">This field is required.</p>',
        page(response),
        re.S,
    )
    assert snapshot(acme.org) == before


@pytest.mark.parametrize(
    ("intervals", "message"),
    [
        ([(1, T(18), T(9))], "Tuesday: 18:00–09:00 ends before it starts."),
        ([(1, T(9), T(9))], "Tuesday: 09:00–09:00 ends before it starts."),
        ([(4, T(9), T(17)), (4, T(10), T(11))], "Friday: intervals overlap."),
        ([(7, T(9), T(17))], "Choose a day of the week."),
    ],
)
def test_dep03_service_refuses_bad_schedules(acme, sales, intervals, message):
    services.business_hours_set(
        actor=acme.admin, department=sales, time_zone="Asia/Tokyo", intervals=[(0, T(9), T(17))]
    )
    before = snapshot(acme.org)
    with pytest.raises(ValidationError) as exc:
        services.business_hours_set(
            actor=acme.admin, department=sales, time_zone="Europe/Paris", intervals=intervals
        )
    assert message in exc.value.messages
    assert snapshot(acme.org) == before


def test_dep03_unknown_time_zone_is_refused(alice_client, acme, sales):
    before = snapshot(acme.org)
    data = hours_page(alice_client, acme, sales)
    set_row(data, 0, 0, "09:00", "17:00")
    data["time_zone"] = "Mars/Olympus"
    response = alice_client.post(url("department_hours", acme, dept_id=sales.pk), data)
    assert response.status_code == 400
    assert "Select a valid choice." in page(response)
    assert snapshot(acme.org) == before


def test_dep03_time_zone_saved_without_intervals_means_around_the_clock(alice_client, acme, sales):
    services.business_hours_set(
        actor=acme.admin, department=sales, time_zone="Asia/Tokyo", intervals=[(0, T(9), T(17))]
    )
    data = hours_page(alice_client, acme, sales)
    data["intervals-0-DELETE"] = "on"
    data["time_zone"] = "Australia/Sydney"
    response = alice_client.post(url("department_hours", acme, dept_id=sales.pk), data)
    assert response.status_code == 302, errors(response)
    assert intervals_of(sales) == []
    assert Department.objects.get(pk=sales.pk).time_zone == "Australia/Sydney"


# --- DEP-03: holidays ------------------------------------------------------------------------
def holidays_of(department: Department) -> list[tuple[dt.date, str]]:
    return list(
        Holiday.objects.for_org(department.org)
        .filter(department=department)
        .order_by("date")
        .values_list("date", "name")
    )


def test_dep03_add_holiday(alice_client, acme, sales):
    response = alice_client.post(
        url("department_holidays", acme, dept_id=sales.pk),
        {"date": "2030-05-05", "name": " Founders' day "},
        follow=True,
    )
    assert response.redirect_chain[0][0] == url("department_holidays", acme, dept_id=sales.pk)
    text = page(response)
    assert "Holiday added." in text
    assert "Founders' day" in text
    assert holidays_of(sales) == [(dt.date(2030, 5, 5), "Founders' day")]


def test_dep03_duplicate_holiday_date_is_refused(alice_client, acme, sales):
    HolidayFactory(department=sales, date=dt.date(2030, 5, 5), name="Founders' day")
    before = snapshot(acme.org)
    response = alice_client.post(
        url("department_holidays", acme, dept_id=sales.pk),
        {"date": "2030-05-05", "name": "Another"},
    )
    assert response.status_code == 400
    assert "2030-05-05 is already a holiday." in page(response)
    assert snapshot(acme.org) == before


def test_dep03_same_holiday_date_in_another_department_is_fine(alice_client, acme, sales):
    HolidayFactory(department=acme.department, date=dt.date(2030, 5, 5))
    response = alice_client.post(
        url("department_holidays", acme, dept_id=sales.pk),
        {"date": "2030-05-05", "name": "Founders' day"},
    )
    assert response.status_code == 302
    assert holidays_of(sales) == [(dt.date(2030, 5, 5), "Founders' day")]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"date": "", "name": "Nameless"}, "This field is required."),
        ({"date": "2030-02-30", "name": "Nowhere"}, "Enter a valid date."),
        ({"date": "2030-05-05", "name": "   "}, "This field is required."),
    ],
)
def test_dep03_holiday_needs_a_date_and_a_name(alice_client, acme, sales, data, error):
    before = snapshot(acme.org)
    response = alice_client.post(url("department_holidays", acme, dept_id=sales.pk), data)
    assert response.status_code == 400
    assert error in page(response)
    assert snapshot(acme.org) == before


def test_dep03_delete_holiday(alice_client, acme, sales):
    keep = HolidayFactory(department=sales, date=dt.date(2030, 1, 2))
    gone = HolidayFactory(department=sales, date=dt.date(2030, 1, 1))
    response = alice_client.post(
        url("holiday_delete", acme, dept_id=sales.pk, holiday_id=gone.pk), follow=True
    )
    assert response.redirect_chain[0][0] == url("department_holidays", acme, dept_id=sales.pk)
    assert "Holiday removed." in page(response)
    assert list(Holiday.objects.for_org(acme.org).values_list("pk", flat=True)) == [keep.pk]


def test_dep03_delete_holiday_from_htmx_returns_an_empty_row(alice_client, acme, sales):
    holiday = HolidayFactory(department=sales)
    response = alice_client.post(
        url("holiday_delete", acme, dept_id=sales.pk, holiday_id=holiday.pk),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response.content == b""
    assert not Holiday.objects.for_org(acme.org).exists()


def test_dep03_holiday_of_another_department_is_404(alice_client, acme, sales):
    holiday = HolidayFactory(department=sales)
    response = alice_client.post(
        url("holiday_delete", acme, dept_id=acme.department.pk, holiday_id=holiday.pk)
    )
    assert response.status_code == 404
    assert Holiday.objects.for_org(acme.org).filter(pk=holiday.pk).exists()


def test_dep03_import_japanese_public_holidays(alice_client, acme, sales):
    form = browser_form(
        alice_client.get(url("department_holidays", acme, dept_id=sales.pk)), "country"
    )
    assert form["country"] == "JP"
    form["year"] = "2025"
    response = alice_client.post(url("holidays_import", acme, dept_id=sales.pk), form, follow=True)
    assert response.redirect_chain[0][0] == url("department_holidays", acme, dept_id=sales.pk)
    rows = holidays_of(sales)
    assert len(rows) > 10
    assert f"{len(rows)} public holidays imported." in page(response)
    assert all(day.year == 2025 for day, _name in rows)
    assert rows[0][0] == dt.date(2025, 1, 1)
    assert rows[0][1] in {"元日", "New Year's Day"}
    assert "New Year's Day" in page(response) or "元日" in page(response)

    # Importing again adds nothing.
    before = snapshot(acme.org)
    response = alice_client.post(
        url("holidays_import", acme, dept_id=sales.pk),
        {"country": "JP", "year": "2025"},
        follow=True,
    )
    assert "0 public holidays imported." in page(response)
    assert snapshot(acme.org) == before


@pytest.mark.parametrize(("language", "new_year"), [("ja", "元日"), ("en", "New Year's Day")])
def test_dep03_imported_holiday_names_follow_the_user_language(
    client, acme, sales, monkeypatch, language, new_year
):
    # The server's locale must not decide the names (the holidays package falls back to it).
    monkeypatch.setenv("LANGUAGE", "th" if language == "en" else "en_US")
    acme.admin.user.language = language
    acme.admin.user.save()
    login(client, acme.admin)
    response = client.post(
        url("holidays_import", acme, dept_id=sales.pk), {"country": "JP", "year": "2025"}
    )
    assert response.status_code == 302
    assert holidays_of(sales)[0] == (dt.date(2025, 1, 1), new_year)


def test_dep03_import_keeps_holidays_already_there(alice_client, acme, sales):
    HolidayFactory(department=sales, date=dt.date(2025, 1, 1), name="Office closed")
    response = alice_client.post(
        url("holidays_import", acme, dept_id=sales.pk), {"country": "JP", "year": "2025"}
    )
    assert response.status_code == 302
    rows = holidays_of(sales)
    assert rows[0] == (dt.date(2025, 1, 1), "Office closed")
    assert len(rows) > 10
    assert len({day for day, _name in rows}) == len(rows)


def test_dep03_import_only_touches_its_department(alice_client, acme, sales):
    response = alice_client.post(
        url("holidays_import", acme, dept_id=sales.pk), {"country": "JP", "year": "2025"}
    )
    assert response.status_code == 302
    assert holidays_of(acme.department) == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"country": "XX", "year": "2025"}, "Select a valid choice."),
        ({"country": "JP", "year": "1800"}, "greater than or equal to 1950"),
        ({"country": "JP", "year": ""}, "This field is required."),
    ],
)
def test_dep03_import_with_bad_input_is_refused(alice_client, acme, sales, data, error):
    before = snapshot(acme.org)
    response = alice_client.post(url("holidays_import", acme, dept_id=sales.pk), data)
    assert response.status_code == 400
    assert error in page(response)
    assert snapshot(acme.org) == before


def test_dep03_service_refuses_unsupported_country_and_year(acme, sales):
    with pytest.raises(ValidationError, match="Choose a supported country"):
        services.holidays_import(actor=acme.admin, department=sales, country="XX", year=2025)
    with pytest.raises(ValidationError, match="Choose a year between 1950 and 2100"):
        services.holidays_import(actor=acme.admin, department=sales, country="JP", year=2200)
    assert holidays_of(sales) == []


def test_dep03_import_and_delete_need_post(alice_client, acme, sales):
    assert alice_client.get(url("holidays_import", acme, dept_id=sales.pk)).status_code == 405
    holiday = HolidayFactory(department=sales)
    assert (
        alice_client.get(
            url("holiday_delete", acme, dept_id=sales.pk, holiday_id=holiday.pk)
        ).status_code
        == 405
    )
    assert Holiday.objects.for_org(acme.org).filter(pk=holiday.pk).exists()


# --- Permissions: who may change departments -------------------------------------------------
@pytest.fixture
def world(acme, bob, sales):
    """Sales with Bob and Alice as agents, team Tier 1 (Bob), Monday hours and a holiday."""
    for user in (bob.user, acme.admin.user):
        DepartmentAgentFactory(department=sales, user=user)
    team = TeamFactory(department=sales, name="Tier 1")
    TeamMember.objects.create(org=acme.org, team=team, user=bob.user)
    BusinessInterval.objects.create(
        org=acme.org, department=sales, weekday=0, start=T(9), end=T(17)
    )
    holiday = HolidayFactory(department=sales, date=dt.date(2030, 1, 1), name="New Year")
    return {"acme": acme, "sales": sales, "team": team, "holiday": holiday, "bob": bob}


def _hours_post(w):
    return {
        "time_zone": "Europe/London",
        "intervals-TOTAL_FORMS": "1",
        "intervals-INITIAL_FORMS": "0",
        "intervals-MIN_NUM_FORMS": "0",
        "intervals-MAX_NUM_FORMS": "70",
        "intervals-0-weekday": "1",
        "intervals-0-start": "10:00",
        "intervals-0-end": "11:00",
    }


# (name, URL name, URL arguments, POST data); each POST changes something when allowed.
ACTIONS: list[tuple[str, str, Callable, Callable]] = [
    (
        "create",
        "department_create",
        lambda w: {},
        lambda w: {"name": "Support", "description": "", "time_zone": "Asia/Tokyo"},
    ),
    (
        "edit",
        "department_edit",
        lambda w: {"dept_id": w["sales"].pk},
        lambda w: {"name": "Sales 2", "description": "x", "time_zone": "Asia/Tokyo"},
    ),
    ("toggle", "department_toggle", lambda w: {"dept_id": w["sales"].pk}, lambda w: {}),
    ("delete", "department_delete", lambda w: {"dept_id": w["sales"].pk}, lambda w: {}),
    (
        "agents",
        "department_agents",
        lambda w: {"dept_id": w["sales"].pk},
        lambda w: {"agents": [w["acme"].admin.user_id]},
    ),
    (
        "team_create",
        "team_create",
        lambda w: {"dept_id": w["sales"].pk},
        lambda w: {"name": "Tier 2", "members": [w["bob"].user_id]},
    ),
    (
        "team_edit",
        "team_edit",
        lambda w: {"dept_id": w["sales"].pk, "team_id": w["team"].pk},
        lambda w: {"name": "Tier One", "members": []},
    ),
    (
        "team_delete",
        "team_delete",
        lambda w: {"dept_id": w["sales"].pk, "team_id": w["team"].pk},
        lambda w: {},
    ),
    ("hours", "department_hours", lambda w: {"dept_id": w["sales"].pk}, _hours_post),
    (
        "holiday_add",
        "department_holidays",
        lambda w: {"dept_id": w["sales"].pk},
        lambda w: {"date": "2030-02-01", "name": "Founding day"},
    ),
    (
        "holidays_import",
        "holidays_import",
        lambda w: {"dept_id": w["sales"].pk},
        lambda w: {"country": "JP", "year": "2031"},
    ),
    (
        "holiday_delete",
        "holiday_delete",
        lambda w: {"dept_id": w["sales"].pk, "holiday_id": w["holiday"].pk},
        lambda w: {},
    ),
]
ACTION_IDS = [a[0] for a in ACTIONS]
PAGES = [
    "departments",
    "department_create",
    "department_edit",
    "department_delete",
    "department_agents",
    "team_create",
    "team_edit",
    "department_hours",
    "department_holidays",
]


def _page_kwargs(name: str, w) -> dict:
    kwargs = {} if name in {"departments", "department_create"} else {"dept_id": w["sales"].pk}
    if name == "team_edit":
        kwargs["team_id"] = w["team"].pk
    return kwargs


@pytest.mark.parametrize(("action", "name", "kwargs", "data"), ACTIONS, ids=ACTION_IDS)
def test_dep01_dep03_desk_app_admin_may_change_departments(
    client, world, desk_app_admin, action, name, kwargs, data
):
    acme = world["acme"]
    before = snapshot(acme.org)
    login(client, desk_app_admin)
    response = client.post(url(name, acme, **kwargs(world)), data(world))
    assert response.status_code == 302, errors(response)
    assert snapshot(acme.org) != before


@pytest.mark.parametrize("role", ["agent", "restricted", "crm_admin", "chat_supervisor"])
@pytest.mark.parametrize(("action", "name", "kwargs", "data"), ACTIONS, ids=ACTION_IDS)
def test_dep01_dep03_non_desk_admins_are_refused(client, world, role, action, name, kwargs, data):
    acme = world["acme"]
    member = {
        "agent": lambda: world["bob"],
        "restricted": lambda: acme.member(desk_role="restricted"),
        "crm_admin": lambda: acme.member(
            admin_level="app", admin_app="crm", desk_role="", crm_role="admin"
        ),
        "chat_supervisor": lambda: acme.member(
            admin_level="app", admin_app="chat", desk_role="agent", chat_role="supervisor"
        ),
    }[role]()
    before = snapshot(acme.org)
    login(client, member)
    response = client.post(url(name, acme, **kwargs(world)), data(world))
    assert response.status_code == 403
    assert snapshot(acme.org) == before


@pytest.mark.parametrize("name", PAGES)
def test_dep01_dep03_pages_forbidden_to_agents_and_crm_admins(client, world, crm_admin, name):
    acme = world["acme"]
    for member in (world["bob"], crm_admin):
        login(client, member)
        assert client.get(url(name, acme, **_page_kwargs(name, world))).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_dep01_dep03_pages_open_to_desk_admins(client, world, desk_app_admin, name):
    acme = world["acme"]
    desk_role_admin = acme.member(desk_role="admin")
    for member in (desk_app_admin, desk_role_admin):
        login(client, member)
        assert client.get(url(name, acme, **_page_kwargs(name, world))).status_code == 200


def test_dep01_desk_app_admin_sees_departments_in_the_setup_menu(
    client, acme, desk_app_admin, crm_admin
):
    departments = url("departments", acme)
    login(client, desk_app_admin)
    assert f'href="{departments}"' in page(
        client.get(reverse("setup:organization", kwargs={"portal": acme.org.portal}))
    )
    login(client, crm_admin)
    response = client.get(reverse("setup:organization", kwargs={"portal": acme.org.portal}))
    assert f'href="{departments}"' not in page(response)


@pytest.mark.parametrize(("action", "name", "kwargs", "data"), ACTIONS, ids=ACTION_IDS)
def test_dep01_dep03_outsider_gets_404_and_changes_nothing(
    client, world, globex, action, name, kwargs, data
):
    acme = world["acme"]
    before = snapshot(acme.org)
    login(client, globex.admin)
    response = client.post(url(name, acme, **kwargs(world)), data(world))
    assert response.status_code == 404
    assert snapshot(acme.org) == before


@pytest.mark.parametrize(
    ("action", "name", "kwargs", "data"),
    [a for a in ACTIONS if a[0] != "create"],
    ids=[i for i in ACTION_IDS if i != "create"],
)
def test_dep01_dep03_other_organization_objects_are_404(
    alice_client, acme, globex, action, name, kwargs, data
):
    """Alice, under her own portal, names Globex's department, team and holiday."""
    g_sales = DepartmentFactory(org=globex.org, name="Sales")
    DepartmentAgentFactory(department=g_sales, user=globex.admin.user)
    team = TeamFactory(department=g_sales, name="Tier 1")
    TeamMember.objects.create(org=globex.org, team=team, user=globex.admin.user)
    holiday = HolidayFactory(department=g_sales)
    w = {"acme": acme, "sales": g_sales, "team": team, "holiday": holiday, "bob": globex.admin}
    before, before_acme = snapshot(globex.org), snapshot(acme.org)
    response = alice_client.post(url(name, acme, **kwargs(w)), data(w))
    assert response.status_code == 404
    assert snapshot(globex.org) == before
    assert snapshot(acme.org) == before_acme


SERVICE_CALLS: dict[str, Callable] = {
    "department_save": lambda w, actor: services.department_save(
        actor=actor, department=Department(name="Support")
    ),
    "department_set_enabled": lambda w, actor: services.department_set_enabled(
        actor=actor, department=w["sales"], enabled=False
    ),
    "department_delete": lambda w, actor: services.department_delete(
        actor=actor, department=w["sales"]
    ),
    "department_set_agents": lambda w, actor: services.department_set_agents(
        actor=actor, department=w["sales"], users=[]
    ),
    "team_save": lambda w, actor: services.team_save(
        actor=actor, team=Team(department=w["sales"], name="Tier 2"), members=[]
    ),
    "team_delete": lambda w, actor: services.team_delete(actor=actor, team=w["team"]),
    "business_hours_set": lambda w, actor: services.business_hours_set(
        actor=actor, department=w["sales"], time_zone="Asia/Tokyo", intervals=[]
    ),
    "holiday_add": lambda w, actor: services.holiday_add(
        actor=actor, department=w["sales"], date=dt.date(2030, 3, 3), name="X"
    ),
    "holiday_delete": lambda w, actor: services.holiday_delete(actor=actor, holiday=w["holiday"]),
    "holidays_import": lambda w, actor: services.holidays_import(
        actor=actor, department=w["sales"], country="JP", year=2031
    ),
}


@pytest.mark.parametrize("call", SERVICE_CALLS.values(), ids=SERVICE_CALLS.keys())
def test_dep01_dep03_services_refuse_agents(world, call):
    acme = world["acme"]
    before = snapshot(acme.org)
    with pytest.raises(PermissionDenied):
        call(world, world["bob"])
    assert snapshot(acme.org) == before


@pytest.mark.parametrize("call", SERVICE_CALLS.values(), ids=SERVICE_CALLS.keys())
def test_dep01_dep03_services_refuse_a_deactivated_admin(world, desk_app_admin, call):
    acme = world["acme"]
    desk_app_admin.status = Membership.Status.DEACTIVATED
    desk_app_admin.save()
    before = snapshot(acme.org)
    with pytest.raises(PermissionDenied):
        call(world, desk_app_admin)
    assert snapshot(acme.org) == before
