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

Settings: `CHAT_REDIS_URL` (default `REDIS_URL`); with neither, nothing is published.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis
import redis.asyncio as aioredis
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections

from helpdesk.tenancy import rls

from .models import ChatMessage, Conversation

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0
RETRY_MILLISECONDS = 3000
REPLAY_LIMIT = 500
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


def _stored_after(org_id: int, conversation_id: int, after: int) -> list[dict[str, Any]]:
    """Read in the organization's RLS scope, then give the connection back: a stream must
    not hold one while it waits (helpdesk/streams.py)."""
    try:
        with rls.tenant_scope(org_id):
            conversation = Conversation(pk=conversation_id, org_id=org_id)
            return messages_after(conversation, after)
    finally:
        connections.close_all()


def _sse(event: dict[str, Any]) -> str:
    data = json.dumps(event)
    if event.get("type") == "message":
        return f"id: {event['seq']}\nevent: message\ndata: {data}\n\n"
    return f"event: {event.get('type', 'notice')}\ndata: {data}\n\n"


async def conversation_events(
    org_id: int, conversation_id: int, after: int, *, heartbeat: float = HEARTBEAT_SECONDS
) -> AsyncIterator[str]:
    """The stream of one conversation for a client that has every message up to `after`."""
    stored_after = sync_to_async(_stored_after)
    pubsub = None
    conn = None
    url = redis_url()
    if url:
        conn = aioredis.Redis.from_url(url, socket_connect_timeout=1.0)
        try:
            pubsub = conn.pubsub()
            await pubsub.subscribe(channel(org_id, conversation_id))
        except (redis.RedisError, OSError) as exc:
            logger.warning("chat: stream cannot subscribe, replay only: %s", exc)
            pubsub = None
    last = after
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n"
        for event in await stored_after(org_id, conversation_id, last):
            last = event["seq"]
            yield _sse(event)
        if pubsub is None:
            return  # the client reconnects with Last-Event-ID: polling
        while True:
            try:
                raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=heartbeat)
            except (redis.RedisError, OSError) as exc:
                logger.warning("chat: stream lost Redis, client will reconnect: %s", exc)
                return
            if raw is None:
                yield ": heartbeat\n\n"
                continue
            try:
                event = json.loads(raw["data"])
            except (TypeError, ValueError):
                continue
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
        try:
            if pubsub is not None:
                await pubsub.unsubscribe()
                await pubsub.aclose()
            if conn is not None:
                await conn.aclose()
        except (redis.RedisError, OSError):
            pass
