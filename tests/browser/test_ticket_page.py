"""Browser: the ticket page (TKT-01, issue 8 item 3). An admin merges two tickets; two agents
open the same ticket and each sees the other, then sees the other writing, within the
refresh. The panels the page loads after it renders (history, followers, merge, rating) arrive
and work; axe finds nothing serious. A screenshot of the ticket page is kept under
test-artifacts/."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from helpdesk.tickets.services.followers import ticket_follow
from helpdesk.tickets.services.tags import ticket_tag_add
from helpdesk.tickets.services.threads import thread_add
from tests.browser.axe import serious_violations
from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REFRESH_MS = 10_000  # the notice must be current within 10 seconds


def _sign_in(context, live_server, membership):
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill(membership.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()
    return page


@pytest.mark.django_db(transaction=True)
def test_tkt01_an_agent_merges_two_tickets(live_server, new_context, static_errors, desk):
    source = desk.ticket(subject="Printer again")
    target = desk.ticket(subject="Printer on fire")
    thread_add(actor=desk.agent, ticket=source, kind="comment", body="Paper jam in tray 2")
    ticket_tag_add(actor=desk.agent, ticket=target, name="hardware")
    ticket_follow(actor=desk.agent, ticket=target)
    page = _sign_in(new_context(viewport={"width": 1280, "height": 1000}), live_server, desk.admin)
    static_errors.watch(page)
    base = f"{live_server.url}/acme/desk/tickets/"

    page.goto(f"{base}{source.number}/")
    # Submitted with Enter: the panels that load after the page move the form down, and a
    # click aimed before they land can miss it.
    page.get_by_label("Merge this ticket into ticket #").fill(str(target.number))
    page.get_by_label("Merge this ticket into ticket #").press("Enter")
    expect(page.get_by_role("heading", name=f"Merge ticket #{source.number}")).to_be_visible()
    expect(page.get_by_text("Printer on fire")).to_be_visible()
    page.get_by_role("button", name=f"Merge into #{target.number}").click()

    expect(page).to_have_url(re.compile(rf"/tickets/{target.number}/$"))
    expect(
        page.get_by_text(f"Ticket #{source.number} was merged into this ticket.")
    ).to_be_visible()
    expect(page.get_by_text("Paper jam in tray 2")).to_be_visible()
    history = page.locator("#history-title").locator("..")
    expect(history.get_by_text("Another ticket merged in")).to_be_visible()
    # The side panels loaded after the page: the target's follower and its rating panel.
    expect(page.get_by_test_id("ticket-followers")).to_contain_text(desk.agent.user.display_name)
    expect(page.get_by_test_id("ticket-rating")).to_be_visible()
    assert serious_violations(page) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "ticket.png"), full_page=True)

    page.goto(f"{base}{source.number}/")  # the merged ticket leads to the target
    expect(page).to_have_url(re.compile(rf"/tickets/{target.number}/"))
    expect(
        page.get_by_text(f"Ticket #{source.number} was merged into #{target.number}.")
    ).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_tkt01_two_agents_on_one_ticket_see_each_other(live_server, new_context, desk):
    ticket = desk.ticket(subject="Who has this one?")
    url = f"{live_server.url}/acme/desk/tickets/{ticket.number}/"
    alice = _sign_in(new_context(), live_server, desk.admin)
    bob = _sign_in(new_context(), live_server, desk.agent)
    alice.goto(url)
    bob.goto(url)

    expect(bob.get_by_test_id("presence")).to_contain_text(
        "Acme Admin is viewing", timeout=REFRESH_MS
    )
    expect(alice.get_by_test_id("presence")).to_contain_text("Bob is viewing", timeout=REFRESH_MS)

    # The rich-text editor when it has loaded, else the plain text box (TKT-02).
    box = bob.locator(".composer trix-editor:visible, .composer textarea:visible").first
    expect(box).to_be_visible()
    box.click()
    box.type("Looking")
    expect(alice.get_by_test_id("presence")).to_contain_text(
        "Bob is writing a reply", timeout=REFRESH_MS
    )
    bob.close()  # Bob leaves: Alice's notice empties
    expect(alice.get_by_test_id("presence")).to_have_count(0, timeout=REFRESH_MS + 10_000)
