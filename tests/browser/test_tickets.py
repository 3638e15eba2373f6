"""Browser: an agent works a ticket; a restricted agent cannot reply (TKT-02, TKT-03, TKT-05,
TKT-06, ORG-04)."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from helpdesk.tickets.models import Thread
from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


@pytest.mark.django_db(transaction=True)
def test_tkt06_tkt02_agent_filters_opens_replies_with_attachment_and_sees_history(
    live_server, new_context, static_errors, desk, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    desk.ticket(subject="Low priority question", priority="low")
    desk.ticket(subject="Server is down", priority="urgent")
    desk.ticket(subject="Disk almost full", priority="high")
    base = live_server.url
    page = new_context().new_page()
    static_errors.watch(page)
    _log_in(page, base, "bob@acme.test")
    page.get_by_role("link", name="All tickets").click()  # from the dashboard
    expect(page.get_by_role("heading", name="All tickets")).to_be_visible()

    # Filter: the high-priority view, then search within it (htmx keeps the URL in step).
    page.get_by_role("link", name=re.compile("High priority")).click()
    expect(page).to_have_url(re.compile(r"view=high"))
    rows = page.locator("table.tickets tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("table.tickets")).not_to_contain_text("Low priority question")
    # The view's link led to a new page: its live search (htmx, a deferred script) listens once
    # the page has loaded; a search typed before that would ask nothing.
    page.wait_for_load_state("load")
    page.get_by_placeholder("Search subject, description and replies").fill("server")
    expect(rows).to_have_count(1)
    expect(page).to_have_url(re.compile(r"q=server"))
    page.get_by_role("link", name="Server is down").click()

    # Reply with an attachment.
    expect(page.get_by_role("heading", name="Server is down")).to_be_visible()
    # The ticket is a new page: its deferred editor.js replaces the message box with the
    # editor, and text typed while it takes over can be lost.
    page.wait_for_load_state("load")
    page.get_by_label("Reply", exact=True).check()
    page.get_by_role("textbox", name="Message").fill("We restarted the server. Log attached.")
    path = tmp_path / "restart.log"
    path.write_text("restarted at 10:00")
    page.get_by_label("Attachments").set_input_files(str(path))
    page.get_by_role("button", name="Send").click()

    expect(page.get_by_role("status")).to_contain_text("Reply sent.")
    entry = page.locator("article.thread-entry").last
    expect(entry).to_contain_text("We restarted the server. Log attached.")
    expect(entry.get_by_role("link", name=re.compile("restart.log"))).to_be_visible()
    history = page.locator("section.history")
    expect(history.locator("tr[data-action=reply]")).to_contain_text("restart.log")
    expect(history.locator("tr[data-action=created]")).to_be_visible()
    assert [m.to for m in mail.outbox] == [["taro@umbrella.test"]]

    # Change a property: the history shows before and after.
    # The properties form's (the activities panel has a Priority too).
    page.locator("#id_priority").select_option("medium")
    page.get_by_role("button", name="Save").click()
    expect(history.locator("tr[data-action=updated]")).to_contain_text("Urgent")
    expect(history.locator("tr[data-action=updated]")).to_contain_text("Medium")


@pytest.mark.django_db(transaction=True)
def test_org04_restricted_agent_sees_no_reply_and_a_forged_reply_is_refused(
    live_server, new_context, desk
):
    ticket = desk.ticket(subject="Handle with care")
    base = live_server.url
    page = new_context().new_page()
    _log_in(page, base, "rita@acme.test")
    page.goto(f"{base}/acme/desk/tickets/{ticket.number}/")
    expect(page.get_by_role("heading", name="Handle with care")).to_be_visible()
    expect(page.get_by_role("radio", name="Private comment", exact=True)).to_be_visible()
    expect(page.get_by_label("Reply", exact=True)).to_have_count(0)
    expect(page.get_by_label("Forward")).to_have_count(0)

    # A forged POST from the same signed-in page, CSRF token included.
    status = page.evaluate(
        """async (url) => {
            const token = document.querySelector('input[name=csrfmiddlewaretoken]').value;
            const body = new FormData();
            body.append('csrfmiddlewaretoken', token);
            body.append('kind', 'reply');
            body.append('body', 'forged');
            const response = await fetch(url, {method: 'POST', body});
            return response.status;
        }""",
        f"{base}/acme/desk/tickets/{ticket.number}/thread/",
    )
    assert status == 403
    assert not Thread.objects.for_org(desk.org).exists()
    assert mail.outbox == []
