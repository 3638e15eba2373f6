"""Browser, two contexts (CHAT-07, CHAT-08; issue 15 items 2, 5, 7): a visitor on a shop's
page served from another origin, which embeds the widget, and an operator in the console.
The visitor's page shows in the operator's live visitors; the operator starts a chat with them
and the visitor's widget opens with the operator's message; the visitor attaches a file, which
the operator gets as a link; at the end the visitor rates the chat, and the operator sees the
rating and the comment (as text) on the chat's page and in the feedback list.

Runs under uvicorn like tests/browser/test_chat_widget.py (streams need the async handler)."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect

from chat.models import ChatDepartment, ChatFeedback, Conversation, Visitor
from tests.browser.test_chat_widget import shop
from tests.factories import PASSWORD
from tests.test_asgi_streams import uvicorn

XSS = "<img src=x onerror=alert(1)>"


@pytest.mark.django_db(transaction=True)
def test_chat08_tracked_visitor_invited_attaches_a_file_and_rates_the_chat(new_context, acme):
    entry = ChatDepartment.objects.for_org(acme.org).get(name="acme")
    acme.admin.user.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    acme.admin.user.save(update_fields=["password"])

    with uvicorn() as port:
        app = f"http://127.0.0.1:{port}"
        page_html = (
            '<!doctype html><html lang="en"><head><title>Sencha tea | Shop</title></head><body>'
            "<h1>Sencha</h1>"
            f'<script src="{app}/acme/chat/widget/{entry.embed_key}.js" async></script>'
            "</body></html>"
        )
        with shop(page_html) as shop_url:
            visitor_errors: list[str] = []
            visitor = new_context().new_page()
            visitor.on("pageerror", lambda e: visitor_errors.append(str(e)))
            visitor.goto(shop_url)
            expect(visitor.get_by_role("button", name="Chat", exact=True)).to_be_visible()
            assert visitor.evaluate("document.cookie") == ""
            key = visitor.evaluate("localStorage.getItem('madoguchi-visitor')")
            assert key

            operator = new_context().new_page()
            operator.goto(f"{app}/accounts/login/")
            operator.get_by_label("Email").fill("alice@acme.test")
            operator.get_by_label("Password").fill(PASSWORD)
            operator.get_by_role("button", name="Log in").click()
            operator.wait_for_url(lambda url: "/accounts/login/" not in url)

            # The visitor's page is in the live visitors list (refreshed every 10 s).
            operator.goto(f"{app}/acme/chat/visitors/")
            listing = operator.get_by_test_id("chat-visitors")
            expect(listing).to_contain_text("Sencha tea | Shop", timeout=15000)
            expect(listing).to_contain_text(shop_url)
            row = Visitor.objects.for_org(acme.org).get(key=key)
            assert row.page_views == 1

            # The operator starts a chat: the widget opens with the message (next heartbeat).
            operator.locator(f'tr[data-visitor="{row.pk}"] a').click()
            expect(operator.get_by_test_id("visitor-pages")).to_contain_text("Sencha tea | Shop")
            operator.get_by_label("Your message").fill("Hello! Looking for sencha?")
            operator.get_by_role("button", name="Start a chat").click()
            operator.wait_for_url("**/chat/conversations/*/")
            expect(visitor.locator("li.operator")).to_contain_text(
                "Hello! Looking for sencha?", timeout=30000
            )
            chat = Conversation.objects.for_org(acme.org).get()
            assert chat.visitor_id == row.pk

            visitor.get_by_label("Message").fill("Yes, 100 g please")
            visitor.get_by_role("button", name="Send").click()
            log = operator.get_by_test_id("chat-log")
            expect(log).to_contain_text("Yes, 100 g please")

            # A file from the visitor: a link on both sides.
            visitor.locator("#f-file").set_input_files(
                files=[{"name": "order.txt", "mimeType": "text/plain", "buffer": b"order 42"}]
            )
            expect(visitor.get_by_role("link", name="order.txt")).to_be_visible()
            expect(log.get_by_role("link", name="order.txt")).to_be_visible()

            # The visitor ends the chat and rates it.
            visitor.get_by_role("button", name="End chat").click()
            expect(visitor.get_by_text("This chat has ended.")).to_be_visible()
            visitor.get_by_label("4 of 5").check()
            visitor.get_by_label("Comment").fill(f"Helpful {XSS}")
            visitor.get_by_role("button", name="Send rating").click()
            expect(visitor.get_by_text("Thank you for your feedback!")).to_be_visible()
            assert ChatFeedback.objects.for_org(acme.org).get().rating == 4

            # The operator sees the rating, and the comment as text.
            operator.reload()
            feedback = operator.get_by_test_id("chat-feedback")
            expect(feedback).to_contain_text("4 of 5")
            expect(feedback).to_contain_text(f"Helpful {XSS}")
            assert operator.locator("[data-testid=chat-feedback] img").count() == 0
            operator.goto(f"{app}/acme/chat/feedback/")
            expect(operator.get_by_test_id("feedback-rating")).to_have_text("4 of 5")
            assert visitor_errors == []
