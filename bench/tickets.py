"""Ticket list and ticket page under load (issue: "Tickets: the agent's workspace").

    python bench/tickets.py [--tickets 1000000] [--duration 10] [--concurrency 8]

1. Creates (once) a database `madoguchi_bench` on the PostgreSQL of DATABASE_URL (default: the
   local server) with 10 organizations and `--tickets` tickets, one organization holding half
   of them, each ticket with 3 thread entries, generated in SQL.
2. Starts the app as in production: uvicorn (ASGI), DEBUG off, 2 workers.
3. Loads each page with wrk at the given concurrency (a new connection per request) as the
   big organization's admin (in 3
   interleaved slices per page, their latency distributions merged), and
   prints p50/p95 latency and requests per second, and the SQL queries per page at page sizes
   25 and 100 (they must be equal).
Targets (2 cores): p95 under 150 ms for every page.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
BENCH_DB = "madoguchi_bench"
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/madoguchi")
BENCH_URL = SERVER_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
PORT = 8765
ORGS = 10

WORDS = [
    "printer",
    "invoice",
    "login",
    "password",
    "refund",
    "shipping",
    "server",
    "error",
    "license",
    "upgrade",
    "billing",
    "account",
    "network",
    "backup",
    "email",
    "mobile",
    "report",
    "export",
    "timeout",
    "payment",
]


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()


def ensure_database() -> None:
    import psycopg

    # The server's maintenance database: the one DATABASE_URL names may not exist yet.
    admin = SERVER_URL.replace("postgres://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def generate(total: int) -> None:
    """Organizations, departments, people and `total` tickets with 3 thread entries each."""
    from django.core.management import call_command
    from django.db import connection

    from helpdesk.tickets.models import Ticket

    call_command("migrate", verbosity=0)
    if Ticket.objects.count() >= total:
        print(f"data: {Ticket.objects.count():,} tickets already generated")
        return
    from customers.models import Contact
    from helpdesk.tenancy.models import DepartmentAgent, Organization
    from helpdesk.tenancy.services.organizations import organization_signup
    from helpdesk.tickets.services.layouts import statuses_for

    started = time.monotonic()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE tickets_thread, tickets_tickethistory, tickets_attachment, "
            "tickets_ticket, tickets_ticketcounter RESTART IDENTITY CASCADE"
        )
    sizes = [total // 2] + [(total - total // 2) // (ORGS - 1)] * (ORGS - 1)
    sizes[-1] += total - sum(sizes)
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    for index, size in enumerate(sizes):
        portal = f"bench-{index}"
        org = Organization.objects.filter(portal=portal).first()
        if org is None:
            membership = organization_signup(
                org_name=f"Bench {index}",
                portal=portal,
                full_name=f"Admin {index}",
                email=f"admin@{portal}.test",
                password="bench-password-1",
            )
            org = membership.org
            org.plan = "enterprise"
            org.save()
        department = (
            DepartmentAgent.objects.filter(org=org).select_related("department").first().department
        )
        # A department's statuses are made on its first use.
        statuses = {s.kind: s.pk for s in statuses_for(department)}
        admin_id = DepartmentAgent.objects.filter(org=org).first().user_id
        if not Contact.objects.filter(org=org).exists():
            Contact.objects.bulk_create(
                Contact(org=org, last_name=f"Customer {n}", email=f"c{n}@{portal}.test")
                for n in range(1000)
            )
        first_contact = Contact.objects.filter(org=org).order_by("pk").first().pk
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO tickets_ticket (org_id, number, subject, description, department_id,
                    status_id, status_kind, priority, priority_rank, channel, contact_id,
                    owner_id, due_at, custom_fields, created_at, updated_at, closed_at,
                    created_by_id, search_vector, last_activity_at,
                    first_response, answered_turns, answered_wait)
                SELECT %(org)s, i,
                    'Ticket ' || i || ' about ' || ({words})[1 + i %% 20] || ' and '
                        || ({words})[1 + (i / 20) %% 20],
                    '<p>The customer reports a ' || ({words})[1 + (i / 7) %% 20]
                        || ' problem.</p>',
                    %(dept)s,
                    CASE WHEN i %% 10 < 6 THEN %(open)s WHEN i %% 10 < 8 THEN %(hold)s
                         ELSE %(closed)s END,
                    CASE WHEN i %% 10 < 6 THEN 'open' WHEN i %% 10 < 8 THEN 'on_hold'
                         ELSE 'closed' END,
                    (ARRAY['low','medium','high','urgent'])[1 + i %% 4], i %% 4,
                    (ARRAY['email','web','chat','phone','crm'])[1 + i %% 5],
                    %(contact)s + i %% 1000,
                    CASE WHEN i %% 3 = 0 THEN %(owner)s END,
                    now() + ((i %% 200) - 100) * interval '1 hour',
                    '{{}}'::jsonb,
                    now() - (%(size)s - i) * interval '30 seconds',
                    now() - (%(size)s - i) * interval '30 seconds',
                    CASE WHEN i %% 10 >= 8 THEN now() END,
                    %(owner)s,
                    to_tsvector('simple', 'ticket ' || i || ' about '
                        || ({words})[1 + i %% 20] || ' and ' || ({words})[1 + (i / 20) %% 20]
                        || ' the customer reports a ' || ({words})[1 + (i / 7) %% 20]
                        || ' problem thanks we are looking into it'),
                    -- after its thread entries below, in an order unlike creation's
                    now() - (%(size)s - i) * interval '30 seconds'
                        + (3 + (i::bigint * 7919) %% 600) * interval '1 minute',
                    -- the thread below: the customer writes at +1 min, an agent answers at +2
                    interval '1 minute', 1, interval '1 minute'
                FROM generate_series(1, %(size)s) AS i
            """,
                {
                    "org": org.pk,
                    "dept": department.pk,
                    "open": statuses["open"],
                    "hold": statuses["on_hold"],
                    "closed": statuses["closed"],
                    "contact": first_contact,
                    "owner": admin_id,
                    "size": size,
                },
            )
            cursor.execute(
                """
                INSERT INTO tickets_thread (org_id, ticket_id, kind, author_id, contact_id,
                    body, "to", cc, message_id, in_reply_to, "references", created_at)
                SELECT t.org_id, t.id, (ARRAY['incoming','reply','comment'])[k],
                    CASE WHEN k > 1 THEN t.created_by_id END,
                    CASE WHEN k = 1 THEN t.contact_id END,
                    (ARRAY['<p>Hello, I need help.</p>','<p>Thanks, we are looking into it.</p>',
                           '<p>Internal: checked the logs.</p>'])[k],
                    '', '', '', '', '', t.created_at + k * interval '1 minute'
                FROM tickets_ticket t CROSS JOIN generate_series(1, 3) AS k
                WHERE t.org_id = %s
            """,
                [org.pk],
            )
            # One open ticket in 50 escalated by an SLA (the "escalated" view): an open
            # resolution clock of no policy that reached level 1 to 3.
            cursor.execute(
                """
                INSERT INTO sla_clock (org_id, ticket_id, kind, department_id, cycle,
                    target_minutes, business_hours, started_at, due_at, paused_total,
                    level_reached)
                SELECT t.org_id, t.id, 'resolution', t.department_id, 1, 60, false,
                    t.created_at, t.created_at + interval '1 hour', interval '0',
                    1 + (t.number / 50) %% 3
                FROM tickets_ticket t
                WHERE t.org_id = %s AND t.number %% 50 = 0 AND t.status_kind <> 'closed'
            """,
                [org.pk],
            )
            cursor.execute(
                """
                INSERT INTO tickets_ticketcounter (org_id, last_number) VALUES (%s, %s)
                ON CONFLICT (org_id) DO UPDATE SET last_number = EXCLUDED.last_number
            """,
                [org.pk, size],
            )
        print(f"data: {portal}: {size:,} tickets ({time.monotonic() - started:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(f"data: generated in {time.monotonic() - started:.0f} s")


def session_cookie() -> tuple[str, str]:
    """A signed-in session of the big organization's admin."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from helpdesk.tenancy.models import User

    user = User.objects.get(email="admin@bench-0.test")
    user.language = "en"
    user.save(update_fields=["language"])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return settings.SESSION_COOKIE_NAME, session.session_key


PAGES = [
    ("list: default view", "/bench-0/desk/"),
    ("list: filtered (open, high)", "/bench-0/desk/?view=open&priority=high"),
    ("list: sorted (priority)", "/bench-0/desk/?sort=-priority"),
    ("list: sorted (last activity)", "/bench-0/desk/?sort=-activity"),
    ("list: search", "/bench-0/desk/?q=invoice+refund"),
    # The SLA's view (TKT-06): one open ticket in 50 escalated, newest first.
    ("list: escalated", "/bench-0/desk/?view=escalated"),
    ("ticket page", "/bench-0/desk/tickets/{number}/"),
    # The Desk's home page. Its figures are cached 30 s per member, so under wrk (one member)
    # most requests are served from the cache; the SQL counts below are of a cold page.
    ("dashboard", "/bench-0/desk/dashboard/"),
    # The ticket page as an agent opens it from a list: three tags, followers, the customer's
    # other tickets and previous/next in "open tickets by priority" (two keyset queries).
    (
        "ticket page: panels, prev/next",
        "/bench-0/desk/tickets/{number}/?list=view%3Dopen%26sort%3D-priority",
    ),
    # What every open ticket page sends every 5 s: the collision notice's report (cache only).
    ("collision poll (POST)", "POST /bench-0/desk/tickets/{number}/presence/"),
]
# A fixed CSRF secret for the POST pages: sent as the cookie and, unmasked, as the header.
CSRF_SECRET = "b" * 32
POST_LUA = f"""
wrk.method = "POST"
wrk.body = "writing=0"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-CSRFToken"] = "{CSRF_SECRET}"
"""


def ticket_page_setup(number: int) -> None:
    """Tags and a follower on the measured ticket (idempotent)."""
    from helpdesk.tenancy.models import User
    from helpdesk.tickets.models import Tag, Ticket, TicketFollower, TicketTag

    ticket = Ticket.objects.get(org__portal="bench-0", number=number)
    admin = User.objects.get(email="admin@bench-0.test")
    for name in ("billing", "vip", "printer"):
        tag, _ = Tag.objects.get_or_create(org_id=ticket.org_id, name=name)
        TicketTag.objects.get_or_create(org_id=ticket.org_id, ticket=ticket, tag=tag)
    TicketFollower.objects.get_or_create(org_id=ticket.org_id, ticket=ticket, user=admin)


def query_counts(pages) -> dict[str, tuple[int, int]]:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from helpdesk.tenancy.models import User

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.get(email="admin@bench-0.test"))
    counts = {}
    for label, path in pages:
        measured = []
        for size in (25, 100):
            sep = "&" if "?" in path else "?"
            url = path if "tickets/" in path else f"{path}{sep}size={size}"
            cache.clear()  # a cold page: the dashboard's figures are cached
            with CaptureQueriesContext(connection) as queries:
                if url.startswith("POST "):
                    response = client.post(url[5:], {"writing": "0"}, HTTP_HOST="127.0.0.1")
                else:
                    response = client.get(url, HTTP_HOST="127.0.0.1")
            assert response.status_code == 200, (url, response.status_code)
            measured.append(len(queries))
        counts[label] = tuple(measured)
    return counts


# wrk reports a run's latency percentiles; 1..99 of them let runs be merged.
LUA = """
done = function(summary, latency, requests)
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT %d %d %d\\n", summary.requests, summary.duration, errors))
  for p = 1, 99 do
    io.write(string.format("P %d\\n", latency:percentile(p)))
  end
end
"""


def start_server(rls: bool) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": BENCH_URL,
        # RLS on: log in as the runtime role, as in production. Off: as the owner (whom RLS
        # does not apply to) with the per-request scopes switched off.
        **({"DATABASE_USER": "madoguchi_app"} if rls else {"DB_RUNTIME_ROLE": ""}),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CONN_MAX_AGE": "600",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "helpdesk.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(PORT),
            "--workers",
            "2",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT}/healthz", timeout=2)  # noqa: S310
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def wrk(
    path: str, cookie: tuple[str, str], seconds: int, concurrency: int, script: str | None = None
) -> str:
    header = f"Cookie: {cookie[0]}={cookie[1]}"
    extra = []
    if path.startswith("HX "):  # a fragment as htmx asks for it
        path = path[3:]
        extra = ["-H", "HX-Request: true"]
    post_script = None
    if path.startswith("POST "):  # a form post: method, body and CSRF token by script
        path = path[5:]
        header += f"; csrftoken={CSRF_SECRET}"
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as post_script:
            post_script.write(POST_LUA + (Path(script).read_text() if script else ""))
        script = post_script.name
    # Each request on a new connection, as requests of many browsers reach a balanced server.
    # With 8 long-lived connections, one uvicorn worker's accept loop takes most of them at
    # the start and the other worker idles: the figures then measure that coin toss.
    args = [
        "wrk",
        "-t2",
        f"-c{concurrency}",
        f"-d{seconds}s",
        "-H",
        header,
        "-H",
        "Connection: close",
        *extra,
    ]
    if script:
        args += ["-s", script]
    try:
        out = subprocess.run(
            [*args, f"http://127.0.0.1:{PORT}{path}"], capture_output=True, text=True, check=True
        )
    finally:
        if post_script is not None:
            os.unlink(post_script.name)
    return out.stdout


def load_page(
    path: str, cookie: tuple[str, str], seconds: int, concurrency: int, think_ms: int = 0
) -> dict[str, float]:
    """wrk on one page for `seconds` (a slice of `measure`, or beside another benchmark's load:
    bench/sla.py, bench/chat.py, bench/mail_ingest.py): `concurrency` connections, each pausing
    `think_ms` between requests (an agent reading the page; 0: wrk's saturating load). p50 and
    p95 from wrk's percentiles, requests a second, errors, the requests and seconds themselves,
    and the percentiles weighted by requests (`points`: runs are merged by `_quantile` over
    their points together)."""
    script = LUA + (f"\nfunction delay()\n  return {think_ms}\nend\n" if think_ms else "")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        out = wrk(path, cookie, seconds, concurrency, handle.name)
    finally:
        os.unlink(handle.name)
    lines = out.splitlines()
    requests, micros, errors = (
        int(v) for v in next(x for x in lines if x.startswith("RESULT")).split()[1:]
    )
    points = [(int(x.split()[1]) / 1000, requests / 99) for x in lines if x.startswith("P ")]
    return {
        "points": points,
        "p50": _quantile(points, 0.50),
        "p95": _quantile(points, 0.95),
        "rps": requests / max(micros / 1e6, 1e-3),
        "errors": errors,
        "requests": requests,
        "seconds": micros / 1e6,
    }


def measure(pages, cookie, duration: int, concurrency: int, rounds: int = 3) -> dict:
    """Each page is loaded in `rounds` slices, round-robin, so a burst of noise on the machine
    spreads over every page instead of spoiling one; the slices' latency distributions are
    merged (99 percentiles each, weighted by requests)."""
    for _label, path in pages:  # warm up: pools, template and plan caches, as in production
        wrk(path, cookie, 3, concurrency)
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label, _ in pages}
    totals = {label: [0, 0.0, 0] for label, _ in pages}
    for _ in range(rounds):
        for label, path in pages:
            run = load_page(path, cookie, max(1, duration // rounds), concurrency)
            samples[label] += run["points"]
            totals[label][0] += run["requests"]
            totals[label][1] += run["seconds"]
            totals[label][2] += run["errors"]
    return {
        label: {
            "p50": _quantile(samples[label], 0.50),
            "p95": _quantile(samples[label], 0.95),
            "rps": totals[label][0] / totals[label][1],
            "errors": totals[label][2],
        }
        for label, _ in pages
    }


def _quantile(weighted: list[tuple[float, float]], q: float) -> float:
    ordered = sorted(weighted)
    total = sum(w for _, w in ordered)
    seen = 0.0
    for value, weight in ordered:
        seen += weight
        if seen >= q * total:
            return value
    return ordered[-1][0]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument(
        "--duration", type=int, default=12, help="seconds per page, in 3 interleaved slices"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--rls",
        choices=["on", "off"],
        default="on",
        help="row-level security on (production) or off, to measure its cost",
    )
    args = parser.parse_args()
    ensure_database()
    setup_django()
    generate(args.tickets)
    from django.core.management import call_command

    call_command("collectstatic", "--noinput", verbosity=0)
    from helpdesk.tickets.models import Ticket

    number = (
        Ticket.objects.filter(org__portal="bench-0")
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
        // 2
    )
    pages = [(label, path.format(number=number)) for label, path in PAGES]
    ticket_page_setup(number)
    counts = query_counts(pages)
    cookie = session_cookie()
    server = start_server(args.rls == "on")
    try:
        results = measure(pages, cookie, args.duration, args.concurrency)
        rows = [(label, results[label]) for label, _ in pages]
    finally:
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=20)
    total = Ticket.objects.count()
    print(
        f"\n{total:,} tickets in {ORGS} organizations (largest 'bench-0': "
        f"{Ticket.objects.filter(org__portal='bench-0').count():,}); "
        f"concurrency {args.concurrency}, {args.duration} s per page, uvicorn 2 workers, "
        f"row-level security {args.rls}\n"
    )
    print(
        f"{'page':30} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'errors':>7} "
        f"{'SQL@25':>7} {'SQL@100':>8}  target p95<150ms"
    )
    failed = False
    for label, result in rows:
        ok = result["p95"] < 150 and result["errors"] == 0 and counts[label][0] == counts[label][1]
        failed |= not ok
        print(
            f"{label:30} {result['p50']:8.1f} {result['p95']:8.1f} {result['rps']:8.1f} "
            f"{result['errors']:7d} {counts[label][0]:7d} {counts[label][1]:8d}  "
            f"{'ok' if ok else 'MISSED'}"
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
