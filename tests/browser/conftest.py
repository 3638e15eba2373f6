"""Browser tests: pytest-playwright driving Debian's Chromium against pytest-django's live_server.

See /work/shared/RECIPES.md, "Browser tests". Playwright's bundled browsers are never
downloaded (`playwright install` does not work here); Debian's /usr/bin/chromium is used.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started

from helpdesk.streams import is_stream_path

# Playwright's sync API runs an event loop in the test thread; Django would otherwise refuse
# ORM calls made from the test (fixtures, assertions on the database) in that thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} not found: the browser tests need Debian's Chromium. Install it with "
            "`apt-get install -y chromium chromium-driver` (bin/test installs it). "
            "Do not run `playwright install`.",
            pytrace=False,
        )
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # The product defaults to Japanese; the browser asks for English, as the scenario expects.
    return {**browser_context_args, "locale": "en-US"}


class StaticErrors(list):
    """Failed requests for /static/... (CSS, htmx, app.js) seen by the pages watched."""

    def watch(self, page) -> None:
        def on_response(response):
            if "/static/" in response.url and response.status >= 400:
                self.append(f"{response.status} {response.url}")

        def on_failed(request):
            # ERR_ABORTED: the page navigated away while the file was loading; not a failure.
            if "/static/" in request.url and "ERR_ABORTED" not in (request.failure or ""):
                self.append(f"failed {request.url}: {request.failure}")

        page.on("response", on_response)
        page.on("requestfailed", on_failed)


@pytest.fixture
def static_errors():
    """Call `static_errors.watch(page)`; the test fails if any static file did not load."""
    errors = StaticErrors()
    yield errors
    assert not errors, "static files did not load:\n" + "\n".join(errors)


class _InFlight:
    """The live server's (WSGI) requests that have started and not yet finished, by thread, event
    streams aside (they hold no database connection and stay open until the client goes)."""

    STALE = 30.0  # seconds: a request older than this is not waited for

    def __init__(self) -> None:
        self.started_at: dict[int, float] = {}
        self.changed = threading.Condition()

    def started(self, sender, environ=None, **kwargs) -> None:
        served = isinstance(sender, type) and issubclass(sender, WSGIHandler)  # not a test client
        if served and environ is not None and not is_stream_path(environ.get("PATH_INFO", "")):
            with self.changed:
                self.started_at[threading.get_ident()] = time.monotonic()

    def finished(self, sender, **kwargs) -> None:
        with self.changed:
            if self.started_at.pop(threading.get_ident(), None) is not None:
                self.changed.notify_all()

    def _idle(self) -> bool:
        now = time.monotonic()
        return all(now - began > self.STALE for began in self.started_at.values())

    def wait_idle(self, timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(self._idle, timeout=timeout)


_in_flight = _InFlight()
request_started.connect(_in_flight.started, dispatch_uid="browser-tests-in-flight")
request_finished.connect(_in_flight.finished, dispatch_uid="browser-tests-in-flight")


@pytest.fixture(autouse=True)
def _live_server_drained(request):
    """Before a test's database is flushed, let the live server finish the requests the
    closed pages left running (the fragments a page was still loading). A request still in
    its transaction while the flush's TRUNCATE locks the tables one by one can deadlock with
    it: in one CI run the flush failed so, and the next test found the last one's rows.

    Autouse fixtures of this conftest are set up after pytest-django's database fixture and
    before the test's own (`new_context`, `page`), so this teardown runs after the browser
    contexts have closed and before the flush."""
    yield
    if "live_server" in request.fixturenames:
        _in_flight.wait_idle(timeout=15)
