"""helpdesk/serving.py: pages one at a time per process, the event loop held while one runs
(a busy process accepts no connection, so the next request goes to an idle one)."""

from __future__ import annotations

import asyncio
import threading
import time

from helpdesk.serving import OnePageAtATime


def _scope(method: str = "GET", path: str = "/x/", query: bytes = b"") -> dict:
    return {
        "type": "http",
        "http_version": "1.1",
        "method": method,
        "path": path,
        "root_path": "",
        "query_string": query,
        "headers": [(b"host", b"testserver"), (b"content-type", b"text/plain")],
        "client": ("10.0.0.1", 5555),
        "server": ("testserver", 80),
        "scheme": "http",
    }


def _run(coroutine):
    """`asyncio.run` on a thread of its own: the browser tests' sync Playwright leaves an event
    loop running on the test thread of an xdist worker, where `asyncio.run` refuses to start."""
    result: dict = {}

    def target():
        try:
            result["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # noqa: BLE001 - re-raised on the test thread
            result["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


def _serve(app, scope: dict, messages: list[dict]) -> list[dict]:
    sent: list[dict] = []
    incoming = list(messages)

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    _run(app(scope, receive, send))
    return sent


def test_a_post_body_reaches_the_page_and_its_answer_comes_back():
    seen = {}

    def page(environ, start_response):
        seen["body"] = environ["wsgi.input"].read()
        seen["method"], seen["path"] = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        seen["query"], seen["addr"] = environ["QUERY_STRING"], environ["REMOTE_ADDR"]
        start_response("201 Created", [("Content-Type", "text/plain"), ("X-Seen", "yes")])
        return [b"made ", b"it"]

    sent = _serve(
        OnePageAtATime(page),
        _scope("POST", "/acme/desk/", b"a=1"),
        [
            {"type": "http.request", "body": b"subject=", "more_body": True},
            {"type": "http.request", "body": "日本語".encode(), "more_body": False},
        ],
    )
    assert seen == {
        "body": "subject=日本語".encode(),
        "method": "POST",
        "path": "/acme/desk/",
        "query": "a=1",
        "addr": "10.0.0.1",
    }
    assert sent[0] == {
        "type": "http.response.start",
        "status": 201,
        "headers": [(b"content-type", b"text/plain"), (b"x-seen", b"yes")],
    }
    assert sent[1] == {"type": "http.response.body", "body": b"made it"}


def test_a_streaming_answer_is_sent_chunk_by_chunk_and_closed_on_the_page_thread():
    closed_on = []

    class Streamed:
        streaming = True

        def __iter__(self):
            yield from (b"one,", b"two,", b"three")

        def close(self):
            closed_on.append(threading.current_thread().name)

    def page(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/csv")])
        return Streamed()

    sent = _serve(OnePageAtATime(page), _scope(), [{"type": "http.request", "body": b""}])
    bodies = [m["body"] for m in sent[1:]]
    assert bodies == [b"one,", b"two,", b"three", b""]
    assert [m.get("more_body", False) for m in sent[1:]] == [True, True, True, False]
    assert len(closed_on) == 1 and closed_on[0].startswith("page")


def test_a_client_gone_before_its_body_arrived_runs_no_page():
    calls = []

    def page(environ, start_response):
        calls.append(1)
        start_response("200 OK", [])
        return [b""]

    sent = _serve(OnePageAtATime(page), _scope("POST"), [{"type": "http.disconnect"}])
    assert sent == [] and calls == []


def test_the_event_loop_waits_while_a_page_runs():
    """While a page runs, nothing else of the process's loop runs (so it accepts no other
    connection): a callback scheduled at the page's start runs only after it ends."""
    order = []

    def page(environ, start_response):
        time.sleep(0.2)
        order.append("page done")
        start_response("200 OK", [])
        return [b"ok"]

    app = OnePageAtATime(page)

    async def main():
        loop = asyncio.get_running_loop()
        loop.call_soon(lambda: order.append("loop ran"))
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        await app(_scope(), receive, send)
        return sent

    sent = _run(main())
    assert order == ["page done", "loop ran"]
    assert sent[-1]["body"] == b"ok"


def test_while_the_loop_is_shared_it_runs_between_slices_of_the_page():
    """A process that serves streams or the chat's async posts (`share_loop`) lets its loop run
    every few milliseconds of a page: a coroutine of the loop (a stream's send, a chat post)
    goes on while the page runs, instead of after it."""
    order = []

    def page(environ, start_response):
        time.sleep(0.3)
        order.append("page done")
        start_response("200 OK", [])
        return [b"ok"]

    app = OnePageAtATime(page, share_loop=lambda: True)

    async def beside() -> float:
        started = time.perf_counter()
        for _ in range(5):
            await asyncio.sleep(0.01)
        order.append("beside done")
        return time.perf_counter() - started

    async def main():
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        other = asyncio.ensure_future(beside())
        await app(_scope(), receive, send)
        return sent, await other

    sent, beside_took = _run(main())
    assert order == ["beside done", "page done"]
    assert beside_took < 0.2
    assert sent[-1]["body"] == b"ok"
