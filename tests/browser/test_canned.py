"""Browser: an agent searches the canned responses from the reply box, inserts one filled in
with the ticket's values, and sends it; the thread shows it with the signature (issue 8,
item 2)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk.tickets.canned.models import CannedResponse
from helpdesk.tickets.models import Thread
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
def test_agent_inserts_a_canned_response_into_a_reply(
    live_server, new_context, static_errors, desk
):
    ticket = desk.ticket(subject="Refund <please>")
    CannedResponse.objects.create(
        org=desk.org,
        department=desk.department,
        title="Refund accepted",
        body="Dear {{contact.name}}, your refund for #{{ticket.number}} is on its way.",
    )
    CannedResponse.objects.create(
        org=desk.org, owner=desk.agent.user, title="Greeting", body="Hello {{contact.name}}!"
    )
    desk.agent.signature = "Bob\nAcme support"
    desk.agent.save(update_fields=["signature"])

    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/desk/tickets/{ticket.number}/")
    page.get_by_label("Reply", exact=True).check()

    page.get_by_test_id("canned-toggle").click()
    search = page.get_by_label("Search canned responses")
    expect(search).to_be_focused()
    expect(page.locator("[data-canned-insert]")).to_have_count(2)  # loaded on focus
    search.fill("refund")
    options = page.locator("[data-canned-insert]")
    expect(options).to_have_count(1)
    expect(options.first).to_contain_text("Refund accepted")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "canned-picker.png"), full_page=True)
    options.first.click()

    expected = f"Dear Yamada Taro, your refund for #{ticket.number} is on its way."
    composer = page.locator("#composer form")
    editor = composer.locator("trix-editor")
    box = editor if editor.count() else composer.locator("textarea[name=body]")
    expect(box).to_contain_text(expected) if editor.count() else expect(box).to_have_value(expected)
    expect(page.locator("[data-canned-picker]")).not_to_have_attribute("open", "")
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_text("Reply sent.")).to_be_visible()
    entry = page.locator("article.thread-entry").last
    expect(entry).to_contain_text(expected)
    expect(entry).to_contain_text("Acme support")
    page.screenshot(path=str(ARTIFACTS / "canned-reply-sent.png"), full_page=True)
    body = Thread.objects.for_org(desk.org).get(kind="reply").body
    assert expected in body and body.count("Acme support") == 1
    assert page.evaluate("window.__cspViolations") == []
