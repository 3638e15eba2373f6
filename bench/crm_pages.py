"""The CRM's lists and a record's desk tickets under load (issue 14, "CRM", Performance: p95
under 150 ms at concurrency 8 on the tickets benchmark's data).

    python bench/crm_pages.py [--duration 12] [--concurrency 8] [--samples 15] [--no-wrk]

1. Uses the tickets benchmark's database (`madoguchi_bench`, bench/tickets.py) and the
   customers benchmark's records in it (bench/customers.py `prepare`: a desk contact with
   5,000 tickets, an account with about 50,000, and a contact and an account with one), and
   adds, once, in SQL: 20,000 CRM accounts, 100,000 CRM contacts and 20,000 deals in
   "bench-0"'s CRM; the CRM linked to its own desk; CRM records for the four desk records,
   linked to them as the sync links them (`SyncLink`); a deal with 1,000 of the 5k
   contact's tickets linked (`DealTicket`) and one with a single ticket.
2. Counts each page's SQL queries for the big records and the one-ticket records (they must
   be equal), times each page serially with nothing cached, then under wrk at
   `--concurrency` (uvicorn, 2 workers, DEBUG off, row-level security on): bench/customers.py
   `report`.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
_spec = importlib.util.spec_from_file_location("bench_customers", ROOT / "bench" / "customers.py")
customers_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(customers_bench)
tickets_bench = customers_bench.tickets_bench

PORTAL = customers_bench.PORTAL
CRM_ACCOUNTS = 20_000
CRM_CONTACTS = 100_000
DEALS = 20_000
DEAL_TICKETS = 1_000


def prepare() -> dict[str, int]:
    """The CRM's records and links (made once) and the measured records' ids."""
    from django.db import connection

    from crmsync.models import (
        CrmAccount,
        CrmContact,
        Deal,
        DealTicket,
        Integration,
        SyncKind,
        SyncLink,
    )
    from customers.models import Account, Contact
    from helpdesk.tenancy.models import Membership, Organization
    from helpdesk.tickets.models import Ticket

    desk = customers_bench.prepare()
    org = Organization.objects.get(portal=PORTAL)
    admin = Membership.objects.select_related("user").get(
        org=org, user__email=f"admin@{PORTAL}.test"
    )
    integration = Integration.objects.filter(org=org).first()
    if integration is None:
        integration = Integration.objects.create(
            org=org, desk_org=org, authorised_by=admin.user, state=Integration.State.PAUSED
        )
    if not CrmAccount.objects.filter(org=org).exists():
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO {CrmAccount._meta.db_table} (org_id, name, website, phone, industry,
                    type, description, owner_id, created_at, updated_at)
                SELECT %s, 'CRM Company ' || lpad(n::text, 6, '0'), '', '03-' || n, 'Retail',
                    (ARRAY['prospect','customer','partner'])[1 + n %% 3], '',
                    CASE WHEN n %% 2 = 0 THEN %s END, now(), now()
                FROM generate_series(1, %s) n
                """,
                [org.pk, admin.user_id, CRM_ACCOUNTS],
            )
            cursor.execute(
                f"""
                INSERT INTO {CrmContact._meta.db_table} (org_id, first_name, last_name, email,
                    secondary_email, phone, mobile, title, account_id, owner_id, description,
                    created_at, updated_at)
                SELECT %s, 'Given' || n %% 101, 'Family' || n %% 997,
                    'crm' || n || '@customer.test', '', '090-' || n, '', '',
                    (SELECT min(id) FROM {CrmAccount._meta.db_table} WHERE org_id = %s)
                        + n %% %s,
                    CASE WHEN n %% 2 = 0 THEN %s END, '', now(), now()
                FROM generate_series(1, %s) n
                """,
                [org.pk, org.pk, CRM_ACCOUNTS, admin.user_id, CRM_CONTACTS],
            )
            cursor.execute(
                f"""
                INSERT INTO {Deal._meta.db_table} (org_id, name, account_id, stage, amount,
                    expected_close, probability, owner_id, description, created_at, updated_at)
                SELECT %s, 'Deal ' || n,
                    (SELECT min(id) FROM {CrmAccount._meta.db_table} WHERE org_id = %s)
                        + n %% %s,
                    (ARRAY['qualification','proposal','negotiation','won','lost'])[1 + n %% 5],
                    1000 * (n %% 500), current_date + n %% 200, NULL,
                    CASE WHEN n %% 2 = 0 THEN %s END, '', now(), now()
                FROM generate_series(1, %s) n
                """,
                [org.pk, org.pk, CRM_ACCOUNTS, admin.user_id, DEALS],
            )
    contact = Contact.objects.get(pk=desk["contact"])
    small_contact = Contact.objects.get(pk=desk["small_contact"])
    ids: dict[str, int] = {}
    for key, kind, model, desk_id in (
        ("contact", SyncKind.CONTACT, CrmContact, desk["contact"]),
        ("small_contact", SyncKind.CONTACT, CrmContact, desk["small_contact"]),
        ("account", SyncKind.ACCOUNT, CrmAccount, desk["account"]),
        ("small_account", SyncKind.ACCOUNT, CrmAccount, desk["small_account"]),
    ):
        link = SyncLink.objects.filter(
            org=org, integration=integration, kind=kind, desk_id=desk_id
        ).first()
        if link is None:
            if model is CrmContact:
                source = contact if key == "contact" else small_contact
                record = CrmContact.objects.create(
                    org=org, last_name=source.last_name or "Bench", email=source.email
                )
            else:
                record = CrmAccount.objects.create(
                    org=org, name=Account.objects.get(pk=desk_id).name
                )
            link = SyncLink.objects.create(
                org=org, integration=integration, kind=kind, crm_id=record.pk, desk_id=desk_id
            )
        ids[key] = link.crm_id
    for key, name, count in (
        ("deal", "Bench deal 1k", DEAL_TICKETS),
        ("small_deal", "Bench deal 1", 1),
    ):
        deal, made = Deal.objects.get_or_create(org=org, name=name)
        if made:
            tickets = (
                Ticket.objects.filter(org=org, contact_id=desk["contact"])
                .order_by("-created_at")
                .values_list("pk", flat=True)[:count]
            )
            DealTicket.objects.bulk_create(
                [
                    DealTicket(org=org, integration=integration, deal=deal, ticket_id=pk)
                    for pk in tickets
                ]
            )
        ids[key] = deal.pk
    with connection.cursor() as cursor:
        # The one-ticket records' ticket is open, high priority and overdue, so that every
        # measured view of theirs has a row to show (an empty view reads no rows: one query
        # fewer, which would hide nothing but spoil the comparison).
        cursor.execute(
            "UPDATE tickets_ticket t SET priority = 'high', priority_rank = 2, "
            "status_kind = 'open', closed_at = NULL, due_at = now() - interval '1 day', "
            "status_id = (SELECT s.id FROM tickets_ticketstatus s WHERE s.org_id = t.org_id "
            "AND s.department_id = t.department_id AND s.kind = 'open' ORDER BY s.id LIMIT 1) "
            "WHERE t.org_id = %s AND t.contact_id = %s",
            [org.pk, desk["small_contact"]],
        )
        for model in (CrmAccount, CrmContact, Deal, DealTicket, SyncLink):
            cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    return ids


def pages_for(ids: dict[str, int], contact: str, account: str, deal: str) -> list[tuple[str, str]]:
    base = f"/{PORTAL}/crm"
    c, a, d = ids[contact], ids[account], ids[deal]
    return [
        ("CRM contacts list", f"{base}/contacts/"),
        ("CRM contacts: search", f"{base}/contacts/?q=Family12"),
        ("CRM accounts list", f"{base}/accounts/"),
        ("CRM deals list", f"{base}/deals/"),
        ("contact page", f"{base}/contacts/{c}/"),
        ("contact: tickets", f"{base}/contacts/{c}/tickets/"),
        ("contact: overdue", f"{base}/contacts/{c}/tickets/?view=overdue"),
        ("account page", f"{base}/accounts/{a}/"),
        ("account: tickets", f"{base}/accounts/{a}/tickets/"),
        ("account: high priority", f"{base}/accounts/{a}/tickets/?view=high"),
        ("deal page", f"{base}/deals/{d}/"),
        ("deal: tickets", f"{base}/deals/{d}/tickets/"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--samples", type=int, default=15)
    parser.add_argument("--no-wrk", action="store_true")
    args = parser.parse_args()
    tickets_bench.setup_django()
    from django.core.management import call_command

    from helpdesk.tickets.models import Ticket

    if not Ticket.objects.filter(org__portal=PORTAL).exists():
        raise SystemExit("no data: run bench/tickets.py first (it generates madoguchi_bench)")
    call_command("migrate", verbosity=0)
    call_command("collectstatic", "--noinput", verbosity=0)
    ids = prepare()
    pages = pages_for(ids, "contact", "account", "deal")
    small = dict(pages_for(ids, "small_contact", "small_account", "small_deal"))
    sys.exit(customers_bench.report(pages, small, args))


if __name__ == "__main__":
    main()
