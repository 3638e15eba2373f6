"""Browser: the help center end to end (TKT-08, TKT-07, TKT-04, RPT-01; issue 9's scenario).

A customer signs in with a mailed link and submits a ticket in the help center; the agent
replies; the customer answers that mail (built from the agent's mail in the outbox, with its
Message-ID) and the answer, fed to `manage.py mail_ingest --portal acme -`, appears in the
thread; the agent closes the ticket; the customer rates it from the closing mail's link; the
rating shows on the ticket page and in the satisfaction report. Screenshots of the customer's
and the agent's pages go to test-artifacts/."""

from __future__ import annotations

import io
import re
import sys
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command
from playwright.sync_api import expect

from helpdesk.tickets.helpcenter.models import HelpCenterSettings
from helpdesk.tickets.models import Ticket
from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CUSTOMER = "taro@umbrella.test"


def _link(pattern: str, to: str) -> str:
    for message in reversed(mail.outbox):
        if to in message.to:
            found = re.search(pattern, message.body)
            if found:
                return found.group(0)
    raise AssertionError(f"no mail to {to} with {pattern}")


def _log_in(page, base: str, email: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_load_state()


def _answer(agent_mail, text: str) -> bytes:
    """The customer's mail program answering the agent's reply."""
    answer = EmailMessage()
    answer["From"] = f"Yamada Taro <{CUSTOMER}>"
    answer["To"] = agent_mail.from_email
    answer["Subject"] = f"Re: {agent_mail.subject}"
    answer["Message-ID"] = make_msgid(domain="umbrella.test")
    answer["In-Reply-To"] = agent_mail.extra_headers["Message-ID"]
    answer["References"] = agent_mail.extra_headers["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in agent_mail.body.splitlines())
    answer.set_content(f"{text}\n\nOn Monday, support wrote:\n{quoted}\n")
    return answer.as_bytes()


@pytest.mark.django_db(transaction=True)
def test_tkt08_customer_submits_agent_replies_mail_answer_close_and_rate(
    live_server, new_context, static_errors, desk, tmp_path, settings, monkeypatch
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SITE_URL = live_server.url
    HelpCenterSettings.objects.create(
        org=desk.org,
        enabled=True,
        title="Acme Support",
        primary_color="#1d4ed8",
        department_ids=[desk.department.pk],
    )
    base = live_server.url
    ARTIFACTS.mkdir(exist_ok=True)

    # 1. The customer signs in with a mailed link and submits a ticket.
    customer = new_context(viewport={"width": 1100, "height": 900}).new_page()
    static_errors.watch(customer)
    customer.goto(f"{base}/acme/help/")
    expect(customer.get_by_role("heading", name="Acme Support")).to_be_visible()
    customer.screenshot(path=str(ARTIFACTS / "helpcenter-home.png"), full_page=True)
    customer.get_by_role("link", name="Sign in").first.click()
    customer.get_by_label("Email").fill(CUSTOMER)
    customer.get_by_role("button", name="Mail me a sign-in link").click()
    expect(customer.get_by_role("heading", name="Check your mail")).to_be_visible()
    customer.goto(_link(r"https?://\S+/help/link/\S+/", CUSTOMER))
    customer.get_by_role("button", name="Sign in").click()
    expect(customer.get_by_role("heading", name="My tickets")).to_be_visible()
    customer.get_by_role("link", name="Submit a ticket").first.click()
    customer.get_by_label("Subject").fill("The printer prints <blank> pages")
    customer.get_by_label("Describe your question").fill("Since Monday.\nEvery page is blank.")
    customer.get_by_role("button", name="Submit").click()
    expect(customer.get_by_role("status")).to_contain_text("was received")
    expect(customer.get_by_role("heading", name="The printer prints <blank> pages")).to_be_visible()
    ticket = Ticket.objects.for_org(desk.org).get()
    assert ticket.channel == "web" and ticket.contact == desk.contact

    # 2. The agent replies from the desk.
    agent = new_context(viewport={"width": 1280, "height": 1000}).new_page()
    static_errors.watch(agent)
    _log_in(agent, base, "bob@acme.test")
    agent.goto(f"{base}/acme/desk/tickets/{ticket.number}/")
    expect(agent.locator("#description")).to_contain_text("Every page is blank.")
    agent.get_by_label("Reply", exact=True).check()
    agent.get_by_role("textbox", name="Message").fill("Please replace the toner cartridge.")
    agent.get_by_role("button", name="Send").click()
    expect(agent.get_by_role("status")).to_contain_text("Reply sent.")
    [reply] = [m for m in mail.outbox if m.to == [CUSTOMER] and "toner" in m.body]

    # 3. The customer answers the mail; the mail server pipes it to the command.
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(_answer(reply, "New toner, all good now.")))
    )
    out = io.StringIO()
    call_command("mail_ingest", "--portal", "acme", "-", stdout=out)
    assert out.getvalue().startswith("appended"), out.getvalue()
    agent.reload()
    entry = agent.locator("article.thread-entry[data-kind=incoming]").last
    expect(entry).to_contain_text("New toner, all good now.")
    customer.reload()
    expect(customer.locator("article.thread-entry").last).to_contain_text("New toner")

    # 4. The agent closes the ticket: the contact gets the rating mail.
    agent.locator("#id_status").select_option(label="Closed")
    agent.locator("#id_status").locator("xpath=ancestor::form").get_by_role(
        "button", name="Save"
    ).click()
    expect(agent.get_by_test_id("ticket-status")).to_have_text("Closed")
    expect(agent.get_by_test_id("ticket-rating")).to_contain_text("Not rated yet.")

    # 5. The customer rates from the closing mail's link, without signing in again.
    rater = new_context(viewport={"width": 1000, "height": 800}).new_page()
    static_errors.watch(rater)
    rater.goto(_link(r"https?://\S+/help/rate/\S+/\?value=good", CUSTOMER))
    expect(rater.get_by_label("Good")).to_be_checked()
    rater.get_by_label("Comment (optional)").fill("Quick and clear, thank you!")
    rater.get_by_role("button", name="Send my rating").click()
    expect(rater.get_by_role("heading", name="Thank you for your rating")).to_be_visible()

    # 6. The rating shows on the ticket page and in the report.
    agent.reload()
    panel = agent.get_by_test_id("ticket-rating")
    expect(panel).to_contain_text("Good")
    expect(panel).to_contain_text("Quick and clear, thank you!")
    expect(agent.locator("section.history")).to_contain_text("Rated by the customer")
    agent.screenshot(path=str(ARTIFACTS / "helpcenter-agent-ticket.png"), full_page=True)
    admin = new_context(viewport={"width": 1280, "height": 1000}).new_page()
    static_errors.watch(admin)
    _log_in(admin, base, "alice@acme.test")
    admin.goto(f"{base}/acme/desk/reports/satisfaction/")
    expect(admin.get_by_test_id("sat-total")).to_contain_text("1 rating")
    expect(
        admin.get_by_test_id("sat-table").locator("tr[data-row=all] td[data-value=good]")
    ).to_contain_text("1 (100%)")
    comments = admin.get_by_test_id("sat-comments")
    expect(comments).to_contain_text("Quick and clear, thank you!")
    comments.get_by_role("link", name=re.compile(rf"#{ticket.number}")).click()
    expect(admin).to_have_url(re.compile(rf"/acme/desk/tickets/{ticket.number}/$"))
    admin.go_back()
    admin.screenshot(path=str(ARTIFACTS / "helpcenter-report.png"), full_page=True)
    customer.goto(f"{base}/acme/help/tickets/{ticket.number}/")
    expect(customer.get_by_test_id("help-current-rating")).to_contain_text("Good")
    customer.screenshot(path=str(ARTIFACTS / "helpcenter-ticket.png"), full_page=True)
