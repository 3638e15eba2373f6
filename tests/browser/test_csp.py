"""Browser: the Content-Security-Policy blocks nothing of ours, and remote images in a ticket
wait for the reader (TKT-02, ORG-01).

Chromium reports every blocked script, style, image or connection as a
`securitypolicyviolation` event; the pages a person walks through must raise none, while
htmx, the menus and the composer still work (their behaviour lives in app.js, not inline)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


def _violations(page) -> list[str]:
    return page.evaluate("window.__cspViolations")


@pytest.mark.django_db(transaction=True)
def test_tkt02_pages_raise_no_csp_violation_and_remote_images_wait(
    live_server, new_context, static_errors, desk
):
    ticket = desk.ticket(
        subject="Newsletter bounced",
        description='<p>Hello <img src="https://tracker.example/p.gif" alt="tracking pixel"></p>',
        description_format="html",  # as a mail brings it in
    )
    base = live_server.url
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    console = []
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    requests = []
    page.on("request", lambda r: requests.append(r.url))

    page.goto(f"{base}/accounts/login/")
    assert _violations(page) == []
    page.get_by_label("Email").fill("bob@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()  # the SVG chart too
    assert _violations(page) == []
    page.get_by_role("link", name="All tickets").click()
    expect(page.get_by_role("heading", name="All tickets")).to_be_visible()
    # htmx is a deferred script: it has run once the page's load event fired.
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.htmx") == "object"

    # htmx still swaps (the live search), and the select-all box works without inline code.
    page.get_by_placeholder("Search subject, description and replies").fill("newsletter")
    expect(page.locator("table.tickets tbody tr")).to_have_count(1)
    page.get_by_label("Select all").check()
    expect(page.locator("input[name=tickets]").first).to_be_checked()
    assert _violations(page) == []

    # The ticket page: the remote image is held back, with a notice and a button.
    page.get_by_role("link", name="Newsletter bounced").click()
    expect(page.get_by_test_id("remote-images")).to_contain_text("1 remote image")
    assert not [u for u in requests if "tracker.example" in u]
    # The composer's kind switch (app.js) shows the forward fields, once the page's deferred
    # scripts have run (a click before them could be undone as they set the composer up).
    page.wait_for_load_state("load")
    page.get_by_label("Forward", exact=True).check()
    expect(page.get_by_label("To", exact=True)).to_be_visible()
    assert _violations(page) == []

    # Asking for the images makes the browser fetch them (this answer's policy allows it).
    page.get_by_test_id("show-images").click()
    expect(page).to_have_url(re.compile(r"images=description"))
    expect(page.get_by_test_id("remote-images-shown")).to_be_visible()
    page.wait_for_timeout(300)
    assert [u for u in requests if "tracker.example" in u]
    assert _violations(page) == []

    # The language switch submits itself (app.js) and stays on the page; "Show images" led to
    # a new page, whose deferred app.js listens once the document is parsed (not "load": that
    # waits for the remote images too, which a machine without a network may be slow to fail).
    page.wait_for_load_state("domcontentloaded")
    page.get_by_label("Language").select_option("ja")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    assert _violations(page) == []
    assert not [m for m in console if "Content Security Policy" in m], console
    assert ticket.number
