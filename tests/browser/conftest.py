"""Browser tests: pytest-playwright driving Debian's Chromium against pytest-django's live_server.

See /work/shared/RECIPES.md, "Browser tests". Playwright's bundled browsers are never
downloaded (`playwright install` does not work here); Debian's /usr/bin/chromium is used.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

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
