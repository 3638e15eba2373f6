"""TKT-09: Setup → Rules: create, edit, reorder, enable, delete, with clear validation; round
robin and availability; only Desk admins; condition parse errors."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import ValidationError

from helpdesk.tickets.conditions import ConditionError, parse, schema_for
from helpdesk.tickets.models import CustomField
from helpdesk.tickets.rules.models import (
    AgentAvailability,
    AssignmentRule,
    RoundRobin,
    WorkflowRule,
)
from helpdesk.tickets.rules.services import rule_save
from tests.conftest import login


def _errors(desk, data) -> list[str]:
    with pytest.raises(ConditionError) as exc:
        parse(data, schema=schema_for(desk.org), org=desk.org)
    return exc.value.messages


@pytest.mark.django_db
def test_tkt09_parse_errors_say_what_is_wrong(desk, globex):
    CustomField.objects.create(
        org=desk.org, department=desk.department, label="Size", key="size", type="number"
    )
    assert _errors(desk, {"field": "mood", "op": "is", "value": "x"}) == ["Unknown field “mood”."]
    (message,) = _errors(desk, {"field": "priority", "op": "contains", "value": "hi"})
    assert message.startswith("Priority: the operator “contains” does not apply; use one of:")
    assert _errors(desk, {"field": "priority", "op": "is", "value": "ultra"}) == [
        "Priority is: choose one of: Low, Medium, High, Urgent."
    ]
    assert _errors(desk, {"field": "cf.size", "op": "gt", "value": "big"}) == [
        "Size more than: enter a number."
    ]
    assert _errors(
        desk, {"field": "due_at", "op": "within_last", "value": {"amount": 0, "unit": "weeks"}}
    ) == ["Due date within the last: the amount must be a whole number from 1 to 3650."]
    assert _errors(
        desk, {"field": "created_at", "op": "between", "value": ["2026-02-01", "2026-01-01"]}
    ) == ["Created between: the first value must not be after the second."]
    other = globex.department
    assert _errors(desk, {"field": "department", "op": "is", "value": other.pk}) == [
        f"Department: there is no such record ({other.pk})."
    ]
    # Every problem at once, in a nested group.
    both = _errors(
        desk,
        {"any": [{"field": "x", "op": "is", "value": 1}, {"all": [{"field": "tags", "op": "is"}]}]},
    )
    assert len(both) == 2
    assert _errors(desk, {"all": [{"any": []}]}) == [
        "A group is empty: add a condition to it or remove it."
    ]


@pytest.mark.django_db
def test_tkt09_rule_save_validates_targets_and_updates(desk):
    rule = WorkflowRule(org=desk.org, name="x", field_updates={"status": 1, "cf.size": "1"})
    with pytest.raises(ValidationError) as exc:
        rule_save(actor=desk.admin, rule=rule, condition={})
    errors = exc.value.message_dict
    assert errors["set_status"] == ["Choose a department first, then one of its statuses."]
    assert "custom_updates" in errors
    assert WorkflowRule.objects.count() == 0
    rule = AssignmentRule(org=desk.org, name="y", to_owner=desk.other_agent.user)
    with pytest.raises(ValidationError) as exc:
        rule_save(actor=desk.admin, rule=rule, condition={})
    assert "to_department" in exc.value.message_dict


@pytest.mark.django_db
def test_tkt09_admin_creates_a_workflow_rule_with_criteria_and_mail(desk, client):
    login(client, desk.admin)
    assert client.get("/acme/setup/rules/workflow/new/").status_code == 200
    data = {
        "name": "High to on hold",
        "department": desk.department.pk,
        "trigger": "create",
        "condition_json": json.dumps({"all": [{"field": "priority", "op": "is", "value": "high"}]}),
        "set_status": desk.status("On Hold").pk,
        "notify": ["contact"],
        "notify_addresses_text": "boss@acme.test",
        "mail_subject": "#{{ticket.number}} is on hold",
        "mail_body": "Hello {{contact.name}}",
    }
    response = client.post("/acme/setup/rules/workflow/new/", data)
    assert response.status_code == 302, response.content.decode()
    rule = WorkflowRule.objects.get()
    assert rule.field_updates == {"status": desk.status("On Hold").pk}
    assert rule.notify_addresses == ["boss@acme.test"]
    page = client.get("/acme/setup/rules/").content.decode()
    assert "High to on hold" in page and "Rules" in page


@pytest.mark.django_db
def test_tkt09_bad_input_is_shown_on_the_form_and_nothing_is_saved(desk, client):
    login(client, desk.admin)
    data = {
        "name": "Broken",
        "trigger": "field",
        "condition_json": '{"field": "priority", "op": "is", "value": "ultra"}',
        "set_priority": "high",
        "notify": ["owner"],
        "notify_addresses_text": "not-an-address",
        "mail_subject": "{{ticket.nope}}",
        "mail_body": "",
    }
    response = client.post("/acme/setup/rules/workflow/new/", data)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Priority is: choose one of: Low, Medium, High, Urgent." in page
    assert "Choose the field that changes." in page
    assert "“not-an-address” is not a valid mail address." in page
    assert "Unknown placeholder" in page
    assert "Enter the mail&#x27;s text." in page
    response = client.post(
        "/acme/setup/rules/workflow/new/", {**data, "condition_json": "{not json"}
    )
    assert "The criteria are not valid JSON." in response.content.decode()
    assert WorkflowRule.objects.count() == 0


@pytest.mark.django_db
def test_tkt09_reorder_enable_and_delete(desk, client, make_rule):
    login(client, desk.admin)
    first = make_rule(AssignmentRule, name="First", to_department=desk.department)
    second = make_rule(AssignmentRule, name="Second", to_department=desk.department)
    url = f"/acme/setup/rules/assignment/{second.pk}/action/"
    assert client.post(url, {"action": "up"}).status_code == 302
    names = list(AssignmentRule.objects.order_by("order").values_list("name", flat=True))
    assert names == ["Second", "First"]
    client.post(url, {"action": "disable"})
    second.refresh_from_db()
    assert not second.is_enabled
    client.post(f"/acme/setup/rules/assignment/{first.pk}/action/", {"action": "delete"})
    assert list(AssignmentRule.objects.values_list("name", flat=True)) == ["Second"]


@pytest.mark.django_db
def test_tkt09_round_robin_and_availability_pages(desk, client):
    login(client, desk.admin)
    client.post(f"/acme/setup/rules/round-robin/{desk.department.pk}/", {"enabled": "1"})
    assert RoundRobin.objects.get(department=desk.department).is_enabled
    client.post(f"/acme/setup/rules/availability/{desk.agent.pk}/", {"away": "1"})
    assert AgentAvailability.objects.get(user=desk.agent.user).is_away
    page = client.get("/acme/setup/rules/").content.decode()
    assert "Mark Bob available" in page
    # The agent sets their own.
    login(client, desk.agent)
    response = client.post("/acme/desk/availability/", {"away": "0"})
    assert response.status_code == 302
    assert not AgentAvailability.objects.get(user=desk.agent.user).is_away
    assert "Set me away" in client.get("/acme/desk/availability/").content.decode()


@pytest.mark.django_db
def test_tkt09_only_desk_admins_configure_rules(desk, client, make_rule):
    rule = make_rule(AssignmentRule, to_department=desk.department)
    login(client, desk.agent)
    assert client.get("/acme/setup/rules/").status_code in (403, 404)
    response = client.post(f"/acme/setup/rules/assignment/{rule.pk}/action/", {"action": "delete"})
    assert response.status_code in (403, 404)
    assert client.post(
        f"/acme/setup/rules/availability/{desk.admin.pk}/", {"away": "1"}
    ).status_code in (403, 404)
    assert AssignmentRule.objects.filter(pk=rule.pk).exists()
