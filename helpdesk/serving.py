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
Django refuses database access); the loop waits for it. Except when the process also serves
requests that need its loop meanwhile (event streams, the chat's message posts: `share_loop`
says so): then the loop runs between slices of `SLICE_SECONDS` of the page, so that a stream
sends its events and a chat post goes on beside the page instead of after it (a message's
delivery would otherwise wait for every page its two processes run meanwhile; README, chat
benchmark). The process may then accept a connection while a page runs; processes serving no
stream hold their loop for the whole page, as before. The request body is read before the
page starts. A streaming response (a file, an export) is sent chunk by chunk without holding
the loop, each chunk read on the page thread. Event streams never come here (asgi.py sends
them to Django's ASGI handler): they wait on the loop, which a page holds for its few
milliseconds only.

`BesideThePages` serves a few short synchronous views (the chat's message posts and typing
notices, helpdesk/asgi.py) on threads of their own while the loop runs: they neither wait for
the process's page nor hold its loop, and they run through the WSGI handler as pages do (the
same middleware, the same row-level-security scope on the thread's connection). Django's ASGI
handler would serve them too, as async views, but crosses between threads and the loop for
each middleware hook: about a third more CPU a post (README, chat benchmark).
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from a2wsgi.wsgi import build_environ

Headers = list[tuple[bytes, bytes]]
Ran = tuple[int, Headers, bytes | None, Any]
SLICE_SECONDS = 0.002  # how long a page holds the loop at a time while the loop is shared


class OnePageAtATime:
    """An ASGI application (HTTP only) around a WSGI one; see the module's docstring."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        *,
        share_loop: Callable[[], bool] = lambda: False,
        slice_seconds: float = SLICE_SECONDS,
    ) -> None:
        self.app = app
        self.executor = ThreadPoolExecutor(1, thread_name_prefix="page")
        self.share_loop = share_loop
        self.slice_seconds = slice_seconds

    def _run(self, environ: Any) -> Ran:
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
        status, headers, body, stream = await self._wait(self.executor.submit(self._run, environ))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if stream is None:
            await send({"type": "http.response.body", "body": body})
            return
        await self._stream(stream, send)

    async def _wait(self, page: Future[Ran]) -> Ran:
        """Wait for the page without letting the loop run: the point (see the docstring);
        in slices while the loop is shared."""
        while True:
            try:
                return page.result(self.slice_seconds if self.share_loop() else None)
            except TimeoutError:
                await asyncio.sleep(0)  # the loop runs what is ready, then the page goes on

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


class BesideThePages(OnePageAtATime):
    """An ASGI application (HTTP only) around a WSGI one whose requests run on threads of their
    own (`threads`), the loop free meanwhile; see the module's docstring."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, threads: int = 2) -> None:
        super().__init__(app)
        self.executor = ThreadPoolExecutor(threads, thread_name_prefix="beside")

    async def _wait(self, page: Future[Ran]) -> Ran:
        return await asyncio.wrap_future(page)
