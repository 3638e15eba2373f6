"""Create (or refresh) the demo organization: a user for every role, departments, teams,
business hours and holidays, customers and a few tickets. Idempotent: running it again changes
nothing. It lives in the top layer (`helpdesk.demo`), above every app it fills."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from customers.models import Account, Contact, Product
from helpdesk.tenancy.models import (
    AdminLevel,
    App,
    BusinessInterval,
    ChatRole,
    CrmRole,
    Department,
    DepartmentAgent,
    DeskRole,
    Membership,
    Organization,
    Plan,
    Team,
    TeamMember,
    User,
)
from helpdesk.tenancy.services.departments import holidays_import
from helpdesk.tickets.models import Ticket, TicketStatus
from helpdesk.tickets.services.layouts import layout_create_defaults
from helpdesk.tickets.services.threads import thread_add
from helpdesk.tickets.services.tickets import TicketInput, ticket_create

PORTAL = "demo"
STATUS_ORDER = {"Open": 0, "On Hold": 1, "Escalated": 2, "Closed": 3}
PASSWORD = "madoguchi-demo"

# email, name, admin level, admin app, desk, crm, chat
PEOPLE = [
    (
        "owner@demo.madoguchi.test",
        "山田 花子 (Account admin)",
        AdminLevel.ACCOUNT,
        "",
        DeskRole.ADMIN,
        CrmRole.ADMIN,
        ChatRole.SUPERVISOR,
    ),
    (
        "suite@demo.madoguchi.test",
        "佐藤 健 (Suite admin)",
        AdminLevel.SUITE,
        "",
        DeskRole.ADMIN,
        CrmRole.ADMIN,
        ChatRole.SUPERVISOR,
    ),
    (
        "deskadmin@demo.madoguchi.test",
        "鈴木 一郎 (Desk admin)",
        AdminLevel.APP,
        App.DESK,
        DeskRole.ADMIN,
        "",
        "",
    ),
    (
        "agent@demo.madoguchi.test",
        "高橋 美咲 (Agent)",
        "",
        "",
        DeskRole.AGENT,
        "",
        ChatRole.OPERATOR,
    ),
    (
        "restricted@demo.madoguchi.test",
        "田中 翔 (Restricted agent)",
        "",
        "",
        DeskRole.RESTRICTED,
        "",
        "",
    ),
    (
        "crmadmin@demo.madoguchi.test",
        "伊藤 優 (CRM admin)",
        AdminLevel.APP,
        App.CRM,
        "",
        CrmRole.ADMIN,
        "",
    ),
    ("sales@demo.madoguchi.test", "渡辺 直樹 (Sales user)", "", "", "", CrmRole.SALES, ""),
    (
        "chatlead@demo.madoguchi.test",
        "中村 さくら (Chat supervisor)",
        AdminLevel.APP,
        App.CHAT,
        "",
        "",
        ChatRole.SUPERVISOR,
    ),
    ("operator@demo.madoguchi.test", "小林 蓮 (Chat operator)", "", "", "", "", ChatRole.OPERATOR),
]

DEPARTMENTS = [
    ("Madoguchi Demo", "サポート全般 / General support", ["agent", "restricted", "deskadmin"]),
    ("Billing", "請求とお支払い / Billing and payments", ["agent", "suite"]),
]


class Command(BaseCommand):
    help = "Create the demo organization with a user for every role (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options) -> None:
        org, _ = Organization.objects.get_or_create(
            portal=PORTAL,
            defaults={
                "name": "Madoguchi Demo",
                "plan": Plan.PROFESSIONAL,
                "time_zone": "Asia/Tokyo",
            },
        )
        users = {}
        for email, name, level, admin_app, desk, crm, chat in PEOPLE:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, PASSWORD, full_name=name, language="ja")
            users[email.split("@")[0]] = user
            Membership.objects.update_or_create(
                org=org,
                user=user,
                defaults={
                    "status": Membership.Status.ACTIVE,
                    "admin_level": level,
                    "admin_app": admin_app,
                    "desk_role": desk,
                    "crm_role": crm,
                    "chat_role": chat,
                },
            )
        owner = Membership.objects.get(org=org, user=users["owner"])
        owner.org = org
        for name, description, agents in DEPARTMENTS:
            department, created = Department.objects.get_or_create(
                org=org, name=name, defaults={"description": description}
            )
            layout_create_defaults(department=department)
            for key in agents + ["owner"]:
                DepartmentAgent.objects.get_or_create(
                    org=org, department=department, user=users[key]
                )
            team, _ = Team.objects.get_or_create(org=org, department=department, name=f"{name} L1")
            TeamMember.objects.get_or_create(org=org, team=team, user=users["agent"])
            if not BusinessInterval.objects.for_org(org).filter(department=department).exists():
                BusinessInterval.objects.bulk_create(
                    BusinessInterval(
                        org=org, department=department, weekday=day, start=start, end=end
                    )
                    for day in range(5)
                    for start, end in ((dt.time(9), dt.time(12)), (dt.time(13), dt.time(18)))
                )
            year = dt.date.today().year
            holidays_import(
                actor=owner, department=department, country="JP", year=year, language="ja"
            )
        self._desk(org, owner)
        self._print(org)

    def _desk(self, org: Organization, owner: Membership) -> None:
        """Customers and a few tickets with a conversation, once."""
        if Ticket.objects.for_org(org).exists():
            return
        support = Department.objects.for_org(org).get(name=DEPARTMENTS[0][0])
        billing = Department.objects.for_org(org).get(name=DEPARTMENTS[1][0])
        accounts = [
            Account.objects.create(org=org, name=name, website=site)
            for name, site in (
                ("株式会社さくら商事", "https://sakura.example.jp"),
                ("Umbrella Logistics", "https://umbrella.example.com"),
            )
        ]
        contacts = [
            Contact.objects.create(
                org=org, last_name=last, first_name=first, email=email, account=account, phone=phone
            )
            for last, first, email, account, phone in (
                ("佐々木", "陽子", "yoko@sakura.example.jp", accounts[0], "03-1234-5678"),
                ("Miller", "Jane", "jane@umbrella.example.com", accounts[1], "+1 555 0100"),
                ("加藤", "大輔", "daisuke.kato@example.jp", None, ""),
            )
        ]
        Product.objects.create(org=org, name="窓口 Cloud", code="MC-100", department=support)
        agent = Membership.objects.for_org(org).get(user__email="agent@demo.madoguchi.test")
        tickets = [
            ("ログインできません", support, contacts[0], "high", "Open", agent.user),
            ("請求書の再発行をお願いします", billing, contacts[0], "medium", "Open", None),
            ("Shipment delayed", support, contacts[1], "urgent", "Escalated", agent.user),
            ("パスワードリセットのメールが届かない", support, contacts[2], "low", "On Hold", None),
            ("Refund for double charge", billing, contacts[1], "high", "Closed", None),
        ]
        for subject, department, contact, priority, status, ticket_owner in tickets:
            ticket = ticket_create(
                actor=owner,
                data=TicketInput(
                    subject=subject,
                    department=department,
                    contact=contact,
                    priority=priority,
                    channel="email",
                    owner=ticket_owner,
                    description=f"<p>{subject}</p>",
                    # Default statuses are named in the language active at creation; their
                    # order is fixed (Open, On Hold, Escalated, Closed).
                    status=TicketStatus.objects.for_org(org).get(
                        department=department, order=STATUS_ORDER[status]
                    ),
                ),
            )
            thread_add(
                actor=owner, ticket=ticket, kind="comment", body="確認中です。/ Looking into it."
            )

    def _print(self, org: Organization) -> None:
        url = f"{settings.SITE_URL}/{org.portal}/"
        self.stdout.write(self.style.SUCCESS(f"\nDemo organization ready: {url}"))
        self.stdout.write(
            f"Log in at {settings.SITE_URL}/accounts/login/ with password “{PASSWORD}” as:"
        )
        for email, name, *_rest in PEOPLE:
            self.stdout.write(f"  {email:34} {name}")
