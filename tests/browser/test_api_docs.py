"""Browser: a member creates an API token in My profile (shown once, copied with the copy
button), follows the link to the API reference, and Swagger UI (vendored, no CDN) renders the
portal's operations under the page's Content-Security-Policy (issue 16, items 2 and 5)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from api.models import ApiToken
from tests.factories import PASSWORD

WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.mark.django_db(transaction=True)
def test_api05_token_then_reference_page(live_server, new_context, static_errors, acme):
    context = new_context()
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    outside = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live_server.url) else None,
    )
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/profile/")

    section = page.get_by_test_id("api-tokens")
    section.get_by_label("Token name").fill("Nightly report")
    section.get_by_label("Read and write").check()
    section.get_by_role("button", name="Create token").click()
    shown = page.get_by_role("textbox", name="API token")
    assert shown.input_value().startswith(ApiToken.objects.get().prefix)
    # The token page is a new page: its copy button works once its deferred script (the
    # click listener in api-tokens.js) has run, by the load event.
    page.wait_for_load_state("load")
    page.get_by_role("button", name="Copy").click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()

    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.get_by_role("link", name="API reference").first.click()
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible(timeout=15000)
    expect(page.locator(".swagger-ui")).to_contain_text("/acme/api/v1/tickets")
    assert page.evaluate("window.__cspViolations") == []
    assert errors == []
    assert outside == [], outside
