"""Browser: approvals and sharing on the ticket page (TKT-04). An agent requests an approval,
the approver approves it from the pending list; the ticket is shared read-only with another
department, whose agent finds it, reads it, and has no way to reply (and a forged reply is
refused). Screenshots go to test-artifacts/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk.tickets.collab.models import Approval, ApprovalStatus
from helpdesk.tickets.models import Thread
from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _sign_in(context, live_server, membership):
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page


@pytest.mark.django_db(transaction=True)
def test_tkt04_request_an_approval_and_the_approver_approves(
    live_server, new_context, static_errors, desk
):
    ticket = desk.ticket(subject="Refund request")
    url = f"{live_server.url}/acme/desk/tickets/{ticket.number}/"
    page = _sign_in(new_context(viewport={"width": 1280, "height": 1000}), live_server, desk.agent)
    static_errors.watch(page)
    page.goto(url)
    panel = page.locator("#collab-approvals")
    panel.locator(
        "summary", has_text="Request approval"
    ).click()  # the <summary>, reachable by keyboard
    panel.get_by_label("Acme Admin").check()
    panel.get_by_label("What should be approved?").fill("Refund 30,000 yen")
    panel.get_by_role("button", name="Request approval").click()
    expect(panel.get_by_text("Approval requested.")).to_be_visible()
    expect(panel.get_by_test_id("approval-status")).to_have_text("Pending")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "collab-approval-requested.png"), full_page=True)

    admin = _sign_in(new_context(viewport={"width": 1280, "height": 1000}), live_server, desk.admin)
    admin.goto(f"{live_server.url}/acme/desk/dashboard/")
    pending = admin.locator('[data-figure="pending_approvals"]')
    expect(pending).to_contain_text("1")
    pending.click()
    admin.get_by_role("link", name=f"#{ticket.number} Refund request").click()
    approvals = admin.locator("#collab-approvals")
    approvals.get_by_label("Comment").fill("Fine by me")
    approvals.get_by_role("button", name="Approve").focus()
    admin.keyboard.press("Enter")
    expect(approvals.get_by_text("You approved it.")).to_be_visible()
    expect(approvals.get_by_test_id("approval-status")).to_have_text("Approved")
    admin.reload()  # the history is part of the page; the panel changed on its own
    history = admin.locator("#history-title").locator("..")
    expect(history.get_by_text("Approval requested")).to_be_visible()
    expect(history.get_by_text("Approved", exact=True).first).to_be_visible()
    assert Approval.objects.get().status == ApprovalStatus.APPROVED


@pytest.mark.django_db(transaction=True)
def test_tkt04_share_read_only_and_the_other_agent_cannot_reply(
    live_server, new_context, static_errors, desk
):
    ticket = desk.ticket(subject="Invoice question")
    url = f"{live_server.url}/acme/desk/tickets/{ticket.number}/"
    page = _sign_in(new_context(viewport={"width": 1280, "height": 1000}), live_server, desk.agent)
    static_errors.watch(page)
    page.goto(url)
    sharing = page.locator("#collab-sharing")
    sharing.locator("summary", has_text="Share with a department").click()
    sharing.get_by_label("Department").select_option(label="Billing")
    sharing.get_by_label("Read only").check()
    sharing.get_by_role("button", name="Share", exact=True).click()
    expect(sharing.get_by_text("Shared with Billing: Read only.")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "collab-shared.png"), full_page=True)

    ada = _sign_in(
        new_context(viewport={"width": 1280, "height": 1000}), live_server, desk.other_agent
    )
    static_errors.watch(ada)
    ada.goto(f"{live_server.url}/acme/desk/")
    ada.get_by_role("link", name="Shared with my department").click()
    ada.get_by_role("link", name="Invoice question").click()
    expect(ada.locator("#collab-sharing").get_by_test_id("my-share-level")).to_contain_text(
        "Read only"
    )
    expect(ada.locator("#composer")).to_have_count(0)
    expect(ada.get_by_role("button", name="Send")).to_have_count(0)
    ARTIFACTS.mkdir(exist_ok=True)
    ada.screenshot(path=str(ARTIFACTS / "collab-read-only.png"), full_page=True)
    # A forged reply (the form the page does not show) is refused by the server.
    token = ada.context.cookies()
    csrf = next(c["value"] for c in token if c["name"] == "csrftoken")
    answer = ada.request.post(
        f"{url}thread/",
        form={"kind": "reply", "body": "Hello"},
        headers={"X-CSRFToken": csrf, "Referer": url},
    )
    assert answer.status == 403
    assert "read-only" in answer.text()
    assert not Thread.objects.filter(ticket=ticket).exists()
