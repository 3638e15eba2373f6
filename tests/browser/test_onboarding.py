"""ORG-02 + ORG-06 in a real browser: sign up, invite an agent, accept the invitation in a
second browser, switch that person's UI to Japanese, and see them active in Setup → Users."""

from __future__ import annotations

import re
import time

import pytest
from django.conf import settings
from django.core import mail
from playwright.sync_api import expect

ORG_NAME = "Kitsune Foods"
PORTAL = "kitsune"
ADMIN_NAME, ADMIN_EMAIL = "Aiko Admin", "aiko@kitsune.test"
AGENT_NAME, AGENT_EMAIL = "Ren Agent", "ren@kitsune.test"
PASSWORD = "Tanuki-Lantern-8271"


def _mailed_path(to: str, pattern: str, timeout: float = 5.0) -> str:
    """The path of the link matching `pattern` mailed to `to` (locmem outbox, shared with the
    live server thread; the email is sent by an eager Celery task on commit)."""
    deadline = time.monotonic() + timeout
    while True:
        sent = [m for m in mail.outbox if to in m.to]
        if sent or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(sent) == 1, f"expected one email to {to}, outbox: " + repr(
        [(m.to, m.subject) for m in mail.outbox]
    )
    match = re.search(re.escape(settings.SITE_URL) + "(" + pattern + ")", sent[0].body)
    assert match, f"no link in the email body:\n{sent[0].body}"
    return match.group(1)


def _invitation_path(to: str) -> str:
    return _mailed_path(to, r"/[^\s\"'<>]*/invitation/[^\s\"'<>/]+/")


@pytest.mark.django_db(transaction=True)
def test_org02_org06_signup_invite_accept_and_switch_to_japanese(
    live_server, new_context, static_errors
):
    base = live_server.url
    users_url = f"{base}/{PORTAL}/setup/users/"
    desk_url = f"{base}/{PORTAL}/desk/dashboard/"  # the Desk opens on its dashboard

    # --- ORG-02: sign up (first person, first browser context) ------------------------------
    admin = new_context().new_page()
    static_errors.watch(admin)
    admin.goto(f"{base}/signup/")
    expect(admin.locator("html")).to_have_attribute("lang", "en")
    expect(admin.get_by_role("heading", name="Start your helpdesk")).to_be_visible()
    admin.get_by_label("Organization name").fill(ORG_NAME)
    admin.get_by_label("Portal name").fill(PORTAL)
    admin.get_by_label("Your name").fill(ADMIN_NAME)
    admin.get_by_label("Email").fill(ADMIN_EMAIL)
    admin.get_by_role("button", name="Sign up").click()
    expect(admin.get_by_role("heading", name="Check your email")).to_be_visible()
    # The mailed link asks for the password, then opens the desk.
    admin.goto(base + _mailed_path(ADMIN_EMAIL, r"/signup/confirm/[^\s\"'<>/]+/"))
    admin.get_by_label("Password", exact=True).fill(PASSWORD)
    admin.get_by_label("Confirm password").fill(PASSWORD)
    admin.get_by_role("button", name="Create my helpdesk").click()

    expect(admin).to_have_url(desk_url)
    expect(admin.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    expect(admin.get_by_role("status")).to_contain_text("Welcome to Madoguchi!")
    expect(admin.get_by_test_id("org-switcher")).to_have_text(ORG_NAME)
    # The stylesheet and htmx are served (static_errors also fails the test on any 404).
    # htmx is a deferred script: it has run once the page's load event fired.
    admin.wait_for_load_state("load")
    assert admin.evaluate("typeof window.htmx") == "object", "htmx did not load"
    assert admin.evaluate(
        "[...document.styleSheets].some(s => s.href && s.href.endsWith('/css/app.css')"
        " && s.cssRules.length > 0)"
    ), "app.css did not load"

    # --- ORG-06: Setup → Users → Invite a user ----------------------------------------------
    admin.get_by_role("navigation", name="Apps").get_by_role("link", name="Setup").click()
    admin.get_by_role("navigation", name="Setup").get_by_role("link", name="Users").click()
    expect(admin).to_have_url(users_url)
    admin.get_by_role("link", name="Invite a user").click()
    expect(admin).to_have_url(f"{users_url}invite/")
    admin.get_by_label("Email").fill(AGENT_EMAIL)
    admin.get_by_label("Desk", exact=True).select_option(label="Agent")
    admin.get_by_role("button", name="Send invitation").click()

    expect(admin).to_have_url(users_url)
    expect(admin.get_by_role("status")).to_contain_text(f"Invitation sent to {AGENT_EMAIL}.")
    invited_row = admin.locator("#user-rows tr").filter(has_text=AGENT_EMAIL)
    expect(invited_row.locator(".badge")).to_have_text("Invited")
    expect(invited_row.get_by_role("cell", name="Agent", exact=True)).to_be_visible()

    invitation_path = _invitation_path(AGENT_EMAIL)
    assert invitation_path.startswith(f"/{PORTAL}/invitation/")

    # --- The invited person accepts in a second browser context -----------------------------
    agent = new_context().new_page()
    static_errors.watch(agent)
    agent.goto(base + invitation_path)
    expect(agent.get_by_role("heading", name=f"Join {ORG_NAME}")).to_be_visible()
    expect(agent.get_by_text(f"This invitation is for {AGENT_EMAIL}.")).to_be_visible()
    agent.get_by_label("Your name").fill(AGENT_NAME)
    agent.get_by_label("Password", exact=True).fill(PASSWORD)
    agent.get_by_label("Confirm password").fill(PASSWORD)
    agent.get_by_role("button", name="Accept invitation").click()

    expect(agent).to_have_url(desk_url)
    expect(agent.get_by_role("status")).to_contain_text(f"You have joined {ORG_NAME}.")
    expect(agent.get_by_test_id("org-switcher")).to_have_text(ORG_NAME)
    expect(agent.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    # The select submits itself through app.js, a deferred script: it listens once the page
    # has loaded; a choice made before that would stay unsent.
    agent.wait_for_load_state("load")

    # --- ...and switches the UI to Japanese (the select submits on change) ------------------
    agent.locator("#language-select").select_option("ja")
    expect(agent.locator("html")).to_have_attribute("lang", "ja")
    expect(agent).to_have_url(desk_url)
    expect(agent.locator(".appnav a[data-nav=desk]")).to_have_text("デスク")
    expect(agent.get_by_role("heading", name="ダッシュボード", exact=True)).to_be_visible()
    agent.locator("summary.avatar").click()  # the account menu
    expect(agent.get_by_role("button", name="ログアウト")).to_be_visible()
    expect(agent.locator("#language-select")).to_have_value("ja")

    # --- Back in the first context: the new user is active ----------------------------------
    admin.reload()
    active_row = admin.locator("#user-rows tr").filter(has_text=AGENT_EMAIL)
    expect(active_row).to_contain_text(AGENT_NAME)
    expect(active_row.locator(".badge")).to_have_text("Active")
    # The admin's own UI stayed English: the language is per user, not per organization.
    expect(admin.locator("html")).to_have_attribute("lang", "en")
