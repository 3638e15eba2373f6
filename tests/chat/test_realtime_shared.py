"""The streams' shared Redis subscriber (CHAT-07, issue 15 "Performance"; chat/realtime.py):
every stream of a process reads one Redis connection; a channel is subscribed while a stream
of it is open; when the connection fails the streams end, and their clients, reconnecting
with `Last-Event-ID`, get what they missed exactly once.

Streams run on an event loop of their own thread (tests/chat/test_realtime.py's `run_async`),
on committed rows; Redis is the real one, seen through CLIENT LIST and PUBSUB NUMSUB."""

from __future__ import annotations

import asyncio

import pytest
import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import AsyncClient

from chat import realtime
from chat.services import conversations as svc
from tests.chat.test_realtime import (
    operator_stream_url,
    parse,
    read_until,
    run_async,
    seqs,
    start_chat,
    stream_url,
)

pytestmark = pytest.mark.django_db(transaction=True)


def redis_client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def connections_named(name: str) -> list[dict]:
    return [c for c in redis_client().client_list() if c.get("name") == name]


def subscribers_of(channel: str) -> int:
    return dict(redis_client().pubsub_numsub(channel))[channel.encode()]


async def eventually(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await sync_to_async(predicate)():
        assert asyncio.get_running_loop().time() < deadline, "did not happen in time"
        await asyncio.sleep(0.05)


async def as_bytes(events):
    """A stream of conversation_events() as the ASGI handler sends it (bytes)."""
    async for chunk in events:
        yield chunk.encode()


async def drain(iterator, chunks: list[bytes], timeout: float = 5.0) -> None:
    """Read the stream to its end (it must end)."""
    async for chunk in _with_timeout(iterator, timeout):
        chunks.append(chunk)


async def _with_timeout(iterator, timeout: float):
    while True:
        try:
            yield await asyncio.wait_for(anext(iterator), timeout)
        except StopAsyncIteration:
            return


def test_chat07_many_streams_of_a_process_share_one_redis_connection(acme):
    """Ten visitors' streams and their operator's ten streams: one connection to Redis,
    subscribed to the ten channels, and each message reaches the two streams of its chat."""
    chats = [start_chat(acme, f"hello {n}") for n in range(10)]
    user = acme.admin.user

    async def scenario():
        operator = AsyncClient()
        await sync_to_async(operator.force_login)(user)
        streams = []  # (conversation, iterator, chunks)
        for chat in chats:
            conversation = chat.conversation
            visitor = await AsyncClient().get(
                stream_url(acme, conversation.pk), {"token": chat.token, "after": "1"}
            )
            staff = await operator.get(operator_stream_url(acme, conversation.pk), {"after": "1"})
            for response in (visitor, staff):
                assert response.status_code == 200
                iterator = aiter(response.streaming_content)
                # The first chunk comes once the stream is subscribed.
                streams.append((conversation, iterator, [await anext(iterator)]))
        shared = realtime.subscriber()
        assert shared.connects == 1
        [connection] = await sync_to_async(connections_named)(shared.name)
        assert int(connection["sub"]) == 10  # one subscription per conversation
        for chat in chats:
            await sync_to_async(svc.message_post_visitor)(conversation=chat.conversation, body="x")
        for _conversation, iterator, chunks in streams:
            await read_until(iterator, chunks, lambda ev: seqs(ev) == [2])
        return shared.connects, [parse(chunks) for _c, _i, chunks in streams]

    connects, received = run_async(scenario)
    assert connects == 1
    assert [seqs(events) for events in received] == [[2]] * 20


def test_chat07_a_closed_stream_leaves_its_channel_and_the_last_one_unsubscribes(acme):
    started = start_chat(acme, "one")
    conversation = started.conversation
    name = realtime.channel(acme.org.pk, conversation.pk)

    async def scenario():
        first = realtime.conversation_events(acme.org.pk, conversation.pk, 1)
        second = realtime.conversation_events(acme.org.pk, conversation.pk, 1)
        await anext(first)
        await anext(second)
        shared = realtime.subscriber()
        assert len(shared.listeners[name]) == 2
        assert await sync_to_async(subscribers_of)(name) == 1  # one connection, once
        await first.aclose()
        assert len(shared.listeners[name]) == 1
        await sync_to_async(svc.message_post_visitor)(conversation=conversation, body="two")
        chunks: list[bytes] = []

        await read_until(as_bytes(second), chunks, lambda ev: seqs(ev) == [2])
        await second.aclose()
        assert name not in shared.listeners
        await eventually(lambda: subscribers_of(name) == 0)
        return shared.connected

    assert run_async(scenario) is True  # the connection stays for the next streams


def test_chat07_a_lost_redis_connection_ends_the_streams_and_they_resume_exactly_once(
    acme, monkeypatch
):
    """Redis drops the streams' connection (as at a restart): both streams of the chat end
    cleanly; a message posted meanwhile is stored; the clients reconnect with Last-Event-ID
    and get it, then the next ones live, each once, over a new connection."""
    monkeypatch.setattr(realtime, "RECONNECT_SECONDS", 0.0)  # reconnect at once, not in 1 s
    started = start_chat(acme, "one")
    conversation = started.conversation
    url = stream_url(acme, conversation.pk)

    async def scenario():
        client = AsyncClient()
        chunks = [[], []]
        iterators = []
        for _ in range(2):
            response = await client.get(url, {"token": started.token})
            iterators.append(aiter(response.streaming_content))
        for iterator, got in zip(iterators, chunks, strict=True):
            await read_until(iterator, got, lambda ev: seqs(ev) == [1])
        await sync_to_async(svc.message_post_visitor)(conversation=conversation, body="two")
        for iterator, got in zip(iterators, chunks, strict=True):
            await read_until(iterator, got, lambda ev: 2 in seqs(ev))
        shared = realtime.subscriber()
        [connection] = await sync_to_async(connections_named)(shared.name)
        await sync_to_async(redis_client().client_kill_filter)(_id=connection["id"])
        for iterator, got in zip(iterators, chunks, strict=True):
            await drain(iterator, got)  # the stream ends: EventSource reconnects
        assert not shared.connected
        await sync_to_async(svc.message_post_visitor)(conversation=conversation, body="three")
        # Reconnected, each with the last id it has.
        resumed = []
        for got in chunks:
            last = str(seqs(parse(got))[-1])
            response = await client.get(
                url, {"token": started.token}, headers={"Last-Event-ID": last}
            )
            resumed.append(aiter(response.streaming_content))
        for iterator, got in zip(resumed, chunks, strict=True):
            await read_until(iterator, got, lambda ev: 3 in seqs(ev))
        await sync_to_async(svc.message_post_visitor)(conversation=conversation, body="four")
        for iterator, got in zip(resumed, chunks, strict=True):
            await read_until(iterator, got, lambda ev: 4 in seqs(ev))
        return shared.connects, [parse(got) for got in chunks]

    connects, received = run_async(scenario)
    assert connects == 2
    for events in received:
        messages = [e for e in events if e["event"] == "message"]
        assert [m["data"]["body"] for m in messages] == ["one", "two", "three", "four"]


def test_chat07_a_stream_too_far_behind_ends_and_resumes_from_the_database(acme, monkeypatch):
    """A client that stops reading does not make the process hold its events without end:
    past QUEUE_LIMIT its stream ends, and the reconnect replays the rest once."""
    monkeypatch.setattr(realtime, "QUEUE_LIMIT", 2)
    started = start_chat(acme, "one")
    conversation = started.conversation

    async def scenario():
        events = as_bytes(realtime.conversation_events(acme.org.pk, conversation.pk, 0))
        chunks: list[bytes] = []
        await read_until(events, chunks, lambda ev: seqs(ev) == [1])
        shared = realtime.subscriber()
        delivered = shared.delivered
        for n in range(2, 7):
            await sync_to_async(svc.message_post_visitor)(conversation=conversation, body=str(n))
        await eventually(lambda: shared.delivered >= delivered + 2)
        await asyncio.sleep(0.2)  # the rest of the publishes arrive too
        await drain(events, chunks)
        first = seqs(parse(chunks))
        resumed = realtime.conversation_events(acme.org.pk, conversation.pk, first[-1])
        more: list[bytes] = []
        await read_until(as_bytes(resumed), more, lambda ev: 6 in seqs(ev))
        await resumed.aclose()
        return first, seqs(parse(more))

    first, then = run_async(scenario)
    assert first == [1, 2, 3]  # two queued, then the end
    assert then == [4, 5, 6]


def test_chat07_with_redis_down_streams_replay_and_end_without_waiting(acme, settings):
    """No Redis: the stream sends what is stored and ends at once (the client polls), and a
    second stream does not try to connect again within RECONNECT_SECONDS."""
    settings.CHAT_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    started = start_chat(acme, "one")

    async def scenario():
        got = []
        for _ in range(2):
            chunks: list[bytes] = []
            events = realtime.conversation_events(acme.org.pk, started.conversation.pk, 0)
            await drain(as_bytes(events), chunks)
            got.append(seqs(parse(chunks)))
        shared = realtime.subscriber()
        return got, shared.attempts, shared.connects, shared.connected

    assert run_async(scenario) == ([[1], [1]], 1, 0, False)
