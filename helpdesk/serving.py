"""How the web processes serve our synchronous pages: one at a time, each process holding its
event loop while a page runs (helpdesk/asgi.py).

A page is almost all Python. Several at once in one process only queue for the interpreter
lock; and a process that keeps accepting connections while busy gets as many new requests as
an idle one, so a request may wait behind two pages in one process while the other process
has nothing to do. Holding the event loop while the page runs means the busy process accepts
nothing: the kernel gives the next connection to a process that is free, as gunicorn's sync
workers do. Under wrk at concurrency 8 on two cores this served the ticket list about a third
more requests per second than a2wsgi's thread pool, with a p90 of 84 ms instead of 159 ms
(README, "Benchmarks").

The page runs on a thread of its own (the loop thread has a running event loop, in which
Django refuses database access); the loop waits for it. The request body is read before the
page starts. A streaming response (a file, an export) is sent chunk by chunk without holding
the loop, each chunk read on the page thread. Event streams never come here (asgi.py sends
them to Django's ASGI handler): they wait on the loop, which a page holds for its few
milliseconds only.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from a2wsgi.wsgi import build_environ

Headers = list[tuple[bytes, bytes]]


class OnePageAtATime:
    """An ASGI application (HTTP only) around a WSGI one; see the module's docstring."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="page")

    def _run(self, environ: Any) -> tuple[int, Headers, bytes | None, Any]:
        started: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info=None):
            started["status"] = int(status.split(" ", 1)[0])
            started["headers"] = [
                (name.strip().encode("latin1").lower(), value.strip().encode("latin1"))
                for name, value in headers
            ]
            return lambda data: None  # the write() callable: Django never uses it

        result = self.app(environ, start_response)
        if getattr(result, "streaming", False):
            return started["status"], started["headers"], None, result
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()  # on this thread: Django closes this thread's connections
        return started["status"], started["headers"], body, None

    async def __call__(self, scope: dict[str, Any], receive, send) -> None:
        assert scope["type"] == "http"
        parts = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            parts.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        environ = build_environ(scope, io.BytesIO(b"".join(parts)))  # type: ignore[arg-type]
        # Wait for the page without letting the loop run: the point (see the docstring).
        status, headers, body, stream = self.executor.submit(self._run, environ).result()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if stream is None:
            await send({"type": "http.response.body", "body": body})
            return
        await self._stream(stream, send)

    async def _stream(self, stream: Any, send) -> None:
        loop = asyncio.get_running_loop()
        chunks: Iterator[bytes] = iter(stream)
        try:
            while (
                chunk := await loop.run_in_executor(self.executor, next, chunks, None)
            ) is not None:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                await loop.run_in_executor(self.executor, close)
