"""Browser: an agent types a reply with formatting and with hostile text in the rich-text
editor, sends it, and sees both exactly as written; the contact's mail carries it (TKT-02)."""

from __future__ import annotations

import re
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
GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)

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
    bold = page.get_by_role("button", name="Bold")
    italic = page.get_by_role("button", name="Italic")
    active = re.compile(r"\btrix-active\b")

    def toggle(button, on: bool) -> None:
        # The toolbar button, then wait for it to show the style's state before typing on:
        # a keystroke typed before Trix applied the toggle would land on the wrong side of it.
        button.click()
        (expect(button).to_have_class if on else expect(button).not_to_have_class)(active)

    toggle(bold, on=True)
    page.keyboard.type("Important")
    toggle(bold, on=False)
    page.keyboard.type(" and ")
    toggle(italic, on=True)
    page.keyboard.type("slanted")
    toggle(italic, on=False)
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


@pytest.mark.django_db(transaction=True)
def test_tkt02_image_inserted_in_the_editor_is_uploaded_and_shown_inline(
    live_server, new_context, static_errors, desk, tmp_path, settings
):
    """TKT-02: an image picked in the editor (as pasting or dropping does) is uploaded at
    once and shows inline in the sent comment; the description editor loads stored HTML;
    the toolbar speaks the agent's language."""
    settings.MEDIA_ROOT = tmp_path / "media"
    ticket = desk.ticket(
        subject="Screenshot",
        description="<p><strong>Stored</strong> text</p>",
        description_format="html",
    )
    desk.agent.user.language = "ja"
    desk.agent.user.save()
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/desk/tickets/{ticket.number}/")
    expect(page.get_by_role("button", name="太字")).to_be_visible()

    image = tmp_path / "screen.gif"
    image.write_bytes(GIF)
    page.get_by_label("非公開コメント", exact=True).check()
    page.locator("trix-editor").click()
    page.keyboard.type("画面です")
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="画像を挿入").click()
    chooser.value.set_files(str(image))
    uploaded = page.locator('trix-editor figure img[src*="/attachments/"]')
    expect(uploaded).to_have_count(1)
    page.get_by_role("button", name="送信").click()
    entry = page.locator("article.thread-entry").last
    expect(entry).to_contain_text("画面です")
    shown = entry.locator('img[src*="/attachments/"]')
    expect(shown).to_have_count(1)
    assert shown.evaluate("img => img.naturalWidth") == 1  # loaded through the checked view
    page.screenshot(path=str(ARTIFACTS / "editor-inline-image.png"), full_page=True)

    page.goto(f"{live_server.url}/acme/desk/tickets/{ticket.number}/edit/")
    editor = page.locator("trix-editor")
    expect(editor.locator("strong", has_text="Stored")).to_be_visible()
    assert page.evaluate("window.__cspViolations") == []


@pytest.mark.django_db(transaction=True)
def test_tkt02_new_ticket_description_in_the_editor_keeps_formatting_and_text(
    live_server, new_context, static_errors, desk
):
    """TKT-02: the create page's description is the editor too (without the image button:
    there is no ticket to hold an image yet); the ticket page shows what was written."""
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/desk/tickets/new/")
    page.get_by_label("Subject").fill("Editor on the create page")
    editor = page.locator("trix-editor")
    expect(editor).to_be_visible()
    expect(page.get_by_role("button", name="Insert image")).to_be_hidden()
    editor.click()
    page.get_by_role("button", name="Quote").click()
    page.keyboard.type("quoted a<b>c")
    page.get_by_role("button", name="Create ticket").click()
    description = page.locator("#description .rich")
    expect(description.locator("blockquote")).to_have_text("quoted a<b>c")
    assert page.evaluate("window.__cspViolations") == []
