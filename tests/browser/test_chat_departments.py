"""Browser: a chat supervisor edits a chat department whose settings save as soon as they
change (CHAT-05): the name, the type, an operator, an email setting refused with the bad
address named and then saved; the page shows them after a reload. axe finds nothing serious
and the Content-Security-Policy is never violated."""

from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from chat.models import ChatDepartment, EmailSetting
from tests.browser.axe import serious_violations
from tests.conftest import _signup
from tests.factories import PASSWORD, MembershipFactory, UserFactory

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def _clean(page) -> None:
    assert serious_violations(page) == [], page.url
    assert page.evaluate("window.__cspViolations") == [], page.url


@pytest.mark.django_db(transaction=True)
def test_chat05_department_settings_save_as_they_change(live_server, new_context, static_errors):
    acme = _signup("Acme", "acme", "alice@acme.test")
    MembershipFactory(
        org=acme.org,
        user=UserFactory(email="olga@acme.test", full_name="Olga Operator"),
        desk_role="",
        chat_role="operator",
    )
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()

    page.goto(f"{live_server.url}/acme/chat/")
    page.get_by_role("navigation", name="Chat").get_by_role("link", name="Departments").click()
    _clean(page)
    page.get_by_role("link", name="acme").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("acme")
    _clean(page)
    # The settings save through htmx (a deferred script): it listens once the page has loaded;
    # a field left before that would send nothing.
    page.wait_for_load_state("load")

    # The name saves when the field is left; the heading follows.
    page.get_by_label("Name", exact=True).fill("Support <JP>")
    page.keyboard.press("Tab")
    expect(page.get_by_test_id("saved-name")).to_have_text("Saved")
    expect(page.get_by_role("heading", level=1)).to_have_text("Support <JP>")

    # An operator is added from the list of chat members.
    page.get_by_label("Add an operator").select_option(label="Olga Operator <olga@acme.test>")
    page.get_by_role("button", name="Add operator").click()
    expect(page.get_by_test_id("saved-operators")).to_have_text("Operator added.")
    expect(page.locator('[data-operator="olga@acme.test"]')).to_be_visible()

    # An email setting: a bad address is named and nothing is saved; then a good one.
    addresses = page.get_by_label("Transcript when a chat ends", exact=True)
    addresses.fill("boss@acme.test, bad")
    page.keyboard.press("Tab")
    expect(page.locator("#mail-transcript")).to_contain_text("“bad” is not a valid email address.")
    assert EmailSetting.objects.for_org(acme.org).get(kind="transcript").addresses == []
    page.get_by_label("Transcript when a chat ends", exact=True).fill("boss@acme.test")
    page.get_by_role("switch", name="Transcript when a chat ends: on or off").check()
    expect(page.get_by_test_id("saved-mail-transcript")).to_have_text("Saved")
    _clean(page)
    if os.environ.get("CHAT_SCREENSHOT"):
        page.screenshot(path=os.environ["CHAT_SCREENSHOT"], full_page=True)

    # Private: the embed code goes away at once.
    page.get_by_label("Private").check()
    expect(page.get_by_test_id("embed-private")).to_be_visible()

    page.reload()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Support <JP>")
    expect(page.get_by_label("Private")).to_be_checked()
    expect(page.get_by_label("Transcript when a chat ends", exact=True)).to_have_value(
        "boss@acme.test"
    )
    department = ChatDepartment.objects.for_org(acme.org).get()
    assert (department.name, department.visibility) == ("Support <JP>", "private")
    setting = EmailSetting.objects.for_org(acme.org).get(kind="transcript")
    assert setting.is_enabled and setting.addresses == ["boss@acme.test"]
