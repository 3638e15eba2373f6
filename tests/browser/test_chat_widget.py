"""Browser, two contexts (CHAT-02, CHAT-07): a visitor on a shop's page served from another
origin, which embeds the widget's script tag, chats with an operator in the console: the
messages go both ways in real time, each side sees the other typing, the visitor's page never
shows the private department, and what the visitor typed shows as text on the operator's page.

The app runs under uvicorn (the ASGI entry point: streams need Django's async handler, which
pytest-django's live server does not have); the shop's page comes from a plain HTTP server on
another port and host name."""

from __future__ import annotations

import http.server
import threading
from contextlib import contextmanager

import pytest
from django.contrib.auth.hashers import make_password
from playwright.sync_api import expect

from chat.models import ChatDepartment, Conversation
from chat.services.departments import department_create
from tests.factories import PASSWORD
from tests.test_asgi_streams import _free_port, uvicorn

XSS = "<img src=x onerror=alert(1)>"


@contextmanager
def shop(html: str):
    """A website of someone else's: one page, on its own origin."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    port = _free_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{port}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db(transaction=True)
def test_chat07_visitor_on_another_site_chats_with_an_operator(new_context, acme):
    acme.admin.org = acme.org
    department_create(actor=acme.admin, name="Billing", visibility="private")
    department_create(actor=acme.admin, name="Sales", operators=[acme.admin.user])
    entry = ChatDepartment.objects.for_org(acme.org).get(name="acme")
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
            visitor_errors: list[str] = []
            visitor = new_context().new_page()
            visitor.on("pageerror", lambda e: visitor_errors.append(str(e)))
            visitor.goto(shop_url)
            visitor.get_by_role("button", name="Chat", exact=True).click()
            department = visitor.get_by_label("Department")
            expect(department.locator("option")).to_have_text(["Sales", "acme"])
            visitor.get_by_label("Name").fill("Vera")
            visitor.get_by_label("Message").fill(XSS)
            visitor.get_by_role("button", name="Start chat").click()
            expect(visitor.locator("li.visitor")).to_contain_text(XSS)
            expect(visitor.get_by_text("Waiting for an operator…")).to_be_visible()
            assert "Billing" not in visitor.content()
            assert visitor.evaluate("document.cookie") == ""
            chat = Conversation.objects.for_org(acme.org).get()
            stored = visitor.evaluate("Object.values(sessionStorage).map(JSON.parse)")
            assert [item["id"] for item in stored] == [chat.pk]

            operator = new_context().new_page()
            operator.goto(f"{app}/accounts/login/")
            operator.get_by_label("Email").fill("alice@acme.test")
            operator.get_by_label("Password").fill(PASSWORD)
            operator.get_by_role("button", name="Log in").click()
            operator.wait_for_url(lambda url: "/accounts/login/" not in url)
            operator.goto(f"{app}/acme/chat/")
            operator.get_by_role("link", name="Vera").click()
            # The console's deferred script listens to the reply box only once it has run: a
            # reply typed before that sent no typing notice (seen once in a clean-clone CI run).
            operator.wait_for_load_state("load")
            log = operator.get_by_test_id("chat-log")
            expect(log).to_contain_text(XSS)  # as text: no image element was made
            assert operator.locator("#chat-log img").count() == 0

            # The operator types: the visitor sees it; the reply arrives live.
            reply = operator.get_by_label("Reply")
            reply.fill("Hello Vera, how can I help?")
            # Both reach the widget on its stream; the whole suite's load can delay that.
            expect(visitor.get_by_text("An operator is typing…")).to_be_visible(timeout=15_000)
            operator.get_by_role("button", name="Send").click()
            expect(visitor.locator("li.operator")).to_contain_text(
                "Hello Vera, how can I help?", timeout=15_000
            )
            expect(reply).to_have_value("")

            # The visitor types and answers: the operator sees both, once.
            box = visitor.get_by_label("Message")
            box.fill("Do you ship to Osaka?")
            expect(operator.get_by_text("The visitor is typing…")).to_be_visible()
            visitor.get_by_role("button", name="Send").click()
            expect(log.locator("li.visitor").last).to_contain_text("Do you ship to Osaka?")
            expect(log.locator("li.visitor")).to_have_count(2)

            # The visitor reloads the shop's page: the chat is still there (sessionStorage).
            visitor.reload()
            visitor.get_by_role("button", name="Chat", exact=True).click()
            expect(visitor.locator("li.operator")).to_contain_text("Hello Vera")
            expect(visitor.locator("li.visitor")).to_have_count(2)

            visitor.get_by_role("button", name="End chat").click()
            expect(visitor.get_by_text("This chat has ended.")).to_be_visible()
            expect(operator.get_by_test_id("chat-ended")).to_be_visible()
            assert visitor_errors == []
