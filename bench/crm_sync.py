"""The CRM sync (issue 14 item 3): initial sync of 100,000 contacts and 20,000 accounts under
60 s; an edit on one side visible on the other with a worker running: p95 under 2 s.

    DATABASE_URL=... REDIS_URL=redis://127.0.0.1:6379/5 python bench/crm_sync.py \
        [--contacts 100000] [--accounts 20000] [--edits 50] [--database madoguchi_crm_bench]

1. Uses its own database (made once on the server of DATABASE_URL, migrated) and a fresh
   organization per run whose CRM is linked to its own desk (one-way, the default); the
   tables the sync reads and writes are analyzed before the sync (not measured), as
   autovacuum would keep them.
2. Generates the CRM's accounts and contacts (bulk, not measured), then enables the sync: the
   enable commits and the initial sync job runs (eagerly here, in this process, under the
   organization's row-level-security scope); the time from the enable to the job's end is the
   figure. The desk starts empty, so every record is created there (the importer's bulk path,
   history entries included) and linked.
3. Starts a real Celery worker on its own queue, then edits `--edits` CRM contacts one after
   another through the CRM service (the outbox row and the commit, then the worker's delivery)
   and polls the desk until each edit shows there: p50 / p95 / max.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/madoguchi")


def setup(database: str) -> None:
    import psycopg

    admin = SERVER_URL.replace("postgres://", "postgresql://").rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = SERVER_URL.rsplit("/", 1)[0] + "/" + database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def generate(org, accounts: int, contacts: int) -> None:
    from crmsync.models import CrmAccount, CrmContact

    made = CrmAccount.objects.bulk_create(
        [
            CrmAccount(org=org, name=f"Company {n:06d}", phone=f"03-{n:08d}")
            for n in range(accounts)
        ],
        batch_size=5000,
    )
    ids = [a.pk for a in made]
    CrmContact.objects.bulk_create(
        [
            CrmContact(
                org=org,
                last_name=f"Family{n % 997}",
                first_name=f"Given{n % 101}",
                email=f"person{n:07d}@customer.test",
                phone=f"090-{n:08d}",
                title="Manager" if n % 3 else "",
                account_id=ids[n % len(ids)] if ids else None,
            )
            for n in range(contacts)
        ],
        batch_size=5000,
    )


def analyze() -> None:
    from django.db import connection

    from crmsync.models import CrmAccount, CrmContact, SyncLink
    from customers.models import Account, Contact, CustomerHistory

    with connection.cursor() as cursor:
        for model in (CrmAccount, CrmContact, SyncLink, Account, Contact, CustomerHistory):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")


def worker(queue: str) -> subprocess.Popen:
    env = {**os.environ, "CELERY_TASK_ALWAYS_EAGER": "false", "DB_POOL_MAX": "0"}
    return subprocess.Popen(  # noqa: S603 - our own worker
        [sys.executable, "-m", "celery", "-A", "helpdesk.celery", "worker", "-Q", queue]
        + ["--pool=solo", "--loglevel=WARNING"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--database", default="madoguchi_crm_bench")
    args = parser.parse_args()
    setup(args.database)

    from django.db import transaction

    from crmsync.models import CrmContact, SyncLink, SyncRun
    from crmsync.services import integration as svc
    from crmsync.services import records as crm
    from customers.models import Contact
    from helpdesk.celery import app
    from helpdesk.tenancy.rls import tenant_scope
    from helpdesk.tenancy.services.organizations import organization_signup

    suffix = uuid.uuid4().hex[:8]
    admin = organization_signup(
        org_name=f"CRM bench {suffix}",
        portal=f"crm-{suffix}",
        full_name="Bench Admin",
        email=f"admin-{suffix}@bench.test",
        password="bench-password-123",
        language="ja",
    )
    org = admin.org
    with tenant_scope(org.pk):
        t0 = time.perf_counter()
        generate(org, args.accounts, args.contacts)
        print(
            f"generated {args.accounts:,} CRM accounts and {args.contacts:,} contacts "
            f"in {time.perf_counter() - t0:.1f} s (not measured)"
        )
        integration = svc.integration_connect_own(actor=admin)
    # The planner's statistics, as autovacuum would keep them on a server that runs it (this
    # machine's PostgreSQL runs without): each run adds its organization's rows to the same
    # tables, and a table never analyzed is planned as if it were empty.
    analyze()

    # 2. The initial sync: the enable commits, its job runs (eagerly, in this process).
    app.conf.task_always_eager = True
    with tenant_scope(org.pk):
        t0 = time.perf_counter()
        svc.integration_transition(actor=admin, integration=integration, action="enable")
        elapsed = time.perf_counter() - t0
        run = SyncRun.objects.for_org(org).get(kind="initial")
        links = SyncLink.objects.for_org(org).count()
        desk_contacts = Contact.objects.for_org(org).count()
    print(
        f"initial sync: {elapsed:.1f} s for {run.total:,} records "
        f"({run.total / elapsed:,.0f}/s); state {run.state}; {links:,} links; "
        f"{desk_contacts:,} desk contacts; counts {run.counts}"
    )
    ok_initial = run.state == "done" and links == args.contacts + args.accounts

    # 3. Edits with a real worker.
    queue = f"crm-bench-{suffix}"
    app.conf.task_always_eager = False
    app.conf.task_default_queue = queue
    proc = worker(queue)
    latencies: list[float] = []
    try:
        time.sleep(4)  # the worker starts
        with tenant_scope(org.pk):
            contacts = list(CrmContact.objects.for_org(org).order_by("pk")[: args.edits])
            pairs = dict(
                SyncLink.objects.for_org(org)
                .filter(kind="contact", crm_id__in=[c.pk for c in contacts])
                .values_list("crm_id", "desk_id")
            )
        for n, contact in enumerate(contacts):
            value = f"edit-{suffix}-{n}"
            with tenant_scope(org.pk):
                t0 = time.perf_counter()
                with transaction.atomic():
                    contact.title = value
                    crm.contact_save(actor=admin, contact=contact)
                deadline = t0 + 30
                while time.perf_counter() < deadline:
                    title = (
                        Contact.objects.for_org(org)
                        .filter(pk=pairs[contact.pk])
                        .values_list("title", flat=True)
                        .first()
                    )
                    if title == value:
                        break
                    time.sleep(0.01)
                latencies.append(time.perf_counter() - t0)
    finally:
        proc.terminate()
        proc.wait(15)
    latencies.sort()
    p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
    print(
        f"edit CRM -> desk with a worker: n={len(latencies)} "
        f"p50 {statistics.median(latencies) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms"
    )
    target = ok_initial and elapsed < 60 and p95 < 2
    print("targets (initial < 60 s, p95 < 2 s):", "met" if target else "NOT met")
    sys.exit(0 if target else 1)


if __name__ == "__main__":
    main()
