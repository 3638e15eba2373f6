"""A quiet start (issue 8 item 12): helpdesk/asgi.py answers the ASGI lifespan protocol, so
uvicorn no longer prints "ASGI 'lifespan' protocol appears unsupported" at every start."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_lifespan_startup_and_shutdown_are_accepted():
    from helpdesk.asgi import application

    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict] = []

    async def receive():
        return incoming.pop(0)

    async def send(message):
        sent.append(message)

    # A thread of its own: after the browser tests, this thread may have a running loop.
    worker = threading.Thread(
        target=lambda: asyncio.run(
            asyncio.wait_for(application({"type": "lifespan"}, receive, send), 5)
        )
    )
    worker.start()
    worker.join(10)
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_uvicorn_starts_and_stops_without_a_lifespan_notice():
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--port", str(port)],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
            # bin/start collects the static files before it serves; a fresh checkout has none,
            # and WhiteNoise says so (the suite's pytest settings ignore the same warning).
            "PYTHONWARNINGS": "ignore:No directory at:UserWarning",
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
    finally:
        server.send_signal(2)  # SIGINT, as Ctrl-C in bin/start
        output, _ = server.communicate(timeout=30)
    assert "Application startup complete" in output, output
    assert "Application shutdown complete" in output, output
    assert "unsupported" not in output.lower(), output
    assert "warning" not in output.lower(), output


def test_the_process_freezes_what_it_imported_so_full_collections_stay_short():
    """helpdesk/asgi.py imports every view module (through the URL patterns) and freezes the
    objects made so far: the collector's full passes then skip them (about 1 ms instead of
    90 ms per pass, which every waiting request would pay)."""
    code = (
        "import gc, time, helpdesk.asgi\n"
        "start = time.perf_counter(); gc.collect(); took = time.perf_counter() - start\n"
        "print(gc.get_freeze_count(), took)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "helpdesk.settings"},
        capture_output=True,
        text=True,
        check=True,
    )
    frozen, took = done.stdout.split()
    assert int(frozen) > 100_000
    assert float(took) < 0.05
