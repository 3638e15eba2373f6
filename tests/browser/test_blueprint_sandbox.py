"""Browser: an admin tries a draft blueprint before publishing it (issue 12 item 4): picks a
real ticket as the template and a member to act as, sees which transitions are offered and why
the others are not, fills a during field and takes a transition; the real ticket is untouched
and no history is written. Then the versions page compares two saves. Axe finds nothing serious,
no CSP violation; screenshots in test-artifacts/blueprint-sandbox-*.png."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from blueprints import services as bp
from blueprints.models import OwnerKind
from blueprints.services import FieldInput, OwnerInput
from helpdesk.tickets.models import StatusKind, TicketHistory, TicketStatus
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
    page.screenshot(path=str(ARTIFACTS / f"blueprint-sandbox-{name}.png"), full_page=True)


def _draft(desk):
    org = desk.org
    org.plan = "enterprise"
    org.save(update_fields=["plan"])
    desk.admin.org = org
    statuses = {
        name: TicketStatus.objects.create(
            org=org, department=desk.department, name=name, kind=StatusKind.OPEN, order=30 + n
        )
        for n, name in enumerate(("Return approved", "Return rejected"))
    }
    opened = TicketStatus.objects.for_org(org).get(department=desk.department, name="Open")
    data = bp.BlueprintInput(name="Returns", department=desk.department)
    blueprint = bp.blueprint_save(actor=desk.admin, data=data, status="draft")
    states = {
        "Open": bp.state_add(actor=desk.admin, blueprint=blueprint, status=opened),
        **{
            n: bp.state_add(actor=desk.admin, blueprint=blueprint, status=s)
            for n, s in statuses.items()
        },
    }
    bp.transition_save(
        actor=desk.admin,
        blueprint=blueprint,
        data=bp.TransitionInput(
            name="Approve return",
            to_state=states["Return approved"],
            from_states=[states["Open"]],
            fields=[FieldInput(field="due_at", mandatory=True)],
        ),
    )
    bp.transition_save(
        actor=desk.admin,
        blueprint=blueprint,
        data=bp.TransitionInput(
            name="Reject return",
            to_state=states["Return rejected"],
            from_states=[states["Open"]],
            owners=[OwnerInput(kind=OwnerKind.ROLE, role="admin")],
        ),
    )
    return blueprint


@pytest.mark.django_db(transaction=True)
def test_bp_sandbox_try_a_draft_on_a_template_ticket(live_server, new_context, static_errors, desk):
    blueprint = _draft(desk)
    real = desk.ticket(actor=desk.agent)
    history = TicketHistory.objects.filter(ticket=real).count()

    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/setup/blueprints/{blueprint.pk}/process/")
    page.get_by_role("link", name="Try it").click()
    expect(page.get_by_role("heading", name="Start a trial")).to_be_visible()
    assert not serious_violations(page), serious_violations(page)

    # A real ticket as the template, Bob (an agent) acting.
    page.get_by_label("Ticket number").fill(str(real.number))
    page.get_by_label("Act as").select_option(label=desk.agent.user.display_name)
    _shot(page, "start")
    page.get_by_role("button", name="Start the trial").click()
    expect(page.locator("#sandbox-state")).to_have_text("Open")
    # Reject is not offered to Bob, and the page says why.
    reject = page.locator(".sandbox-option[data-transition='Reject return']")
    expect(reject.get_by_text("may execute this transition")).to_be_visible()
    _shot(page, "offered")
    approve = page.locator(".sandbox-option[data-transition='Approve return']")
    # The due date is mandatory: taking it without one is refused in words.
    approve.get_by_role("button", name="Take “Approve return”").click()
    expect(page.get_by_text("is required for this transition")).to_be_visible()
    approve = page.locator(".sandbox-option[data-transition='Approve return']")
    approve.get_by_label("Due date").fill("2026-12-24T10:00")
    approve.get_by_role("button", name="Take “Approve return”").click()
    expect(page.locator("#sandbox-state")).to_have_text("Return approved")
    expect(page.locator("#sandbox-steps")).to_contain_text("Approve return: Open → Return approved")
    assert not serious_violations(page), serious_violations(page)
    _shot(page, "run")

    # Nothing real changed.
    real.refresh_from_db()
    assert real.status.name == "Open" and real.due_at is None
    assert TicketHistory.objects.filter(ticket=real).count() == history

    # The versions page: the last save against the one before it.
    page.get_by_role("link", name="Versions").click()
    expect(page.locator("tr[data-version]").first).to_be_visible()
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("cell", name="Reject return")).to_be_visible()
    assert not serious_violations(page), serious_violations(page)
    _shot(page, "compare")
    assert page.evaluate("window.__cspViolations") == []
