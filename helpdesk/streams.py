"""Long-lived responses (server-sent events) and how they are told apart from pages.

`helpdesk/asgi.py` serves ordinary pages one at a time per process (`helpdesk/serving.py`)
and the chat's message posts on a few threads beside them: a response that stays open (an
event stream) would hold the process's page, or one of those threads, for as long as it
lives, and a few of them would starve every page. So the convention is: **a path whose last segment
is `stream` (it ends in `/stream/`) is a stream**, served by Django's ASGI handler as an async
view that waits on the event loop and holds no thread. Streams of later issues (chat, live
ticket updates) follow it, e.g. `/<portal>/chat/conversations/<id>/stream/`.

A stream holds no database connection either: the middleware's checks (session, membership,
the row-level-security scope) take one from the pool, and Django would give it back only
when the response ends. `event_stream` gives it back before the first event, so open streams
cannot drain the pool that the pages need.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.db import connections
from django.http import HttpRequest, StreamingHttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

HEARTBEAT_SECONDS = 15.0


def is_stream_path(path: str) -> bool:
    """Whether an ASGI request path names an event stream (see the module's convention)."""
    return path.endswith("/stream/")


async def _without_database(events: AsyncIterator[str]) -> AsyncIterator[str]:
    # Runs in this request's thread-sensitive context, where its connections live.
    await sync_to_async(connections.close_all)()
    try:
        async for event in events:
            yield event
    finally:
        # Closed early (the client left): the events' own clean-up runs now, not at the
        # garbage collector's leisure (a chat stream leaves its Redis channel there).
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


def event_stream(events: AsyncIterator[str]) -> StreamingHttpResponse:
    """A `text/event-stream` response that proxies and browsers pass on as it is written,
    and that gives the request's database connections back before its first event."""
    response = StreamingHttpResponse(_without_database(events), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx: do not buffer the stream
    return response


async def _heartbeats(interval: float) -> AsyncIterator[str]:
    yield f"retry: {int(interval * 1000)}\n\n"
    while True:
        yield f"event: heartbeat\ndata: {timezone.now().isoformat()}\n\n"
        await asyncio.sleep(interval)


@require_GET
async def heartbeat_stream(request: HttpRequest) -> StreamingHttpResponse:
    """`/healthz/stream/`: a heartbeat every 15 seconds, with no data of anyone's. Monitoring
    uses it to check that streams are served (and do not hold the page threads); the tests use
    it to hold streams open."""
    return event_stream(_heartbeats(HEARTBEAT_SECONDS))
