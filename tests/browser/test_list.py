"""Browser: the list's columns and saved views (TKT-06), its layout with long Japanese text,
and the keyboard shortcuts (issue 8, item 7)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log in")).to_have_count(0)


def _headers(page) -> list[str]:
    return page.locator("table.tickets thead th[scope=col]").all_text_contents()


@pytest.mark.django_db(transaction=True)
def test_tkt06_saved_view_with_chosen_columns_is_there_after_signing_in_again(
    live_server, new_context, static_errors, desk
):
    desk.ticket(subject="Invoice missing", priority="high")
    desk.ticket(subject="Invoice copy", priority="low")
    desk.ticket(subject="Printer on fire", priority="high")
    base = live_server.url
    context = new_context()
    page = context.new_page()
    static_errors.watch(page)
    _log_in(page, base, "bob@acme.test")
    page.goto(f"{base}/acme/desk/")

    # Columns: drop Contact and Department, show Last activity, move it before Subject.
    page.get_by_text("Columns", exact=True).click()
    page.get_by_role("checkbox", name="Contact", exact=True).uncheck()
    page.get_by_role("checkbox", name="Department", exact=True).uncheck()
    page.get_by_role("checkbox", name="Last activity", exact=True).check()
    page.get_by_role("button", name="Save columns").click()
    expect(page.get_by_text("Columns saved.")).to_be_visible()
    assert "Last activity" in _headers(page) and "Contact" not in _headers(page)
    for _ in range(7):  # from last to first, one step at a time
        page.get_by_role("button", name="Move Last activity up").click()
    # Each move is a plain post: the list is a new page, whose live search (htmx, a deferred
    # script) listens once it has loaded; a search typed before that would ask nothing.
    page.wait_for_load_state("load")
    assert _headers(page)[0] == "Last activity"

    # Filter and search, then save the view for the department.
    page.get_by_role("searchbox", name="Search").fill("invoice")
    expect(page.locator("table.tickets tbody tr")).to_have_count(2)
    page.get_by_text("Filters", exact=True).click()
    page.get_by_role("combobox", name="Priority", exact=True).select_option("high")
    expect(page.locator("table.tickets tbody tr")).to_have_count(1)
    page.get_by_text("Save view", exact=True).click()
    page.get_by_label("Name", exact=True).fill("Urgent invoices")
    page.get_by_label("Visible to").select_option(label=f"Department {desk.department.name}")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("heading", name="Urgent invoices")).to_be_visible()

    # Sign out, sign in again: the view is in the sidebar and opens with its columns.
    page.locator("summary.avatar").click()
    page.get_by_role("button", name="Log out").click()
    context.clear_cookies()
    _log_in(page, base, "bob@acme.test")
    page.goto(f"{base}/acme/desk/")
    page.get_by_role("link", name=re.compile("Urgent invoices")).click()
    expect(page.get_by_role("heading", name="Urgent invoices")).to_be_visible()
    rows = page.locator("table.tickets tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Invoice missing")
    assert _headers(page)[0] == "Last activity"
    assert "Contact" not in _headers(page)
    # A colleague of the same department finds it too.
    page.locator("summary.avatar").click()
    page.get_by_role("button", name="Log out").click()
    _log_in(page, base, "rita@acme.test")
    page.goto(f"{base}/acme/desk/")
    expect(page.get_by_role("link", name=re.compile("Urgent invoices"))).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_tkt06_list_keeps_headers_on_one_line_and_long_words_inside_the_page(
    live_server, new_context, static_errors, desk
):
    from helpdesk.tenancy.models import User

    User.objects.filter(email="bob@acme.test").update(language="ja")
    desk.ticket(subject="請求書" * 40)  # one long word without spaces
    desk.ticket(subject="https://example.com/" + "a" * 150)
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)
    for width in (1280, 800):
        page = new_context(viewport={"width": width, "height": 900}).new_page()
        static_errors.watch(page)
        _log_in(page, base, "bob@acme.test")
        page.goto(f"{base}/acme/desk/")
        expect(page.locator("table.tickets tbody tr")).to_have_count(2)
        page.screenshot(path=str(ARTIFACTS / f"list-{width}.png"), full_page=True)
        # The page never scrolls sideways.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"page is {overflow}px too wide at {width}px"
        # Each header is one line high (a wrapped header is about twice as tall).
        heights = page.locator("table.tickets thead th[scope=col]").evaluate_all(
            "ths => ths.map(th => th.getBoundingClientRect().height)"
        )
        assert max(heights) - min(heights) < 4, heights
        line = page.locator("table.tickets thead th[scope=col]").first.evaluate(
            "th => parseFloat(getComputedStyle(th).lineHeight) || 20"
        )
        assert max(heights) < line * 1.8 + 20, heights


@pytest.mark.django_db(transaction=True)
def test_keyboard_shortcuts_move_select_open_and_show_their_list(
    live_server, new_context, static_errors, desk
):
    desk.ticket(subject="First ticket")
    desk.ticket(subject="Second ticket")
    third = desk.ticket(subject="Third ticket")
    base = live_server.url
    page = new_context().new_page()
    static_errors.watch(page)
    _log_in(page, base, "bob@acme.test")
    page.goto(f"{base}/acme/desk/")
    rows = page.locator("table.tickets tbody tr")
    expect(rows).to_have_count(3)
    page.locator("h1").click()  # focus nowhere in particular

    # Typing in a field is not a shortcut.
    page.get_by_text("Save view", exact=True).click()
    page.get_by_label("Name", exact=True).press_sequentially("jx")
    expect(page.get_by_label("Name", exact=True)).to_have_value("jx")
    expect(page.locator("tr.kb-current")).to_have_count(0)
    page.get_by_text("Save view", exact=True).click()  # close it again
    page.locator("h1").click()

    page.keyboard.press("j")
    expect(rows.nth(0)).to_have_class(re.compile("kb-current"))
    page.keyboard.press("j")
    expect(rows.nth(1)).to_have_class(re.compile("kb-current"))
    page.keyboard.press("k")
    expect(rows.nth(0)).to_have_class(re.compile("kb-current"))
    expect(rows.nth(0).locator("a")).to_be_focused()
    page.keyboard.press("x")
    expect(rows.nth(0).locator("input[name=tickets]")).to_be_checked()
    page.keyboard.press("x")
    expect(rows.nth(0).locator("input[name=tickets]")).not_to_be_checked()

    # "?" lists the shortcuts in a dialog that takes focus; Escape closes it and gives it back.
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Open the ticket")
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    page.keyboard.press("j")  # no effect behind the dialog
    expect(rows.nth(0)).to_have_class(re.compile("kb-current"))
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(rows.nth(0).locator("a")).to_be_focused()

    page.keyboard.press("Enter")  # the newest ticket is first
    expect(page).to_have_url(re.compile(rf"/tickets/{third.number}/$"))
    expect(page.get_by_role("heading", name="Third ticket")).to_be_visible()
    # The ticket is a new page: its shortcuts (shortcuts.js, deferred) listen once it has
    # loaded; a key pressed before that does nothing.
    page.wait_for_load_state("load")

    # On the ticket: c chooses a private comment and puts the cursor in the message.
    page.locator("h1").click()
    page.keyboard.press("c")
    expect(page.get_by_role("radio", name="Private comment", exact=True)).to_be_checked()
    page.keyboard.type("cj")  # typed into the message, not taken as shortcuts
    expect(page.get_by_role("radio", name="Private comment", exact=True)).to_be_checked()
    page.locator("h1").click()
    page.keyboard.press("r")
    expect(page.get_by_label("Reply", exact=True)).to_be_checked()
    page.locator("h1").click()
    page.keyboard.press("e")
    expect(page).to_have_url(re.compile(rf"/tickets/{third.number}/edit/$"))
