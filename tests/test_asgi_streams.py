"""Open event streams never starve the pages (helpdesk/asgi.py, helpdesk/streams.py).

Ordinary pages run one at a time per process (helpdesk/serving.py); a path ending in
`/stream/` is served by Django's ASGI handler, where an async view holds no thread. The test
runs the real ASGI application under uvicorn, holds ten streams open and times an ordinary
page."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack, contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest

from helpdesk.streams import is_stream_path

ROOT = Path(__file__).resolve().parents[1]
STREAMS = 10


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, timeout: float) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Accept-Language": "en"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def _test_database_url() -> str:
    """The test database, for the server process (every request runs in an RLS scope)."""
    from django.db import connection

    db = connection.settings_dict
    user = quote(db["USER"] or "", safe="")
    password = quote(db["PASSWORD"] or "", safe="")
    host = quote(db["HOST"] or "", safe="")  # a socket directory is percent-encoded
    auth = f"{user}:{password}@" if password else f"{user}@"
    return f"postgres://{auth}{host}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def uvicorn(app: str = "helpdesk.asgi:application"):
    """The app as production runs it (uvicorn, the ASGI entry point; DEBUG on only so that
    static files need no collectstatic), on a free port; stopped afterwards."""
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "DEBUG": "1",
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port)]
        + ["--log-level", "warning", "--no-access-log"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, _ = _get(port, "/accounts/login/", timeout=5)
                if status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                output = proc.stdout.read().decode() if proc.poll() is not None else ""
                pytest.fail(f"uvicorn did not start on port {port}:\n{output}")
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _open_stream(port: int, stack: ExitStack) -> bytes:
    """Open /healthz/stream/ and read until its first heartbeat; the socket stays open."""
    sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
    sock.sendall(
        b"GET /healthz/stream/ HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n"
    )
    received = b""
    while b"event: heartbeat" not in received:
        chunk = sock.recv(4096)
        assert chunk, f"stream closed early: {received!r}"
        received += chunk
    return received


@pytest.mark.django_db(transaction=True)
def test_ten_open_streams_do_not_delay_an_ordinary_page():
    """Ten heartbeat streams stay open while the login page still answers at once."""
    with uvicorn() as port, ExitStack() as streams:
        heads = [_open_stream(port, streams) for _ in range(STREAMS)]
        for head in heads:
            assert head.startswith(b"HTTP/1.1 200")
            assert b"content-type: text/event-stream" in head.lower()
        started = time.monotonic()
        status, body = _get(port, "/accounts/login/", timeout=10)
        elapsed = time.monotonic() - started
        assert status == 200 and b"Log in" in body
        assert elapsed < 2.0, f"the login page took {elapsed:.1f} s with {STREAMS} open streams"


@pytest.mark.parametrize(
    ("path", "stream"),
    [
        ("/healthz/stream/", True),
        ("/acme/chat/conversations/4/stream/", True),
        ("/acme/desk/", False),
        ("/acme/desk/tickets/stream", False),
        ("/acme/desk/streams/", False),
        ("/healthz", False),
    ],
)
def test_which_paths_are_streams(path, stream):
    """The convention: the last segment is `stream` (the path ends in `/stream/`)."""
    assert is_stream_path(path) is stream
