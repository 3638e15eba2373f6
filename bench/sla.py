"""SLA escalations under load (issue 11): the sweep, the ledger and the escalation mail.

    python bench/sla.py [--clocks 1000000] [--soon 50000] [--backlog 20000] [--concurrency 2]
                        [--list-concurrency 8] [--list-think-ms 250]

1. Uses its own database (`--database`, default `madoguchi_sla_bench`: SLA policies in the shared
   `madoguchi_bench` would start clocks on the tickets other benchmarks create there), made once
   as bench/tickets.py makes its own (1,000,000 tickets in 10 organizations), and gives every
   organization a mail template and a policy whose level 1 mails the organization's admin (one
   recipient: one mail per escalation).
2. Generates in SQL `--clocks` open resolution clocks, one per ticket, each with a level-1 due
   row, due times spread over the next day.
3. Starts one Celery worker (bench/sla_worker.py: its mail backend records when each message is
   handed to it, in Redis) and Celery beat (the sweep every SLA_SWEEP_SECONDS), on Redis db
   `--redis-db` (default 8) and a queue of the run's own (`sla-bench-<run>`): no other worker
   on that Redis can take its tasks. A thread reads the CPU time of the worker's processes and
   of the database's PostgreSQL backends (/proc): each phase prints its CPU per escalation and
   the rate that CPU would allow on two idle cores (the wall figures depend on the load).
4. Backlog: `--backlog` due rows are made due a minute ago at once; measures escalations fired
   and mailed per second, from the first mail handed off to the last (the rows are moved in
   SQL, which schedules no wake-up: the first sweep is the next beat's, and that wait is
   printed apart).
5. Live: `--soon` due rows are spread over the next minute; measures the delay from each due
   time to its mail's hand-off (p50, p99), while wrk loads the ticket list (the big
   organization's default view, served by uvicorn as bench/tickets.py serves it) at
   `--list-concurrency` 8 for that minute; the list's p50 and p95 are printed beside those of
   15 s of the same load just before the backlog (the list alone; the day's clocks falling due
   meanwhile). Each connection pauses `--list-think-ms` (250) between requests, an agent
   reading the list; 0 is wrk's saturating load; `--list-concurrency 0` skips the list.
6. Exactly once: the worker is stopped (warm), then every mail recorded is compared with the
   ledger (none twice, none without its ledger row, none marked sent without its mail); the
   exit status is 1 when any fails.
7. Removes what it made (clocks, due rows, ledger, history rows); with `--keep`
   it leaves them and the next run resets them instead of generating them again.
Targets: at least 2,000 escalations per second with one worker; p99 delay under 2 s; the
list's p95 under its bar (150 ms) while they fall due.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT), str(HERE)]

import tickets as ticket_bench  # noqa: E402 - bench/tickets.py: the database and its tickets

BENCH_URL = ticket_bench.BENCH_URL


def use_database(name: str) -> None:
    """Point bench/tickets.py's helpers (and this module) at database `name`."""
    global BENCH_URL
    ticket_bench.BENCH_DB = name
    ticket_bench.BENCH_URL = BENCH_URL = ticket_bench.SERVER_URL.rsplit("/", 1)[0] + "/" + name


def setup(total_tickets: int) -> None:
    ticket_bench.ensure_database()
    ticket_bench.setup_django()
    from django.core.management import call_command

    from helpdesk.tickets.models import Ticket

    call_command("migrate", verbosity=0)
    if Ticket.objects.count() < total_tickets:
        ticket_bench.generate(total_tickets)


def settings_per_org() -> None:
    """A template and a medium-priority policy with level 1 mailing the admin, per organization
    (idempotent)."""
    from helpdesk.tenancy.models import DepartmentAgent, Organization
    from helpdesk.tickets.mailtemplates.models import MailTemplate
    from sla.models import EscalationLevel, EscalationUser, SlaPolicy

    for org in Organization.objects.filter(portal__startswith="bench-"):
        agent = DepartmentAgent.objects.filter(org=org).select_related("department").first()
        template, _ = MailTemplate.objects.get_or_create(
            org=org,
            name="SLA bench",
            defaults={
                "subject": "[{{sla.target}} L{{sla.level}}] #{{ticket.number}} {{ticket.subject}}",
                "body": "Due {{sla.due}}: {{sla.time_left}}. {{ticket.url}}",
            },
        )
        policy, _ = SlaPolicy.objects.get_or_create(
            org=org,
            department=agent.department,
            priority="medium",
            defaults={"resolution_minutes": 60, "business_hours": False},
        )
        level, _ = EscalationLevel.objects.get_or_create(
            org=org,
            policy=policy,
            target="resolution",
            level=1,
            defaults={"when": "at", "template": template},
        )
        EscalationUser.objects.get_or_create(org=org, level=level, user_id=agent.user_id)


def clean() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE sla_escalationfired, sla_clockdue, sla_clock")
        cursor.execute("DELETE FROM tickets_tickethistory WHERE action = 'escalated'")


def reset(clocks: int) -> bool:
    """With `clocks` clocks already in place (a run with `--keep`), undo what a run did to them
    (ledger, history, fired and claimed due rows, levels) instead of generating them again;
    False when the count differs."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM sla_clock WHERE stopped_at IS NULL")
        if cursor.fetchone()[0] != clocks:
            return False
        started = time.monotonic()
        cursor.execute("TRUNCATE sla_escalationfired")
        cursor.execute("DELETE FROM tickets_tickethistory WHERE action = 'escalated'")
        cursor.execute("UPDATE sla_clock SET level_reached = 0 WHERE level_reached > 0")
        cursor.execute(
            "UPDATE sla_clockdue SET fired_at = NULL, claimed_at = NULL, claim_token = NULL"
            " WHERE fired_at IS NOT NULL OR claimed_at IS NOT NULL"
        )
        # The day's clocks that fell due since they were made would all be due at once: a
        # day later they are not (the phases move the rows they measure themselves).
        cursor.execute(
            "UPDATE sla_clockdue SET due_at = due_at + interval '1 day'"
            " WHERE fired_at IS NULL AND due_at < now() + interval '10 minutes'"
        )
        # What a run churned: an autovacuum would clean it meanwhile, but it may be off (it is
        # on our machines), and each run would then start slower than the last.
        cursor.execute("VACUUM ANALYZE sla_clockdue, sla_clock, tickets_tickethistory")
    print(
        f"data: {clocks:,} clocks kept from an earlier run, reset"
        f" ({time.monotonic() - started:.0f} s)"
    )
    return True


def generate(clocks: int) -> None:
    """One open resolution clock per ticket (the first `clocks` tickets), due over the next
    day, each with its level-1 due row."""
    from django.db import connection

    started = time.monotonic()
    clean()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO sla_clock (org_id, ticket_id, kind, policy_id, department_id, cycle,
                target_minutes, business_hours, started_at, due_at, paused_total,
                level_reached)
            SELECT t.org_id, t.id, 'resolution', p.id, t.department_id, 1, 60, false,
                due - interval '60 minutes', due, interval '0', 0
            FROM (
                SELECT t.*, now() + interval '10 minutes'
                    + ((t.id::bigint * 7919) %% 86400) * interval '1 second' AS due
                FROM tickets_ticket t ORDER BY t.id LIMIT %s
            ) t
            JOIN sla_slapolicy p ON p.org_id = t.org_id AND p.priority = 'medium'
            """,
            [clocks],
        )
        cursor.execute(
            """
            INSERT INTO sla_clockdue (org_id, clock_id, ticket_id, level, due_at)
            SELECT org_id, id, ticket_id, 1, due_at FROM sla_clock
            ON CONFLICT DO NOTHING
            """
        )
        cursor.execute("ANALYZE sla_clock")
        cursor.execute("ANALYZE sla_clockdue")
        cursor.execute("SELECT count(*) FROM sla_clockdue WHERE fired_at IS NULL")
        count = cursor.fetchone()[0]
    print(f"data: {count:,} open clocks with due rows ({time.monotonic() - started:.0f} s)")


def make_due(count: int, *, start_in: float, spread: float, residue: int) -> float:
    """Move `count` due rows (of the clocks whose id is `residue` modulo 20) to fall due from
    `start_in` seconds from now over `spread` seconds; returns the epoch of the first."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT extract(epoch FROM now())")
        now = float(cursor.fetchone()[0])
        cursor.execute(
            """
            WITH chosen AS (
                SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM (
                    SELECT id FROM sla_clockdue WHERE id %% 20 = %s AND fired_at IS NULL
                    ORDER BY id LIMIT %s
                ) picked
            )
            UPDATE sla_clockdue d
            SET due_at = to_timestamp(%s + %s + chosen.n * %s / %s)
            FROM chosen WHERE d.id = chosen.id
            """,
            [residue, count, now, start_in, spread, max(count, 1)],
        )
        cursor.execute(
            """
            UPDATE sla_clock c SET due_at = d.due_at FROM sla_clockdue d
            WHERE d.clock_id = c.id AND d.org_id = c.org_id
              AND d.due_at < now() + interval '5 minutes' AND c.due_at <> d.due_at
            """
        )
    return now + start_in


def start(redis_url: str, key: str, concurrency: int, queue: str) -> list[subprocess.Popen]:
    """The worker and beat, on their own queue `queue` (no other worker on the same Redis
    database can take the benchmark's tasks, nor it theirs)."""
    env = {
        **os.environ,
        "DATABASE_URL": BENCH_URL,
        "DATABASE_USER": "madoguchi_app",  # as production logs in: the runtime role
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "SLA_MAIL_RECORD_KEY": key,
        "SLA_WORKER_QUEUE": queue,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    schedule = Path(tempfile.mkdtemp()) / "beat-schedule"
    worker = subprocess.Popen(  # noqa: S603 - our own script
        [
            sys.executable,
            str(HERE / "sla_worker.py"),
            "--pool=prefork",
            f"--concurrency={concurrency}",
            *os.environ.get("SLA_WORKER_ARGS", "").split(),
        ],
        env=env,
        cwd=ROOT,
    )
    beat = subprocess.Popen(  # noqa: S603
        [sys.executable, str(HERE / "sla_worker.py"), "beat", "-s", str(schedule)],
        env=env,
        cwd=ROOT,
    )
    return [worker, beat]


class CpuMeter:
    """CPU seconds used by the worker (its processes) and by the PostgreSQL backends of the
    benchmark's database (the worker's connections; autovacuum apart), read from /proc every
    quarter second in a thread, so that a backend that ends between two reads loses at most
    that quarter second. `mark()` returns the totals so far; two marks give a phase's cost."""

    def __init__(self, worker_pid: int) -> None:
        import threading

        import psutil
        import psycopg

        self.psutil = psutil
        self.worker = psutil.Process(worker_pid)
        url = BENCH_URL.replace("postgres://", "postgresql://")
        self.conn = psycopg.connect(url, autocommit=True)
        self.seen: dict[tuple[str, int], float] = {}  # (group, pid): CPU seconds last read
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    @staticmethod
    def _proc_cpu(pid: int) -> float | None:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _read(self) -> None:
        pids: list[tuple[str, int]] = []
        try:
            procs = [self.worker, *self.worker.children(recursive=True)]
            pids += [("worker", p.pid) for p in procs]
        except self.psutil.Error:
            pass
        rows = self.conn.execute(
            "SELECT pid, backend_type, application_name FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        ).fetchall()
        for pid, kind, application in rows:
            if "autovacuum" in (kind or ""):
                group = "autovacuum"
            elif application == LIST_APPLICATION:  # the list's server, not the sweep
                group = "list"
            else:
                group = "postgres"
            pids.append((group, pid))
        with self.lock:
            for key in pids:
                cpu = self._proc_cpu(key[1])
                if cpu is not None:
                    self.seen[key] = max(cpu, self.seen.get(key, 0.0))

    def _run(self) -> None:
        while not self.stopping.wait(0.25):
            try:
                self._read()
            except Exception:  # noqa: BLE001, S112 - a measurement, never the benchmark's failure
                continue

    def mark(self) -> dict[str, float]:
        self._read()
        with self.lock:
            totals = {"worker": 0.0, "postgres": 0.0, "autovacuum": 0.0, "list": 0.0}
            for (group, _pid), cpu in self.seen.items():
                totals[group] += cpu
            return totals

    def stop(self) -> None:
        if self.stopping.is_set():
            return
        self.stopping.set()
        self.thread.join(2)
        self.conn.close()


def cpu_line(before: dict[str, float], after: dict[str, float], count: int, wall: float) -> str:
    """CPU per escalation of a phase, and what that CPU allows on two idle cores."""
    used = {k: after[k] - before[k] for k in after}
    per = {k: 1000 * v / max(count, 1) for k, v in used.items()}
    total = per["worker"] + per["postgres"]
    allows = 2000 / total if total else 0
    busy = (used["worker"] + used["postgres"]) / wall
    return (
        f"  CPU per escalation: worker {per['worker']:.2f} ms + its PostgreSQL backends "
        f"{per['postgres']:.2f} ms = {total:.2f} ms (autovacuum {per['autovacuum']:.2f} ms); "
        f"on 2 idle cores: {allows:,.0f}/s; CPU busy {busy:.2f}"
        f" cores of {os.cpu_count()} over {wall:.1f} s"
    )


# The ticket list's server marks its database sessions, so that the CPU meter tells them from
# the sweep's (libpq reads PGAPPNAME).
LIST_APPLICATION = "madoguchi-bench-list"
LIST_PATH = "/bench-0/desk/"
# Eight agents, each reading the list for a quarter of a second before loading it again: about
# 30 loads a second, the traffic of a desk of hundreds of agents. `--list-think-ms 0` is
# bench/tickets.py's saturating load (wrk at 8, no pause), which takes every cycle the sweep
# leaves: then the list's p95 says how the two cores were shared (README, SLA benchmark).
LIST_THINK_MS = 250


def start_list_server():
    """uvicorn (2 workers, row-level security on) serving the ticket list of this database, as
    bench/tickets.py serves it, and a signed-in session of the big organization's admin."""
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)
    os.environ["PGAPPNAME"] = LIST_APPLICATION
    try:
        server = ticket_bench.start_server(rls=True)
    finally:
        del os.environ["PGAPPNAME"]
    return server, ticket_bench.session_cookie()


def list_load(cookie, seconds: int, concurrency: int, think_ms: int) -> dict[str, float]:
    return ticket_bench.load_page(LIST_PATH, cookie, seconds, concurrency, think_ms)


def list_line(label: str, figures: dict[str, float], concurrency: int, think_ms: int) -> str:
    verdict = "ok" if figures["p95"] < 150 and not figures["errors"] else "MISSED"
    return (
        f"ticket list ({LIST_PATH}, wrk c={concurrency}, {think_ms} ms between a connection's "
        f"requests) {label}: p50 {figures['p50']:.0f} ms, p95 {figures['p95']:.0f} ms "
        f"(bar: 150 ms, {verdict}), {figures['rps']:.1f} req/s, {figures['errors']:.0f} errors"
    )


def records(client, key: str) -> list[tuple[float, str, str]]:
    return [tuple(json.loads(r)) for r in client.lrange(key, 0, -1)]


def due_times(headers: set[str], residue: int) -> dict[str, float]:
    """{escalation header: due epoch} of the fired due rows moved by `make_due(residue=...)`
    (not the day's other clocks that fell due meanwhile)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT d.ticket_id || ':' || d.clock_id || ':1:' || d.level,
                   extract(epoch FROM d.due_at)
            FROM sla_clockdue d WHERE d.fired_at IS NOT NULL AND d.id %% 20 = %s
            """,
            [residue],
        )
        return {h: float(t) for h, t in cursor.fetchall() if h in headers}


def wait_for(client, key: str, count: int, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.llen(key) >= count:
            return time.monotonic()
        time.sleep(0.05)
    return time.monotonic()


def stop(processes: list[subprocess.Popen]) -> None:
    """Warm shutdown: the worker finishes the task it runs (a sweep mails what it claimed)."""
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def exactly_once(client, key: str) -> bool:
    """Compare the mails recorded with the ledger, once the worker has stopped (the backend
    records a mail before its ledger row's transaction commits): no escalation mailed twice,
    none mailed without its ledger row, none marked sent without its mail (one recipient per
    escalation here). Ledger rows not sent yet (fired when a phase timed out, their mail
    due from the next sweep) are counted, not failed. Prints the counts; returns whether all
    hold."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ticket_id || ':' || clock_id || ':' || cycle || ':' || level,"
            " mail_sent_at IS NOT NULL FROM sla_escalationfired"
        )
        ledger = dict(cursor.fetchall())
    counts: dict[str, int] = {}
    for _, h, _ in records(client, key):
        counts[h] = counts.get(h, 0) + 1
    duplicates = sum(1 for n in counts.values() if n > 1)
    unsent = sum(1 for sent in ledger.values() if not sent)
    orphans = sum(1 for h in counts if h not in ledger)
    unmailed = sum(1 for h, sent in ledger.items() if sent and h not in counts)
    ok = not (duplicates or orphans or unmailed)
    print(
        f"exactly once: {len(ledger):,} ledger rows, {sum(counts.values()):,} mails, "
        f"{len(counts):,} distinct escalations, {duplicates} mailed twice, "
        f"{orphans} mailed without a ledger row, {unmailed} marked sent but not mailed: "
        + ("OK" if ok else "FAILED")
        + f" ({unsent:,} fired, not mailed yet)"
    )
    return ok


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clocks", type=int, default=1_000_000)
    parser.add_argument("--soon", type=int, default=50_000)
    parser.add_argument("--backlog", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=2)
    # Not the tests' databases (9 and up): the benchmark's queue is its own anyway.
    parser.add_argument("--redis-db", type=int, default=8)
    parser.add_argument(
        "--keep", action="store_true", help="leave the clocks in place (the next run reuses them)"
    )
    parser.add_argument("--database", default="madoguchi_sla_bench")
    parser.add_argument(
        "--list-concurrency", type=int, default=8, help="agents loading the ticket list (0: none)"
    )
    parser.add_argument(
        "--list-think-ms",
        type=int,
        default=LIST_THINK_MS,
        help="each agent's pause between two loads of the list (0: none, wrk's saturating load)",
    )
    args = parser.parse_args()
    use_database(args.database)

    import redis

    setup(1_000_000)
    settings_per_org()
    if not reset(args.clocks):
        generate(args.clocks)
    server = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0").rsplit("/", 1)[0]
    redis_url = f"{server}/{args.redis_db}"
    client = redis.Redis.from_url(redis_url)
    run = uuid.uuid4().hex
    key, queue = f"sla:bench:{run}", f"sla-bench-{run}"
    server, cookie = start_list_server() if args.list_concurrency else (None, None)
    processes = start(redis_url, key, args.concurrency, queue)
    meter = CpuMeter(processes[0].pid)
    ok = True
    try:
        time.sleep(8)  # the worker and beat start
        if server is not None:
            list_load(cookie, 3, args.list_concurrency, 0)  # warm up the server
            alone = list_load(cookie, 15, args.list_concurrency, args.list_think_ms)
            print(list_line("alone", alone, args.list_concurrency, args.list_think_ms))

        print(
            f"cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f}, worker concurrency "
            f"{args.concurrency}, sweep every {os.environ.get('SLA_SWEEP_SECONDS', '5')} s, "
            f"batch {os.environ.get('SLA_SWEEP_BATCH', '500')}"
        )
        # Backlog: fire as fast as the worker can.
        if args.backlog:
            made = make_due(args.backlog, start_in=-60, spread=1, residue=0) + 60
            began, cpu = time.monotonic(), meter.mark()
            ended = wait_for(client, key, args.backlog, 600)
            handed = sorted(t for t, _, _ in records(client, key))
            got = len(handed)
            # The rate from the first hand-off to the last: moved in SQL, the rows schedule no
            # wake-up (the services do when they write a due row), so the first sweep is the
            # next beat's, up to SLA_SWEEP_SECONDS later; that wait is printed apart.
            span = max(handed[-1] - handed[0], 1e-3) if handed else ended - began
            print(
                f"backlog: {got:,} of {args.backlog:,} escalations fired and mailed in "
                f"{span:.1f} s from the first hand-off: {got / span:,.0f}/s (target >= 2,000/s;"
                f" the first {handed[0] - made if handed else 0:.1f} s after the rows fell due,"
                f" at the next beat; {got / (ended - began):,.0f}/s counting that wait; load "
                f"{os.getloadavg()[0]:.1f})"
            )
            print(cpu_line(cpu, meter.mark(), got, ended - began))
        before = client.llen(key)
        # Live: due over the next minute.
        first = make_due(args.soon, start_in=5, spread=60, residue=1)
        began, cpu = time.monotonic(), meter.mark()
        beside: dict[str, dict[str, float]] = {}
        if server is not None:  # the list, loaded over the minute the rows fall due
            loader = threading.Thread(
                target=lambda: beside.update(
                    live=list_load(cookie, 65, args.list_concurrency, args.list_think_ms)
                )
            )
            loader.start()
        ended = wait_for(client, key, before + args.soon, 600)
        live_cpu = meter.mark()
        if server is not None:
            loader.join()
        live_count = client.llen(key) - before
        time.sleep(2)
        got = records(client, key)[before:]
        headers = {h for _, h, _ in got}
        due = due_times(headers, residue=1)
        got = [r for r in got if r[1] in due]
        delays = sorted(t - due[h] for t, h, _ in got if h in due)
        if delays:
            p50 = statistics.median(delays)
            p99 = delays[min(len(delays) - 1, int(len(delays) * 0.99))]
            print(
                f"live: {len(got):,} of {args.soon:,} mailed over "
                f"{max(t for t, _, _ in got) - first:.0f} s; delay due -> mail handed off: "
                f"p50 {p50:.2f} s, p99 {p99:.2f} s, max {delays[-1]:.2f} s (target p99 < 2 s; "
                f"load {os.getloadavg()[0]:.1f})"
            )
            print(cpu_line(cpu, live_cpu, live_count, ended - began))
        if "live" in beside:
            print(
                list_line(
                    "while they fall due",
                    beside["live"],
                    args.list_concurrency,
                    args.list_think_ms,
                )
            )
        meter.stop()
        stop(processes)
        ok = exactly_once(client, key)
    finally:
        meter.stop()
        stop(processes)
        if server is not None:
            os.killpg(server.pid, signal.SIGINT)
            server.wait(timeout=20)
        client.delete(key, queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
        if not args.keep:
            clean()
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
