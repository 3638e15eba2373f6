"""Browser (TKT-07): a Desk admin finds IMAP mailboxes in the Setup menu, adds one with a wrong
password, sees "Test connection" say so, types the right one and sees it connect; the tests'
own dovecot is the server."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk.tickets.imap import crypto
from helpdesk.tickets.imap.models import Mailbox
from tests.factories import PASSWORD
from tests.tickets.imap.conftest import dovecot  # noqa: F401 - the session's IMAP server

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.mark.django_db(transaction=True)
def test_tkt07_admin_sets_up_a_mailbox_and_tests_it(
    live_server,
    new_context,
    static_errors,
    acme,
    dovecot,  # noqa: F811
    settings,
):
    settings.IMAP_ALLOW_PRIVATE_HOSTS = True
    username, password = dovecot.add_user()
    page = new_context().new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.locator("#id_password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/setup/")
    page.get_by_role("navigation", name="Setup").get_by_role("link", name="IMAP mailboxes").click()
    expect(page.get_by_role("heading", name="IMAP mailboxes")).to_be_visible()
    page.get_by_role("link", name="New mailbox").click()

    page.locator("#id_host").fill(dovecot.host)
    page.locator("#id_port").fill(str(dovecot.port))
    page.locator("#id_security").select_option("none")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill("not the password")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("saved.")).to_be_visible()

    row = page.locator("tr", has_text=username)
    row.get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("The server refused the user name or password.")).to_be_visible()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "imap_mailboxes_error.png"), full_page=True)

    page.get_by_role("link", name=username).click()
    expect(page.get_by_text("Leave blank to keep the saved password.")).to_be_visible()
    expect(page.locator("#id_password")).to_have_value("")  # never shown back
    page.locator("#id_password").fill(password)
    page.screenshot(path=str(ARTIFACTS / "imap_mailbox_form.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    page.locator("tr", has_text=username).get_by_role("button", name="Test connection").click()
    expect(page.get_by_text("Connected: the folder “INBOX” has 0 messages.")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "imap_mailboxes.png"), full_page=True)

    mailbox = Mailbox.objects.for_org(acme.org).get()
    assert crypto.decrypt(mailbox.password_encrypted) == password
