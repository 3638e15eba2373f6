"""The tickets list and a ticket over the API under load (issue 16, "Performance").

    python bench/api.py [--tickets 1000000] [--duration 12] [--concurrency 8]

Uses bench/tickets.py's data (the database `madoguchi_bench`, made once: 10 organizations,
`--tickets` tickets, half in `bench-0`), server (uvicorn, 2 workers, DEBUG off, row-level
security on) and wrk harness, with a personal API token of bench-0's admin in
`Authorization: Bearer` instead of a session (the rate limit is off for the run). Prints
p50/p95 latency and requests per second per call, and the SQL queries per call at page sizes
25 and 100 (they must be equal).
Target (2 cores): p95 under 100 ms, and a fixed number of queries.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import tickets as base  # noqa: E402  (the path above first)

CALLS = [
    ("api: tickets list", "/bench-0/api/v1/tickets"),
    ("api: list, open + high", "/bench-0/api/v1/tickets?view=open&priority=high"),
    ("api: list, by priority", "/bench-0/api/v1/tickets?sort=-priority"),
    ("api: list, search", "/bench-0/api/v1/tickets?q=invoice+refund"),
    ("api: one ticket", "/bench-0/api/v1/tickets/{number}"),
]
TARGET_MS = 100


def api_token() -> str:
    from django.utils import timezone

    from api.services import token_create
    from helpdesk.tenancy.models import Membership

    member = Membership.objects.select_related("org").get(
        org__portal="bench-0", user__email="admin@bench-0.test"
    )
    return token_create(
        actor=member,
        name="bench",
        scopes=["read"],
        expires_at=timezone.now() + dt.timedelta(hours=1),
    ).raw


def query_counts(calls, token: str) -> dict[str, tuple[int, int]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    client.get(calls[0][1], HTTP_HOST="127.0.0.1")  # the token's first use writes its last use
    counts = {}
    for label, path in calls:
        measured = []
        for size in (25, 100):
            sep = "&" if "?" in path else "?"
            url = path if "tickets/" in path else f"{path}{sep}size={size}"
            with CaptureQueriesContext(connection) as queries:
                response = client.get(url, HTTP_HOST="127.0.0.1")
            assert response.status_code == 200, (url, response.status_code, response.content)
            measured.append(len(queries))
        counts[label] = tuple(measured)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--duration", type=int, default=12, help="seconds per call, 3 slices")
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    os.environ["API_RATE_LIMIT_PER_MINUTE"] = "0"  # the server measured inherits it
    base.ensure_database()
    base.setup_django()
    base.generate(args.tickets)  # migrates, and makes the data once
    from helpdesk.tickets.models import Ticket

    largest = (
        Ticket.objects.filter(org__portal="bench-0")
        .order_by("-number")
        .values_list("number", flat=True)
        .first()
    )
    calls = [(label, path.format(number=largest // 2)) for label, path in CALLS]
    token = api_token()
    counts = query_counts(calls, token)
    # bench/tickets.py's wrk sends a session cookie; the API wants the token instead.
    send = base.wrk

    def wrk_with_token(path, _cookie, seconds, concurrency, script=None):
        return send(path, ("x-unused", "1"), seconds, concurrency, script)

    base.wrk = wrk_with_token
    header = f"Authorization: Bearer {token}"
    original_run = base.subprocess.run

    def run(cmd, *a, **kw):
        if cmd and cmd[0] == "wrk":
            cmd = [*cmd[:-1], "-H", header, cmd[-1]]
        return original_run(cmd, *a, **kw)

    base.subprocess.run = run
    server = base.start_server(rls=True)
    try:
        results = base.measure(calls, None, args.duration, args.concurrency)
    finally:
        base.subprocess.run = original_run
        os.killpg(server.pid, signal.SIGINT)
        server.wait(timeout=20)
    print(
        f"\n{Ticket.objects.count():,} tickets (bench-0: "
        f"{Ticket.objects.filter(org__portal='bench-0').count():,}); concurrency "
        f"{args.concurrency}, {args.duration} s per call, uvicorn 2 workers, RLS on\n"
    )
    print(
        f"{'call':26} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>8} {'errors':>7} "
        f"{'SQL@25':>7} {'SQL@100':>8}  target p95<{TARGET_MS}ms"
    )
    failed = False
    for label, _path in calls:
        r = results[label]
        ok = r["p95"] < TARGET_MS and r["errors"] == 0 and counts[label][0] == counts[label][1]
        failed |= not ok
        print(
            f"{label:26} {r['p50']:8.1f} {r['p95']:8.1f} {r['rps']:8.1f} {r['errors']:7d} "
            f"{counts[label][0]:7d} {counts[label][1]:8d}  {'ok' if ok else 'MISSED'}"
        )
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
