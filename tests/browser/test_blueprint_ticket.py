"""Browser: on a ticket in a restricted-mode blueprint (BP-02, BP-23, BP-25), the agent who
owns no transition sees the bar's reasons and the flowchart but no button, the reply box is
gone, and a reply forged from the page's own session is refused; the owner completes the
transition from the dialog. No CSP violation, every static file loaded. Screenshots go to
test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from blueprints.models import OwnerKind, Restriction
from blueprints.services import OwnerInput
from helpdesk.tickets.models import Thread
from tests.blueprints.conftest import Maker
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
    return page


@pytest.mark.django_db(transaction=True)
def test_bp02_bp23_restricted_blueprint_on_the_ticket(
    live_server, new_context, static_errors, desk
):
    desk.org.plan = "enterprise"
    desk.org.save(update_fields=["plan"])
    for m in (desk.admin, desk.agent, desk.restricted):
        m.org = desk.org
    make = Maker(desk)
    blueprint, states = make.blueprint(
        name="Returns", statuses=("Open", "Return approved"), restriction=Restriction.ALL
    )
    make.transition(
        blueprint,
        "Approve return",
        states["Return approved"],
        [states["Open"]],
        owners=[OwnerInput(kind=OwnerKind.AGENT, user_id=desk.agent.user_id)],
        message="Check the receipt first.",
    )
    ticket = desk.ticket(subject="Broken kettle")
    url = f"{live_server.url}/{desk.org.portal}/desk/tickets/{ticket.number}/"

    # Rita owns nothing: reasons and the flowchart, no button, no reply box.
    page = _login(new_context(), live_server, desk.restricted.user.email)
    static_errors.watch(page)
    page.goto(url)
    expect(page.get_by_text("Blueprint: Returns")).to_be_visible()
    expect(page.locator("[data-testid=bp-transition]")).to_have_count(0)
    page.get_by_text("1 transition you cannot execute now").click()
    expect(page.get_by_text("Only Bob may execute this transition.")).to_be_visible()
    expect(page.locator("textarea[name=body]")).to_have_count(0)
    expect(page.get_by_role("link", name="Edit ticket")).to_have_count(0)
    # A reply forged with the page's own session and CSRF token is refused.
    status = page.evaluate(
        """async (u) => {
            const token = document.querySelector('[name=csrfmiddlewaretoken]')
                || {value: JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRFToken']};
            const body = new URLSearchParams({kind: 'comment', body: 'sneaky',
                csrfmiddlewaretoken: token.value});
            const r = await fetch(u + 'thread/', {method: 'POST', body});
            return r.status;
        }""",
        url,
    )
    assert status == 403
    assert not Thread.objects.filter(ticket=ticket).exists()
    page.get_by_role("link", name="Process flowchart").click()
    expect(page.locator("[data-testid=bp-flow-canvas] canvas").first).to_be_attached()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "bp-ticket-non-owner-flow.png"), full_page=True)
    assert page.evaluate("window.__cspViolations") == []

    # Bob owns it: the dialog, then the transition.
    page = _login(new_context(), live_server, desk.agent.user.email)
    static_errors.watch(page)
    page.goto(url)
    page.get_by_role("button", name="Approve return").click()
    expect(page.get_by_text("Check the receipt first.")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "bp-ticket-dialog.png"), full_page=True)
    page.locator("[data-testid=bp-complete]").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("Return approved")
    assert page.evaluate("window.__cspViolations") == []
