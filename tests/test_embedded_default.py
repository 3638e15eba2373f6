"""The README's first command on a machine with no database or broker server: the embedded
PostgreSQL (pgserver) and the filesystem broker. Every feature must work there, full-text
search included (ORG, TKT-06)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def _embedded_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in SERVER_VARIABLES}


def test_first_command_sets_up_demo_data_on_the_embedded_default():
    """`bin/start --no-server` migrates and loads the demo on the embedded PostgreSQL, and the
    Japanese full-text search finds a demo ticket there."""
    env = _embedded_env()
    setup = subprocess.run(
        [str(ROOT / "bin/start"), "--no-server"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert setup.returncode == 0, setup.stdout[-3000:] + setup.stderr[-3000:]
    _quiet_and_ends_with_the_logins(setup.stdout, setup.stderr)
    probe = (
        "from helpdesk.tickets.models import Ticket; from helpdesk.tickets import search; "
        "from django.db import connection; "
        "print(connection.settings_dict['HOST']); "
        "print(list(Ticket.objects.filter(org__portal='demo', "
        "search_vector=search.query('ログイン')).values_list('subject', flat=True)))"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    host, subjects = result.stdout.strip().splitlines()[-2:]
    assert host.endswith(".pgdata")
    assert "ログインできません" in subjects
    _runtime_role_is_walled_in()
    _the_web_server_starts_and_stops_quietly()


def _runtime_role_is_walled_in() -> None:
    """The web server and the worker of `bin/start` log in as the runtime role: there, an
    unscoped query sees no tickets, and a scoped one only its organization's (ORG-01)."""
    env = {**_embedded_env(), "DATABASE_USER": "madoguchi_app"}
    probe = (
        "from helpdesk.tickets.models import Ticket; from helpdesk.tenancy import rls; "
        "from helpdesk.tenancy.models import Organization; from django.db import connection; "
        "demo = Organization.objects.get(portal='demo'); "
        "cursor = connection.cursor(); cursor.execute('SELECT current_user'); "
        "print(cursor.fetchone()[0], Ticket.objects.count()); "
        "scope = rls.tenant_scope(demo.id); scope.__enter__(); "
        "print(Ticket.objects.count() > 0, "
        "set(Ticket.objects.values_list('org_id', flat=True)) == {demo.id})"
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    unscoped, scoped = result.stdout.strip().splitlines()[-2:]
    assert unscoped == "madoguchi_app 0"
    assert scoped == "True True"


# Lines a newcomer would take for a fault: Python's and Django's warnings (DeprecationWarning,
# "WARNINGS:" of the system checks), uvicorn's "ASGI 'lifespan' protocol appears unsupported",
# errors and tracebacks.
WORRYING = re.compile(r"warn|unsupported|error|traceback|exception", re.IGNORECASE)
SITE_URL = "http://localhost:8000"  # bin/start's default (PORT 8000)


def _quiet_and_ends_with_the_logins(stdout: str, stderr: str) -> None:
    """Issue 8 item 12, a quiet start: nothing a newcomer would worry about, and the output ends
    with where to go and how to log in, the block the server's closing banner repeats."""
    # A migration's name may hold such a word ("..._add_error_messages"): its line is no alarm.
    lines = [line for line in (stdout + stderr).splitlines() if not line.startswith("  Applying ")]
    assert [line for line in lines if WORRYING.search(line)] == []
    assert stderr.strip() == ""
    lines = stdout.rstrip("\n").splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("Log in at "))
    heading, *people, last = lines[start:]
    assert lines[start - 1] == f"Demo organization ready: {SITE_URL}/demo/"
    assert re.fullmatch(
        rf"Log in at {re.escape(SITE_URL)}/accounts/login/ with password “[^”]+” as:", heading
    ), heading
    logins = [re.fullmatch(r"  (\S+@demo\.madoguchi\.test) +(\S.*\S)  \((.+)\)", p) for p in people]
    assert None not in logins, people
    emails = [m.group(1) for m in logins]
    assert {"owner@demo.madoguchi.test", "agent@demo.madoguchi.test"} <= set(emails)
    assert len(emails) == len(set(emails)) >= 5
    # Names without role suffixes (issue 8 item 11): the role is in its own parentheses.
    assert all("admin" not in m.group(2).lower() for m in logins)
    assert last == "==> Set up done (--no-server). Start everything with: bin/start"
    # What the full start prints last, once the server answers (bin/start repeats this block).
    saved = (ROOT / ".run" / "demo-logins.txt").read_text().rstrip("\n").splitlines()
    assert saved[saved.index(heading) :] == [heading, *people]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _the_web_server_starts_and_stops_quietly() -> None:
    """The web server as bin/start runs it (uvicorn, two processes, warnings only, the runtime
    role) answers /healthz and prints nothing on its way up or down: no lifespan notice, no
    access lines that would scroll the banner away."""
    script = (ROOT / "bin" / "start").read_text()
    assert 'WEB_CONCURRENCY="${WEB_CONCURRENCY:-2}" uvicorn helpdesk.asgi:application' in script
    assert "--log-level warning" in script
    port = _free_port()
    env = {
        **_embedded_env(),
        "DATABASE_USER": "madoguchi_app",
        "DATABASE_PASSWORD": "",
        "WEB_CONCURRENCY": "2",
        "SITE_URL": SITE_URL,
    }
    env.pop("DEBUG", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "helpdesk.asgi:application", "--host", "127.0.0.1"]
        + ["--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    health = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and server.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
                    health = (r.status, r.read().decode())
                break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.5)
    finally:
        # bin/start stops the server with SIGINT (it releases the embedded PostgreSQL then).
        server.send_signal(signal.SIGINT)
        try:
            output, _ = server.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            output, _ = server.communicate()
    assert health is not None and health[0] == 200, (health, output[-3000:])
    assert '"status": "ok"' in health[1]
    assert output.strip() == "", output[-3000:]
