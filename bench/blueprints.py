"""Blueprints under load (issue: "Blueprints: the engine ...").

    python bench/blueprints.py [--samples 100] [--duration 10] [--concurrency 8]

Runs on the tickets benchmark's database (`madoguchi_bench`, made by bench/tickets.py; it is
not regenerated here). In its big organization's first department it adds, once and
idempotently, 20 active blueprints whose states include the department's default status:
19 with criteria that the benchmark's tickets do not meet (so the step evaluates every one)
and the last for every ticket, with two transitions back and forth.

1. The blueprint step's added cost on ticket create and update: the same ticket services timed
   with the step registered and without it (each sample in a transaction rolled back), and
   the SQL queries the step adds, with 1 and with 20 active blueprints (they must be equal).
2. Transitions completed per second at `--concurrency` processes, each with its own database
   connection and its own tickets, for `--duration` seconds.

Targets: the step adds under 3 ms and a fixed number of queries; at least 150 transitions/s.
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
BENCH_DB = "madoguchi_bench"
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/madoguchi")
BENCH_URL = SERVER_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
BLUEPRINTS = 20
PREFIX = "Bench blueprint"


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
    if ("blueprints", "0002_after_action_runs") not in applied:
        call_command("migrate", "blueprints", "0002", verbosity=0)


def world():
    """The big organization, its department, admin, two statuses and the 20 blueprints."""
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
    return org, department, admin


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
    from blueprints.models import Blueprint
    from helpdesk.tickets import pipeline
    from helpdesk.tickets.models import Ticket
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create, ticket_update

    existing = Ticket.objects.for_org(org).filter(department=department).order_by("-pk").first()

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
                started = time.perf_counter()
                engine.blueprint_step(ctx)
                out.append((time.perf_counter() - started) * 1000)
                transaction.set_rollback(True)
        return statistics.median(out)

    results = {}
    alone = {"create": step_alone("create"), "update": step_alone("update")}
    for label, function in (("create", create), ("update", update)):
        _timed(function, 20)  # warm up
        pipeline.unregister("blueprints", engine.blueprint_step)
        try:
            without = _timed(function, samples)
        finally:
            pipeline.register("blueprints", engine.blueprint_step)
        with_step = _timed(function, samples)
        results[label] = (statistics.median(without), statistics.median(with_step))

    def queries(function) -> int:
        from django.db import transaction

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
        try:
            pipeline.unregister("blueprints", engine.blueprint_step)
            try:
                base = queries(create), queries(update)
            finally:
                pipeline.register("blueprints", engine.blueprint_step)
            counts[n] = (queries(create) - base[0], queries(update) - base[1])
        finally:
            Blueprint.objects.filter(pk__in=ids).update(status="active")
    return {"ms": results, "alone": alone, "queries": counts}


_barrier = None


def _init(barrier) -> None:
    global _barrier
    _barrier = barrier


def _worker(args) -> int:
    """Complete transitions on this worker's tickets until the deadline; returns the count."""
    index, ticket_ids, duration = args
    setup_django()
    from django.db import connection

    from blueprints import engine
    from blueprints.models import TicketBlueprint, Transition
    from helpdesk.tenancy.models import Membership
    from helpdesk.tickets.models import Ticket

    admin = Membership.objects.select_related("org", "user").get(
        org__portal="bench-0", admin_level="account"
    )
    done = 0
    tickets = list(Ticket.objects.filter(pk__in=ticket_ids))
    n = 0
    _barrier.wait()  # every worker starts when all are ready (start-up is not counted)
    deadline = time.time() + duration
    while time.time() < deadline:
        ticket = tickets[n % len(tickets)]
        n += 1
        instance = TicketBlueprint.objects.filter(org=admin.org, ticket=ticket).first()
        transition = (
            Transition.objects.filter(
                org=admin.org, blueprint_id=instance.blueprint_id, sources__state=instance.state
            )
            .select_related("to_state__status")
            .first()
        )
        engine.complete_transition(
            ticket=ticket,
            transition=transition,
            membership=admin,
            expected_state=instance.state_id,
        )
        done += 1
    connection.close()
    return done


def throughput(org, department, admin, concurrency: int, duration: int) -> float:
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
    jobs = [(i, ids[i::concurrency], duration) for i in range(concurrency)]
    with context.Pool(concurrency, initializer=_init, initargs=(barrier,)) as pool:
        counts = pool.map(_worker, jobs, chunksize=1)
    return sum(counts) / duration


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--samples", type=int, default=100)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    setup_django()
    ensure_schema()
    org, department, admin = world()
    from helpdesk.tickets.models import Ticket

    print(
        f"data: {Ticket.objects.count():,} tickets; "
        f"{BLUEPRINTS} active blueprints in one department"
    )
    cost = step_cost(org, department, admin, args.samples)
    for label, (without, with_step) in cost["ms"].items():
        print(
            f"ticket {label}: {without:.2f} ms without the blueprint step, {with_step:.2f} ms "
            f"with it: +{with_step - without:.2f} ms (median of {args.samples})"
        )
    for label, ms in cost["alone"].items():
        print(f"the blueprint step alone on {label}: {ms:.2f} ms (median of {args.samples})")
    for n, (create, update) in sorted(cost["queries"].items()):
        print(
            f"queries the step adds with {n:2d} active blueprint(s): "
            f"create {create}, update {update}"
        )
    rate = throughput(org, department, admin, args.concurrency, args.duration)
    print(f"transitions completed: {rate:.0f}/s at concurrency {args.concurrency}")


if __name__ == "__main__":
    main()
