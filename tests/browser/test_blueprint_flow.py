"""Browser (Chromium): the ticket's process flowchart is drawn by Cytoscape (a canvas), the
current state is the one the accessible list marks, the path taken is listed in order, and a
click on a pending transition leads an admin to its reassignment (BP-23, BP-25, BP-14); axe
finds nothing serious. In Setup → Blueprints, dragging a row reorders the list and the order
is saved (BP-21). No CSP violation, every static file loaded. Screenshots in test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from blueprints import engine
from blueprints.models import Blueprint, OwnerKind
from blueprints.services import OwnerInput
from tests.blueprints.conftest import Maker
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


def _login(context, live_server, email):
    page = context.new_page()
    page.add_init_script(WATCH)
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username], input[type=email]").first.fill(email)
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_load_state()
    return page


@pytest.mark.django_db(transaction=True)
def test_bp23_bp14_flowchart_on_the_ticket_in_chromium(
    live_server, new_context, static_errors, desk
):
    desk.org.plan = "enterprise"
    desk.org.save(update_fields=["plan"])
    for m in (desk.admin, desk.agent, desk.restricted):
        m.org = desk.org
    make = Maker(desk)
    blueprint, states = make.blueprint(
        name="Returns",
        statuses=("Open", "Awaiting approval", "Return approved"),
        dynamic_reassignment=True,
    )
    submit = make.transition(
        blueprint,
        "Submit",
        states["Awaiting approval"],
        [states["Open"]],
        owners=[OwnerInput(kind=OwnerKind.AGENT, user_id=desk.agent.user_id)],
    )
    make.transition(
        blueprint,
        "Approve return",
        states["Return approved"],
        [states["Awaiting approval"]],
        owners=[OwnerInput(kind=OwnerKind.ROLE, role="admin")],
    )
    ticket = desk.ticket(subject="Broken kettle")
    engine.complete_transition(ticket=ticket, transition=submit, membership=desk.agent, data={})
    url = f"{live_server.url}/{desk.org.portal}/desk/tickets/{ticket.number}/"

    page = _login(new_context(), live_server, desk.admin.user.email)
    static_errors.watch(page)
    page.goto(url)
    page.get_by_role("link", name="Process flowchart").click()
    canvas = page.locator("[data-testid=bp-flow-canvas] canvas").first
    expect(canvas).to_be_attached()
    expect(page.locator("[data-testid=bp-flow-canvas]")).to_be_visible()
    # The state the chart highlights is the one the accessible list marks as current.
    drawn = page.locator("[data-testid=bp-flow-canvas]").get_attribute("data-current")
    expect(page.locator("[data-testid=bp-state-list] [aria-current=step]")).to_contain_text(
        "Awaiting approval"
    )
    assert drawn == "Awaiting approval"
    expect(page.locator("[data-testid=bp-path] li")).to_have_count(1)
    expect(page.locator("[data-testid=bp-path] li").first).to_contain_text("Submit")
    expect(page.locator("[data-testid=bp-transition-list]")).to_contain_text("Owners: role Admin")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bp-ticket-flowchart.png"), full_page=True)
    assert serious_violations(page) == []

    # A click on the pending transition in the chart: its owners, and the reassignment form.
    pending = page.evaluate(
        """() => {
            const box = document.getElementById('bp-flow-canvas').getBoundingClientRect();
            return {x: box.x, y: box.y};
        }"""
    )
    assert pending is not None
    position = page.evaluate(
        """() => {
            const cy = document.getElementById('bp-flow-canvas')._cyreg.cy;
            const edge = cy.edges('.pending').first();
            const p = edge.renderedMidpoint();
            return {x: p.x, y: p.y};
        }"""
    )
    page.mouse.click(pending["x"] + position["x"], pending["y"] + position["y"])
    expect(page.locator("#bp-flow-tip")).to_contain_text("Approve return")
    expect(page.locator("#bp-flow-tip")).to_contain_text("role Admin")
    reassign = page.locator("select[name=user]").first
    expect(reassign).to_be_focused()
    reassign.select_option(label="Ada")
    page.get_by_role("button", name="Reassign").first.click()
    expect(page.get_by_text("The transition was reassigned.")).to_be_visible()
    expect(page.locator("[data-testid=bp-flow-canvas] canvas").first).to_be_attached()
    assert page.evaluate("window.__cspViolations") == []


@pytest.mark.django_db(transaction=True)
def test_bp21_drag_a_blueprint_row_to_reorder_the_list(
    live_server, new_context, static_errors, desk
):
    desk.org.plan = "enterprise"
    desk.org.save(update_fields=["plan"])
    make = Maker(desk)
    for name in ("Alpha", "Beta", "Gamma"):
        make.blueprint(name=name, status="draft")
    page = _login(new_context(), live_server, desk.admin.user.email)
    static_errors.watch(page)
    page.goto(f"{live_server.url}/{desk.org.portal}/setup/blueprints/")
    page.locator("tr[data-blueprint=Gamma]").drag_to(
        page.locator("tr[data-blueprint=Alpha]"), target_position={"x": 20, "y": 3}
    )
    expect(page.get_by_test_id("bp-order-status")).to_have_text("The new order is saved.")
    order = list(
        Blueprint.objects.for_org(desk.org).order_by("position").values_list("name", flat=True)
    )
    assert order == ["Gamma", "Alpha", "Beta"]
    page.reload()
    names = page.locator("tr[data-blueprint]").evaluate_all(
        "rows => rows.map(r => r.dataset.blueprint)"
    )
    assert names == ["Gamma", "Alpha", "Beta"]
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bp-list-reordered.png"), full_page=True)
    assert serious_violations(page) == []
    assert page.evaluate("window.__cspViolations") == []
