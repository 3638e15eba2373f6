"""ASGI entry point (uvicorn in production and in `bin/start`).

Our pages are synchronous Django views. Served through Django's ASGI handler, each request
gets a fresh thread and every middleware hook crosses between async and sync code; served
through the WSGI handler, the same page costs about a fifth less CPU (bench/tickets.py). So
plain HTTP goes to the WSGI handler, one page at a time per process with the event loop held
meanwhile (helpdesk/serving.py: a busy process accepts no connection, so the next one goes to
an idle process); everything else an ASGI server carries goes to Django's ASGI handler; the
lifespan protocol is answered here. Scale with processes (`WEB_CONCURRENCY`, one or two per
core).

Event streams (server-sent events) hold their response open: served as pages, each would hold
the process. So a path that names a stream (its last segment is `stream`, see
helpdesk/streams.py) goes to Django's ASGI handler, where an async view waits on the event
loop without a thread.

The chat's message posts and typing notices (`chat.urls.is_message_path`) are served beside
the pages (helpdesk/serving.py, `BesideThePages`: the WSGI handler on threads of their own,
the loop free), so that a message neither waits for the page its process runs nor holds the
loop on which the streams of the process send. While a process has streams or such posts in
progress, a page lets the loop run between slices of a few milliseconds (`share_loop`); a
process without them holds its loop for the whole page as before.
"""

from __future__ import annotations

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from helpdesk.serving import BesideThePages, OnePageAtATime  # noqa: E402

django_asgi = get_asgi_application()
_wsgi = get_wsgi_application()
_sharing = 0  # requests in progress that need the loop while a page runs: streams, chat posts
pages = OnePageAtATime(_wsgi, share_loop=lambda: _sharing > 0)
beside = BesideThePages(_wsgi, threads=4)

from chat.urls import is_message_path  # noqa: E402 - after Django is set up
from helpdesk.streams import is_stream_path  # noqa: E402


async def lifespan(receive, send) -> None:
    """Accept the server's startup and shutdown (ASGI lifespan protocol). Django has nothing to
    do at either (connections are opened on demand and the pool closes with the process), but
    leaving the protocol unanswered makes uvicorn print "ASGI 'lifespan' protocol appears
    unsupported" at every start, which reads like a fault to a newcomer."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def served_by(scope):
    """The application a request goes to: the pages (one at a time), the chat's posts beside
    them, or Django's ASGI handler (streams, and whatever is not HTTP)."""
    if scope["type"] != "http" or is_stream_path(scope["path"]):
        return django_asgi
    if is_message_path(scope["path"]):
        return beside
    return pages


async def application(scope, receive, send):
    if scope["type"] == "lifespan":
        return await lifespan(receive, send)
    app = served_by(scope)
    if app is pages:
        return await pages(scope, receive, send)
    global _sharing
    _sharing += 1
    try:
        return await app(scope, receive, send)
    finally:
        _sharing -= 1


# What importing Django and the project makes (settings, models, every view module through
# the URL patterns: about 170,000 objects) lives as long as the process. Frozen, the
# collector's full passes skip it: a full pass costs about 1 ms instead of 90, which every
# request waiting behind it would pay.
get_resolver().reverse_dict  # noqa: B018 - imports the URL patterns' modules, builds the map
gc.freeze()
