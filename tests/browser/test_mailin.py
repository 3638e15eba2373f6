"""Browser (TKT-07): a Japanese reply from iPhone arrives by mail; on the ticket page the new
text shows and the quoted history is folded away until the agent opens it. Setup › Incoming
email lists the held message and the ignored auto-reply, and retrying places the held one."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk.tenancy.models import Department
from helpdesk.tickets.mailin.services import ingest
from tests.factories import PASSWORD
from tests.tickets.mailin.conftest import corpus

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _login(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.django_db(transaction=True)
def test_tkt07_folded_history_and_the_held_messages_page(
    live_server, new_context, static_errors, acme, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    ticket = ingest(acme.org, corpus("iphone_reply_ja_quote.eml"), source="command").ticket
    inline = ingest(acme.org, corpus("outlook_inline_image.eml"), source="command").ticket
    ingest(acme.org, corpus("auto_reply_ooo.eml"), source="command")
    Department.objects.for_org(acme.org).update(is_enabled=False)
    ingest(acme.org, corpus("gmail_alternative.eml"), source="endpoint")
    Department.objects.for_org(acme.org).update(is_enabled=True)

    context = new_context()
    page = context.new_page()
    static_errors.watch(page)
    _login(page, live_server.url, "alice@acme.test")

    page.goto(f"{live_server.url}/acme/desk/tickets/{ticket.number}/")
    message = page.locator(".thread-entry.kind-incoming").first
    expect(message).to_contain_text("銀行振込でお願いします。")
    quoted = message.get_by_text("お支払い方法をお選びください。")
    expect(quoted).to_be_hidden()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "mailin-folded.png"), full_page=True)
    message.locator("summary").click()
    expect(quoted).to_be_visible()

    page.goto(f"{live_server.url}/acme/desk/tickets/{inline.number}/")
    image = page.locator(".thread-entry.kind-incoming img").first
    expect(image).to_have_attribute("alt", "ロゴ")
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) == 1  # it loaded
    expect(page.get_by_role("link", name="見積書.pdf")).to_be_visible()

    page.goto(f"{live_server.url}/acme/setup/mailin/")
    expect(page.get_by_role("link", name="Incoming email")).to_have_attribute(
        "aria-current", "page"
    )
    expect(page.get_by_test_id("held-row")).to_have_count(1)
    expect(page.get_by_test_id("ignored-row")).to_contain_text("auto-reply")
    page.screenshot(path=str(ARTIFACTS / "mailin-setup.png"), full_page=True)
    page.get_by_test_id("held-row").get_by_role("link").click()
    expect(page.get_by_test_id("held-reason")).to_have_text(
        "the organization has no enabled department"
    )
    page.get_by_role("button", name="Retry").click()
    expect(page.locator(".messages")).to_contain_text("The message was placed on ticket #")
    expect(page.get_by_test_id("held-row")).to_have_count(0)
