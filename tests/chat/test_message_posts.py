"""The chat's message posts beside the pages (CHAT-07, issue 15 "Performance"): the widget's
messages and typing and the console's reply and typing are served on threads of their own with
the process's event loop free (helpdesk/asgi.py, `chat.urls.is_message_path`), so they neither
wait for the page their process runs nor hold the loop the streams send on; with the same
token, session, CSRF, rate-limit and row-level-security checks as before, and each message
numbered exactly once.

The ASGI tests drive `helpdesk.asgi.application` itself, as uvicorn does, on an event loop of
their own thread, so the rows they read must be committed (`transaction=True`)."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from urllib.parse import urlencode

import pytest
from django.conf import settings
from django.db import connection, connections
from django.http import Http404
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from chat.models import ChatMessage, Conversation
from chat.services import conversations as svc
from helpdesk import asgi
from helpdesk.tenancy import rls
from tests.chat.test_realtime import run_async, start_chat
from tests.chat.visitor_helpers import console_url, visitor_url

pytestmark = pytest.mark.django_db(transaction=True)

CSRF = "c" * 32


# --- An ASGI client of helpdesk.asgi.application ------------------------------------------------
def scope(method: str, url: str, headers: dict[str, str] | None = None) -> dict:
    path, _, query = url.partition("?")
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": query.encode(),
        "headers": [(b"host", b"testserver"), (b"accept-language", b"en")]
        + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
        "client": ("192.0.2.50", 40000),
        "server": ("testserver", 80),
    }


async def request(
    method: str, url: str, *, data: dict | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """One request through the application, to its end: (status, body)."""
    body = urlencode(data or {}).encode()
    headers = {**(headers or {})}
    if data is not None:
        headers["content-type"] = "application/x-www-form-urlencoded"
        headers["content-length"] = str(len(body))
    sent: list[dict] = []
    given = False

    async def receive():
        nonlocal given
        if not given:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # the client stays

    async def send(message):
        sent.append(message)

    await asgi.application(scope(method, url, headers), receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


class Stream:
    """An open event stream through the application; `events` as they arrive."""

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url, self.headers = url, headers or {}
        self.raw = b""
        self.arrived: dict[int, float] = {}  # seq: when
        self.subscribed = asyncio.Event()
        self.changed = asyncio.Event()
        self.gone = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.asked = False

    async def _receive(self):
        if not self.asked:
            self.asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message):
        if message["type"] != "http.response.body":
            return
        self.raw += message.get("body", b"")
        if b"retry:" in self.raw:
            self.subscribed.set()
        for block in self.raw.decode().split("\n\n"):
            for line in block.splitlines():
                if line.startswith("data: "):
                    data = json.loads(line[6:])
                    if data.get("type") == "message":
                        self.arrived.setdefault(data["seq"], time.perf_counter())
        self.changed.set()

    async def open(self) -> None:
        self.task = asyncio.ensure_future(
            asgi.application(scope("GET", self.url, self.headers), self._receive, self._send)
        )
        await asyncio.wait_for(self.subscribed.wait(), 5)

    async def wait_for(self, seq: int, timeout: float = 5.0) -> float:
        deadline = time.perf_counter() + timeout
        while seq not in self.arrived:
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.perf_counter()))
        return self.arrived[seq]

    async def close(self) -> None:
        self.gone.set()
        if self.task is not None:
            await asyncio.wait_for(self.task, 5)


def operator_headers(user) -> dict[str, str]:
    client = Client()
    client.force_login(user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    return {
        "cookie": f"{settings.SESSION_COOKIE_NAME}={session}; {settings.CSRF_COOKIE_NAME}={CSRF}",
        "x-csrftoken": CSRF,
        "x-requested-with": "fetch",
    }


# --- Routing ------------------------------------------------------------------------------------
def _chat_views():
    """(path with sample ids, view) of every chat URL."""
    found = []

    def walk(patterns, prefix: str) -> None:
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern) and "/chat/" in "/" + route:
                path = "/" + route.replace("<str:portal>", "acme").replace("<slug:portal>", "acme")
                for converter in ("int", "str", "slug"):
                    while f"<{converter}:" in path:
                        start = path.index(f"<{converter}:")
                        path = path[:start] + "7" + path[path.index(">", start) + 1 :]
                found.append((path, pattern.callback))

    walk(get_resolver().url_patterns, "")
    return found


def test_chat07_message_posts_go_beside_the_pages_streams_to_the_asgi_handler():
    """The four message URLs of the chat (no other) are served beside the pages; its streams,
    async views, by Django's ASGI handler; every other chat URL as a page."""
    views = _chat_views()
    assert len(views) > 20
    beside = []
    for path, view in views:
        app = asgi.served_by(scope("POST", path))
        if asyncio.iscoroutinefunction(view):
            assert app is asgi.django_asgi, path
        elif app is asgi.beside:
            beside.append(path)
        else:
            assert app is asgi.pages, path
    assert sorted(beside) == [
        "/acme/chat/conversations/7/reply/",
        "/acme/chat/conversations/7/typing/",
        "/acme/chat/v/conversations/7/messages/",
        "/acme/chat/v/conversations/7/typing/",
    ]
    assert asgi.served_by(scope("GET", "/acme/desk/")) is asgi.pages


# --- The checks of the pages, beside them ------------------------------------------------
def test_chat07_visitor_post_beside_the_pages_runs_in_the_organizations_rls_scope(
    acme, monkeypatch
):
    """The post's statements run on the connection the middleware put in the portal's
    organization (the runtime role, RLS on), and the message is stored and answered."""
    started = start_chat(acme, "one")
    conversation = started.conversation
    seen = {}
    post = svc.message_post_visitor

    def spy(**kwargs):
        seen["org"] = rls.current_org_id()
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user")
            seen["role"] = cursor.fetchone()[0]
        return post(**kwargs)

    monkeypatch.setattr(svc, "message_post_visitor", spy)
    url = visitor_url(acme, "visitor_messages", conversation.pk)

    async def scenario():
        good = await request("POST", url, data={"token": started.token, "body": "two"})
        wrong = await request("POST", url, data={"token": "guess", "body": "three"})
        return good, wrong

    (status, body), (wrong_status, _body) = run_async(scenario)
    assert status == 201, body
    assert json.loads(body)["seq"] == 2
    assert wrong_status == 404  # a wrong token reads as a missing conversation
    assert seen == {"org": acme.org.id, "role": settings.DB_RUNTIME_ROLE}
    stored = ChatMessage.objects.for_org(acme.org).filter(conversation=conversation)
    assert [(m.seq, m.body) for m in stored.order_by("seq")] == [(1, "one"), (2, "two")]


def test_chat07_operator_reply_beside_the_pages_keeps_session_csrf_and_tenancy(acme, globex):
    """The console's reply, beside the pages: the member's session and CSRF token are checked
    by the middleware as before; another organization's admin gets the 404 of a missing chat."""
    started = start_chat(acme, "hello")
    conversation = started.conversation
    url = console_url(acme, "conversation_reply", conversation.pk)
    outsider_url = console_url(globex, "conversation_reply", conversation.pk)
    alice = operator_headers(acme.admin.user)
    charlie = operator_headers(globex.admin.user)
    no_csrf = {k: v for k, v in alice.items() if k != "x-csrftoken"}

    async def scenario():
        return [
            await request("POST", url, data={"body": "Hi, Alice here"}, headers=alice),
            await request("POST", url, data={"body": "forged"}, headers=no_csrf),
            await request("POST", outsider_url, data={"body": "peek"}, headers=charlie),
            await request("POST", url, data={"body": "peek"}, headers=charlie),
        ]

    answers = run_async(scenario)
    assert [status for status, _ in answers] == [201, 403, 404, 404]
    assert json.loads(answers[0][1])["message"]["body"] == "Hi, Alice here"
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.LIVE  # the reply accepted the waiting chat
    bodies = list(
        ChatMessage.objects.for_org(acme.org)
        .filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", "body")
    )
    assert bodies[0] == (1, "hello") and bodies[-1] == (3, "Hi, Alice here")
    assert [seq for seq, _ in bodies] == [1, 2, 3]  # the join notice, then the reply


def test_chat07_visitor_posts_beside_the_pages_keep_the_rate_limit(acme, settings):
    settings.CHAT_RATE_LIMIT_MESSAGE_PER_MINUTE = 2
    started = start_chat(acme, "one")
    url = visitor_url(acme, "visitor_messages", started.conversation.pk)

    async def scenario():
        return [
            (await request("POST", url, data={"token": started.token, "body": f"m{n}"}))[0]
            for n in range(3)
        ]

    assert run_async(scenario) == [201, 201, 429]


def test_chat07_concurrent_posts_are_numbered_once_each_in_order(acme):
    """Posts of both sides at once: every seq is given once, none is skipped, and the stored
    order is the numbering's."""
    started = start_chat(acme, "one")
    conversation = Conversation.objects.for_org(acme.org).get(pk=started.conversation.pk)
    errors: list[BaseException] = []

    def post(n: int) -> None:
        try:
            with rls.tenant_scope(acme.org.id):
                for i in range(5):
                    svc.message_post_visitor(conversation=conversation, body=f"t{n}-{i}")
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    messages = list(
        ChatMessage.objects.for_org(acme.org).filter(conversation=conversation).order_by("seq")
    )
    assert [m.seq for m in messages] == list(range(1, 32))
    assert len({m.body for m in messages}) == 31
    assert [m.pk for m in messages] == sorted(m.pk for m in messages)
    conversation.refresh_from_db()
    assert conversation.last_seq == 31


def test_chat07_a_post_to_an_ended_chat_is_refused_and_nothing_is_numbered(acme):
    started = start_chat(acme, "one")
    svc.conversation_end(conversation=started.conversation)
    url = visitor_url(acme, "visitor_messages", started.conversation.pk)

    async def scenario():
        return await request("POST", url, data={"token": started.token, "body": "late"})

    status, body = run_async(scenario)
    assert status == 400
    assert json.loads(body)["errors"]["body"] == ["This chat has ended."]
    conversation = Conversation.objects.for_org(acme.org).get(pk=started.conversation.pk)
    assert conversation.last_seq == 2  # the first message and the end notice


# --- Not behind a page --------------------------------------------------------------------------
def test_chat07_a_chat_post_does_not_wait_behind_a_slow_page_in_the_same_process(acme, monkeypatch):
    """An operator's stream is open in the process; a page that takes 1.5 s runs there. A
    visitor's message posted meanwhile is answered and reaches the operator's stream at once,
    not after the page (which before would have held the process's loop throughout)."""
    started = start_chat(acme, "one")
    conversation = started.conversation
    page_seconds = 1.5
    page_app = asgi.pages.app

    def slow_page(environ, start_response):
        if environ["PATH_INFO"] != "/slow/":
            return page_app(environ, start_response)
        time.sleep(page_seconds)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"slow"]

    monkeypatch.setattr(asgi.pages, "app", slow_page)
    post_url = visitor_url(acme, "visitor_messages", conversation.pk)
    stream_url = console_url(acme, "conversation_stream", conversation.pk) + "?after=1"
    headers = operator_headers(acme.admin.user)

    async def scenario():
        stream = Stream(stream_url, headers)
        await stream.open()
        page = asyncio.ensure_future(request("GET", "/slow/"))
        await asyncio.sleep(0.1)  # the page is running
        assert not page.done()
        posted_at = time.perf_counter()
        status, _body = await request(
            "POST", post_url, data={"token": started.token, "body": "two"}
        )
        answered = time.perf_counter() - posted_at
        arrived = await stream.wait_for(2) - posted_at
        page_running = not page.done()
        page_status, page_body = await page
        await stream.close()
        return status, answered, arrived, page_running, page_status, page_body

    status, answered, arrived, page_running, page_status, page_body = run_async(scenario)
    assert status == 201
    assert page_running  # the message arrived while the page still ran
    assert answered < 0.75 and arrived < 0.75, (answered, arrived)
    assert (page_status, page_body) == (200, b"slow")


def test_chat07_an_id_out_of_any_range_reads_as_a_missing_chat(acme):
    started = start_chat(acme, "one")
    client = Client()
    for guess in (2**63, 10**30):
        url = visitor_url(acme, "visitor_messages", guess)
        response = client.post(url, {"token": started.token, "body": "x"})
        assert response.status_code == 404
        assert response.json() == {"error": "not found"}


def test_chat07_the_operators_read_of_a_chat_is_the_orms(acme):
    """conversation_for_operator reads the chat and its department by SQL of its own: the same
    values as the ORM's, a chat without a department too."""
    from chat.models import ChatDepartment

    started = start_chat(acme, "one")
    pk = started.conversation.pk
    chats = Conversation.objects.for_org(acme.org).select_related("department")
    for _round in range(2):
        got = svc.conversation_for_operator(actor=acme.admin, conversation_id=pk)
        expected = chats.get(pk=pk)
        for field in Conversation._meta.concrete_fields:
            assert getattr(got, field.attname) == getattr(expected, field.attname), field.name
        if expected.department is None:
            assert got.department is None
        for field in ChatDepartment._meta.concrete_fields if expected.department else ():
            value = getattr(got.department, field.attname)
            assert value == getattr(expected.department, field.attname), field.name
        Conversation.objects.for_org(acme.org).filter(pk=pk).update(department=None)
    with pytest.raises(Http404):
        svc.conversation_for_operator(actor=acme.admin, conversation_id=pk + 1000)
