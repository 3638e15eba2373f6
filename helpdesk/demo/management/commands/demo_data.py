"""Create (or refresh) the demo organization: a user for every role, three departments with
teams, business hours and holidays, accounts and contacts, and about 300 tickets over the last
60 days with Japanese and English conversations, in every status, priority and channel, so
every view, chart and search has something to show. Idempotent: running it again changes
nothing. It lives in the top layer (`helpdesk.demo`), above every app it fills.

How it stays fast: tickets are created through the tickets service (numbers, contacts, the
"created" history row, the search document), then moved back in time with one UPDATE each;
the conversation (the customer's messages, the agent's answers, internal notes) is written in
one bulk insert as past mail, each answer with a Message-ID so that nothing is ever mailed,
and the search documents are rebuilt once per ticket by the tickets service.

Status names: the demo organization works in Japanese and English, so its default statuses
get bilingual names ("保留 / On Hold"), renamed through the layout service."""

from __future__ import annotations

import datetime as dt
import random

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone, translation

from chat.services.departments import default_department_ensure as default_chat_department_ensure
from crmsync.models import CrmAccount, CrmContact, CrmProduct, Deal, Integration
from crmsync.services import integration as crm_integration
from crmsync.services import records as crm_records
from customers import services as customer_services
from customers.models import Account, Contact, CustomerField, Product
from helpdesk.tenancy.models import (
    BusinessInterval,
    Department,
    DepartmentAgent,
    Membership,
    Organization,
    Plan,
    Team,
    TeamMember,
    User,
)
from helpdesk.tenancy.services.departments import holidays_import
from helpdesk.tickets.models import Thread, Ticket, TicketHistory, TicketStatus
from helpdesk.tickets.services.layouts import layout_create_defaults, status_save
from helpdesk.tickets.services.threads import reply_figures_update
from helpdesk.tickets.services.tickets import TicketInput, search_index_update, ticket_create

from ...content import (
    ACCOUNTS,
    CHANNELS,
    CONTACTS_EN,
    CONTACTS_JA,
    CONVERSATIONS_EN,
    CONVERSATIONS_JA,
    CRM_ACCOUNTS,
    CRM_CONTACTS,
    CRM_DEALS,
    CRM_PRODUCTS,
    DAYS,
    DEPARTMENTS,
    PASSWORD,
    PEOPLE,
    PORTAL,
    PRIORITIES,
    PRODUCTS,
    STATUS_NAMES,
    STATUS_ORDER,
    TICKETS,
)


def _paragraphs(text: str) -> str:
    """Plain text as the HTML a thread stores (the text has no markup characters)."""
    return f"<p>{text}</p>"


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
        for email, name, _role, level, admin_app, desk, crm, chat in PEOPLE:
            user = User.objects.filter(email=email).first()
            if user is None:
                user = User.objects.create_user(email, PASSWORD, full_name=name, language="ja")
            elif user.full_name != name:  # earlier demos put the role in the name
                user.full_name = name
                user.save(update_fields=["full_name"])
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
        departments = {}
        for key, name, description, agents in DEPARTMENTS:
            department, created = Department.objects.get_or_create(
                org=org, name=name, defaults={"description": description}
            )
            departments[key] = department
            with translation.override("en"):  # English defaults, renamed bilingual below
                layout_create_defaults(department=department)
            self._bilingual_statuses(owner, department)
            for agent in agents + ["owner"]:
                DepartmentAgent.objects.get_or_create(
                    org=org, department=department, user=users[agent]
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
        self._desk(org, owner, departments, users)
        self._crm(org, users)
        # CHAT-01: the chat department sign-up would have made (named after the portal).
        default_chat_department_ensure(org=org, user=users["owner"])
        self._print(org)

    def _bilingual_statuses(self, owner: Membership, department: Department) -> None:
        """Default statuses still named in English get the demo's bilingual names."""
        for status in TicketStatus.objects.for_org(department.org_id).filter(department=department):
            name = STATUS_NAMES.get(status.name)
            if name:
                status.name = name
                status_save(actor=owner, status=status)

    def _customer_extras(self, org: Organization, owner: Membership, accounts, contacts) -> None:
        """Tags (the ones tickets use too) and one custom field of contacts and of accounts
        (CUS-01), once."""
        if CustomerField.objects.for_org(org).exists():
            return
        owner.org = org
        customer_services.customer_field_save(
            actor=owner,
            field=CustomerField(
                module="contact",
                label="Plan",
                key="plan",
                type="picklist",
                choices=["Basic", "Pro", "Enterprise"],
            ),
        )
        customer_services.customer_field_save(
            actor=owner,
            field=CustomerField(
                module="account", label="Contract renewal", key="renewal", type="date"
            ),
        )
        for index, account in enumerate(accounts[:4]):
            customer_services.account_set_tags(
                actor=owner, account=account, names=["VIP"] if index % 2 == 0 else ["partner"]
            )
        people = contacts["ja"] + contacts["en"]
        for index, contact in enumerate(people[:8]):
            customer_services.contact_set_tags(
                actor=owner, contact=contact, names=["VIP"] if index % 3 == 0 else ["newsletter"]
            )

    def _desk(self, org: Organization, owner: Membership, departments, users) -> None:
        """Accounts, contacts, products and about TICKETS tickets with their conversations,
        once (a demo made by an earlier version, with a handful of tickets, is topped up)."""
        if Ticket.objects.for_org(org).count() >= TICKETS:
            return
        rng = random.Random(8)  # the same demo every time
        accounts = []
        for name, site, _lang in ACCOUNTS:
            account, _ = Account.objects.get_or_create(
                org=org, name=name, defaults={"website": site}
            )
            accounts.append(account)
        contacts: dict[str, list[Contact]] = {"ja": [], "en": []}
        for lang, rows in (("ja", CONTACTS_JA), ("en", CONTACTS_EN)):
            for last, first, local, account_index in rows:
                account = accounts[account_index] if account_index is not None else None
                domain = (
                    account.website.split("//")[1]
                    if account
                    else f"example.{'jp' if lang == 'ja' else 'com'}"
                )
                contact, _ = Contact.objects.get_or_create(
                    org=org,
                    email=f"{local}@{domain}",
                    defaults={"last_name": last, "first_name": first, "account": account},
                )
                contacts[lang].append(contact)
        self._customer_extras(org, owner, accounts, contacts)
        products = []
        for name, code, dept_key in PRODUCTS:
            product, _ = Product.objects.get_or_create(
                org=org, code=code, defaults={"name": name, "department": departments[dept_key]}
            )
            products.append(product)

        statuses = {
            (s.department_id, s.order): s
            for s in TicketStatus.objects.for_org(org).filter(department__in=departments.values())
        }
        agents_of = {
            key: [users[a] for a in agents if a != "restricted"] + [users["owner"]]
            for key, _n, _d, agents in DEPARTMENTS
        }
        now = timezone.now()
        plans = []
        for index in range(TICKETS):
            lang = "ja" if rng.random() < 0.6 else "en"
            conversations = CONVERSATIONS_JA if lang == "ja" else CONVERSATIONS_EN
            # The first ticket keeps the subject the README's search example finds.
            conversation = conversations[0] if index == 0 else rng.choice(conversations)
            dept_key = conversation[0]
            age = dt.timedelta(minutes=rng.randint(5, DAYS * 24 * 60 - 60))
            created = now - age
            # Older tickets are mostly closed; recent ones still open, on hold or escalated.
            closed_chance = min(0.9, age / dt.timedelta(days=DAYS) * 1.3)
            if index < 4:  # every status at least once, whatever the dice say
                state = ("Open", "On Hold", "Escalated", "Closed")[index]
            elif rng.random() < closed_chance:
                state = "Closed"
            else:
                state = rng.choice(["Open", "Open", "Open", "On Hold", "Escalated"])
            plans.append((index, lang, conversation, dept_key, created, state))

        threads: list[Thread] = []
        for index, lang, conversation, dept_key, created, state in sorted(
            plans, key=lambda p: p[4]
        ):
            _key, subject, message, answer, follow_up, note = conversation
            fill = {
                "order": f"ORD-{rng.randint(10000, 99999)}",
                "invoice": f"INV-{created:%Y%m}-{rng.randint(100, 999)}",
                "product": rng.choice(products).name,
            }
            department = departments[dept_key]
            contact = rng.choice(contacts[lang])
            priority = PRIORITIES[index % len(PRIORITIES)] if index < 14 else rng.choice(PRIORITIES)
            owner_user = None if rng.random() < 0.2 else rng.choice(agents_of[dept_key])
            channel = CHANNELS[index % len(CHANNELS)] if index < 16 else rng.choice(CHANNELS)
            hours = {"urgent": 4, "high": 24, "medium": 48, "low": 96}[priority]
            due = created + dt.timedelta(hours=hours)
            if state != "Closed" and due < now and rng.random() < 0.7:
                # Most unresolved tickets got a new promise; some are still overdue.
                due = now + dt.timedelta(hours=rng.randint(-6, 96))
            ticket = ticket_create(
                actor=owner,
                data=TicketInput(
                    subject=subject,
                    department=department,
                    contact=contact,
                    priority=priority,
                    channel=channel,
                    owner=owner_user,
                    description=message.format(**fill),
                    status=statuses[(department.pk, STATUS_ORDER[state])],
                    due_at=due,
                ),
            )
            # The conversation, as past mail: answered within hours, followed up later.
            answered = created + dt.timedelta(minutes=rng.randint(20, 600))
            entries = []
            if answered < now:
                entries.append((Thread.Kind.REPLY, answered, answer.format(**fill), owner_user))
            if follow_up and answered + dt.timedelta(hours=2) < now:
                later = answered + dt.timedelta(hours=rng.randint(2, 30))
                if later < now:
                    entries.append((Thread.Kind.INCOMING, later, follow_up, None))
            if note:
                entries.append(
                    (Thread.Kind.COMMENT, created + dt.timedelta(minutes=10), note, owner_user)
                )
            last = created
            for kind, at, text, author in entries:
                thread = Thread(
                    org=org,
                    ticket=ticket,
                    kind=kind,
                    author=(author or users["agent"]) if kind != Thread.Kind.INCOMING else None,
                    contact=contact if kind == Thread.Kind.INCOMING else None,
                    body=_paragraphs(text),
                    to=contact.email if kind == Thread.Kind.REPLY else "",
                    # Already "sent": the mail job only claims entries without a Message-ID.
                    message_id=f"<demo-{ticket.number}-{len(threads)}@demo.madoguchi.test>"
                    if kind != Thread.Kind.COMMENT
                    else "",
                )
                thread.demo_at = min(at, now)
                threads.append(thread)
                last = max(last, thread.demo_at)
            closed_at = None
            if state == "Closed":
                closed_at = min(now, last + dt.timedelta(hours=rng.randint(1, 48)))
                last = closed_at
            times = {"created_at": created, "updated_at": last, "closed_at": closed_at}
            if "last_activity_at" in {f.name for f in Ticket._meta.fields}:
                times["last_activity_at"] = last
            Ticket.objects.for_org(org).filter(pk=ticket.pk).update(**times)
            TicketHistory.objects.for_org(org).filter(ticket=ticket).update(created_at=created)
        Thread.objects.bulk_create(threads)
        for thread in threads:  # auto_now_add stamped them now; put them back in time
            Thread.objects.for_org(org).filter(pk=thread.pk).update(created_at=thread.demo_at)
        # The customers' waits kept per ticket (CUS-03) are counted from the thread's times.
        reply_figures_update(org_id=org.pk, ticket_ids=sorted({t.ticket_id for t in threads}))
        for ticket in (
            Ticket.objects.for_org(org)
            .filter(pk__in={t.ticket_id for t in threads})
            .only("pk", "org_id", "subject", "description")
        ):
            search_index_update(ticket)

    def _crm(self, org: Organization, users) -> None:
        """A few CRM accounts, contacts, deals and products (CRM-01), owned by the sales user
        and the CRM admin, and the CRM linked to the demo's own desk (CRM-02). Made once."""
        if CrmAccount.objects.for_org(org).exists():
            return
        members = {
            key: Membership.objects.select_related("org").get(org=org, user=users[key])
            for key in ("crmadmin", "sales")
        }
        admin, sales = members["crmadmin"], members["sales"]
        today = dt.date.today()
        accounts = {}
        for name, kind, industry, owner in CRM_ACCOUNTS:
            accounts[name] = crm_records.account_save(
                actor=admin,
                account=CrmAccount(
                    org=org, name=name, type=kind, industry=industry, owner=members[owner].user
                ),
            )
        contacts = {}
        for last, first, email, account, owner in CRM_CONTACTS:
            contacts[email] = crm_records.contact_save(
                actor=admin,
                contact=CrmContact(
                    org=org,
                    last_name=last,
                    first_name=first,
                    email=email,
                    account=accounts[account],
                    owner=members[owner].user,
                ),
            )
        for name, account, stage, amount, days, email in CRM_DEALS:
            crm_records.deal_save(
                actor=sales,
                deal=Deal(
                    org=org,
                    name=name,
                    account=accounts[account],
                    stage=stage,
                    amount=amount,
                    expected_close=today + dt.timedelta(days=days),
                ),
                contacts=[contacts[email]],
            )
        for name, code, price in CRM_PRODUCTS:
            crm_records.product_save(
                actor=admin, product=CrmProduct(org=org, name=name, code=code, unit_price=price)
            )
        if not Integration.objects.for_org(org).exists():
            crm_integration.integration_connect_own(actor=admin)

    def _print(self, org: Organization) -> None:
        url = f"{settings.SITE_URL}/{org.portal}/"
        self.stdout.write(self.style.SUCCESS(f"\nDemo organization ready: {url}"))
        self.stdout.write(
            f"Log in at {settings.SITE_URL}/accounts/login/ with password “{PASSWORD}” as:"
        )
        for email, name, role, *_rest in PEOPLE:
            self.stdout.write(f"  {email:34} {name}  ({role})")
