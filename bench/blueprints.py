"""Blueprints under load (issue: "Blueprints: the engine ...").

    python bench/blueprints.py [--samples 100] [--duration 10] [--concurrency 8] [--without-sla]

Runs on the tickets benchmark's database (`madoguchi_bench`, made by bench/tickets.py; it is
not regenerated here). In its big organization's first department it adds, once and
idempotently, 20 active blueprints whose states include the department's default status:
19 with criteria that the benchmark's tickets do not meet (so the step evaluates every one)
and the last for every ticket, with two transitions back and forth.

1. The blueprint step's added cost on ticket create and update: the same ticket services timed
   with the step registered and without it (each sample in a transaction rolled back), and
   the SQL queries the step adds, with 1 and with 20 active blueprints (they must be equal).
2. Transitions completed per second at `--concurrency` processes, each with its own database
   connection and its own tickets, for `--duration` seconds. Each completion reads the
   ticket's instance (the state the member saw, as the dialog sends it) and completes the
   transition from there; the two transitions are read once per worker, as a page would.
   The SLA app's steps (its pipeline step, its state-visit listener) run as in production;
   `--without-sla` measures a second time with them off in the workers (the engine's rate).
3. The ticket page and its blueprint bar, flowchart, history and lower side panels (loaded
   after the page, by htmx), served in this process by Django's test client as the admin:
   median and p95 of `--samples` requests each, and their SQL queries, beside the ticket
   list's default view served the same way (the list's p95 is the bar; its target is 150 ms).
4. With `--wrk`: the same pages served as in production (bench/tickets.py's uvicorn
   server, 2 processes, row-level security on) and loaded with `wrk` at `--concurrency`, in
   interleaved slices (bench/tickets.py's `measure`): p50 / p95 and requests per second.

The blueprints are made with the ORM here, so the organization's definition version is
renewed by hand (`definitions.bump`) after each change, as the configuration services do.

Targets: the step adds under 3 ms and a fixed number of queries; at least 150 transitions/s;
the ticket page with the bar and flowchart under the list's p95 bar.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = os.environ.get("BENCH_DB", "madoguchi_bench")  # another: a private copy
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/madoguchi")
BENCH_URL = SERVER_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
BLUEPRINTS = 20
PREFIX = "Bench blueprint"
WARM_UP = 10  # transitions each worker completes before the measured run


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()


def ensure_schema() -> None:
    """The blueprint tables, without applying anyone's later migrations to the shared
    database."""
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.recorder import MigrationRecorder

    applied = MigrationRecorder(connection).applied_migrations()
    if ("blueprints", "0004_definition_version") not in applied:
        call_command("migrate", "blueprints", "0004", verbosity=0)


# What the benchmark churns: each transition updates its ticket and instance rows, and the
# step's samples are rolled back, which leaves dead rows too.
CHURNED = (
    "tickets_ticket",
    "tickets_tickethistory",
    "tickets_ticketcounter",
    "blueprints_ticketblueprint",
    "blueprints_transitionlog",
    "blueprints_transitionwindow",
    "reports_statevisit",
    "sla_clock",
)


def vacuum() -> None:
    """VACUUM ANALYZE the tables earlier runs churned, as autovacuum would between runs (a
    server with autovacuum off, as this machine's, otherwise measures each run slower than
    the one before: 14,000 dead versions of the 160 instance rows after a few runs)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {', '.join(CHURNED)}")  # noqa: S608 - constants


def world():
    """The big organization, its department, admin, two statuses and the 20 blueprints."""
    from blueprints.engine import definitions
    from blueprints.models import Blueprint, State, Transition, TransitionSource
    from helpdesk.tenancy.models import DepartmentAgent, Membership, Organization
    from helpdesk.tickets.services.layouts import statuses_for

    org = Organization.objects.get(portal="bench-0")
    if org.plan != "enterprise":
        org.plan = "enterprise"
        org.save(update_fields=["plan"])
    department = (
        DepartmentAgent.objects.filter(org=org).select_related("department").first().department
    )
    admin = Membership.objects.select_related("org", "user").get(org=org, admin_level="account")
    statuses = list(statuses_for(department))
    start = next(s for s in statuses if s.is_default)
    other = next(s for s in statuses if s.pk != start.pk and s.kind != "closed")
    existing = {b.name: b for b in Blueprint.objects.for_org(org).filter(name__startswith=PREFIX)}
    for n in range(BLUEPRINTS):
        name = f"{PREFIX} {n:02d}"
        if name in existing:
            continue
        last = n == BLUEPRINTS - 1
        blueprint = Blueprint.objects.create(
            org=org,
            name=name,
            department=department,
            status="active",
            position=n,
            applies_to_all=last,
            criteria={}
            if last
            else {"all": [{"field": "subject", "op": "contains", "value": f"zz-never-{n}"}]},
        )
        here = State.objects.create(org=org, blueprint=blueprint, status=start)
        there = State.objects.create(org=org, blueprint=blueprint, status=other)
        go = Transition.objects.create(
            org=org, blueprint=blueprint, name="Go", to_state=there, position=0
        )
        back = Transition.objects.create(
            org=org, blueprint=blueprint, name="Back", to_state=here, position=1
        )
        TransitionSource.objects.create(org=org, transition=go, state=here)
        TransitionSource.objects.create(org=org, transition=back, state=there)
    definitions.bump(org.pk)  # made with the ORM: the version is renewed by hand
    return org, department, admin


def backend_cpu(connection) -> float:
    """CPU seconds the connection's PostgreSQL backend has used so far (read from /proc: the
    database runs on this machine), so CPU per operation can be told apart from waiting for
    the shared cores. Kernel ticks are sampled: sum it over many operations."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _timed(function, samples: int) -> list[float]:
    from django.db import transaction

    out = []
    for _ in range(samples):
        with transaction.atomic():
            started = time.perf_counter()
            function()
            out.append((time.perf_counter() - started) * 1000)
            transaction.set_rollback(True)
    return out


def step_cost(org, department, admin, samples: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from blueprints import engine
    from blueprints.engine import definitions
    from blueprints.models import Blueprint, TicketBlueprint
    from helpdesk.tickets import pipeline
    from helpdesk.tickets.models import Ticket
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create, ticket_update

    # A ticket in the every-ticket blueprint (the update's case the target is about: its
    # status unchanged, the step checks that it is still in its state).
    in_blueprint = (
        TicketBlueprint.objects.for_org(org)
        .filter(blueprint__name=f"{PREFIX} {BLUEPRINTS - 1:02d}")
        .order_by("-pk")
        .values_list("ticket_id", flat=True)
        .first()
    )
    if in_blueprint is None:  # a fresh database: one ticket created enters it
        in_blueprint = ticket_create(
            actor=admin, data=TicketInput(subject="Bench printer", department=department)
        ).pk
    existing = Ticket.objects.for_org(org).get(pk=in_blueprint)

    def create():
        ticket_create(actor=admin, data=TicketInput(subject="Bench printer", department=department))

    def update():
        ticket = (
            Ticket.objects.for_org(org).select_related("status", "department").get(pk=existing.pk)
        )
        ticket_update(
            actor=admin,
            ticket=ticket,
            data=TicketInput(priority="high" if ticket.priority != "high" else "low"),
        )

    def step_alone(event):
        """The step by itself on a ticket just created (entering the 20th blueprint after
        evaluating the 19 others' criteria) or just updated (already in it)."""
        from django.db import transaction
        from django.utils import timezone

        out = []
        cpu = [0.0, 0.0]  # this process, the database backend (seconds)
        for _ in range(samples):
            with transaction.atomic():
                pipeline.unregister("blueprints", engine.blueprint_step)
                try:
                    if event == "create":
                        ticket = ticket_create(
                            actor=admin,
                            data=TicketInput(subject="Bench printer", department=department),
                        )
                    else:
                        ticket = Ticket.objects.for_org(org).get(pk=existing.pk)
                finally:
                    pipeline.register("blueprints", engine.blueprint_step)
                ctx = pipeline.Context(
                    ticket=ticket, event=event, changes={}, actor=admin, now=timezone.now()
                )
                backend = backend_cpu(connection)
                process = time.process_time()
                started = time.perf_counter()
                engine.blueprint_step(ctx)
                out.append((time.perf_counter() - started) * 1000)
                cpu[0] += time.process_time() - process
                cpu[1] += backend_cpu(connection) - backend
                transaction.set_rollback(True)
        return statistics.median(out), cpu[0] * 1000 / samples, cpu[1] * 1000 / samples

    results = {}
    alone = {"create": step_alone("create"), "update": step_alone("update")}
    for label, function in (("create", create), ("update", update)):
        _timed(function, 20)  # warm up
        # Without and with the step in turns, one sample each: a drift of the machine (another
        # process, a checkpoint) falls on both sides alike instead of on one block.
        without, with_step = [], []
        for _ in range(samples):
            pipeline.unregister("blueprints", engine.blueprint_step)
            try:
                without += _timed(function, 1)
            finally:
                pipeline.register("blueprints", engine.blueprint_step)
            with_step += _timed(function, 1)
        results[label] = (statistics.median(without), statistics.median(with_step))

    def queries(function) -> int:
        from django.db import transaction

        with transaction.atomic():  # warm up: the definitions are compiled once per version
            function()
            transaction.set_rollback(True)
        with transaction.atomic(), CaptureQueriesContext(connection) as captured:
            function()
            transaction.set_rollback(True)
        return len(captured.captured_queries)

    counts = {}
    active = Blueprint.objects.for_org(org).filter(name__startswith=PREFIX)
    for n in (BLUEPRINTS, 1):
        # Only the last blueprint (every ticket) active, or all 20.
        keep = active.order_by("position")
        ids = list(keep.values_list("pk", flat=True))
        Blueprint.objects.filter(pk__in=ids[: BLUEPRINTS - n]).update(status="inactive")
        definitions.bump(org.pk)
        try:
            pipeline.unregister("blueprints", engine.blueprint_step)
            try:
                base = queries(create), queries(update)
            finally:
                pipeline.register("blueprints", engine.blueprint_step)
            counts[n] = (queries(create) - base[0], queries(update) - base[1])
        finally:
            Blueprint.objects.filter(pk__in=ids).update(status="active")
            definitions.bump(org.pk)
    return {"ms": results, "alone": alone, "queries": counts}


_barrier = None


def _states(org, ticket_ids) -> dict[int, int]:
    """{ticket id: its blueprint state id}, read once: a worker then knows where it moved each
    ticket (only it moves them), as a member's page knows the state it shows."""
    from blueprints.models import TicketBlueprint

    return dict(
        TicketBlueprint.objects.for_org(org)
        .filter(ticket_id__in=ticket_ids)
        .values_list("ticket_id", "state_id")
    )


def _sla_off() -> None:
    """This process's transitions without the SLA app's steps (its pipeline step and its
    listener of state visits): the blueprint engine's own rate."""
    from blueprints.visits import visit_unlisten
    from helpdesk.tickets import pipeline
    from sla.services import steps

    pipeline.unregister("sla", steps.sla_step)
    visit_unlisten(steps.state_visited)


def _init(barrier) -> None:
    global _barrier
    _barrier = barrier


def _worker(args) -> tuple[int, float, float]:
    """Complete transitions on this worker's tickets until the deadline; returns the count and
    the CPU seconds used by this process and by its database backend meanwhile."""
    index, ticket_ids, duration, without_sla = args
    setup_django()
    if without_sla:
        _sla_off()
    from django.db import connection

    from blueprints import engine
    from blueprints.models import Transition
    from helpdesk.tenancy.models import Membership
    from helpdesk.tickets.models import Ticket

    admin = Membership.objects.select_related("org", "user").get(
        org__portal="bench-0", admin_level="account"
    )
    done = 0
    tickets = list(Ticket.objects.filter(pk__in=ticket_ids))
    # The blueprint's two transitions by the state they leave (Go from here, Back from there).
    leaving = {
        state_id: transition
        for transition in Transition.objects.filter(
            org=admin.org, blueprint__name=f"{PREFIX} {BLUEPRINTS - 1:02d}"
        ).select_related("to_state__status")
        for state_id in transition.sources.values_list("state_id", flat=True)
    }
    n = 0
    state = _states(admin.org, ticket_ids)

    def one() -> None:
        nonlocal n
        ticket = tickets[n % len(tickets)]
        n += 1
        transition = leaving[state[ticket.pk]]
        engine.complete_transition(
            ticket=ticket,
            transition=transition,
            membership=admin,
            expected_state=state[ticket.pk],
        )
        state[ticket.pk] = transition.to_state_id

    # Warm up: the first transitions of a process import modules, compile the definitions,
    # load the translations and connect to the broker; at a few per second and per worker
    # they were most of the CPU counted (a long-running server pays them once).
    for _ in range(WARM_UP):
        one()
    _barrier.wait()  # every worker starts when all are ready (start-up is not counted)
    backend, process = backend_cpu(connection), time.process_time()
    deadline = time.time() + duration
    while time.time() < deadline:
        one()
        done += 1
    used = time.process_time() - process, backend_cpu(connection) - backend
    connection.close()
    return done, *used


def throughput(
    org, department, admin, concurrency: int, duration: int, without_sla: bool = False
) -> tuple[float, float, float]:
    """Transitions per second, and CPU ms per transition in the workers and in PostgreSQL."""
    from django.db import connection

    from blueprints.models import TicketBlueprint
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    per_worker = 20
    wanted = per_worker * concurrency
    ids = list(
        TicketBlueprint.objects.for_org(org)
        .filter(blueprint__name=f"{PREFIX} {BLUEPRINTS - 1:02d}")
        .order_by("pk")
        .values_list("ticket_id", flat=True)[:wanted]
    )
    while len(ids) < wanted:
        ticket = ticket_create(
            actor=admin, data=TicketInput(subject="Bench blueprint ticket", department=department)
        )
        ids.append(ticket.pk)
    connection.close()
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(concurrency)
    jobs = [(i, ids[i::concurrency], duration, without_sla) for i in range(concurrency)]
    with context.Pool(concurrency, initializer=_init, initargs=(barrier,)) as pool:
        results = pool.map(_worker, jobs, chunksize=1)
    done = sum(r[0] for r in results) or 1
    return (
        sum(r[0] for r in results) / duration,
        sum(r[1] for r in results) * 1000 / done,
        sum(r[2] for r in results) * 1000 / done,
    )


def profile(org, department, admin, count: int, without_sla: bool = False) -> None:
    """`count` transitions in this process under cProfile, then the statements one transition
    runs with their time (what to make cheaper first)."""
    import cProfile
    import pstats

    from django.db import connection

    from blueprints import engine
    from blueprints.models import TicketBlueprint, Transition
    from helpdesk.tickets.models import Ticket
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    if without_sla:
        _sla_off()
    ids = list(
        TicketBlueprint.objects.for_org(org)
        .filter(blueprint__name=f"{PREFIX} {BLUEPRINTS - 1:02d}")
        .order_by("pk")
        .values_list("ticket_id", flat=True)[:10]
    )
    while len(ids) < 10:
        ids.append(
            ticket_create(
                actor=admin,
                data=TicketInput(subject="Bench blueprint ticket", department=department),
            ).pk
        )
    tickets = list(Ticket.objects.filter(pk__in=ids))
    leaving = {
        state_id: transition
        for transition in Transition.objects.filter(
            org=org, blueprint__name=f"{PREFIX} {BLUEPRINTS - 1:02d}"
        ).select_related("to_state__status")
        for state_id in transition.sources.values_list("state_id", flat=True)
    }

    state = _states(org, ids)

    def one(n: int) -> None:
        ticket = tickets[n % len(tickets)]
        transition = leaving[state[ticket.pk]]
        engine.complete_transition(
            ticket=ticket,
            transition=transition,
            membership=admin,
            expected_state=state[ticket.pk],
        )
        state[ticket.pk] = transition.to_state_id

    for n in range(20):  # warm up
        one(n)
    backend, process, started = backend_cpu(connection), time.process_time(), time.perf_counter()
    for n in range(count):
        one(n)
    print(
        f"{count} transitions in one process: "
        f"{(time.perf_counter() - started) * 1000 / count:.1f} ms wall each, CPU "
        f"{(time.process_time() - process) * 1000 / count:.1f} ms Python + "
        f"{(backend_cpu(connection) - backend) * 1000 / count:.1f} ms PostgreSQL"
    )
    profiler = cProfile.Profile(time.process_time)  # CPU, not waiting for the shared cores
    backend, process, started = backend_cpu(connection), time.process_time(), time.perf_counter()
    profiler.enable()
    for n in range(count):
        one(n)
    profiler.disable()
    wall = (time.perf_counter() - started) * 1000 / count
    python = (time.process_time() - process) * 1000 / count
    database = (backend_cpu(connection) - backend) * 1000 / count
    print(
        f"profiled {count} transitions: {wall:.1f} ms wall each, CPU {python:.1f} ms Python "
        f"(under cProfile) + {database:.1f} ms PostgreSQL"
    )
    stats = pstats.Stats(profiler)
    stats.sort_stats("cumulative").print_stats(60)
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_callees("complete_transition")
    profiler.dump_stats(os.environ.get("BENCH_PROFILE_OUT", "/tmp/bench_blueprints.prof"))
    statements: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            statements.append(((time.perf_counter() - started) * 1000, sql))

    with connection.execute_wrapper(timed):
        one(count)
    print(f"statements of one transition: {len(statements)}")
    for ms, sql in statements:
        print(f"  {ms:6.2f} ms  {' '.join(sql.split())[:200]}")


def pages(org, department, samples: int) -> dict[str, tuple[float, float, int]]:
    """(median ms, p95 ms, queries) of the ticket page, its blueprint bar and its flowchart,
    for a ticket in the every-ticket blueprint, served in this process as the admin."""
    from django.conf import settings
    from django.db import connection
    from django.test import Client, override_settings

    from blueprints.models import TicketBlueprint
    from helpdesk.tenancy.models import Membership
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    admin = Membership.objects.select_related("org", "user").get(org=org, admin_level="account")
    number = (
        TicketBlueprint.objects.for_org(org)
        .filter(blueprint__name=f"{PREFIX} {BLUEPRINTS - 1:02d}")
        .values_list("ticket__number", flat=True)
        .first()
    )
    if number is None:
        number = ticket_create(
            actor=admin, data=TicketInput(subject="Bench blueprint ticket", department=department)
        ).number
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(admin.user)
    base = f"/{org.portal}/desk/tickets/{number}/"
    # Static URLs without the collected manifest (the server of bench/tickets.py has one).
    plain = override_settings(
        STORAGES={
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    )
    plain.enable()
    out = {}
    for label, path, htmx in (
        # The list under the same conditions: the bar the ticket page must stay under.
        ("list: default view", f"/{org.portal}/desk/", False),
        ("ticket page", base, False),
        ("blueprint bar (htmx)", base + "blueprint/", True),
        ("flowchart (htmx)", base + "blueprint/flow/", True),
        # The page's other panels loaded after it, as a browser does.
        ("history panel (htmx)", base + "history/", True),
        ("side panels (htmx)", base + "more/", True),
    ):
        headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
        for _ in range(3):  # warm up
            client.get(path, HTTP_HOST="127.0.0.1", **headers)
        queries: list[str] = []

        def count(execute, sql, params, many, context, queries=queries):
            queries.append(sql)
            return execute(sql, params, many, context)

        # The request may run on a connection of its own (the pool): every one is counted.
        with connection.execute_wrapper(count):
            response = client.get(path, HTTP_HOST="127.0.0.1", **headers)
        assert response.status_code == 200, (path, response.status_code)
        times = []
        for _ in range(samples):
            started = time.perf_counter()
            client.get(path, HTTP_HOST="127.0.0.1", **headers)
            times.append((time.perf_counter() - started) * 1000)
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        out[label] = (statistics.median(times), p95, len(queries))
    plain.disable()
    return out


def pages_under_wrk(org, duration: int, concurrency: int) -> dict[str, dict]:
    """The pages of `pages` served by uvicorn as in production and loaded with wrk."""
    import signal

    sys.path.insert(0, str(ROOT / "bench"))
    import tickets as tickets_bench  # bench/tickets.py: its server, session and wrk slices

    from blueprints.models import TicketBlueprint

    number = (
        TicketBlueprint.objects.for_org(org)
        .filter(blueprint__name=f"{PREFIX} {BLUEPRINTS - 1:02d}")
        .values_list("ticket__number", flat=True)
        .first()
    )
    base = f"/{org.portal}/desk/tickets/{number}/"
    wanted = [
        ("list: default view", f"/{org.portal}/desk/"),
        ("ticket page", base),
        ("blueprint bar (htmx)", "HX " + base + "blueprint/"),
        ("flowchart (htmx)", "HX " + base + "blueprint/flow/"),
        ("history panel (htmx)", "HX " + base + "history/"),
        ("side panels (htmx)", "HX " + base + "more/"),
    ]
    cookie = tickets_bench.session_cookie()
    server = tickets_bench.start_server(rls=True)
    try:
        return tickets_bench.measure(wanted, cookie, duration, concurrency)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--without-sla",
        action="store_true",
        help="also measure transitions/s with the SLA app's steps off in the workers",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="only profile N transitions in this process (cProfile, statements with times)",
    )
    parser.add_argument(
        "--wrk",
        action="store_true",
        help="also load the list, the ticket page, the bar and the flowchart with wrk",
    )
    parser.add_argument(
        "--transitions-only",
        action="store_true",
        help="measure only transitions per second (not the step's cost nor the pages)",
    )
    args = parser.parse_args()
    setup_django()
    ensure_schema()
    org, department, admin = world()
    vacuum()
    if args.profile:
        profile(org, department, admin, args.profile, args.without_sla)
        return
    from helpdesk.tickets.models import Ticket

    print(
        f"data: {Ticket.objects.count():,} tickets; "
        f"{BLUEPRINTS} active blueprints in one department"
    )
    runs = [("", False)] + ([(" without the SLA app's steps", True)] if args.without_sla else [])
    if args.transitions_only:
        transitions(org, department, admin, args, runs)
        return
    cost = step_cost(org, department, admin, args.samples)
    for label, (without, with_step) in cost["ms"].items():
        print(
            f"ticket {label}: {without:.2f} ms without the blueprint step, {with_step:.2f} ms "
            f"with it: +{with_step - without:.2f} ms (median of {args.samples})"
        )
    for label, (ms, python, database) in cost["alone"].items():
        print(
            f"the blueprint step alone on {label}: {ms:.2f} ms (median of {args.samples}); "
            f"CPU per step {python:.2f} ms in Python + {database:.2f} ms in PostgreSQL"
        )
    for n, (create, update) in sorted(cost["queries"].items()):
        print(
            f"queries the step adds with {n:2d} active blueprint(s): "
            f"create {create}, update {update}"
        )
    for label, (median, p95, count) in pages(org, department, args.samples).items():
        print(f"{label}: median {median:.1f} ms, p95 {p95:.1f} ms, {count} queries")
    if args.wrk:
        for label, result in pages_under_wrk(org, args.duration, args.concurrency).items():
            print(
                f"{label} under wrk at {args.concurrency}: p50 {result['p50']:.1f} ms, "
                f"p95 {result['p95']:.1f} ms, {result['rps']:.1f} req/s, "
                f"{result['errors']} errors"
            )
    transitions(org, department, admin, args, runs)


def transitions(org, department, admin, args, runs) -> None:
    for label, without_sla in runs:
        rate, python, database = throughput(
            org, department, admin, args.concurrency, args.duration, without_sla
        )
        print(
            f"transitions completed{label}: {rate:.0f}/s at concurrency {args.concurrency}; "
            f"CPU per transition {python:.1f} ms in Python + {database:.1f} ms in PostgreSQL "
            f"(at most {2000 / (python + database):.0f}/s on 2 idle cores)"
        )


if __name__ == "__main__":
    main()
