"""Setup → SLA policies and a blueprint state's SLA (TKT-09, BP-15), through the pages: an
admin adds a policy with a level; bad input (negative or zero durations, an offset with "at",
a mail template or department of another organization) is answered with the form and a
message beside the field, and nothing is saved; agents get 403; the blueprint's states table
shows each state's SLA with a link to its form."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.tickets.mailtemplates.models import MailTemplate
from sla.models import EscalationLevel, SlaPolicy, StateSla
from tests.conftest import login

pytestmark = pytest.mark.django_db


def url(name: str, **kwargs) -> str:
    return reverse(name, kwargs={"portal": "acme", **kwargs})


def _post(sla, **overrides) -> dict[str, str]:
    data = {
        "department": str(sla.desk.department.pk),
        "priority": "urgent",
        "first_response_hours": "1",
        "resolution_days": "1",
        "resolution_hours": "2",
        "mode": "business",
        "is_active": "on",
        "resolution-1-enabled": "on",
        "resolution-1-when": "before",
        "resolution-1-offset_minutes": "30",
        "resolution-1-template": str(sla.template.pk),
        "resolution-1-notify_owner": "on",
        "resolution-1-users": [str(sla.desk.agent.user.pk)],
        "resolution-1-roles": ["admin"],
    }
    data.update(overrides)
    return data


def test_tkt09_admin_adds_a_policy_with_a_level(client, sla):
    login(client, sla.desk.admin)
    page = client.get(url("sla:policies"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "No policy: tickets of this priority are not timed." in html
    create = url("sla:policy_create", dept_id=sla.desk.department.pk)
    form = client.get(create, {"priority": "urgent"})
    assert form.status_code == 200
    assert 'value="urgent" selected' in form.content.decode()
    response = client.post(create, _post(sla))
    assert response.status_code == 302, response.content.decode()[:3000]
    policy = SlaPolicy.objects.get(org=sla.org)
    assert (policy.priority, policy.first_response_minutes, policy.resolution_minutes) == (
        "urgent",
        60,
        26 * 60,
    )
    assert policy.business_hours and policy.is_active
    level = policy.levels.get()
    assert (level.target, level.level, level.when, level.offset_minutes) == (
        "resolution",
        1,
        "before",
        30,
    )
    assert list(level.users.all()) == [sla.desk.agent.user] and level.roles == ["admin"]
    listing = client.get(response["Location"]).content.decode()
    assert "SLA policy for" in listing and "1 day 2 hours" in listing
    # The edit page shows what was saved.
    edit = client.get(url("sla:policy_edit", policy_id=policy.pk)).content.decode()
    assert 'name="resolution_days" value="1"' in edit
    assert 'name="resolution-1-offset_minutes" value="30"' in edit


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"resolution_days": "-1"}, "Use whole numbers of 0 or more."),
        (
            {"resolution_days": "0", "resolution_hours": "0", "first_response_hours": ""},
            "The resolution target must be at least one minute.",
        ),
        (
            {"resolution-1-when": "at", "resolution-1-offset_minutes": "30"},
            "A level at the due time has no offset",
        ),
        ({"resolution-1-offset_minutes": "-5"}, "Use whole numbers of 0 or more."),
        ({"resolution-1-when": "after", "resolution-1-offset_minutes": ""}, "Give the offset"),
        ({"resolution-1-template": ""}, "Choose a mail template."),
        ({"priority": "ultra"}, "Choose a priority."),
    ],
)
def test_tkt09_bad_input_shows_a_message_and_saves_nothing(client, sla, overrides, message):
    login(client, sla.desk.admin)
    response = client.post(
        url("sla:policy_create", dept_id=sla.desk.department.pk), _post(sla, **overrides)
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert message in html
    assert "The policy was not saved. Check the fields below." in html
    assert not SlaPolicy.objects.exists() and not EscalationLevel.objects.exists()


def test_org01_another_organizations_template_or_department_is_refused(client, sla, globex):
    theirs = MailTemplate.objects.create(org=globex.org, name="Theirs", subject="s", body="b")
    login(client, sla.desk.admin)
    create = url("sla:policy_create", dept_id=sla.desk.department.pk)
    response = client.post(create, _post(sla, **{"resolution-1-template": str(theirs.pk)}))
    assert response.status_code == 400
    assert "Choose a mail template of your organization." in response.content.decode()
    response = client.post(create, _post(sla, department=str(globex.department.pk)))
    assert response.status_code == 400
    assert "Choose a department of your organization." in response.content.decode()
    response = client.post(
        create, _post(sla, **{"resolution-1-users": [str(globex.admin.user.pk)]})
    )
    assert "Choose active Desk members of your organization." in response.content.decode()
    assert not SlaPolicy.objects.exists() and not EscalationLevel.objects.exists()
    # Globex's department in the URL is a 404, as a missing one.
    assert client.get(url("sla:policy_create", dept_id=globex.department.pk)).status_code == 404


def test_tkt09_a_level_that_is_off_is_ignored(client, sla):
    login(client, sla.desk.admin)
    data = _post(sla, **{"resolution-1-enabled": "", "resolution-1-offset_minutes": "-9"})
    response = client.post(url("sla:policy_create", dept_id=sla.desk.department.pk), data)
    assert response.status_code == 302
    assert not EscalationLevel.objects.exists()


def test_tkt09_policy_deleted_from_the_list(client, sla):
    policy = sla.policy(priority="low", resolution_minutes=60)
    login(client, sla.desk.admin)
    response = client.post(url("sla:policy_delete", policy_id=policy.pk))
    assert response.status_code == 302
    assert not SlaPolicy.objects.exists()


def test_org04_agents_cannot_open_sla_setup(client, sla):
    policy = sla.policy(priority="low", resolution_minutes=60)
    login(client, sla.desk.agent)
    assert client.get(url("sla:policies")).status_code == 403
    assert client.post(url("sla:policy_edit", policy_id=policy.pk), _post(sla)).status_code == 403
    assert client.post(url("sla:policy_delete", policy_id=policy.pk)).status_code == 403
    assert SlaPolicy.objects.get().resolution_minutes == 60


# --- State SLAs (BP-15) ----------------------------------------------------------------------
def test_bp15_state_sla_from_the_blueprint_states_table(client, sla, make):
    blueprint, states = make.blueprint(statuses=("Open",))
    state = states["Open"]
    login(client, sla.desk.admin)
    process = client.get(url("blueprints:process", blueprint_id=blueprint.pk)).content.decode()
    form_url = url("sla:state_sla", state_id=state.pk)
    assert "No SLA" in process and form_url in process and "Set an SLA" in process
    response = client.post(
        form_url,
        {
            "sla_hours": "4",
            "mode": "calendar",
            "state-1-enabled": "on",
            "state-1-when": "after",
            "state-1-offset_hours": "1",
            "state-1-template": str(sla.template.pk),
            "state-1-notify_manager": "on",
        },
    )
    assert response.status_code == 302
    saved = StateSla.objects.get()
    assert (saved.minutes, saved.business_hours) == (240, False)
    level = saved.levels.get()
    assert (level.when, level.offset_minutes, level.notify_manager) == ("after", 60, True)
    process = client.get(url("blueprints:process", blueprint_id=blueprint.pk)).content.decode()
    assert "4 hours in calendar hours, 1 escalation level" in process and "Edit SLA" in process
    # Bad input: nothing changes.
    response = client.post(form_url, {"sla_hours": "0", "mode": "calendar"})
    assert response.status_code == 400
    assert "The state&#x27;s SLA must be at least one minute." in response.content.decode()
    response = client.post(form_url, {"sla_hours": "", "mode": "calendar"})
    assert "Give the time a ticket may stay in this state." in response.content.decode()
    assert StateSla.objects.get().minutes == 240
    # Removed.
    assert client.post(url("sla:state_sla_delete", state_id=state.pk)).status_code == 302
    assert not StateSla.objects.exists()
