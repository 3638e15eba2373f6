"""Browser: an admin writes a mail template (a preview on the newest ticket, then saves it) and
an email after-action that sends it, through the Setup forms with the keyboard; a ticket whose
transition's webhook was refused shows the failure on its blueprint bar (BP-11)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from blueprints import engine
from blueprints.actions.services import after_action_save
from blueprints.models import AfterAction, AfterActionRun
from helpdesk.tickets.mailtemplates.models import MailTemplate
from tests.blueprints.conftest import Maker, enterprise  # noqa: F401 - reused fixture
from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.django_db(transaction=True)
def test_bp11_admin_writes_a_template_and_an_action_and_sees_a_failure_on_the_ticket(
    live_server,
    new_context,
    static_errors,
    enterprise,  # noqa: F811
):
    desk = enterprise
    make = Maker(desk)
    ticket = desk.ticket(subject="Refund <please>")
    page = new_context().new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/acme/setup/")
    page.get_by_role("link", name="Mail templates").click()
    page.get_by_role("link", name="New mail template").click()
    page.get_by_label("Name").fill("Refund approved")
    page.get_by_label("Subject").fill("#{{ticket.number}} {{ticket.subject}}: {{blueprint.state}}")
    page.get_by_label("Body").fill("Dear {{contact.name}},\n\nApproved.\n{{ticket.url}}")
    page.get_by_role("button", name="Preview").press("Enter")
    preview = page.locator("#mail-preview-title").locator("..")
    expect(preview).to_contain_text(f"#{ticket.number} Refund <please>: Open")
    expect(preview).to_contain_text("Dear Yamada Taro,")
    page.screenshot(path=str(ARTIFACTS / "bp11_mail_template_preview.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="Refund approved", exact=True)).to_be_visible()
    assert MailTemplate.objects.filter(org=desk.org, name="Refund approved").exists()

    page.get_by_role("link", name="After-actions").click()
    page.get_by_role("link", name="New: Email notification").click()
    page.get_by_label("Name").fill("Tell the customer")
    page.get_by_label("Department").select_option(label=desk.department.name)
    page.get_by_label("Mail template").select_option(label="Refund approved")
    page.get_by_label("The ticket's contact").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("cell", name="Tell the customer", exact=True)).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "bp11_after_actions.png"), full_page=True)
    page.get_by_role("link", name="Tell the customer").click()
    expect(page.get_by_label("The ticket's contact")).to_be_checked()
    page.screenshot(path=str(ARTIFACTS / "bp11_email_action_form.png"), full_page=True)
    page.get_by_role("link", name="After-actions").first.click()
    page.get_by_role("link", name="New: Field update").click()
    page.get_by_label("Name").fill("Escalate")
    page.get_by_label("Department").select_option(label=desk.department.name)
    page.get_by_label("Set custom fields").fill("{broken")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("This is not valid JSON")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "bp11_field_update_error.png"), full_page=True)

    hook = after_action_save(
        actor=desk.admin,
        action=AfterAction(
            org=desk.org,
            department=desk.department,
            name="Notify ERP",
            type="webhook",
            config={"url": "http://10.0.0.8/hook"},
        ),
    )
    blueprint, states = make.blueprint(statuses=("Open", "Approved"))
    approve = make.transition(
        blueprint, "Approve", states["Approved"], [states["Open"]], after_actions=[hook]
    )
    other = desk.ticket(subject="Second")
    engine.complete_transition(ticket=other, transition=approve, membership=desk.admin)
    assert AfterActionRun.objects.get(ticket=other).status == "failed"

    page.goto(f"{live_server.url}/acme/desk/tickets/{other.number}/")
    failures = page.get_by_test_id("bp-action-failures")
    expect(failures).to_contain_text("Notify ERP")
    expect(failures).to_contain_text("not a public address")
    expect(page.get_by_test_id("bp-state")).to_have_text("Approved")
    page.screenshot(path=str(ARTIFACTS / "bp11_failure_on_ticket.png"), full_page=True)
