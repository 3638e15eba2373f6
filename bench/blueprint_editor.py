"""The blueprint editor on a 100-transition blueprint (BP-04; issue "Blueprints: draw them in
the browser, see them on the ticket, and report on them", Performance: the editor loads a
100-transition blueprint in under 300 ms).

    python bench/blueprint_editor.py [--samples 20] [--regenerate]

1. Creates (once) a database `madoguchi_bpeditor` on the PostgreSQL of DATABASE_URL (default:
   the local server), migrates it, and builds through the configuration services one
   Enterprise organization with a blueprint of 30 states and 100 transitions (95 between
   states, from one or two states each, with owners and a mandatory field on every fifth,
   and 5 common ones), every state placed.
2. Times, in this process as the account admin (Django's test client, no network): the
   editor page (which embeds the graph), the graph's JSON (what the editor reads again after
   a save) and a save of the unchanged drawing (the JSON endpoint's checks): median and p95
   of `--samples` runs after a warm-up, with the SQL queries of one request.
Target: page and JSON each under 300 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "madoguchi_bpeditor"
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/madoguchi")
BENCH_URL = SERVER_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
PORTAL = "bpeditor"
STATES = 30
TRANSITIONS = 100
COMMON = 5


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()


def ensure_database(drop: bool) -> None:
    import psycopg

    admin = SERVER_URL.replace("postgres://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if drop:
            conn.execute(f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)')
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def world():
    """The organization and its 100-transition blueprint (built once, through the services)."""
    from blueprints import services as bp
    from blueprints.models import Blueprint
    from helpdesk.tenancy.models import DepartmentAgent, Membership, Organization
    from helpdesk.tenancy.services.organizations import organization_signup
    from helpdesk.tickets.models import StatusKind, TicketStatus
    from helpdesk.tickets.services.layouts import statuses_for

    org = Organization.objects.filter(portal=PORTAL).first()
    if org is None:
        membership = organization_signup(
            org_name="Blueprint editor bench",
            portal=PORTAL,
            full_name="Bench Admin",
            email=f"admin@{PORTAL}.test",
            password="bench-password-1",
        )
        org = membership.org
        org.plan = "enterprise"
        org.save()
    admin = Membership.objects.select_related("org", "user").get(org=org, admin_level="account")
    blueprint = Blueprint.objects.filter(org=org).first()
    if blueprint is not None:
        return org, admin, blueprint
    department = DepartmentAgent.objects.filter(org=org).select_related("department").first()
    department = department.department
    statuses_for(department)
    statuses = [
        TicketStatus.objects.get_or_create(
            org=org,
            department=department,
            name=f"Step {n:02d}",
            defaults={
                "kind": StatusKind.CLOSED if n == STATES - 1 else StatusKind.OPEN,
                "order": 20 + n,
            },
        )[0]
        for n in range(STATES)
    ]
    blueprint = bp.blueprint_save(
        actor=admin,
        data=bp.BlueprintInput(name="Large process", department=department),
        status="draft",
    )
    states = [
        bp.state_add(actor=admin, blueprint=blueprint, status=s, x=200 * (n % 6), y=120 * (n // 6))
        for n, s in enumerate(statuses)
    ]
    made = 0
    step = 1
    while made < TRANSITIONS - COMMON:
        for n in range(STATES - step):
            if made >= TRANSITIONS - COMMON:
                break
            froms = [states[n]] + ([states[n - 1]] if n and made % 3 == 0 else [])
            froms = [s for s in froms if s.pk != states[n + step].pk]
            extra = {}
            if made % 5 == 0:
                extra = {
                    "owners": [bp.OwnerInput(kind="ticket_owner")],
                    "fields": [bp.FieldInput(field="priority")],
                    "actions": ["comment"],
                }
            bp.transition_save(
                actor=admin,
                blueprint=blueprint,
                data=bp.TransitionInput(
                    name=f"T{made:03d}", to_state=states[n + step], from_states=froms, **extra
                ),
            )
            made += 1
        step += 1
    for n in range(COMMON):
        bp.transition_save(
            actor=admin,
            blueprint=blueprint,
            data=bp.TransitionInput(name=f"Common {n}", to_state=states[-1 - n], is_common=True),
        )
    bp.blueprint_set_status(actor=admin, blueprint=blueprint, status="active")
    return org, admin, blueprint


def _stats(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def measure(org, admin, blueprint, samples: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings

    from blueprints.models import State, Transition

    print(
        f"blueprint: {State.objects.filter(blueprint=blueprint).count()} states, "
        f"{Transition.objects.filter(blueprint=blueprint).count()} transitions"
    )
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin.user)
    plain = override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    )
    plain.enable()
    base = f"/{org.portal}/setup/blueprints/{blueprint.pk}/draw/"
    graph = client.get(base + "graph/", HTTP_HOST="127.0.0.1").json()
    drawing = json.dumps(
        {
            "states": [{"status": s["status"], "x": s["x"], "y": s["y"]} for s in graph["states"]],
            "connections": [
                {k: c[k] for k in ("id", "name", "from", "to", "common")}
                for c in graph["connections"]
            ],
        }
    )

    def page():
        return client.get(base, HTTP_HOST="127.0.0.1")

    def graph_json():
        return client.get(base + "graph/", HTTP_HOST="127.0.0.1")

    def save():
        return client.post(
            base + "graph/", data=drawing, content_type="application/json", HTTP_HOST="127.0.0.1"
        )

    for label, call in (
        ("editor page (graph embedded)", page),
        ("graph JSON", graph_json),
        ("save, drawing unchanged", save),
    ):
        for _ in range(2):
            response = call()
            assert response.status_code == 200, (
                label,
                response.status_code,
                response.content[:300],
            )
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            size = len(call().content)
        times = []
        for _ in range(samples):
            begun = time.perf_counter()
            call()
            times.append((time.perf_counter() - begun) * 1000)
        median, p95 = _stats(times)
        print(
            f"{label:30} median {median:6.1f} ms  p95 {p95:6.1f} ms  "
            f"{len(queries)} queries  {size / 1024:.0f} kB",
            flush=True,
        )
    plain.disable()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--regenerate", action="store_true", help="drop and recreate the database")
    args = parser.parse_args()
    ensure_database(drop=args.regenerate)
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    org, admin, blueprint = world()
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared)", flush=True)
    measure(org, admin, blueprint, args.samples)
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
