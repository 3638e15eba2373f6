"""Browser: an admin sets up an SLA policy with an escalation level through Setup → SLA
policies, mostly by keyboard (TKT-09, BP-15): a zero resolution time is refused with its
message, then saved; a new ticket of that department and priority shows its time left on the
ticket page, and the SLA report draws its chart. axe finds nothing serious or critical on
these pages; no CSP violation, every static file loaded. Screenshots go to test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk.tickets.mailtemplates.models import MailTemplate
from sla.models import Clock, SlaPolicy
from tests.browser.axe import serious_violations
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


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"sla-{name}.png"), full_page=True)


def _accessible(page) -> None:
    assert serious_violations(page) == []
    assert page.evaluate("window.__cspViolations") == []


@pytest.mark.django_db(transaction=True)
def test_tkt09_bp15_admin_sets_up_a_policy_and_the_ticket_shows_its_time_left(
    live_server, new_context, static_errors, desk
):
    MailTemplate.objects.create(
        org=desk.org, name="Escalation", subject="Late: #{{ticket.number}}", body="{{ticket.link}}"
    )
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/setup/")

    # The menu entry, by keyboard.
    page.get_by_role("link", name="SLA policies", exact=True).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="SLA policies", exact=True)).to_be_visible()
    _accessible(page)
    _shot(page, "policies-empty")
    page.get_by_role("link", name="Add a policy for Medium priority").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="New SLA policy")).to_be_visible()
    expect(page.get_by_label("Priority", exact=True)).to_have_value("medium")

    # Targets: a zero resolution time first.
    resolution = page.get_by_role("group", name="Resolution within")
    resolution.get_by_label("Hours").fill("0")
    page.get_by_label("Calendar hours (around the clock)").check()
    level = page.locator("[data-level='resolution-1']")
    expect(level.get_by_label("Escalate at level 1")).to_be_hidden()  # folded while off
    level.locator("summary").focus()
    page.keyboard.press("Enter")
    level.get_by_label("Escalate at level 1").focus()
    page.keyboard.press("Space")
    level.get_by_label("When").select_option("before")
    level.get_by_label("Minutes").fill("30")
    level.get_by_label("Mail template").select_option(label="Escalation")
    level.get_by_label("The ticket's owner").check()
    page.get_by_role("button", name="Save policy").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The resolution target must be at least one minute.")).to_be_visible()
    assert not SlaPolicy.objects.exists()
    _accessible(page)
    _shot(page, "policy-error")

    resolution.get_by_label("Hours").fill("4")
    page.get_by_role("button", name="Save policy").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("SLA policy for acme, Medium priority saved.")).to_be_visible()
    row = page.locator("tr[data-priority='medium']")
    expect(row).to_contain_text("4 hours")
    expect(row).to_contain_text("Calendar hours")
    policy = SlaPolicy.objects.get()
    assert (policy.resolution_minutes, policy.business_hours) == (240, False)
    assert policy.levels.get().offset_minutes == 30
    _accessible(page)
    _shot(page, "policies")

    # A new ticket of the department and priority: its clock on the ticket page.
    ticket = desk.ticket(priority="medium")
    assert Clock.objects.filter(ticket=ticket, kind="resolution", stopped_at=None).exists()
    page.goto(f"{live_server.url}/acme/desk/tickets/{ticket.number}/")
    panel = page.locator("#sla-panel")
    expect(panel.get_by_role("heading", name="SLA")).to_be_visible()
    expect(panel.locator("[data-clock='resolution'] [data-testid='sla-left']")).to_have_text(
        re.compile(r"^3 hours 59 minutes left$|^4 hours left$")
    )
    expect(panel).to_contain_text("calendar hours")
    _accessible(page)
    _shot(page, "ticket")

    # The report, from the dashboard: the ticket's earlier clocks, two met and one missed.
    from django.utils import timezone

    for cycle, met in ((2, True), (3, True), (4, False)):
        stopped = timezone.now()
        Clock.objects.create(
            org=desk.org,
            ticket=ticket,
            kind="resolution",
            policy=policy,
            department=desk.department,
            cycle=cycle,
            target_minutes=240,
            business_hours=False,
            started_at=stopped,
            due_at=stopped,
            stopped_at=stopped,
            met=met,
            owner=desk.agent.user,
        )
    page.goto(f"{live_server.url}/acme/desk/dashboard/")
    page.get_by_role("link", name="SLA compliance").click()
    expect(page.get_by_role("heading", name="SLA compliance")).to_be_visible()
    expect(page.locator("svg[data-chart='sla']")).to_be_visible()
    agents = page.locator("[data-testid='sla-agents']")
    expect(agents.locator("tr", has_text="Bob")).to_contain_text("2 (67%)")
    expect(agents.locator("tr", has_text="Bob")).to_contain_text("1 (33%)")
    _accessible(page)
    _shot(page, "report")


@pytest.mark.django_db(transaction=True)
def test_bp15_admin_sets_a_state_sla_and_the_blueprint_bar_shows_it(
    live_server, new_context, static_errors, desk
):
    from blueprints import services as bp
    from blueprints.models import State

    org = desk.org
    org.plan = "enterprise"
    org.save(update_fields=["plan"])
    desk.admin.org = org
    MailTemplate.objects.create(org=org, name="Stuck", subject="Stuck", body="{{ticket.link}}")
    blueprint = bp.blueprint_save(
        actor=desk.admin,
        data=bp.BlueprintInput(name="Triage", department=desk.department),
        status="draft",
    )
    bp.state_add(actor=desk.admin, blueprint=blueprint, status=desk.status("Open"))
    bp.state_add(actor=desk.admin, blueprint=blueprint, status=desk.status("On Hold"))
    bp.transition_save(
        actor=desk.admin,
        blueprint=blueprint,
        data=bp.TransitionInput(
            name="Wait",
            to_state=State.objects.get(blueprint=blueprint, status__name="On Hold"),
            from_states=[State.objects.get(blueprint=blueprint, status__name="Open")],
        ),
    )
    bp.blueprint_set_status(actor=desk.admin, blueprint=blueprint, status="active")

    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/setup/blueprints/{blueprint.pk}/process/")
    row = page.locator("tr[data-state='Open']")
    expect(row).to_contain_text("No SLA")
    _accessible(page)
    row.get_by_role("link", name="Set an SLA: Open").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="SLA of the state “Open”")).to_be_visible()
    time = page.get_by_role("group", name="A ticket may stay in this state for")
    time.get_by_label("Hours").fill("2")
    page.get_by_label("Calendar hours (around the clock)").check()
    level = page.locator("[data-level='state-1']")
    level.locator("summary").click()
    level.get_by_label("Escalate at level 1").check()
    level.get_by_label("When").select_option("after")
    level.get_by_label("Minutes").fill("15")
    level.get_by_label("Mail template").select_option(label="Stuck")
    level.get_by_label("The owner's manager (“reports to”)").check()
    _accessible(page)
    _shot(page, "state-form")
    page.get_by_role("button", name="Save the state's SLA").click()
    expect(page.get_by_text("SLA of the state “Open” saved.")).to_be_visible()
    expect(row).to_contain_text("2 hours in calendar hours, 1 escalation level")
    _shot(page, "process")

    ticket = desk.ticket()
    page.goto(f"{live_server.url}/acme/desk/tickets/{ticket.number}/")
    bar = page.locator("#blueprint-bar")
    expect(bar.locator("[data-clock='state'] [data-testid='sla-left']")).to_have_text(
        re.compile(r"^1 hour 59 minutes left$|^2 hours left$")
    )
    expect(page.locator("#sla-panel [data-clock='state']")).to_contain_text("In “Open”")
    _accessible(page)
    _shot(page, "ticket-bar")
