"""Importing contacts from CSV (issue 13 item 8): 100,000 contacts in under 60 s.

    python bench/customers_import.py [--rows 100000] [--database madoguchi_import_bench]
                                     [--updates]

1. Uses its own database (`--database`, made once on the server of DATABASE_URL, migrated).
2. Makes a fresh organization per run (its admin and 20 agents who own contacts).
3. Generates a CSV file of `--rows` contacts as a Japanese spreadsheet would hold them: half
   with Japanese names, 2,000 companies (half Japanese), an owner on a third of the rows,
   tags on a fifth, a phone and a title; once as UTF-8 with BOM (English headers) and once as
   Shift_JIS (CP932, Japanese headers).
4. Imports each file into its own fresh organization through the service the import job runs
   (`customers.imports.services`: read → check → write in one transaction, history entries
   included), inside the organization's row-level-security scope, and prints the time of each
   step and the rows per second. With `--updates`, imports the UTF-8 file a second time into
   the same organization (every row then updates its contact, matched by email).
Target (2 cores): the whole import of 100,000 contacts under 60 s.
"""

from __future__ import annotations

import argparse
import codecs
import csv
import io
import os
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER_URL = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/madoguchi")

FAMILY = ["佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "山本", "中村", "小林", "加藤", "吉田"]
GIVEN = ["太郎", "花子", "健", "葵", "陽翔", "結衣", "蓮", "美咲", "大輔", "さくら", "翔"]
LATIN_FAMILY = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas"]
LATIN_GIVEN = ["Alex", "Sam", "Jo", "Chris", "Pat", "Robin", "Kim", "Lee", "Max", "Ana"]
TITLES = ["部長", "課長", "Manager", "Engineer", "担当", "", ""]
TAGS = ["vip", "東京", "大阪", "renewal", "trial"]


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


def organization(tag: str):
    """A fresh organization with its admin and 20 agents; (admin membership, agent emails)."""
    from helpdesk.tenancy.models import Membership, User
    from helpdesk.tenancy.services.organizations import organization_signup

    suffix = uuid.uuid4().hex[:8]
    admin = organization_signup(
        org_name=f"Import bench {tag} {suffix}",
        portal=f"imp-{tag}-{suffix}",
        full_name="Bench Admin",
        email=f"admin-{suffix}@bench.test",
        password="bench-password-123",
        language="ja",
    )
    emails = []
    for n in range(20):
        user = User.objects.create(email=f"agent{n}-{suffix}@bench.test", full_name=f"Agent {n}")
        Membership.objects.create(
            org=admin.org, user=user, status=Membership.Status.ACTIVE, desk_role="agent"
        )
        emails.append(user.email)
    return admin, emails


def rows(total: int, owners: list[str], japanese_headers: bool) -> list[list[str]]:
    rng = random.Random(13)
    companies = [f"株式会社サンプル{n}" if n % 2 else f"Sample {n} Ltd" for n in range(2000)]
    header = (
        ["姓", "名", "メール", "電話", "会社名", "役職", "担当者メール", "タグ"]
        if japanese_headers
        else [
            "Last name",
            "First name",
            "Email",
            "Phone",
            "Account",
            "Title",
            "Owner email",
            "Tags",
        ]
    )
    out = [header]
    for n in range(total):
        if n % 2:
            family, given = rng.choice(FAMILY), rng.choice(GIVEN)
        else:
            family, given = rng.choice(LATIN_FAMILY), rng.choice(LATIN_GIVEN)
        out.append(
            [
                family,
                given,
                f"contact{n}@customer{n % 97}.example.jp",
                f"03-{n % 10000:04d}-{(n * 7) % 10000:04d}",
                rng.choice(companies),
                rng.choice(TITLES),
                owners[n % len(owners)] if n % 3 == 0 else "",
                ", ".join(rng.sample(TAGS, 2)) if n % 5 == 0 else "",
            ]
        )
    return out


def encode(table: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(table)
    if encoding == "utf-8-sig":
        return codecs.BOM_UTF8 + buffer.getvalue().encode("utf-8")
    return buffer.getvalue().encode(encoding)


def backend_cpu() -> float:
    """CPU seconds used so far by this connection's PostgreSQL backend (a local server)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(label: str, actor, data: bytes, kind: str = "contacts") -> float:
    from customers.imports import services
    from customers.models import Contact, CustomerHistory
    from helpdesk.tenancy.rls import tenant_scope

    with tenant_scope(actor.org.pk):
        db_before, py_before = backend_cpu(), time.process_time()
        started = time.perf_counter()
        sheet = services.read_file(actor.org, kind, data)
        read = time.perf_counter()
        plan = services.import_check(org=actor.org, kind=kind, sheet=sheet)
        checked = time.perf_counter()
        assert not plan.error_count, plan.errors[:5]
        _plan, outcome = services.import_write(actor=actor, kind=kind, sheet=sheet)
        done = time.perf_counter()
        db_cpu, py_cpu = backend_cpu() - db_before, time.process_time() - py_before
        assert outcome is not None
        count = Contact.objects.for_org(actor.org).count()
        history = CustomerHistory.objects.for_org(actor.org).filter(action="imported").count()
    rows_ = len(sheet.rows)
    total = (read - started) + (done - checked)  # read once, then check + write (the job)
    print(
        f"{label:<28} {rows_:>7,} rows  read {read - started:5.2f} s  "
        f"check {checked - read:5.2f} s  check+write {done - checked:6.2f} s  "
        f"total {total:6.2f} s  {rows_ / total:8,.0f} rows/s  "
        f"(created {outcome.created:,}, updated {outcome.updated:,}, accounts "
        f"{outcome.accounts_created:,}; {count:,} contacts, {history:,} history entries)\n"
        f"{'':<28} CPU: Python {py_cpu:6.2f} s + PostgreSQL backend {db_cpu:6.2f} s "
        f"= {py_cpu + db_cpu:6.2f} s (incl. the preview's check)"
    )
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", default="madoguchi_import_bench")
    parser.add_argument("--updates", action="store_true")
    args = parser.parse_args()
    setup(args.database)
    results = []
    admin, owners = organization("utf8")
    data = encode(rows(args.rows, owners, False), "utf-8-sig")
    print(f"UTF-8 with BOM file: {len(data) / 1e6:.1f} MB")
    results.append(run("UTF-8 with BOM, new org", admin, data))
    if args.updates:
        results.append(run("UTF-8 again (all updates)", admin, data))
    admin2, owners2 = organization("sjis")
    data = encode(rows(args.rows, owners2, True), "cp932")
    print(f"Shift_JIS file: {len(data) / 1e6:.1f} MB")
    results.append(run("Shift_JIS, new org", admin2, data))
    worst = max(results)
    print(f"slowest: {worst:.2f} s  target < 60 s: {'OK' if worst < 60 else 'MISSED'}")


if __name__ == "__main__":
    main()
