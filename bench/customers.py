"""The contact and account pages and their tabs under load (issue "Customers: the three-panel
contact and account pages", Performance).

    python bench/customers.py [--duration 12] [--concurrency 8] [--samples 15]

1. Uses the tickets benchmark's database (`madoguchi_bench`, made by bench/tickets.py's
   `generate()`: 1,000,000 tickets, half of them in the organization "bench-0", 3 thread
   entries each) and prepares in it, idempotently, in SQL:
   - a contact "Bench 5k" with 5,000 of bench-0's tickets (every hundredth ticket, spread over
     the whole period), a good/okay/bad rating on every fourth and a time entry on every
     second of them;
   - an account "Bench 50k" whose 100 contacts (bench-0's first generated contacts) have about
     50,000 tickets, each ticket's account set too, with ratings and time entries alike;
   then ANALYZEs the tables.
2. Counts the SQL queries of each page (in this process, as bench-0's admin) for the 5k
   contact and the 50k account, and for a contact and account with one ticket each: the
   counts must not grow with the tickets.
3. Times each page once per sample in this process, one request at a time, with nothing in the
   cache (median and p95 of `--samples`, and the CPU a request cost: this process's plus its
   database backend's, read from /proc, since the machine is shared).
4. Starts the app as in production (uvicorn, 2 workers, DEBUG off, row-level security on) and
   loads each page with wrk at `--concurrency`, a new connection per request, in 3
   interleaved slices (bench/tickets.py's helpers), and prints p50/p95 and requests/s.
Target (2 cores): p95 under 150 ms for every tab; query counts independent of ticket numbers.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_tickets", ROOT / "bench" / "tickets.py")
tickets_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tickets_bench)

PORTAL = "bench-0"
CONTACT_EMAIL = "bench-5k@bench-0.test"
ACCOUNT_NAME = "Bench 50k"
SMALL_EMAIL = "bench-small@bench-0.test"
SMALL_ACCOUNT = "Bench small"
ACCOUNT_CONTACTS = 100
CONTACT_TABS = [
    "overview",
    "history",
    "activities",
    "tickets",
    "interactions",
    "time",
    "happiness",
    "products",
    "attachments",
]
ACCOUNT_TABS = [t for t in CONTACT_TABS if t != "happiness"]


def prepare() -> dict[str, int]:
    """The measured records (created once; the SQL below only changes rows not yet changed)."""
    from django.db import connection

    from customers.models import Account, Contact
    from helpdesk.tenancy.models import Organization, User
    from helpdesk.tickets.services.threads import reply_figures_update

    org = Organization.objects.get(portal=PORTAL)
    admin = User.objects.get(email=f"admin@{PORTAL}.test")
    contact, _ = Contact.objects.get_or_create(
        org=org, email=CONTACT_EMAIL, defaults={"last_name": "Bench 5k"}
    )
    account, _ = Account.objects.get_or_create(org=org, name=ACCOUNT_NAME)
    small_account, _ = Account.objects.get_or_create(org=org, name=SMALL_ACCOUNT)
    small, _ = Contact.objects.get_or_create(
        org=org,
        email=SMALL_EMAIL,
        defaults={"last_name": "Bench small", "account": small_account},
    )
    members = list(
        Contact.objects.filter(org=org, email__endswith=f"@{PORTAL}.test", email__startswith="c")
        .order_by("pk")
        .values_list("pk", flat=True)[:ACCOUNT_CONTACTS]
    )
    started = time.monotonic()
    with connection.cursor() as cursor:
        # The 5k contact: every hundredth ticket (numbers ending in 07), spread over the period.
        cursor.execute(
            "UPDATE tickets_ticket SET contact_id = %s, account_id = NULL "
            "WHERE org_id = %s AND number %% 100 = 7 AND contact_id IS DISTINCT FROM %s",
            [contact.pk, org.pk, contact.pk],
        )
        cursor.execute(
            "UPDATE customers_contact SET account_id = %s "
            "WHERE org_id = %s AND id = ANY(%s) AND account_id IS DISTINCT FROM %s",
            [account.pk, org.pk, members, account.pk],
        )
        cursor.execute(
            "UPDATE tickets_ticket SET account_id = %s WHERE org_id = %s AND contact_id = ANY(%s) "
            "AND account_id IS DISTINCT FROM %s",
            [account.pk, org.pk, members, account.pk],
        )
        # The small records: one ticket (the newest one).
        cursor.execute(
            "UPDATE tickets_ticket SET contact_id = %s, account_id = %s WHERE org_id = %s AND "
            "number = (SELECT max(number) FROM tickets_ticket WHERE org_id = %s) "
            "AND contact_id IS DISTINCT FROM %s",
            [small.pk, small_account.pk, org.pk, org.pk, small.pk],
        )
        # Ratings on every fourth ticket of the measured records, time entries on every second.
        scope = "(contact_id = %s OR account_id = %s OR contact_id = %s)"
        cursor.execute(
            f"""
            INSERT INTO {_rating_table()} (org_id, ticket_id, contact_id, value, comment,
                department_id, agent_id, created_at, rated_at)
            SELECT t.org_id, t.id, t.contact_id, (ARRAY['good','okay','bad'])[1 + t.number %% 3],
                CASE WHEN t.number %% 3 = 2 THEN 'Took a while' ELSE '' END,
                t.department_id, t.owner_id, t.created_at + interval '2 hours',
                t.created_at + interval '2 hours'
            FROM tickets_ticket t
            WHERE t.org_id = %s AND {scope} AND (t.number %% 4 = 3 OR t.contact_id = %s)
            ON CONFLICT DO NOTHING
            """,
            [org.pk, contact.pk, account.pk, small.pk, small.pk],
        )
        cursor.execute(
            f"""
            INSERT INTO {_time_table()} (org_id, ticket_id, user_id, work_date, minutes,
                billable, billed, note, created_by_id, created_at, updated_at)
            SELECT t.org_id, t.id, %s, (t.created_at + interval '1 hour')::date,
                15 + t.number %% 45, t.number %% 3 <> 0, t.number %% 3 = 1, '', %s, now(), now()
            FROM tickets_ticket t
            WHERE t.org_id = %s AND {scope} AND t.number %% 2 = 1
              AND NOT EXISTS (SELECT 1 FROM {_time_table()} e
                              WHERE e.org_id = t.org_id AND e.ticket_id = t.id)
            """,
            [admin.pk, admin.pk, org.pk, contact.pk, account.pk, small.pk],
        )
        # The customer's waits each ticket keeps (written by the thread service; the
        # migration that added them filled them in, bench/tickets.py's SQL does not): counted
        # again for the measured tickets, writing only those that differ.
        cursor.execute(
            f"SELECT id FROM tickets_ticket WHERE org_id = %s AND {scope}",
            [org.pk, contact.pk, account.pk, small.pk],
        )
        ticket_ids = [row[0] for row in cursor.fetchall()]
        recounted = reply_figures_update(org_id=org.pk, ticket_ids=ticket_ids)
        for table in ("tickets_ticket", "customers_contact", _rating_table(), _time_table()):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute(
            "SELECT count(*) FILTER (WHERE contact_id = %s), "
            "count(*) FILTER (WHERE account_id = %s OR contact_id = ANY(%s)) "
            "FROM tickets_ticket WHERE org_id = %s",
            [contact.pk, account.pk, members, org.pk],
        )
        contact_tickets, account_tickets = cursor.fetchone()
    print(
        f"records: contact {contact.pk} with {contact_tickets:,} tickets, account {account.pk} "
        f"({len(members)} contacts) with {account_tickets:,} tickets; {recounted:,} tickets' "
        f"waits recounted; prepared in "
        f"{time.monotonic() - started:.0f} s",
        flush=True,
    )
    return {
        "contact": contact.pk,
        "account": account.pk,
        "small_contact": small.pk,
        "small_account": small_account.pk,
    }


def _rating_table() -> str:
    from helpdesk.tickets.helpcenter.models import Rating

    return Rating._meta.db_table


def _time_table() -> str:
    from helpdesk.tickets.activities.models import TimeEntry

    return TimeEntry._meta.db_table


def pages_for(ids: dict[str, int], contact_key: str, account_key: str) -> list[tuple[str, str]]:
    contact, account = ids[contact_key], ids[account_key]
    base = f"/{PORTAL}/customers"
    pages = [("contact page", f"{base}/contacts/{contact}/")]
    pages += [(f"contact: {t}", f"{base}/contacts/{contact}/tabs/{t}/") for t in CONTACT_TABS]
    pages.append(("account page", f"{base}/accounts/{account}/"))
    pages += [(f"account: {t}", f"{base}/accounts/{account}/tabs/{t}/") for t in ACCOUNT_TABS]
    return pages


def query_count(path: str) -> int:
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from helpdesk.tenancy.models import User

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.get(email=f"admin@{PORTAL}.test"))
    client.get(path, HTTP_HOST="127.0.0.1")  # the session's first reads
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(path, HTTP_HOST="127.0.0.1")
    assert response.status_code == 200, (path, response.status_code)
    return len(queries)


def backend_cpu() -> float:
    """Seconds of CPU spent so far by this process's PostgreSQL backend (the machine is shared:
    other processes' backends are not counted)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def serial_times(pages, samples: int) -> dict[str, tuple[float, float, float]]:
    """(median ms, p95 ms, CPU ms) of each page, one request at a time, cache cleared."""
    from django.core.cache import cache
    from django.test import Client

    from helpdesk.tenancy.models import User

    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(User.objects.get(email=f"admin@{PORTAL}.test"))
    results = {}
    for label, path in pages:
        client.get(path, HTTP_HOST="127.0.0.1")
        times = []
        cpu_before, db_before = time.process_time(), backend_cpu()
        for _ in range(samples):
            cache.clear()
            begun = time.perf_counter()
            client.get(path, HTTP_HOST="127.0.0.1")
            times.append((time.perf_counter() - begun) * 1000)
        cpu = (time.process_time() - cpu_before + backend_cpu() - db_before) / samples * 1000
        ordered = sorted(times)
        p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
        results[label] = (statistics.median(times), p95, cpu)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--duration", type=int, default=12, help="seconds per page under wrk, in 3 slices"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--samples", type=int, default=15, help="serial requests per page (0: none)"
    )
    parser.add_argument("--no-wrk", action="store_true", help="only the serial timings")
    parser.add_argument(
        "--database",
        default=tickets_bench.BENCH_DB,
        help="a copy of the tickets benchmark's database to use instead (e.g. one made with "
        "CREATE DATABASE ... TEMPLATE madoguchi_bench, to try migrations on)",
    )
    args = parser.parse_args()
    tickets_bench.BENCH_URL = tickets_bench.SERVER_URL.rsplit("/", 1)[0] + "/" + args.database
    tickets_bench.setup_django()
    from helpdesk.tickets.models import Ticket

    if not Ticket.objects.filter(org__portal=PORTAL).exists():
        raise SystemExit("no data: run bench/tickets.py first (it generates madoguchi_bench)")
    from django.core.management import call_command

    started = time.monotonic()
    call_command("migrate", verbosity=0)
    print(f"migrations: {time.monotonic() - started:.0f} s", flush=True)
    call_command("collectstatic", "--noinput", verbosity=0)
    ids = prepare()
    pages = pages_for(ids, "contact", "account")
    small = dict(pages_for(ids, "small_contact", "small_account"))
    sys.exit(report(pages, small, args))


def report(pages: list[tuple[str, str]], small: dict[str, str], args) -> int:
    """Count each page's queries (against the same page of a record with one ticket), time it
    serially and under wrk, print the table; 1 when a target is missed. Also used by
    bench/crm_pages.py."""
    counts = {label: (query_count(path), query_count(small[label])) for label, path in pages}
    print(f"load average before: {os.getloadavg()[0]:.1f} (2 cores shared)", flush=True)
    serial = serial_times(pages, args.samples) if args.samples else {}
    results = {}
    if not args.no_wrk:
        cookie = tickets_bench.session_cookie()
        server = tickets_bench.start_server(rls=True)
        try:
            results = tickets_bench.measure(pages, cookie, args.duration, args.concurrency)
        finally:
            os.killpg(server.pid, signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:  # a loaded machine: stop it for good
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=20)
    print(f"load average after: {os.getloadavg()[0]:.1f}\n")
    print(
        f"{'page':26} {'serial med':>10} {'serial p95':>10} {'CPU ms':>7} "
        f"{'wrk p50':>8} {'wrk p95':>8} {'req/s':>7} {'err':>4} {'SQL':>4} {'SQL 1t':>6}"
        f"  target p95<150ms"
    )
    failed = False
    for label, _path in pages:
        median, p95, cpu = serial.get(label, (float("nan"),) * 3)
        w = results.get(label)
        big, one = counts[label]
        # The queries must not grow with the tickets: the big record may need fewer (the
        # tickets list skips its count query when the planner expects a capped total).
        ok = big <= one and (w is None or (w["p95"] < 150 and w["errors"] == 0 and w["rps"] > 0))
        failed |= not ok
        wrk_cols = (
            f"{w['p50']:8.1f} {w['p95']:8.1f} {w['rps']:7.1f} {w['errors']:4d}"
            if w
            else f"{'-':>8} {'-':>8} {'-':>7} {'-':>4}"
        )
        print(
            f"{label:26} {median:10.1f} {p95:10.1f} {cpu:7.1f} {wrk_cols} {big:4d} {one:6d}"
            f"  {'ok' if ok else 'MISSED'}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    main()
