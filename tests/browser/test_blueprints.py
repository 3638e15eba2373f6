"""Browser: an admin configures a three-state blueprint through the Setup forms, by keyboard
where it matters (BP-01, BP-05, BP-08, BP-09, BP-21, BP-24); an agent then completes a
transition that needs a field and a comment on the ticket (BP-25). No CSP violation, every
static file loaded. Screenshots of each page go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from blueprints.models import (
    Blueprint,
    BlueprintStatus,
    TicketBlueprint,
    Transition,
    TransitionField,
)
from helpdesk.tickets.models import CustomField, StatusKind, TicketStatus
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
    page.screenshot(path=str(ARTIFACTS / f"blueprints-{name}.png"), full_page=True)


@pytest.mark.django_db(transaction=True)
def test_bp01_admin_configures_a_three_state_blueprint_through_the_forms(
    live_server, new_context, static_errors, desk
):
    org = desk.org
    org.plan = "enterprise"
    org.save(update_fields=["plan"])
    for name in ("Awaiting approval", "Approved"):
        TicketStatus.objects.create(
            org=org, department=desk.department, name=name, kind=StatusKind.OPEN, order=30
        )
    CustomField.objects.create(
        org=org, department=desk.department, label="Meal preference", key="meal", type="text"
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
    page.get_by_role("link", name="Blueprints", exact=True).click()
    expect(page.get_by_role("heading", name="Blueprints", exact=True)).to_be_visible()

    # 1. The blueprint's information, saved as a draft.
    page.get_by_role("link", name="New blueprint in").click()
    page.get_by_label("Name", exact=True).fill("Approval")
    page.get_by_label("Description").fill("Manager approval of expensive requests")
    expect(page.get_by_label("Criteria as JSON")).to_be_hidden()  # the builder replaces it
    page.get_by_label("Tickets that match the criteria").check()
    page.get_by_role("button", name="Add a condition").click()
    page.get_by_label("Field 1", exact=True).select_option("priority")
    page.get_by_label("Operator 1", exact=True).select_option("is")
    page.get_by_label("Value 1", exact=True).select_option("high")
    page.get_by_label("Restricted mode").select_option("specific")
    page.get_by_label("Reply, forward and comment").check()
    _shot(page, "form")
    page.get_by_role("button", name="Save draft", exact=True).click()
    expect(page.get_by_role("heading", name="States", exact=True)).to_be_visible()
    blueprint = Blueprint.objects.for_org(org).get(name="Approval")
    assert blueprint.status == BlueprintStatus.DRAFT
    assert blueprint.criteria == {"all": [{"field": "priority", "op": "is", "value": "high"}]}

    # 2. Three states from the department's statuses.
    for name in ("Open", "Awaiting approval", "Approved"):
        page.get_by_label(name, exact=True).check()
    page.get_by_role("button", name="Add states").click()
    expect(page.locator("[data-state]")).to_have_count(3)

    # 3. "Send for approval": a mandatory field and a comment, in the window.
    page.get_by_role("link", name="New transition").click()
    page.get_by_label("Name", exact=True).fill("Send for approval")
    page.locator("#id_from_states").get_by_label("Open", exact=True).check()
    page.get_by_label("To state").select_option(label="Awaiting approval")
    page.locator("[data-row='1']").get_by_label("Field", exact=True).select_option(
        label="Meal preference"
    )
    page.get_by_label("Step 1").select_option("comment")
    page.get_by_label("Message to the owner").fill("Write why the request needs approval.")
    _shot(page, "transition")
    page.get_by_role("button", name="Save transition").click()
    expect(page.locator("[data-transition='Send for approval']")).to_be_visible()

    # 4. "Approve", with a message over 255 characters first: refused, nothing saved.
    page.get_by_role("link", name="New transition").click()
    page.get_by_label("Name", exact=True).fill("Approve")
    page.locator("#id_from_states").get_by_label("Awaiting approval", exact=True).check()
    page.get_by_label("To state").select_option(label="Approved")
    page.get_by_label("Message to the owner").fill("x" * 256)
    page.get_by_role("button", name="Save transition").click()
    expect(page.get_by_text("The message has 256 characters; use at most 255.")).to_be_visible()
    assert not Transition.objects.for_org(org).filter(name="Approve").exists()
    _shot(page, "transition-error")
    page.get_by_label("Message to the owner").fill("Approve only within budget.")
    page.get_by_role("button", name="Save transition").click()
    expect(page.locator("[data-transition='Approve']")).to_be_visible()
    _shot(page, "process")

    # 5. Activate: live at once (BP-24).
    page.get_by_role("button", name="Activate").click()
    expect(page.get_by_text("is active: it applies to tickets now")).to_be_visible()
    blueprint.refresh_from_db()
    assert blueprint.status == BlueprintStatus.ACTIVE
    send = Transition.objects.for_org(org).get(name="Send for approval")
    assert TransitionField.objects.for_org(org).get(transition=send).field == "cf.meal"

    # 6. Bob, the ticket's owner, completes "Send for approval": it needs the meal preference
    #    and a comment written inside the transition (BP-08, BP-09, BP-25).
    ticket = desk.ticket(subject="Flight to Osaka", priority="high", owner=desk.agent.user)
    instance = TicketBlueprint.objects.for_org(org).get(ticket=ticket)
    assert instance.blueprint_id == blueprint.pk
    agent = new_context().new_page()
    static_errors.watch(agent)
    agent.goto(f"{live_server.url}/accounts/login/")
    agent.get_by_label("Email").fill("bob@acme.test")
    agent.get_by_label("Password").fill(PASSWORD)
    agent.get_by_role("button", name="Log in").click()
    agent.goto(f"{live_server.url}/acme/desk/tickets/{ticket.number}/")
    agent.get_by_role("button", name="Send for approval").click()
    # The button opens the transition's window and its dialog.
    expect(agent.get_by_text("Write why the request needs approval.")).to_be_visible()
    agent.locator("#bp-entry-body").fill("The customer flies business class.")
    agent.get_by_role("button", name="Add to the ticket").click()
    expect(agent.locator(".bp-actions .bp-done")).to_have_count(1)
    agent.locator(".bp-complete").get_by_label("Meal preference").fill("Vegetarian")
    _shot(agent, "agent-dialog")
    agent.get_by_role("button", name="Complete “Send for approval”").click()
    expect(agent.get_by_test_id("bp-state")).to_have_text("Awaiting approval")
    ticket.refresh_from_db()
    assert ticket.status.name == "Awaiting approval"
    assert ticket.custom_fields.get("meal") == "Vegetarian"

    # 7. A second blueprint, moved first with the keyboard (BP-21).
    page.goto(f"{live_server.url}/acme/setup/blueprints/")
    page.get_by_role("link", name="New blueprint in").click()
    page.get_by_label("Name", exact=True).fill("Returns")
    page.get_by_role("button", name="Save draft and leave").click()
    rows = page.locator("tr[data-blueprint]")
    expect(rows).to_have_count(2)
    page.get_by_role("button", name="Move Returns up").focus()
    page.keyboard.press("Enter")
    expect(rows.first).to_have_attribute("data-blueprint", "Returns")
    _shot(page, "list")
    # Delete opens a confirmation (keyboard: Enter on the summary).
    rows.first.get_by_text("Delete", exact=True).focus()
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Delete for good").click()
    expect(rows).to_have_count(1)
    assert page.evaluate("window.__cspViolations") == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.browser_context_args(locale="ja-JP")
def test_bp01_the_settings_pages_in_japanese(live_server, new_context, static_errors, desk):
    """A Japanese admin reads the list and the transition form in Japanese (screenshots)."""
    org = desk.org
    org.plan = "enterprise"
    org.save(update_fields=["plan"])
    desk.admin.user.language = "ja"
    desk.admin.user.save(update_fields=["language"])
    from blueprints import services as bp

    blueprint = bp.blueprint_save(
        actor=desk.admin,
        data=bp.BlueprintInput(name="承認プロセス", department=desk.department),
        status="draft",
    )
    for status in TicketStatus.objects.for_org(org).filter(department=desk.department)[:2]:
        bp.state_add(actor=desk.admin, blueprint=blueprint, status=status)
    page = new_context().new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username], input[type=email]").first.fill("alice@acme.test")
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.goto(f"{live_server.url}/acme/setup/blueprints/")
    expect(page.get_by_role("heading", name="ブループリント", exact=True)).to_be_visible()
    expect(page.get_by_role("link", name="状態と遷移")).to_be_visible()
    _shot(page, "list-ja")
    page.get_by_role("link", name="状態と遷移").click()
    page.get_by_role("link", name="新しい遷移").click()
    expect(page.get_by_role("heading", name="遷移前")).to_be_visible()
    _shot(page, "transition-ja")
