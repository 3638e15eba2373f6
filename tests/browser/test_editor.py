"""Browser: an agent types a reply with formatting and with hostile text in the rich-text
editor, sends it, and sees both exactly as written; the contact's mail carries it (TKT-02)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core import mail
from playwright.sync_api import expect

from helpdesk.tickets.models import Thread
from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HOSTILE = "<script>alert(1)</script> a<b>c x &amp; y 😀 日本語"

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.mark.django_db(transaction=True)
def test_tkt02_reply_with_formatting_and_hostile_text_shows_exactly_as_written(
    live_server, new_context, static_errors, desk
):
    ticket = desk.ticket(subject="Cannot sign in")
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/desk/tickets/{ticket.number}/")

    editor = page.locator("trix-editor")
    expect(editor).to_be_visible()  # the editor took over the textarea
    expect(page.locator("textarea[name=body]")).to_be_hidden()
    expect(page.get_by_role("button", name="Bold")).to_be_visible()
    page.get_by_label("Reply", exact=True).check()
    editor.click()
    page.keyboard.press("Control+b")
    page.keyboard.type("Important")
    page.keyboard.press("Control+b")
    page.keyboard.type(" and ")
    page.keyboard.press("Control+i")
    page.keyboard.type("slanted")
    page.keyboard.press("Control+i")
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Bullets").click()
    page.keyboard.type("first point")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    page.keyboard.type(HOSTILE)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "editor-composer.png"), full_page=True)
    page.get_by_role("button", name="Send").click()

    entry = page.locator("article.thread-entry").last
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    expect(entry.locator("strong", has_text="Important")).to_be_visible()
    expect(entry.locator("em", has_text="slanted")).to_be_visible()
    expect(entry.locator("li", has_text="first point")).to_be_visible()
    expect(entry).to_contain_text(HOSTILE)
    page.screenshot(path=str(ARTIFACTS / "editor-reply-sent.png"), full_page=True)
    assert dialogs == []  # the typed script never ran
    assert page.evaluate("window.__cspViolations") == []

    thread = Thread.objects.for_org(desk.org).get()
    assert "<strong>Important</strong>" in thread.body and "<script" not in thread.body
    message = mail.outbox[-1]
    assert message.to == ["taro@umbrella.test"]
    assert HOSTILE in message.body
    assert "<strong>Important</strong>" in message.alternatives[0][0]
