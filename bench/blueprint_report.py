"""The blueprint report over 200,000 logged transitions (BP-26; issue "Blueprints: draw them in
the browser, see them on the ticket, and report on them", Performance).

    python bench/blueprint_report.py [--tickets 40000] [--samples 15] [--regenerate]

1. Creates (once) a database `madoguchi_bpreport` on the PostgreSQL of DATABASE_URL (default:
   the local server), migrates it, and generates in SQL one organization whose department
   works 9-18 Monday to Friday, a blueprint of six states in a ring with a transition from each
   to the next, five agents, and `--tickets` tickets that each entered the blueprint and took
   five transitions over the last twelve months (stays of 10 minutes to 3 days): with the
   default 40,000 tickets, 200,000 transitions in the log, 240,000 state visits (40,000 still
   open), and state-SLA clocks (met or missed) for two of the states. The visits' business
   seconds are computed once with the business-time module, as the visit listener does.
2. Times, in this process as the account admin, the report page over the last 12 months
   (every transition), its CSV and the report's selector alone: median and p95 of
   `--samples` runs after a warm-up, and the SQL queries of one page. The machines are
   shared, so each line also gives the CPU the page cost: this process's plus that of the
   database's backends (read from /proc), per page. The bench database runs serial plans
   (max_parallel_workers_per_gather = 0), so that CPU is the whole cost of a page, and on an
   idle core the page takes about that long.
Target (2 cores): the page under 1 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "madoguchi_bpreport"
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/madoguchi")
BENCH_URL = SERVER_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
PORTAL = "bpreport"
STATES = ["New", "Triage", "Awaiting approval", "Approved", "Shipping", "Refunded"]
AGENTS = 5
TRANSITIONS_PER_TICKET = 5


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
        conn.execute(f'ALTER DATABASE "{BENCH_DB}" SET max_parallel_workers_per_gather = 0')


def world(tickets: int):
    """The organization, department, agents and blueprint (created once)."""
    from blueprints.models import Blueprint, State, Transition, TransitionSource
    from helpdesk.tenancy.models import (
        BusinessInterval,
        DepartmentAgent,
        Membership,
        Organization,
        User,
    )
    from helpdesk.tenancy.services.organizations import organization_signup
    from helpdesk.tickets.models import StatusKind, TicketStatus
    from helpdesk.tickets.services.layouts import statuses_for

    org = Organization.objects.filter(portal=PORTAL).first()
    if org is None:
        membership = organization_signup(
            org_name="Blueprint report bench",
            portal=PORTAL,
            full_name="Bench Admin",
            email=f"admin@{PORTAL}.test",
            password="bench-password-1",
        )
        org = membership.org
        org.plan = "enterprise"
        org.save()
    department = DepartmentAgent.objects.filter(org=org).select_related("department").first()
    department = department.department
    statuses_for(department)
    if not BusinessInterval.objects.filter(org=org, department=department).exists():
        BusinessInterval.objects.bulk_create(
            BusinessInterval(
                org=org, department=department, weekday=d, start=dt.time(9), end=dt.time(18)
            )
            for d in range(5)
        )
    agents = list(
        Membership.objects.filter(org=org, desk_role="agent").values_list("user_id", flat=True)
    )
    for n in range(len(agents), AGENTS):
        user = User.objects.create_user(email=f"agent{n}@{PORTAL}.test", full_name=f"Agent {n}")
        Membership.objects.create(org=org, user=user, desk_role="agent")
        DepartmentAgent.objects.create(org=org, department=department, user=user)
        agents.append(user.pk)
    blueprint = Blueprint.objects.filter(org=org, name="Returns").first()
    if blueprint is None:
        blueprint = Blueprint.objects.create(
            org=org, name="Returns", department=department, status="active"
        )
        states = []
        for n, name in enumerate(STATES):
            status, _ = TicketStatus.objects.get_or_create(
                org=org,
                department=department,
                name=name,
                defaults={"kind": StatusKind.OPEN, "order": 20 + n},
            )
            states.append(State.objects.create(org=org, blueprint=blueprint, status=status))
        for n, state in enumerate(states):
            target = states[(n + 1) % len(states)]
            transition = Transition.objects.create(
                org=org,
                blueprint=blueprint,
                name=f"To {target.status.name}"[:30],
                to_state=target,
                position=n,
            )
            TransitionSource.objects.create(org=org, transition=transition, state=state)
    return org, department, blueprint, agents[:AGENTS]


def generate(org, department, blueprint, agents: list[int], tickets: int) -> None:
    """Tickets, their visits, transition log, instances and state clocks, in SQL."""
    from django.db import connection

    from blueprints.models import State, Transition
    from helpdesk.tenancy.models import Membership

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM blueprints_transitionlog WHERE org_id = %s AND kind = "
            "'transition'",
            [org.pk],
        )
        if cursor.fetchone()[0] >= tickets * TRANSITIONS_PER_TICKET:
            print(f"data: {tickets * TRANSITIONS_PER_TICKET:,} transitions already generated")
            return
    started = time.monotonic()
    states = list(State.objects.filter(blueprint=blueprint).order_by("pk"))
    transitions = {
        t.sources.get().state_id: t
        for t in Transition.objects.filter(blueprint=blueprint).prefetch_related("sources")
    }
    admin = Membership.objects.get(org=org, admin_level="account").user_id
    params = {
        "org": org.pk,
        "dept": department.pk,
        "bp": blueprint.pk,
        "n": tickets,
        "owner": admin,
        "states": [s.pk for s in states],
        "statuses": [s.status_id for s in states],
        "transitions": [transitions[s.pk].pk for s in states],
        "names": [transitions[s.pk].name for s in states],
        "agents": agents,
        "steps": TRANSITIONS_PER_TICKET,
    }
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tickets_ticket (org_id, number, subject, description, department_id,
                status_id, status_kind, priority, priority_rank, channel, owner_id,
                custom_fields, created_at, updated_at, created_by_id, search_vector,
                last_activity_at)
            SELECT %(org)s, 100000 + i, 'Return ' || i, '', %(dept)s,
                (%(statuses)s::bigint[])[1 + (i + %(steps)s) %% 6], 'open', 'medium', 1, 'web',
                %(owner)s, '{}'::jsonb,
                now() - interval '360 days' + i * (interval '340 days' / %(n)s),
                now(), %(owner)s, to_tsvector('simple', 'return ' || i),
                now()
            FROM generate_series(1, %(n)s) AS i
            """,
            params,
        )
        # Ticket i starts in state i mod 6 and moves round the ring: stay k lasts 10 minutes
        # to 3 days (a hash of i and k), the last one is still open.
        cursor.execute(
            """
            CREATE TEMP TABLE bench_visits AS
            SELECT t.id AS ticket_id, s.i, s.k, (s.i + s.k) %% 6 AS idx,
                t.created_at + coalesce(sum(s.len) OVER w, 0) * interval '1 second'
                    AS entered_at,
                s.len
            FROM (
                SELECT i, k, 600 + ((i::bigint * 7919 + k * 104729) %% 258600) AS len
                FROM generate_series(1, %(n)s) AS i, generate_series(0, %(steps)s) AS k
            ) s
            JOIN tickets_ticket t ON t.org_id = %(org)s AND t.number = 100000 + s.i
            WINDOW w AS (PARTITION BY s.i ORDER BY s.k ROWS BETWEEN UNBOUNDED PRECEDING
                         AND 1 PRECEDING)
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO reports_statevisit (org_id, ticket_id, blueprint_id, state_id,
                department_id, entered_at, left_at, seconds, by_transition, transition_id,
                actor_id)
            SELECT %(org)s, ticket_id, %(bp)s, (%(states)s::bigint[])[1 + idx], %(dept)s,
                entered_at,
                CASE WHEN k < %(steps)s THEN entered_at + len * interval '1 second' END,
                CASE WHEN k < %(steps)s THEN len END,
                k < %(steps)s,
                CASE WHEN k < %(steps)s THEN (%(transitions)s::bigint[])[1 + idx] END,
                CASE WHEN k < %(steps)s THEN (%(agents)s::bigint[])[1 + (i + k) %% 5] END
            FROM bench_visits
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO blueprints_transitionlog (org_id, ticket_id, blueprint_id,
                transition_id, kind, name, from_status_id, to_status_id, actor_id, at, data,
                seconds_in_state)
            SELECT %(org)s, ticket_id, %(bp)s, (%(transitions)s::bigint[])[1 + idx],
                'transition', (%(names)s::text[])[1 + idx],
                (%(statuses)s::bigint[])[1 + idx], (%(statuses)s::bigint[])[1 + (idx + 1) %% 6],
                (%(agents)s::bigint[])[1 + (i + k) %% 5],
                entered_at + len * interval '1 second', '{}'::jsonb, len
            FROM bench_visits WHERE k < %(steps)s
            UNION ALL
            SELECT %(org)s, ticket_id, %(bp)s, NULL, 'entered', 'Returns', NULL,
                (%(statuses)s::bigint[])[1 + idx], NULL, entered_at, '{}'::jsonb, NULL
            FROM bench_visits WHERE k = 0
            """,
            params,
        )
        cursor.execute(
            """
            INSERT INTO blueprints_ticketblueprint (org_id, ticket_id, blueprint_id, state_id,
                entered_at, started_at, before)
            SELECT %(org)s, v.ticket_id, %(bp)s, (%(states)s::bigint[])[1 + v.idx],
                v.entered_at, t.created_at, '{}'::jsonb
            FROM bench_visits v JOIN tickets_ticket t ON t.org_id = %(org)s AND t.id = v.ticket_id
            WHERE v.k = %(steps)s
            """,
            params,
        )
        # State SLAs of 8 calendar hours on "Triage" and "Awaiting approval": one clock per
        # stay there, met when the stay was shorter.
        cursor.execute(
            """
            INSERT INTO sla_clock (org_id, ticket_id, kind, state_id, department_id, cycle,
                target_minutes, business_hours, started_at, due_at, paused_total, stopped_at,
                met, level_reached, owner_id)
            SELECT %(org)s, ticket_id, 'state', (%(states)s::bigint[])[1 + idx], %(dept)s,
                1 + k, 480, false, entered_at, entered_at + interval '8 hours',
                interval '0', entered_at + len * interval '1 second', len <= 28800, 0,
                (%(agents)s::bigint[])[1 + (i + k) %% 5]
            FROM bench_visits WHERE k < %(steps)s AND idx IN (1, 2)
            """,
            params,
        )
        cursor.execute(
            "INSERT INTO tickets_ticketcounter (org_id, last_number) VALUES (%s, %s) "
            "ON CONFLICT (org_id) DO UPDATE SET last_number = EXCLUDED.last_number",
            [org.pk, 100000 + tickets],
        )
        cursor.execute("DROP TABLE bench_visits")
    print(f"data: tickets, visits, log and clocks in {time.monotonic() - started:.0f} s")
    business_seconds(org, department)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"data: generated in {time.monotonic() - started:.0f} s", flush=True)


def business_seconds(org, department) -> None:
    """Each ended visit's business seconds, as `reports.visits` stores them (the same
    business-time function), written back with one UPDATE from a COPY."""
    from django.db import connection

    from helpdesk.businesstime import working_between
    from helpdesk.tenancy.selectors import department_schedule

    started = time.monotonic()
    schedule = department_schedule(org.pk, department.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, entered_at, left_at FROM reports_statevisit "
            "WHERE org_id = %s AND left_at IS NOT NULL",
            [org.pk],
        )
        rows = cursor.fetchall()
        buffer = io.StringIO()
        for pk, entered, left in rows:
            seconds = int(working_between(entered, left, schedule).total_seconds())
            buffer.write(f"{pk}\t{max(seconds, 0)}\n")
        cursor.execute("CREATE TEMP TABLE bench_business (id bigint, seconds integer)")
        with cursor.cursor.copy("COPY bench_business FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        cursor.execute(
            "UPDATE reports_statevisit v SET business_seconds = b.seconds "
            "FROM bench_business b WHERE v.org_id = %s AND v.id = b.id",
            [org.pk],
        )
        cursor.execute("DROP TABLE bench_business")
    print(
        f"data: business seconds of {len(rows):,} visits in {time.monotonic() - started:.1f} s",
        flush=True,
    )


def database_cpu() -> float:
    """CPU seconds used so far by the backends connected to the bench database."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend'"
        )
        pids = [row[0] for row in cursor.fetchall()]
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def _stats(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def measure(org, blueprint, samples: int) -> None:
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings
    from django.utils import timezone

    from blueprints.models import TransitionLog
    from helpdesk.tenancy.models import Membership
    from helpdesk.tenancy.rls import tenant_scope
    from reports.models import StateVisit
    from reports.selectors import blueprint_report

    logged = TransitionLog.objects.filter(org=org, kind="transition").count()
    visits = StateVisit.objects.filter(org=org).count()
    print(f"data: {logged:,} logged transitions, {visits:,} state visits")
    admin = Membership.objects.select_related("org", "user").get(org=org, admin_level="account")
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin.user)
    plain = override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    )
    plain.enable()
    base = f"/{org.portal}/desk/reports/blueprints/{blueprint.pk}/"
    for label, path in (
        ("report page, last 12 months", base + "?period=365"),
        ("report page, last 30 days", base + "?period=30"),
        ("CSV, last 12 months", base + "csv/?period=365"),
    ):
        for _ in range(2):
            response = client.get(path, HTTP_HOST="127.0.0.1")
            assert response.status_code == 200, (path, response.status_code)
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(path, HTTP_HOST="127.0.0.1")
        times = []
        cpu_before, db_before = time.process_time(), database_cpu()
        for _ in range(samples):
            begun = time.perf_counter()
            client.get(path, HTTP_HOST="127.0.0.1")
            times.append((time.perf_counter() - begun) * 1000)
        cpu = (time.process_time() - cpu_before + database_cpu() - db_before) / samples * 1000
        median, p95 = _stats(times)
        print(
            f"{label:30} median {median:6.0f} ms  p95 {p95:6.0f} ms  CPU {cpu:5.0f} ms  "
            f"{len(queries)} queries",
            flush=True,
        )
    plain.disable()
    now = timezone.now()
    # The backends' CPU is read outside the scope: the runtime role does not see its own
    # session's row in pg_stat_activity (the session's user is the owner).
    cpu_before, db_before = time.process_time(), database_cpu()
    with tenant_scope(org.pk):
        times = []
        for _ in range(samples):
            begun = time.perf_counter()
            report = blueprint_report(
                blueprint=blueprint, start=now - dt.timedelta(days=366), end=now
            )
            times.append((time.perf_counter() - begun) * 1000)
    cpu = (time.process_time() - cpu_before + database_cpu() - db_before) / samples * 1000
    median, p95 = _stats(times)
    print(
        f"{'selector alone, 12 months':30} median {median:6.0f} ms  p95 {p95:6.0f} ms  "
        f"CPU {cpu:5.0f} ms  "
        f"({report.visits:,} stays, {sum(r.durations.count for r in report.transitions):,} "
        "transitions)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=40_000)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--regenerate", action="store_true", help="drop and recreate the database")
    args = parser.parse_args()
    ensure_database(drop=args.regenerate)
    setup_django()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    org, department, blueprint, agents = world(args.tickets)
    generate(org, department, blueprint, agents, args.tickets)
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared)", flush=True)
    measure(org, blueprint, args.samples)
    print(f"load average: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
