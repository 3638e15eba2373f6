"""Real-time delivery (CHAT-07, chat/realtime.py): messages are stored, then published on
Redis and forwarded by the conversation's event stream; a reconnect with `Last-Event-ID`
resumes without loss or duplicates; without Redis, messages are still stored and arrive by
polling.

The stream is an async view: each test drives it through Django's AsyncClient on an event loop
of its own thread (a browser test's loop may run in the main thread), so the rows it reads
must be committed (`transaction=True`)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client
from django.urls import reverse

from chat import realtime
from chat.models import ChatDepartment, ChatMessage, Conversation
from chat.services import conversations as svc

pytestmark = pytest.mark.django_db(transaction=True)


def run_async(coro_fn, *args, timeout: float = 30):
    """Run `coro_fn(*args)` to its end on a fresh event loop in a thread of its own."""
    result: dict = {}

    def target():
        try:
            result["value"] = asyncio.run(coro_fn(*args))
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), "the stream test did not finish"
    if "error" in result:
        raise result["error"]
    return result["value"]


def stream_url(tenant, conversation_id: int) -> str:
    return reverse(
        "chat:visitor_stream",
        kwargs={"portal": tenant.org.portal, "chat_conversation_id": conversation_id},
    )


def start_chat(tenant, message: str = "Hello") -> svc.Started:
    department = ChatDepartment.objects.for_org(tenant.org).order_by("pk").first()
    return svc.conversation_start(
        entry=department,
        department_id=None,
        name="Vera",
        email="",
        message=message,
        ip="192.0.2.1",
        language="en",
    )


def parse(chunks: list[bytes]) -> list[dict]:
    """The events of an SSE stream: {"id", "event", "data"} (comments and retry left out)."""
    events = []
    for block in b"".join(chunks).decode().split("\n\n"):
        event: dict = {}
        for line in block.splitlines():
            field, _, value = line.partition(": ")
            if field in ("id", "event"):
                event[field] = value
            elif field == "data":
                event["data"] = json.loads(value)
        if "event" in event:
            events.append(event)
    return events


async def read_until(iterator, chunks: list[bytes], predicate, timeout: float = 5.0) -> None:
    while not predicate(parse(chunks)):
        chunks.append(await asyncio.wait_for(anext(iterator), timeout))


def seqs(events: list[dict]) -> list[int]:
    return [e["data"]["seq"] for e in events if e["event"] == "message"]


# --- Resume and live delivery ------------------------------------------------------------------
def test_chat07_stream_resumes_after_last_event_id_then_delivers_live_exactly_once(acme):
    started = start_chat(acme, "one")
    conversation = started.conversation
    svc.message_post_visitor(conversation=conversation, body="two")
    svc.message_post_visitor(conversation=conversation, body="three")

    async def scenario():
        response = await AsyncClient().get(
            stream_url(acme, conversation.pk),
            {"token": started.token},
            headers={"Last-Event-ID": "1"},
        )
        assert response.status_code == 200
        assert response["Content-Type"] == "text/event-stream"
        assert response["Access-Control-Allow-Origin"] == "*"
        iterator = aiter(response.streaming_content)
        chunks: list[bytes] = []
        await read_until(iterator, chunks, lambda ev: seqs(ev) == [2, 3])
        # Posted while the stream is open.
        await sync_to_async(svc.message_post_visitor)(conversation=conversation, body="four")
        await read_until(iterator, chunks, lambda ev: 4 in seqs(ev))
        await sync_to_async(svc.typing_notify)(conversation=conversation, sender="visitor")
        await read_until(iterator, chunks, lambda ev: any(e["event"] == "typing" for e in ev))
        return parse(chunks)

    events = run_async(scenario)
    messages = [e for e in events if e["event"] == "message"]
    assert [m["data"]["body"] for m in messages] == ["two", "three", "four"]
    assert [m["id"] for m in messages] == ["2", "3", "4"]  # each once, with its seq as the id


def test_chat07_after_parameter_resumes_like_last_event_id(acme):
    started = start_chat(acme, "one")
    svc.message_post_visitor(conversation=started.conversation, body="two")

    async def scenario():
        response = await AsyncClient().get(
            stream_url(acme, started.conversation.pk), {"token": started.token, "after": "1"}
        )
        chunks: list[bytes] = []
        await read_until(aiter(response.streaming_content), chunks, lambda ev: seqs(ev))
        return parse(chunks)

    assert seqs(run_async(scenario)) == [2]


def test_chat07_a_message_published_out_of_order_is_filled_in_from_the_database(acme):
    """Two writers commit seq 2 then 3 but publish 3 first: the stream sends 2 and 3, in
    order, and skips the late 2."""
    started = start_chat(acme, "one")
    conversation = started.conversation

    async def scenario():
        response = await AsyncClient().get(
            stream_url(acme, conversation.pk), {"token": started.token, "after": "1"}
        )
        iterator = aiter(response.streaming_content)
        chunks: list[bytes] = [await asyncio.wait_for(anext(iterator), 5)]  # retry: subscribed

        def store_two_publish_late():
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(realtime, "publish", lambda *a: True)  # hold the publishes back
                two = svc.message_post_visitor(conversation=conversation, body="two")
                three = svc.message_post_visitor(conversation=conversation, body="three")
            for message in (three, two):
                realtime.publish(acme.org.pk, conversation.pk, realtime.message_event(message))

        await sync_to_async(store_two_publish_late)()
        await read_until(iterator, chunks, lambda ev: seqs(ev) == [2, 3])
        await sync_to_async(svc.message_post_visitor)(conversation=conversation, body="four")
        await read_until(iterator, chunks, lambda ev: 4 in seqs(ev))
        return parse(chunks)

    assert seqs(run_async(scenario)) == [2, 3, 4]


# --- Without Redis -----------------------------------------------------------------------------
def test_chat07_with_redis_unavailable_messages_are_stored_and_arrive_by_polling(
    acme, settings, caplog
):
    settings.CHAT_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    realtime._clients.clear()
    visitor = Client()
    department = ChatDepartment.objects.for_org(acme.org).order_by("pk").first()
    response = visitor.post(
        reverse(
            "chat:widget_start",
            kwargs={"portal": acme.org.portal, "embed_key": department.embed_key},
        ),
        {"message": "anyone there?"},
    )
    assert response.status_code == 201
    chat = response.json()
    messages_url = reverse(
        "chat:visitor_messages",
        kwargs={"portal": acme.org.portal, "chat_conversation_id": chat["id"]},
    )
    # The logger is listened to directly: another test's logging set-up may stop propagation.
    realtime_logger = logging.getLogger("chat.realtime")
    realtime_logger.addHandler(caplog.handler)
    caplog.set_level(logging.WARNING, logger="chat.realtime")
    try:
        response = visitor.post(messages_url, {"token": chat["token"], "body": "hello?"})
    finally:
        realtime_logger.removeHandler(caplog.handler)
    assert response.status_code == 201
    assert "publish" in caplog.text  # logged, not raised
    polled = visitor.get(messages_url, {"token": chat["token"], "after": "1"}).json()
    assert [m["body"] for m in polled["messages"]] == ["hello?"]

    async def scenario():
        # The stream sends what is stored and ends; EventSource reconnects (polling).
        response = await AsyncClient().get(stream_url(acme, chat["id"]), {"token": chat["token"]})
        return [chunk async for chunk in response.streaming_content]

    assert seqs(parse(run_async(scenario))) == [1, 2]
    assert ChatMessage.objects.for_org(acme.org).count() == 2


# --- Who may listen ----------------------------------------------------------------------------
def test_chat07_stream_of_another_conversation_or_portal_is_a_404(acme, globex):
    mine = start_chat(acme, "mine")
    theirs = start_chat(acme, "theirs")
    other_org = start_chat(globex, "globex")

    async def scenario():
        client = AsyncClient()
        answers = []
        for url, token in (
            (stream_url(acme, theirs.conversation.pk), mine.token),
            (stream_url(acme, theirs.conversation.pk), ""),
            (stream_url(acme, other_org.conversation.pk), other_org.token),
            (stream_url(globex, mine.conversation.pk), mine.token),
        ):
            response = await client.get(url, {"token": token})
            answers.append(response.status_code)
        return answers

    assert run_async(scenario) == [404, 404, 404, 404]
    assert Conversation.objects.for_org(acme.org).count() == 2


# --- The operators' stream ---------------------------------------------------------------------
def operator_stream_url(tenant, conversation_id: int) -> str:
    return reverse(
        "chat:conversation_stream",
        kwargs={"portal": tenant.org.portal, "chat_conversation_id": conversation_id},
    )


def test_chat07_operator_stream_delivers_the_visitors_messages_and_typing(acme):
    started = start_chat(acme, "one")
    conversation = started.conversation
    user = acme.admin.user

    async def scenario():
        client = AsyncClient()
        await sync_to_async(client.force_login)(user)
        response = await client.get(operator_stream_url(acme, conversation.pk), {"after": "0"})
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response  # same-origin only
        iterator = aiter(response.streaming_content)
        chunks: list[bytes] = []
        await read_until(iterator, chunks, lambda ev: seqs(ev) == [1])
        await sync_to_async(svc.typing_notify)(conversation=conversation, sender="visitor")
        await sync_to_async(svc.message_post_visitor)(conversation=conversation, body="two")
        await read_until(iterator, chunks, lambda ev: 2 in seqs(ev))
        return parse(chunks)

    events = run_async(scenario)
    assert [e["event"] for e in events] == ["message", "typing", "message"]


def test_chat07_operator_stream_is_refused_to_outsiders_and_other_operators(acme, globex):
    from tests.factories import UserFactory

    started = start_chat(acme, "secret")
    olga = acme.member(user=UserFactory(email="olga@acme.test"), desk_role="", chat_role="operator")

    async def scenario():
        answers = []
        for user, portal in ((globex.admin.user, globex), (olga.user, acme)):
            client = AsyncClient()
            await sync_to_async(client.force_login)(user)
            url = operator_stream_url(portal, started.conversation.pk)
            answers.append((await client.get(url)).status_code)
        return answers

    # Charlie: not a member of Acme (Globex's portal has no such chat); Olga operates no
    # department of this chat.
    assert run_async(scenario) == [404, 404]


def test_chat07_a_stream_opened_after_the_chat_was_missed_announces_it(acme):
    """A state change is published, not stored: a widget whose stream connects just after
    its chat became missed (the beat's sweep ran while it was connecting) learns it from the
    stream itself, after the stored messages, and is not left waiting for an operator."""
    import datetime as dt

    from django.utils import timezone

    from chat.services.missed import missed_sweep

    started = start_chat(acme, "Anyone there?")
    assert missed_sweep(now=timezone.now() + dt.timedelta(minutes=3)).missed == 1

    async def scenario():
        response = await AsyncClient().get(
            stream_url(acme, started.conversation.pk), {"token": started.token}
        )
        chunks: list[bytes] = []
        await read_until(
            aiter(response.streaming_content),
            chunks,
            lambda ev: any(e["event"] == "state" for e in ev),
        )
        return parse(chunks)

    events = run_async(scenario)
    kinds = [e["event"] for e in events]
    assert kinds[-1] == "state" and events[-1]["data"] == {"type": "state", "state": "missed"}
    assert kinds.count("message") == 2  # the visitor's message, then the missed-chat note
    assert "nobody could answer" in events[-2]["data"]["body"]


def test_chat07_a_stream_of_a_chat_in_progress_announces_no_state(acme):
    started = start_chat(acme, "Hello")

    async def scenario():
        response = await AsyncClient().get(
            stream_url(acme, started.conversation.pk), {"token": started.token}
        )
        iterator = aiter(response.streaming_content)
        chunks: list[bytes] = []
        await read_until(iterator, chunks, lambda ev: seqs(ev) == [1])
        # Then only heartbeats or live events: nothing announces an end.
        await sync_to_async(svc.message_post_visitor)(conversation=started.conversation, body="2")
        await read_until(iterator, chunks, lambda ev: 2 in seqs(ev))
        return parse(chunks)

    assert [e["event"] for e in run_async(scenario)] == ["message", "message"]
