"""Browser, two contexts (issue 15, items 3 and 6): a visitor on a shop's page served from
another origin chats through the widget with an operator in the console. The operator finds the
chat in the console, replies (a canned response from the desk, then their own words), each side
sees the other typing, makes a ticket of the chat in one click, then transfers it to a private
department: the visitor reads that it went to "another team" and waits again, and never sees the
private department's name, neither on the page nor in what the widget's endpoints answer.

The app runs under uvicorn (streams need Django's async handler); the shop's page comes from
a plain HTTP server on another origin (tests/browser/test_chat_widget.py)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect

from chat.models import ChatDepartment, Conversation
from chat.services.departments import department_create
from helpdesk.tickets.canned.models import CannedResponse
from helpdesk.tickets.models import Ticket
from tests.browser.test_chat_widget import shop
from tests.factories import PASSWORD, UserFactory
from tests.test_asgi_streams import uvicorn

XSS = "<img src=x onerror=alert(1)>"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def shadow_text(page) -> str:
    """Everything the widget shows (it draws in an open Shadow DOM)."""
    return page.evaluate("document.querySelector('[data-madoguchi-chat]').shadowRoot.innerHTML")


@pytest.mark.django_db(transaction=True)
def test_console_operator_and_visitor_chat_transfer_to_private_and_ticket(new_context, acme):
    acme.admin.org = acme.org
    pete = acme.member(
        user=UserFactory(email="pete@acme.test", full_name="Pete"),
        desk_role="",
        chat_role="operator",
    )
    department_create(actor=acme.admin, name="Billing", visibility="private", operators=[pete.user])
    entry = ChatDepartment.objects.for_org(acme.org).get(name="acme")
    CannedResponse.objects.create(
        org=acme.org,
        owner=acme.admin.user,
        title="Greeting",
        body="Hello {{contact.name}}, this is {{agent.name}}.",
    )
    # The server process has Django's own hashers, not the tests' fast MD5.
    acme.admin.user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    acme.admin.user.save(update_fields=["password"])

    with uvicorn() as port:
        app = f"http://127.0.0.1:{port}"
        page_html = (
            '<!doctype html><html lang="en"><head><title>Shop</title></head><body>'
            "<h1>Our shop</h1>"
            f'<script src="{app}/acme/chat/widget/{entry.embed_key}.js" async></script>'
            "</body></html>"
        )
        with shop(page_html) as shop_url:
            errors: list[str] = []
            visitor = new_context().new_page()
            visitor.on("pageerror", lambda e: errors.append(str(e)))
            visitor.goto(shop_url)
            visitor.get_by_role("button", name="Chat", exact=True).click()
            visitor.get_by_label("Name").fill("Vera")
            visitor.get_by_label("Email address").fill("vera@shop.example")
            visitor.get_by_label("Message").fill("Do you ship to Osaka?")
            visitor.get_by_role("button", name="Start chat").click()
            expect(visitor.get_by_text("Waiting for an operator…")).to_be_visible()
            chat = Conversation.objects.for_org(acme.org).get()
            token = visitor.evaluate("Object.values(sessionStorage).map(JSON.parse)[0].token")

            # The operator: the console lists the waiting chat.
            operator = new_context().new_page()
            operator.on("pageerror", lambda e: errors.append(str(e)))
            operator.goto(f"{app}/accounts/login/")
            operator.get_by_label("Email").fill("alice@acme.test")
            operator.get_by_label("Password").fill(PASSWORD)
            operator.get_by_role("button", name="Log in").click()
            operator.wait_for_url(lambda url: "/accounts/login/" not in url)
            operator.goto(f"{app}/acme/chat/console/")
            operator.get_by_label("Presence", exact=True).select_option("available")
            operator.get_by_role("button", name="Save").click()
            expect(operator.get_by_test_id("chat-presence-now")).to_contain_text("Available")
            operator.get_by_role("link", name="Vera").click()
            operator.wait_for_load_state("load")  # the console's deferred script is listening
            log = operator.get_by_test_id("chat-log")
            expect(log).to_contain_text("Do you ship to Osaka?")
            expect(operator.get_by_text("vera@shop.example").first).to_be_visible()

            # A canned response goes into the reply, filled in; the operator sends it.
            reply = operator.get_by_label("Reply")
            operator.get_by_label("Canned responses").select_option(label="Greeting")
            expect(reply).to_have_value("Hello Vera, this is Acme Admin.")
            expect(visitor.get_by_text("An operator is typing…")).to_be_visible()
            operator.get_by_role("button", name="Send").click()
            expect(visitor.locator("li.operator")).to_contain_text(
                "Hello Vera, this is Acme Admin."
            )

            # The visitor types and answers (an XSS payload: text on both sides).
            box = visitor.get_by_label("Message")
            box.fill("Great. " + XSS)
            expect(operator.get_by_text("The visitor is typing…")).to_be_visible()
            visitor.get_by_role("button", name="Send").click()
            expect(log.locator("li.visitor").last).to_contain_text("Great. " + XSS)
            assert operator.locator("#chat-log img").count() == 0

            # Chat to ticket, in one click.
            operator.get_by_test_id("chat-to-ticket").click()
            expect(operator.get_by_test_id("chat-ticket-link")).to_be_visible()
            ticket = Ticket.objects.for_org(acme.org).get()
            assert ticket.channel == "chat"
            assert ticket.contact.email == "vera@shop.example"
            assert "Do you ship to Osaka?" in ticket.threads.get().body
            expect(operator.get_by_test_id("chat-ticket-link")).to_contain_text(
                f"Ticket #{ticket.number}"
            )

            # Blocking asks first, naming the address (opened, looked at, closed unsent).
            operator.get_by_test_id("chat-block-confirm").locator("summary").click()
            expect(operator.get_by_test_id("chat-block")).to_be_visible()
            expect(operator.get_by_test_id("chat-block-confirm")).to_contain_text("127.0.0.1")
            ARTIFACTS.mkdir(exist_ok=True)
            operator.screenshot(path=str(ARTIFACTS / "chat-console-block.png"), full_page=True)
            operator.get_by_test_id("chat-block-confirm").locator("summary").click()
            expect(operator.get_by_test_id("chat-block")).to_be_hidden()

            # Transfer to the private department Billing.
            operator.get_by_test_id("chat-transfer").click()
            operator.get_by_label("To a department").select_option(label="Billing (Private)")
            operator.get_by_role("button", name="Transfer chat").click()
            operator.wait_for_url(f"{app}/acme/chat/console/")
            expect(visitor.get_by_text("The chat was transferred to another team.")).to_be_visible()
            expect(visitor.get_by_text("Waiting for an operator…")).to_be_visible()
            chat.refresh_from_db()
            assert chat.department.name == "Billing" and chat.state == "waiting"

            # The visitor's page and the widget's answers never name the private department.
            assert "Billing" not in visitor.content()
            assert "Billing" not in shadow_text(visitor)
            url = f"{app}/acme/chat/v/conversations/{chat.pk}/messages/?token={token}&lang=en"
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our test server
                answer = json.loads(response.read())
            assert answer["department"] == "Support"
            assert "Billing" not in json.dumps(answer)
            assert errors == []


@pytest.mark.django_db(transaction=True)
def test_console_missed_chat_the_visitor_leaves_a_message_that_becomes_a_ticket(new_context, acme):
    import datetime as dt

    from django.utils import timezone

    from chat.services.missed import missed_sweep

    entry = ChatDepartment.objects.for_org(acme.org).get(name="acme")
    with uvicorn() as port:
        app = f"http://127.0.0.1:{port}"
        page_html = (
            '<!doctype html><html lang="en"><head><title>Shop</title></head><body>'
            f'<script src="{app}/acme/chat/widget/{entry.embed_key}.js" async></script>'
            "</body></html>"
        )
        with shop(page_html) as shop_url:
            errors: list[str] = []
            visitor = new_context().new_page()
            visitor.on("pageerror", lambda e: errors.append(str(e)))
            visitor.goto(shop_url)
            visitor.get_by_role("button", name="Chat", exact=True).click()
            visitor.get_by_label("Name").fill("Vera")
            visitor.get_by_label("Message").fill("Anyone there?")
            visitor.get_by_role("button", name="Start chat").click()
            expect(visitor.get_by_text("Waiting for an operator…")).to_be_visible()

            # Nobody accepts it in time: the beat's sweep (run here) makes it missed.
            assert missed_sweep(now=timezone.now() + dt.timedelta(minutes=3)).missed == 1
            # The widget hears of it on its stream; the whole suite's load can delay that.
            expect(
                visitor.get_by_text(
                    "Nobody could answer. Leave a message and we will reply by email."
                )
            ).to_be_visible(timeout=15_000)
            form = visitor.locator("form[data-leave]")
            # The visitor gave no address when the chat started: the form asks for one.
            form.get_by_label("Message").fill("Please call me back.")
            form.get_by_role("button", name="Send message").click()
            expect(form.locator("#f-leave-email-err")).to_contain_text("Enter your email address")
            form.get_by_label("Email address").fill("vera@shop.example")
            form.get_by_role("button", name="Send message").click()
            expect(
                visitor.get_by_text("Thank you. Your message was sent; we will reply by email.")
            ).to_be_visible()
            ticket = Ticket.objects.for_org(acme.org).get()
            assert ticket.channel == "chat"
            assert ticket.contact.email == "vera@shop.example"
            assert "Please call me back." in ticket.threads.get().body
            assert errors == []
