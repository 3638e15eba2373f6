"""The demo command of the README's first command: idempotent, a user for every role, and
data that shows the product (issue 8 item 11): about 300 tickets over 60 days in three
departments, Japanese and English conversations, every status, priority and channel,
contacts and accounts with several tickets each, names without role suffixes, bilingual
status names."""

from __future__ import annotations

import datetime as dt
import io
import time
from collections import Counter

from django.core.management import call_command
from django.utils import timezone

from customers.models import Account, Contact
from helpdesk.tenancy.models import BusinessInterval, Department, Holiday, Membership, Organization
from helpdesk.tickets.models import Channel, Priority, StatusKind, Thread, Ticket


def _counts():
    return (
        Organization.objects.count(),
        Membership.objects.count(),
        Department.objects.count(),
        BusinessInterval.objects.count(),
        Holiday.objects.count(),
        Thread.objects.count(),
        Ticket.objects.count(),
    )


def test_org04_org05_demo_data_has_every_role_and_is_idempotent(db):
    out = io.StringIO()
    started = time.monotonic()
    call_command("demo_data", stdout=out)
    took = time.monotonic() - started
    first = _counts()
    call_command("demo_data", stdout=io.StringIO())
    assert _counts() == first
    assert took < 60, f"demo_data took {took:.0f} s"
    org = Organization.objects.get(portal="demo")
    members = Membership.objects.for_org(org)
    assert {m.desk_role for m in members} >= {"admin", "agent", "restricted"}
    assert {m.crm_role for m in members} >= {"admin", "sales"}
    assert {m.chat_role for m in members} >= {"supervisor", "operator"}
    assert {m.admin_level for m in members} >= {"account", "suite", "app"}
    assert Holiday.objects.for_org(org).exists()
    text = out.getvalue()
    assert "/demo/" in text and "owner@demo.madoguchi.test" in text and "password" in text


def test_demo_data_shows_the_product(db):
    call_command("demo_data", stdout=io.StringIO())
    org = Organization.objects.get(portal="demo")
    # Names are names: the role is printed beside the login, not stored in the name.
    names = [m.user.full_name for m in Membership.objects.for_org(org).select_related("user")]
    assert "山田 花子" in names
    assert not [n for n in names if "(" in n or "admin" in n.lower()]

    tickets = Ticket.objects.for_org(org)
    assert 280 <= tickets.count() <= 320
    assert tickets.values("department").distinct().count() == 3
    assert set(tickets.values_list("status_kind", flat=True)) == set(StatusKind.values)
    assert set(tickets.values_list("priority", flat=True)) == set(Priority.values)
    assert set(tickets.values_list("channel", flat=True)) == set(Channel.values)
    statuses = set(tickets.values_list("status__name", flat=True))
    assert {"オープン / Open", "保留 / On Hold", "エスカレーション / Escalated"} <= statuses
    assert "完了 / Closed" in statuses

    # Spread over the last 60 days; closed ones have a closing time; some are overdue.
    now = timezone.now()
    created = list(tickets.values_list("created_at", flat=True))
    assert min(created) >= now - dt.timedelta(days=61)
    assert min(created) <= now - dt.timedelta(days=45)
    assert len({c.date() for c in created}) >= 40
    closed = tickets.filter(status_kind=StatusKind.CLOSED)
    assert not closed.filter(closed_at__isnull=True).exists()
    assert closed.filter(closed_at__gte=now - dt.timedelta(days=30)).count() >= 30
    assert tickets.filter(due_at__lt=now).exclude(status_kind=StatusKind.CLOSED).exists()

    # Japanese and English conversations, with customer messages and internal notes.
    subjects = list(tickets.values_list("subject", flat=True))
    assert any(any("\u3040" <= ch <= "\u30ff" for ch in s) for s in subjects)
    assert any(s.isascii() for s in subjects)
    kinds = set(Thread.objects.for_org(org).values_list("kind", flat=True))
    assert {"reply", "incoming", "comment"} <= kinds
    assert not Thread.objects.for_org(org).exclude(kind="comment").filter(message_id="").exists()
    # The customers' waits kept per ticket (CUS-03: the overview's response times) are counted.
    answered = tickets.filter(first_response__isnull=False)
    assert answered.count() >= 100
    assert not answered.filter(answered_turns=0).exists()

    # Contacts and accounts each have several tickets.
    per_contact = Counter(tickets.values_list("contact_id", flat=True))
    assert Contact.objects.for_org(org).count() >= 20
    assert min(per_contact.values()) >= 3
    per_account = Counter(tickets.exclude(account=None).values_list("account_id", flat=True))
    assert len(per_account) == Account.objects.for_org(org).count() >= 6
    assert min(per_account.values()) >= 5
