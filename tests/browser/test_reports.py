"""Browser: an admin opens Desk → Reports → Blueprint report from the dashboard, chooses the
blueprint and the period by keyboard, and reads the state chart, the tables and the stuck
tickets of a constructed history (BP-26, RPT-01); a period ending before it starts is refused
with its message; the CSV link downloads. axe finds nothing serious or critical, no CSP
violation, every static file loaded. Screenshots go to test-artifacts/."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from blueprints import services as bp
from blueprints.models import State, TransitionLog
from reports.models import StateVisit
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


def _accessible(page) -> None:
    assert serious_violations(page) == []
    assert page.evaluate("window.__cspViolations") == []


def _returns(desk):
    """The "Returns" blueprint (Open → On Hold) and two ended stays of "Open" (2 h by Bob,
    6 h by Alice), plus a ticket waiting in "Open"."""
    org = desk.org
    org.plan = "enterprise"
    org.save(update_fields=["plan"])
    desk.admin.org = org
    blueprint = bp.blueprint_save(
        actor=desk.admin,
        data=bp.BlueprintInput(name="Returns", department=desk.department),
        status="draft",
    )
    bp.state_add(actor=desk.admin, blueprint=blueprint, status=desk.status("Open"))
    bp.state_add(actor=desk.admin, blueprint=blueprint, status=desk.status("On Hold"))
    opened = State.objects.get(blueprint=blueprint, status__name="Open")
    wait = bp.transition_save(
        actor=desk.admin,
        blueprint=blueprint,
        data=bp.TransitionInput(
            name="Wait",
            to_state=State.objects.get(blueprint=blueprint, status__name="On Hold"),
            from_states=[opened],
        ),
    )
    bp.blueprint_set_status(actor=desk.admin, blueprint=blueprint, status="active")
    now = timezone.now()
    for hours, actor in ((2, desk.agent.user), (6, desk.admin.user)):
        ticket = desk.ticket(subject=f"Returned after {hours} hours")
        left = now - dt.timedelta(days=1, minutes=hours)
        StateVisit.objects.create(
            org=org,
            ticket=ticket,
            blueprint=blueprint,
            state=opened,
            department=desk.department,
            entered_at=left - dt.timedelta(hours=hours),
            left_at=left,
            seconds=hours * 3600,
            business_seconds=hours * 1800,
            by_transition=True,
            transition=wait,
            actor=actor,
        )
        TransitionLog.objects.create(
            org=org,
            ticket=ticket,
            blueprint=blueprint,
            transition=wait,
            kind="transition",
            name="Wait",
            actor=actor,
            at=left,
        )
    desk.ticket(subject="Parcel lost in the depot")
    return blueprint


@pytest.mark.django_db(transaction=True)
def test_bp26_admin_reads_the_blueprint_report(live_server, new_context, static_errors, desk):
    blueprint = _returns(desk)
    context = new_context(accept_downloads=True)
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/desk/dashboard/")
    page.get_by_role("link", name="Blueprint report").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Blueprint report", exact=True)).to_be_visible()
    _accessible(page)

    # A period that ends before it starts: refused, with the reason.
    page.get_by_label("Blueprint", exact=True).select_option(label="Returns")
    page.get_by_label("Period", exact=True).select_option("custom")
    page.get_by_label("From", exact=True).fill("2026-12-31")
    page.get_by_label("To", exact=True).fill("2026-12-01")
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_text("The period's start is after its end.")).to_be_visible()
    _accessible(page)

    page.get_by_label("Period", exact=True).select_option("30")
    page.get_by_role("button", name="Show").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Returns", exact=True)).to_be_visible()
    assert (
        page.url.endswith(
            f"/reports/blueprints/{blueprint.pk}/?period=30&date_from=2026-12-31&date_to=2026-12-01&stuck=5"
        )
        or f"/reports/blueprints/{blueprint.pk}/" in page.url
    )
    expect(page.locator("svg[data-chart='business']")).to_be_visible()
    expect(page.locator("svg[data-chart='calendar'] rect.bpr-median")).to_have_count(1)
    states = page.locator("[data-testid='bpr-states']")
    opened = states.locator("tr", has_text="Open")
    expect(opened.locator("[data-value='median']")).to_have_text("4 h 00 min")
    expect(opened.locator("[data-value='business_median']")).to_have_text("2 h 00 min")
    expect(opened.locator("[data-value='count']")).to_have_text("2")
    agents = page.locator("[data-testid='bpr-agents']")
    bob = agents.locator("tr[data-agent]", has_text="Bob")
    expect(bob.locator("[data-value='transition']")).to_have_text("Wait")
    expect(bob.locator("[data-value='median']")).to_have_text("2 h 00 min")
    stuck = page.get_by_role("link", name="Parcel lost in the depot")
    expect(stuck).to_be_visible()
    _accessible(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "blueprint-report.png"), full_page=True)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    path = download.value.path()
    text = Path(path).read_text(encoding="utf-8")
    assert text.startswith("section,name,transition,count")
    assert "state,Open,,2,4.00,4.00" in text
