"""The README's first command on a machine with no database or broker server: the embedded
PostgreSQL (pgserver) and the filesystem broker. Every feature must work there, full-text
search included (ORG, TKT-06)."""

from __future__ import annotations

import os
import subprocess
import sys
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
    assert "owner@demo.madoguchi.test" in setup.stdout
    # A quiet start (issue 8 item 12): nothing a newcomer would take for a fault.
    worrying = [
        line
        for line in (setup.stdout + setup.stderr).splitlines()
        if "warning" in line.lower() or "unsupported" in line.lower()
    ]
    assert worrying == []
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
