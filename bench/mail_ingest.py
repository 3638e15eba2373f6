"""Incoming email under load (issue 9, TKT-07): the ingest service's rate and the ticket list's
latency while mail comes in.

    python bench/mail_ingest.py [--messages 10000] [--concurrency 2] [--baseline 10] [--no-load]

1. Creates (once) a database `madoguchi_mail_bench` on the PostgreSQL of DATABASE_URL (default:
   the local server), migrates it and makes an organization `mail-bench` with two departments
   (support@ and sales@ addresses). Each run starts from an empty desk (the organization's
   tickets, threads, contacts and mail log are deleted).
2. Generates `--messages` messages in memory, from a fixed seed: about 60 % new tickets and 40 %
   replies (In-Reply-To/References to an earlier message of the run, a few by "[#n]" in the
   subject only), 60 % Japanese (ISO-2022-JP, Shift_JIS, UTF-8; RFC 2047 subjects) and 40 %
   English, multipart/alternative with quoted history, 30 % with a PDF or PNG attachment and
   some with an inline image; 3 % auto-replies and 1 % duplicates.
3. Starts the app as in production (uvicorn, DEBUG off, 2 workers, row-level security on),
   measures the ticket list (the default view) with wrk for `--baseline` seconds, then runs
   `ingest` on every message in this one process (one worker, as the IMAP poller or a pipe
   would) while wrk keeps loading the list, and prints messages per second and the list's
   p50/p95 before and during ingestion. `--batch N` hands N messages at a time to
   `ingest_many` (one transaction per message, one row-level-security scope per batch).
   Meanwhile a thread analyzes the tables as they grow, as autovacuum would (it is off on
   our machines; `Autoanalyze`).
Targets (2 cores): at least 100 messages per second.
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import signal
import sys
import tempfile
import threading
import time
from email.utils import formatdate
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import tickets as ticket_bench  # noqa: E402  (the list benchmark's server and wrk helpers)

BENCH_DB = "madoguchi_mail_bench"
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/madoguchi")
BENCH_URL = SERVER_URL.rsplit("/", 1)[0] + "/" + BENCH_DB
PORTAL = "mail-bench"
PORT = 8766

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n" + b"0" * 30_000 + b"\n%%EOF\n"  # a 30 KB document
JA_SUBJECTS = [
    "ログインできません",
    "請求書の金額について",
    "配送が遅れています",
    "返品の手順",
    "パスワード再設定",
]
JA_BODIES = [
    "お世話になっております。\nログイン画面でエラーが表示されます。\nご確認をお願いいたします。",
    "請求書の金額が見積もりと異なっています（㈱サンプル）。\n至急ご確認ください。",
    "注文番号 A-{n} の商品がまだ届いていません。\n配送状況を教えてください。",
]
EN_SUBJECTS = [
    "Printer is jammed",
    "Invoice question",
    "Cannot log in",
    "Refund request",
    "Export fails",
]
EN_BODIES = [
    "Hello,\n\nThe printer on floor {n} is jammed again. Could someone take a look?\n\nThanks",
    "Hi,\n\nOur invoice {n} was charged twice. Please refund one of the charges.",
    "Hello team,\n\nExporting report {n} fails with a timeout after five minutes.",
]


def setup_django() -> None:
    os.environ["DATABASE_URL"] = BENCH_URL
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    os.environ.setdefault("MEDIA_ROOT", str(Path(tempfile.gettempdir()) / "mail-bench-media"))
    # The tasks a message enqueues (followers', the owner's mail) are sent, as in production,
    # but to an in-memory broker: no worker runs here, and none should find them later.
    os.environ["CELERY_BROKER_URL"] = "memory://"
    import django

    django.setup()


def ensure_database() -> None:
    import psycopg

    admin = SERVER_URL.rsplit("/", 1)[0].replace("postgres://", "postgresql://") + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [BENCH_DB]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{BENCH_DB}"')


def prepare():
    """The organization, empty of tickets, contacts and mail."""
    from django.core.management import call_command
    from django.db import connection

    from helpdesk.tenancy.models import Department, Organization
    from helpdesk.tenancy.services.organizations import organization_signup

    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    org = Organization.objects.filter(portal=PORTAL).first()
    if org is None:
        org = organization_signup(
            org_name="Mail Bench",
            portal=PORTAL,
            full_name="Mail Admin",
            email=f"admin@{PORTAL}.test",
            password="bench-password-1",
        ).org
        org.plan = "enterprise"
        org.save()
    first = Department.objects.filter(org=org).order_by("pk").first()
    Department.objects.filter(pk=first.pk).update(email="support@mail-bench.test")
    Department.objects.get_or_create(
        org=org, name="Sales", defaults={"email": "sales@mail-bench.test"}
    )
    with connection.cursor() as cursor:
        for table in (
            "mailin_inboundmessage",
            "tickets_attachment",
            "tickets_thread",
            "tickets_tickethistory",
            "tickets_ticket",
            "tickets_ticketcounter",
            "customers_contact",
        ):
            cursor.execute(f"DELETE FROM {table} WHERE org_id = %s", [org.pk])  # noqa: S608
        cursor.execute("VACUUM ANALYZE")
    return org


def _encoded(text: str, charset: str) -> str:
    codec = {"iso-2022-jp": "iso2022_jp", "shift_jis": "cp932"}.get(charset, charset)
    data = base64.b64encode(text.encode(codec, errors="replace")).decode()
    return f"=?{charset}?B?{data}?="


def message(
    rng: random.Random, n: int, replies_to: list[tuple[str, str, str]]
) -> tuple[bytes, tuple[str, str, str] | None]:
    """The n-th message (bytes) and, for a new one, (Message-ID, subject, sender) for later
    replies to it. `replies_to` holds those of earlier new messages."""
    japanese = rng.random() < 0.6
    reply = replies_to and rng.random() < 0.4
    msgid = f"<bench-{n}-{rng.getrandbits(32):08x}@client.example>"
    if reply:
        parent, subject, sender = rng.choice(replies_to)
        subject = "Re: " + subject
    else:
        parent = ""
        subject = rng.choice(JA_SUBJECTS if japanese else EN_SUBJECTS) + f" {n}"
        sender = f"customer{rng.randrange(2000)}@{'example.jp' if japanese else 'example.com'}"
    charset = rng.choice(["iso-2022-jp", "shift_jis", "utf-8"]) if japanese else "utf-8"
    codec = {"iso-2022-jp": "iso2022_jp", "shift_jis": "cp932"}.get(charset, charset)
    body = rng.choice(JA_BODIES if japanese else EN_BODIES).format(n=n)
    if reply:
        quote = "\n".join("> " + line for line in body.splitlines())
        body = (
            "ありがとうございます。解決しました。" if japanese else "Thanks, that fixed it."
        ) + (f"\n\nOn Mon, 6 May 2024 at 10:00, Support <support@mail-bench.test> wrote:\n{quote}")
    to = "sales@mail-bench.test" if rng.random() < 0.3 else "support@mail-bench.test"
    headers = [
        f"From: {_encoded('山田 花子', charset) if japanese else 'Jane Doe'} <{sender}>",
        f"To: {to}",
        f"Subject: {_encoded(subject, charset) if japanese else subject}",
        f"Message-ID: {msgid}",
        f"Date: {formatdate(localtime=False)}",
        "MIME-Version: 1.0",
    ]
    if reply:
        headers += [f"In-Reply-To: {parent}", f"References: {parent}"]
    if rng.random() < 0.03:
        headers.append("Auto-Submitted: auto-replied")
    text = body.encode(codec, errors="replace")
    html = ("<div>" + body.replace("\n", "<br>") + "</div>").encode(codec, errors="replace")
    attachment = rng.random() < 0.3
    inline = attachment and rng.random() < 0.3
    boundary = f"b{n}"
    parts = [
        f"--{boundary}a\r\nContent-Type: text/plain; charset={charset}\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n".encode()
        + base64.encodebytes(text)
        + f"\r\n--{boundary}a\r\nContent-Type: text/html; charset={charset}\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n".encode()
        + base64.encodebytes(html + (b'<img src="cid:logo@bench">' if inline else b""))
        + f"\r\n--{boundary}a--\r\n".encode()
    ]
    raw_head = "\r\n".join(headers).encode()
    if not attachment:
        return (
            raw_head
            + f"\r\nContent-Type: multipart/alternative; boundary={boundary}a\r\n\r\n".encode()
            + parts[0],
            None if reply else (msgid, subject, sender),
        )
    if inline:
        extra = (
            f"--{boundary}\r\nContent-Type: image/png; name=logo.png\r\n"
            "Content-ID: <logo@bench>\r\nContent-Disposition: inline; filename=logo.png\r\n"
            "Content-Transfer-Encoding: base64\r\n\r\n".encode()
            + base64.encodebytes(PNG)
        )
    else:
        name = _encoded("見積書.pdf", charset) if japanese else "quote.pdf"
        extra = (
            f'--{boundary}\r\nContent-Type: application/pdf; name="{name}"\r\n'
            f'Content-Disposition: attachment; filename="{name}"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n".encode()
            + base64.encodebytes(PDF)
        )
    return (
        raw_head
        + f"\r\nContent-Type: multipart/mixed; boundary={boundary}\r\n\r\n--{boundary}\r\n".encode()
        + f"Content-Type: multipart/alternative; boundary={boundary}a\r\n\r\n".encode()
        + parts[0]
        + b"\r\n"
        + extra
        + f"\r\n--{boundary}--\r\n".encode(),
        None if reply else (msgid, subject, sender),
    )


def backend_cpu() -> float:
    """Seconds of CPU spent so far by this process's PostgreSQL backend, from /proc (the
    machine is shared: other processes' backends are not counted); 0 where unreadable."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # PostgreSQL on another machine
        return 0.0
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Autoanalyze:
    """What autovacuum's analyze would do meanwhile, which our machines switch off: every
    second, ANALYZE each table that changed by more than 50 rows plus a tenth of its size since
    its last analysis (autovacuum's default thresholds), on a connection of its own (not the
    ingesting process's: autovacuum is not the worker either). The desk starts empty, so
    without it PostgreSQL would plan every statement for empty tables for the whole run (a
    prepared statement keeps its plan until the statistics change), which no production
    database does."""

    def __init__(self) -> None:
        import psycopg

        self.conn = psycopg.connect(BENCH_URL.replace("postgres://", "postgresql://"))
        self.conn.autocommit = True
        self.stopping = threading.Event()
        self.analyzed = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stopping.wait(1.0):
            rows = self.conn.execute(
                "SELECT s.relname FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
                " WHERE s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0)"
            ).fetchall()
            for (table,) in rows:
                self.conn.execute(f'ANALYZE "{table}"')
                self.analyzed += 1

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(10)
        self.conn.close()


def session_cookie() -> tuple[str, str]:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from helpdesk.tenancy.models import User

    user = User.objects.get(email=f"admin@{PORTAL}.test")
    user.language = "en"
    user.save(update_fields=["language"])
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return settings.SESSION_COOKIE_NAME, session.session_key


def list_load(cookie, seconds: int, concurrency: int) -> dict:
    """The ticket list under wrk for `seconds`: p50/p95 (ms), requests per second, errors, and
    the weighted percentiles that merge slices (`points`)."""
    return ticket_bench.load_page(f"/{PORTAL}/desk/", cookie, seconds, concurrency)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=2, help="wrk connections on the list")
    parser.add_argument("--baseline", type=int, default=10, help="seconds of list load before")
    parser.add_argument("--no-load", action="store_true", help="ingest without the list load")
    parser.add_argument(
        "--max-seconds", type=int, default=0, help="stop ingesting after this long (0: never)"
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=1,
        help="messages per ingest_many call (1: ingest, one message per call)",
    )
    args = parser.parse_args()
    ensure_database()
    setup_django()
    org = prepare()
    from helpdesk.tickets.mailin.services import ingest, ingest_many

    rng = random.Random(9)
    generated: list[bytes] = []
    new_ones: list[tuple[str, str, str]] = []
    started = time.monotonic()
    for n in range(args.messages):
        if generated and rng.random() < 0.01:
            generated.append(rng.choice(generated))  # a duplicate delivery
            continue
        raw, new = message(rng, n, new_ones[-500:])
        generated.append(raw)
        if new is not None:
            new_ones.append(new)
    size = sum(len(r) for r in generated)
    print(
        f"generated {len(generated):,} messages ({size / 1e6:.1f} MB) in "
        f"{time.monotonic() - started:.1f} s",
        flush=True,
    )

    ticket_bench.BENCH_URL = BENCH_URL
    ticket_bench.PORT = PORT
    cookie = session_cookie()
    server = None if args.no_load else ticket_bench.start_server(rls=True)
    try:
        before = during = None
        if server is not None:
            ticket_bench.wrk(f"/{PORTAL}/desk/", cookie, 3, args.concurrency)  # warm up
            before = list_load(cookie, args.baseline, args.concurrency)
        outcomes: dict[str, int] = {}
        done = threading.Event()
        load_result: dict = {}

        def load() -> None:
            # Slices of 5 s until ingestion ends, merged (each slice's 99 percentiles).
            samples = []
            while not done.is_set():
                samples.append(list_load(cookie, 5, args.concurrency))
            load_result["slices"] = samples

        thread = None
        if server is not None:
            thread = threading.Thread(target=load, daemon=True)
            thread.start()
        from django.db import connection

        queries = [0]

        def count(execute, sql, params, many, context):
            queries[0] += 1
            return execute(sql, params, many, context)

        # A worker that has run before has its URLconf loaded (the first `reverse`, for an
        # inline image's link, imports every app's URLs): not a cost of the messages.
        from django.urls import get_resolver

        get_resolver().namespace_dict  # noqa: B018 - loads and indexes the URLconf
        analyzer = Autoanalyze()
        db_cpu = backend_cpu()
        started, cpu = time.monotonic(), time.process_time()
        ingested = 0
        with connection.execute_wrapper(count):
            size = max(1, args.batch)
            for first in range(0, len(generated), size):
                chunk = generated[first : first + size]
                if size == 1:
                    results = [ingest(org, chunk[0], source="other")]
                else:
                    results = ingest_many(org, chunk, source="other")
                for result in results:
                    outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
                    ingested += 1
                    if ingested % 500 == 0:
                        print(
                            f"  {ingested:,} messages, "
                            f"{ingested / (time.monotonic() - started):.1f}/s",
                            flush=True,
                        )
                if args.max_seconds and time.monotonic() - started > args.max_seconds:
                    print(f"  time budget of {args.max_seconds} s spent: stopping", flush=True)
                    break
        elapsed, cpu = time.monotonic() - started, time.process_time() - cpu
        db_cpu = backend_cpu() - db_cpu
        analyzer.stop()
        done.set()
        if thread is not None:
            thread.join()
            slices = load_result.get("slices", [])
            if slices:  # the slices' latency distributions merged, weighted by requests
                points = [p for s in slices for p in s["points"]]
                during = {
                    "p50": ticket_bench._quantile(points, 0.50),
                    "p95": ticket_bench._quantile(points, 0.95),
                    "rps": sum(s["rps"] for s in slices) / len(slices),
                    "errors": sum(s["errors"] for s in slices),
                }
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGINT)
            server.wait(timeout=20)
    from helpdesk.tickets.models import Attachment, Thread, Ticket

    rate = ingested / elapsed
    print(
        f"\ningested {ingested:,} of {len(generated):,} messages in {elapsed:.1f} s: "
        f"{rate:.1f} messages/s "
        f"(one process; target >= 100) {'ok' if rate >= 100 else 'MISSED'}"
    )
    print("outcomes: " + ", ".join(f"{k} {v:,}" for k, v in sorted(outcomes.items())))
    print(f"tables analyzed meanwhile (as autovacuum would): {analyzer.analyzed}")
    print(
        f"per message: {queries[0] / ingested:.1f} SQL statements, "
        f"{cpu / ingested * 1000:.1f} ms CPU in this process + "
        f"{db_cpu / ingested * 1000:.1f} ms in its PostgreSQL backend "
        f"(an idle core each: {ingested / max(cpu, db_cpu, 1e-9):.0f}/s; "
        f"one core for both: {ingested / max(cpu + db_cpu, 1e-9):.0f}/s), "
        f"{elapsed / ingested * 1000:.1f} ms wall; load average during the run "
        f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    print(
        f"desk now: {Ticket.objects.filter(org=org).count():,} tickets, "
        f"{Thread.objects.filter(org=org).count():,} thread entries, "
        f"{Attachment.objects.filter(org=org).count():,} attachments"
    )
    for label, figures in (("list before ingestion", before), ("list during ingestion", during)):
        if figures:
            print(
                f"{label:24} p50 {figures['p50']:6.1f} ms  p95 {figures['p95']:6.1f} ms  "
                f"{figures['rps']:6.1f} req/s  errors {figures['errors']}  "
                f"(wrk, concurrency {args.concurrency})"
            )
    sys.exit(0 if rate >= 100 else 1)


if __name__ == "__main__":
    main()
