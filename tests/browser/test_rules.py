"""Browser: an admin builds a workflow rule's criteria with the condition builder (rows of
field / operator / value, AND/OR), saves it, and a new ticket that matches is changed by the
rule, its history naming the rule (TKT-09)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk.tickets.models import Ticket
from helpdesk.tickets.rules.models import WorkflowRule
from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.mark.django_db(transaction=True)
def test_tkt09_admin_builds_a_rule_with_the_condition_builder(
    live_server, new_context, static_errors, desk
):
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/setup/")
    page.get_by_role("link", name="Rules", exact=True).click()
    page.get_by_role("link", name="New workflow rule").click()

    page.get_by_label("Name", exact=True).fill("Urgent printers")
    # The builder replaces the JSON box: match any of two rows.
    expect(page.get_by_label("Criteria as JSON")).to_be_hidden()
    page.get_by_label("Match", exact=True).select_option("any")
    page.get_by_role("button", name="Add a condition").click()
    page.get_by_label("Field 1").select_option("subject")
    page.get_by_label("Operator 1").select_option("contains")
    page.get_by_label("Value 1").fill("printer")
    page.get_by_role("button", name="Add a condition").click()
    page.get_by_label("Field 2").select_option("priority")
    page.get_by_label("Operator 2").select_option("is")
    page.get_by_label("Value 2").select_option("urgent")
    page.get_by_label("Set priority").select_option("high")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rules-builder.png"), full_page=True)
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_text("Rule “Urgent printers” saved.")).to_be_visible()
    rule = WorkflowRule.objects.get(name="Urgent printers")
    assert rule.condition == {
        "any": [
            {"field": "subject", "op": "contains", "value": "printer"},
            {"field": "priority", "op": "is", "value": "urgent"},
        ]
    }
    page.screenshot(path=str(ARTIFACTS / "rules-list.png"), full_page=True)

    # The rule's edit page shows the saved rows again.
    page.get_by_role("link", name="Urgent printers").click()
    expect(page.get_by_label("Value 1")).to_have_value("printer")
    expect(page.get_by_label("Match", exact=True)).to_have_value("any")

    ticket = desk.ticket(subject="Printer jammed")
    assert Ticket.objects.get(pk=ticket.pk).priority == "high"
    page.goto(f"{live_server.url}/acme/desk/tickets/{ticket.number}/")
    expect(page.get_by_text("Rule: Urgent printers")).to_be_visible()
    assert page.evaluate("window.__cspViolations") == []


@pytest.mark.django_db(transaction=True)
def test_tkt09_agent_sets_themselves_away_from_the_dashboard(
    live_server, new_context, static_errors, desk
):
    from helpdesk.tickets.rules.models import AgentAvailability

    page = new_context().new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/desk/dashboard/")
    page.get_by_role("button", name="Available · Set me away").click()
    expect(page.get_by_role("button", name="Away · Set me available")).to_be_visible()
    assert AgentAvailability.objects.get(user=desk.agent.user).is_away
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rules-availability.png"))
