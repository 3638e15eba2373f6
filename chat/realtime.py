"""Real-time delivery of a conversation's events (CHAT-07): stored first, then published.

A message is written in the database (its `seq` numbers it within the conversation), and only
after the transaction commits is it published on Redis, on one channel per conversation. The
event streams (server-sent events, async views on paths ending in `/stream/`) subscribe to
that channel, *then* read what the client has not seen yet from the database, then forward
what is published. Subscribing before reading means a message committed in between arrives by
both ways: the stream sends each `seq` once (the highest sent so far is remembered), and a
published `seq` that skips one (two writers publishing out of order) is filled in from the
database, so nothing is lost either. The client names the last `seq` it has (`Last-Event-ID`
when EventSource reconnects, or `?after=`).

Typing notices are ephemeral: published only, never stored. If Redis is unavailable, messages
are still stored (the failure is logged, not raised); a stream then sends what is stored and
ends, and EventSource reconnects after `retry` milliseconds, which is polling by another name
(the widget also polls `messages?after=` when streams fail).

Every stream of a process shares one Redis connection (`Subscriber`, one per event loop: a
uvicorn worker has one): a task reads that connection and puts each published event on the
queues of the streams of its conversation; a channel is subscribed while at least one stream
of it is open, and a stream waits for Redis to confirm the subscription before it reads the
database. When the connection fails (Redis restarts, the network drops), every stream ends:
the client reconnects with `Last-Event-ID` and the database gives it what it missed, once;
the next stream connects again (at most one attempt per `RECONNECT_SECONDS`, so a Redis that
is down costs a stream nothing but its replay). A stream whose client reads too slowly to
keep up (`QUEUE_LIMIT` events behind) ends the same way.

Settings: `CHAT_REDIS_URL` (default `REDIS_URL`); with neither, nothing is published.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import redis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from helpdesk.tenancy import rls

from .models import ChatMessage, Conversation

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 3000
REPLAY_LIMIT = 500
CONNECT_SECONDS = 1.0
SUBSCRIBE_SECONDS = 2.0
RECONNECT_SECONDS = 1.0
PING_SECONDS = 10.0
QUEUE_LIMIT = 1000
_clients: dict[str, redis.Redis] = {}


def redis_url() -> str:
    return getattr(settings, "CHAT_REDIS_URL", None) or settings.REDIS_URL or ""


def channel(org_id: int, conversation_id: int) -> str:
    # The cache's key prefix keeps deployments (or test workers) that share a Redis apart.
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    return f"chat:{prefix}:{org_id}:{conversation_id}"


def message_event(message: ChatMessage) -> dict[str, Any]:
    """What the visitor and the operators receive of a message (the author's name only for
    operators' messages: a visitor sees who answers)."""
    author = message.author.full_name if message.author_id and message.author else ""
    return {
        "type": "message",
        "seq": message.seq,
        "sender": message.sender,
        "author": author,
        "body": message.body,
        "created_at": message.created_at.isoformat(),
        # A file sent with the message: each side builds its own access-checked link.
        "attachment": (
            {"id": message.attachment_id, "size": message.attachment.size}
            if message.attachment_id and message.attachment
            else None
        ),
    }


def _client(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=1.0)
        _clients[url] = client
    return client


def publish(org_id: int, conversation_id: int, event: dict[str, Any]) -> bool:
    """Publish one event of a conversation; False (and a log line) if Redis is unavailable.
    Callers publish stored events after commit: a lost publish delays, never loses, them."""
    url = redis_url()
    if not url:
        return False
    try:
        _client(url).publish(channel(org_id, conversation_id), json.dumps(event))
    except (redis.RedisError, OSError) as exc:
        logger.warning("chat: publish to %s failed: %s", channel(org_id, conversation_id), exc)
        return False
    return True


def messages_after(conversation: Conversation, after: int) -> list[dict[str, Any]]:
    """Stored message events of the conversation with `seq > after`, oldest first."""
    messages = (
        ChatMessage.objects.for_org(conversation.org_id)
        .filter(conversation=conversation, seq__gt=after)
        .select_related("author", "attachment")
        .order_by("seq")[:REPLAY_LIMIT]
    )
    return [message_event(m) for m in messages]


T = TypeVar("T")


def _scoped(org_id: int, read: Callable[[], T]) -> T:
    """`read()` in the organization's RLS scope, then give the connection back: a stream must
    not hold one while it waits (helpdesk/streams.py)."""
    try:
        with rls.tenant_scope(org_id):
            return read()
    finally:
        connections.close_all()


def _stored_after(org_id: int, conversation_id: int, after: int) -> list[dict[str, Any]]:
    conversation = Conversation(pk=conversation_id, org_id=org_id)
    return _scoped(org_id, lambda: messages_after(conversation, after))


def _opening(
    org_id: int, conversation_id: int, after: int, announce_end: bool
) -> tuple[list[dict[str, Any]], str | None]:
    """What a stream sends first: the stored messages after `after`, and with `announce_end`
    "ended" or "missed" when the conversation is over (None otherwise), in one connection."""

    def read() -> tuple[list[dict[str, Any]], str | None]:
        events = messages_after(Conversation(pk=conversation_id, org_id=org_id), after)
        if not announce_end:
            return events, None
        state = (
            Conversation.objects.for_org(org_id)
            .filter(pk=conversation_id)
            .values_list("state", flat=True)
            .first()
        )
        over = state in (Conversation.State.ENDED, Conversation.State.MISSED)
        return events, state if over else None

    return _scoped(org_id, read)


def _sse(event: dict[str, Any]) -> str:
    data = json.dumps(event)
    if event.get("type") == "message":
        return f"id: {event['seq']}\nevent: message\ndata: {data}\n\n"
    return f"event: {event.get('type', 'notice')}\ndata: {data}\n\n"


# --- The shared subscriber ---------------------------------------------------------------------
class RedisUnavailable(Exception):
    """The shared subscriber has no connection to Redis (now, or for the moment)."""


_END = object()  # put on a listener's queue: the stream ends, its client reconnects


class Listener:
    """One stream's share of the subscriber: the events of its channel, in publish order."""

    def __init__(self, subscriber: Subscriber, channel: str) -> None:
        self.subscriber = subscriber
        self.channel = channel
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.ended = False
        self.closed = False

    def deliver(self, event: Any) -> None:
        if self.ended:
            return
        if event is _END or self.queue.qsize() >= QUEUE_LIMIT:
            self.ended = True  # too far behind: the client catches up from the database
            event = _END
        self.queue.put_nowait(event)

    async def get(self) -> Any:
        return await self.queue.get()

    def close(self) -> None:
        """Leave the channel (synchronous: called from a stream's `finally`)."""
        if not self.closed:
            self.closed = True
            self.subscriber.leave(self)


class Subscriber:
    """One Redis connection of an event loop for every stream on it (see the module's
    docstring). It speaks the few commands of Redis's protocol it needs (SUBSCRIBE, UNSUBSCRIBE,
    PING, AUTH, CLIENT SETNAME) on an asyncio stream, so that a failure is seen as one and
    never retried behind the streams' backs: a silent reconnect would lose what was published
    in between."""

    _names = itertools.count(1)

    def __init__(self, url: str) -> None:
        self.url = url
        self.name = f"madoguchi-chat-{os.getpid()}-{next(self._names)}"  # CLIENT LIST shows it
        self.listeners: dict[str, set[Listener]] = {}
        self.attempts = 0  # connections tried (for tests and the benchmark)
        self.connects = 0  # connections opened
        self.delivered = 0  # events put on listeners' queues
        self._pending: dict[str, deque[asyncio.Future[None]]] = {}  # SUBSCRIBEs not confirmed
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._lock = asyncio.Lock()
        self._failed_at = -RECONNECT_SECONDS
        self._last_read = 0.0

    @property
    def connected(self) -> bool:
        return self._writer is not None

    # Joining and leaving a channel.
    async def join(self, channel: str) -> Listener:
        """A listener of `channel`, once Redis has confirmed the subscription: whatever is
        published from then on reaches it. Raises RedisUnavailable."""
        await self._connect()
        listener = Listener(self, channel)
        listeners = self.listeners.get(channel)
        confirmed: asyncio.Future[None] | None
        if listeners is None:
            listeners = self.listeners[channel] = set()
            confirmed = asyncio.get_running_loop().create_future()
            self._pending.setdefault(channel, deque()).append(confirmed)
            self._send("SUBSCRIBE", channel)
        else:
            pending = self._pending.get(channel)
            confirmed = pending[-1] if pending else None
        listeners.add(listener)
        if confirmed is not None:
            try:
                await asyncio.wait_for(asyncio.shield(confirmed), SUBSCRIBE_SECONDS)
            except BaseException:
                listener.close()
                raise
        if listener.ended:  # the connection failed while it waited
            listener.close()
            raise RedisUnavailable("the connection to Redis was lost")
        return listener

    def leave(self, listener: Listener) -> None:
        listeners = self.listeners.get(listener.channel)
        if listeners is None or listener not in listeners:
            return
        listeners.discard(listener)
        if not listeners:
            del self.listeners[listener.channel]
            if self._writer is not None:
                self._send("UNSUBSCRIBE", listener.channel)

    # The connection.
    async def _connect(self) -> None:
        if self._writer is not None:
            return
        async with self._lock:
            if self._writer is not None:
                return
            loop = asyncio.get_running_loop()
            if loop.time() - self._failed_at < RECONNECT_SECONDS:
                raise RedisUnavailable("Redis failed a moment ago")
            self.attempts += 1
            try:
                reader, writer = await asyncio.wait_for(self._open(), CONNECT_SECONDS)
            except (OSError, TimeoutError, ValueError, RedisUnavailable) as exc:
                self._failed_at = loop.time()
                raise RedisUnavailable(str(exc) or type(exc).__name__) from exc
            self._reader, self._writer = reader, writer
            self._last_read = loop.time()
            self.connects += 1
            self._tasks = [
                loop.create_task(self._read_loop(reader, writer)),
                loop.create_task(self._ping_loop(writer)),
            ]

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        parts = urlsplit(self.url)
        if parts.scheme not in ("redis", "rediss"):
            raise ValueError(f"unsupported Redis URL scheme {parts.scheme!r}")
        reader, writer = await asyncio.open_connection(
            parts.hostname or "127.0.0.1", parts.port or 6379, ssl=parts.scheme == "rediss" or None
        )
        try:
            commands: list[tuple[str, ...]] = []
            if parts.password is not None:
                user = unquote(parts.username or "")
                password = unquote(parts.password)
                commands.append(("AUTH", user, password) if user else ("AUTH", password))
            commands.append(("CLIENT", "SETNAME", self.name))
            for command in commands:
                writer.write(_command(*command))
                reply = await _read_reply(reader)
                if isinstance(reply, RedisUnavailable):
                    raise reply
        except BaseException:
            writer.close()
            raise
        return reader, writer

    def _send(self, *args: str) -> None:
        if self._writer is not None:
            self._writer.write(_command(*args))

    async def _read_loop(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                reply = await _read_reply(reader)
                self._last_read = loop.time()
                if not isinstance(reply, list) or len(reply) < 3:
                    continue  # PONG, or an error reply to a command of ours
                kind, name = reply[0], reply[1].decode()
                if kind == b"message":
                    self._fan_out(name, reply[2])
                elif kind == b"subscribe":
                    pending = self._pending.get(name)
                    if pending:
                        confirmed = pending.popleft()
                        if not confirmed.done():
                            confirmed.set_result(None)
                        if not pending:
                            del self._pending[name]
        except asyncio.CancelledError:
            self._fail(writer, None)
            raise
        except (OSError, EOFError, ValueError, IndexError, AttributeError) as exc:
            logger.warning("chat: the streams' Redis connection failed, they end: %r", exc)
            self._fail(writer, exc)

    async def _ping_loop(self, writer: asyncio.StreamWriter) -> None:
        """A connection that stops answering (a half-open TCP connection) is a failed one."""
        loop = asyncio.get_running_loop()
        while self._writer is writer:
            await asyncio.sleep(PING_SECONDS)
            if self._writer is not writer:
                return
            if loop.time() - self._last_read > 2 * PING_SECONDS:
                writer.transport.abort()  # the read loop sees it and fails
                return
            self._send("PING")

    def _fan_out(self, name: str, data: bytes) -> None:
        listeners = self.listeners.get(name)
        if not listeners:
            return  # unsubscribed meanwhile
        try:
            event = json.loads(data)
        except ValueError:
            return
        if not isinstance(event, dict):
            return
        for listener in listeners:
            listener.deliver(event)
            self.delivered += 1

    def _fail(self, writer: asyncio.StreamWriter, exc: BaseException | None) -> None:
        """The connection is gone: every stream ends, and the next one connects anew."""
        if self._writer is writer:
            self._writer = self._reader = None
            if exc is not None:
                self._failed_at = asyncio.get_running_loop().time()
        writer.close()
        listeners = [item for group in self.listeners.values() for item in group]
        self.listeners.clear()
        for listener in listeners:
            listener.closed = True
            listener.deliver(_END)
        for pending in self._pending.values():
            for confirmed in pending:
                if not confirmed.done():
                    confirmed.set_result(None)  # its listener has ended: join raises
        self._pending.clear()
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        self._tasks = []


def _command(*args: str) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg.encode()
        parts += [b"$%d\r\n" % len(data), data, b"\r\n"]
    return b"".join(parts)


async def _read_reply(reader: asyncio.StreamReader) -> Any:
    """One reply of the Redis protocol (RESP2); an error reply is returned, not raised."""
    line = await reader.readline()
    if not line.endswith(b"\r\n"):
        raise EOFError("Redis closed the connection")
    kind, rest = line[:1], line[1:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [await _read_reply(reader) for _ in range(count)]
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else (await reader.readexactly(size + 2))[:-2]
    if kind == b":":
        return int(rest)
    if kind == b"+":
        return rest
    if kind == b"-":
        return RedisUnavailable(rest.decode(errors="replace"))
    raise ValueError(f"unexpected Redis reply {line[:20]!r}")


_subscribers: dict[tuple[asyncio.AbstractEventLoop, str], Subscriber] = {}
_subscribers_lock = threading.Lock()


def subscriber() -> Subscriber:
    """The shared subscriber of the running event loop (and of `redis_url()`)."""
    loop = asyncio.get_running_loop()
    key = (loop, redis_url())
    with _subscribers_lock:
        found = _subscribers.get(key)
        if found is None:
            for old in [k for k in _subscribers if k[0].is_closed()]:
                del _subscribers[old]  # loops of finished requests (async_to_sync, tests)
            found = _subscribers[key] = Subscriber(key[1])
        return found


# --- The stream --------------------------------------------------------------------------------
async def conversation_events(
    org_id: int,
    conversation_id: int,
    after: int,
    *,
    heartbeat: float = HEARTBEAT_SECONDS,
    announce_end: bool = False,
) -> AsyncIterator[str]:
    """The stream of one conversation for a client that has every message up to `after`.
    `announce_end`: after the replay, a conversation already over is announced with its
    `state` event. A state change is published, not stored: one made while the client was
    connecting (subscribed after it) reached nobody, and the visitor's widget kept waiting
    for an operator beside the missed-chat message (the widget asks for it)."""
    stored_after = sync_to_async(_stored_after)
    listener: Listener | None = None
    if redis_url():
        try:
            listener = await subscriber().join(channel(org_id, conversation_id))
        except (RedisUnavailable, TimeoutError) as exc:
            logger.warning("chat: stream cannot subscribe, replay only: %s", exc)
    last = after
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        # Read after subscribing: a later message or change comes as an event.
        events, ended = await sync_to_async(_opening)(org_id, conversation_id, last, announce_end)
        for event in events:
            last = event["seq"]
            yield _sse(event)
        if ended is not None:
            yield _sse({"type": "state", "state": ended})
        if listener is None:
            return  # the client reconnects with Last-Event-ID: polling
        while True:
            try:
                event = await asyncio.wait_for(listener.get(), heartbeat)
            except TimeoutError:
                yield ": heartbeat\n\n"
                continue
            if event is _END:
                return  # Redis failed, or this client fell behind: it reconnects and resumes
            if event.get("type") != "message":
                yield _sse(event)
                continue
            seq = int(event.get("seq", 0))
            if seq <= last:
                continue  # already sent (replayed, or filled in)
            if seq > last + 1:  # one published out of order: take the gap from the database
                events = await stored_after(org_id, conversation_id, last)
            else:
                events = [event]
            for item in events:
                if item["seq"] > last:
                    last = item["seq"]
                    yield _sse(item)
    finally:
        if listener is not None:
            listener.close()
