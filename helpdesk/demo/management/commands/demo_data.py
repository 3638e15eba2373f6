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

# ruff: noqa: E501 - the conversations below are data, one message a line
from __future__ import annotations

import datetime as dt
import random

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone, translation

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
from helpdesk.tickets.models import Thread, Ticket, TicketHistory, TicketStatus
from helpdesk.tickets.services.layouts import layout_create_defaults, status_save
from helpdesk.tickets.services.tickets import TicketInput, search_index_update, ticket_create

PORTAL = "demo"
PASSWORD = "madoguchi-demo"
TICKETS = 300
DAYS = 60

# The default statuses by their fixed order, with the demo's bilingual names.
STATUS_ORDER = {"Open": 0, "On Hold": 1, "Escalated": 2, "Closed": 3}
STATUS_NAMES = {
    "Open": "オープン / Open",
    "On Hold": "保留 / On Hold",
    "Escalated": "エスカレーション / Escalated",
    "Closed": "完了 / Closed",
}

# email, name, role shown next to the login, admin level, admin app, desk, crm, chat
PEOPLE = [
    (
        "owner@demo.madoguchi.test",
        "山田 花子",
        "Account admin",
        AdminLevel.ACCOUNT,
        "",
        DeskRole.ADMIN,
        CrmRole.ADMIN,
        ChatRole.SUPERVISOR,
    ),
    (
        "suite@demo.madoguchi.test",
        "佐藤 健",
        "Suite admin",
        AdminLevel.SUITE,
        "",
        DeskRole.ADMIN,
        CrmRole.ADMIN,
        ChatRole.SUPERVISOR,
    ),
    (
        "deskadmin@demo.madoguchi.test",
        "鈴木 一郎",
        "Desk admin",
        AdminLevel.APP,
        App.DESK,
        DeskRole.ADMIN,
        "",
        "",
    ),
    (
        "agent@demo.madoguchi.test",
        "高橋 美咲",
        "Agent",
        "",
        "",
        DeskRole.AGENT,
        "",
        ChatRole.OPERATOR,
    ),
    (
        "restricted@demo.madoguchi.test",
        "田中 翔",
        "Restricted agent",
        "",
        "",
        DeskRole.RESTRICTED,
        "",
        "",
    ),
    (
        "crmadmin@demo.madoguchi.test",
        "伊藤 優",
        "CRM admin",
        AdminLevel.APP,
        App.CRM,
        "",
        CrmRole.ADMIN,
        "",
    ),
    ("sales@demo.madoguchi.test", "渡辺 直樹", "Sales user", "", "", "", CrmRole.SALES, ""),
    (
        "chatlead@demo.madoguchi.test",
        "中村 さくら",
        "Chat supervisor",
        AdminLevel.APP,
        App.CHAT,
        "",
        "",
        ChatRole.SUPERVISOR,
    ),
    ("operator@demo.madoguchi.test", "小林 蓮", "Chat operator", "", "", "", "", ChatRole.OPERATOR),
]

# key, name, description, agents (by the login's local part)
DEPARTMENTS = [
    (
        "support",
        "カスタマーサポート",
        "製品の使い方とアカウント / Product questions and accounts",
        ["agent", "restricted", "deskadmin"],
    ),
    ("billing", "Billing", "請求とお支払い / Billing and payments", ["agent", "suite"]),
    (
        "tech",
        "Technical Support",
        "障害と技術的な問い合わせ / Outages and technical questions",
        ["agent", "deskadmin", "suite"],
    ),
]

ACCOUNTS = [
    ("株式会社さくら商事", "https://sakura.example.jp", "ja"),
    ("みなと物流株式会社", "https://minato-logi.example.jp", "ja"),
    ("青葉クリニック", "https://aoba-clinic.example.jp", "ja"),
    ("株式会社ひかりソフト", "https://hikari-soft.example.jp", "ja"),
    ("Umbrella Logistics", "https://umbrella.example.com", "en"),
    ("Northwind Traders", "https://northwind.example.com", "en"),
    ("Blue Harbor Hotels", "https://blueharbor.example.com", "en"),
    ("Kestrel Labs", "https://kestrel.example.com", "en"),
]

# last, first, email local part, account index (None: no account)
CONTACTS_JA = [
    ("佐々木", "陽子", "yoko", 0),
    ("加藤", "大輔", "daisuke.kato", None),
    ("松本", "由美", "yumi", 0),
    ("井上", "拓也", "takuya", 1),
    ("木村", "真理子", "mariko", 1),
    ("林", "健太", "kenta", 2),
    ("清水", "美穂", "miho", 2),
    ("山口", "誠", "makoto", 3),
    ("森", "彩", "aya", 3),
    ("池田", "隆", "takashi", None),
    ("橋本", "さやか", "sayaka", 1),
    ("石川", "亮", "ryo", 3),
    ("前田", "恵", "megumi", None),
    ("藤田", "翼", "tsubasa", 0),
    ("岡田", "奈々", "nana", 2),
]
CONTACTS_EN = [
    ("Miller", "Jane", "jane", 4),
    ("Brooks", "Daniel", "daniel", 4),
    ("Chen", "Olivia", "olivia", 5),
    ("Garcia", "Marco", "marco", 5),
    ("Wright", "Emma", "emma", 6),
    ("Patel", "Ravi", "ravi", 6),
    ("Nguyen", "Linh", "linh", 7),
    ("Fischer", "Jonas", "jonas", 7),
    ("Smith", "Alex", "alex", None),
    ("Kowalski", "Anna", "anna", None),
    ("O'Neil", "Sean", "sean", 5),
    ("Dubois", "Claire", "claire", 6),
]

# department, subject, the customer's message, the agent's answer, the customer's follow-up,
# an internal note. {order}, {invoice} and {product} are filled per ticket.
CONVERSATIONS_JA = [
    (
        "support",
        "ログインできません",
        "昨日からログイン画面でパスワードを入力しても「認証に失敗しました」と表示されます。パスワードは変えていません。",
        "ご不便をおかけしております。アカウントが一時的にロックされていたため解除しました。もう一度お試しいただけますか。",
        "ログインできました。ありがとうございます。",
        "試行回数の上限に達していた。ロック解除済み。",
    ),
    (
        "support",
        "パスワードリセットのメールが届かない",
        "パスワードを再設定しようとしましたが、メールが届きません。迷惑メールフォルダも確認しました。",
        "送信記録を確認したところ、受信側のサーバーで拒否されていました。no-reply@madoguchi.example からの受信を許可していただけますでしょうか。",
        "情報システム部に依頼しました。許可後にもう一度試します。",
        "相手先のメールサーバーが SPF で弾いている可能性。",
    ),
    (
        "support",
        "ユーザーの追加方法を教えてください",
        "新しく入社したメンバーを {product} に追加したいのですが、招待はどこから行えますか。",
        "「設定」→「ユーザー」→「ユーザーを招待」から招待メールをお送りいただけます。招待は7日間有効です。",
        "",
        "",
    ),
    (
        "support",
        "CSV エクスポートの文字化け",
        "{product} から書き出した CSV を Excel で開くと日本語が文字化けします。",
        "Excel の「データ」→「テキストまたは CSV から」で、文字コードに UTF-8 を選んで読み込んでください。",
        "UTF-8 を選んだら正しく表示されました。",
        "",
    ),
    (
        "support",
        "通知メールを止めたい",
        "チケットが更新されるたびにメールが来るので、一部の通知を止めたいです。",
        "右上のアイコン →「プロフィール」の通知設定から、受け取るイベントを選べます。",
        "",
        "プロフィール画面の案内で解決。",
    ),
    (
        "billing",
        "請求書の再発行をお願いします",
        "先月分の請求書（{invoice}）の宛名を「株式会社さくら商事 経理部」に変更して再発行していただけますか。",
        "承知しました。宛名を変更した請求書を再発行し、メールでお送りしました。",
        "受け取りました。ありがとうございました。",
        "経理システムで宛名変更済み。",
    ),
    (
        "billing",
        "プラン変更の日割り計算について",
        "月の途中で Standard から Professional に変更した場合、料金は日割りになりますか。",
        "はい、変更日からの差額を日割りで翌月の請求に加算いたします。",
        "",
        "",
    ),
    (
        "billing",
        "クレジットカードの有効期限切れ",
        "登録しているカードの有効期限が切れたので、新しいカードに変更したいです。",
        "「設定」→「組織」→「プラン」からカード情報を更新いただけます。決済の再実行はこちらで行います。",
        "更新しました。",
        "決済の再実行を月末バッチで確認すること。",
    ),
    (
        "billing",
        "請求金額が見積もりと違います",
        "今月の請求額が見積書 {invoice} の金額より高くなっています。内訳を教えてください。",
        "ご確認ありがとうございます。ユーザー追加分（3名）が日割りで加算されておりました。内訳をお送りします。",
        "内訳を確認しました。問題ありません。",
        "",
    ),
    (
        "tech",
        "API のレスポンスが遅い",
        "本日10時ごろから API の応答に5秒以上かかっています。注文番号 {order} の連携が止まっています。",
        "調査したところ、データベースの負荷が上がっていました。現在は復旧しております。",
        "こちらでも正常に戻ったことを確認しました。",
        "10:02–10:40 のスロークエリ。インデックス追加で対応済み。",
    ),
    (
        "tech",
        "Webhook が届かない",
        "チケット作成時の Webhook が昨日から届いていません。受信側のログにも記録がありません。",
        "送信ログを確認すると、証明書の検証エラーで失敗していました。受信側の証明書チェーンをご確認いただけますか。",
        "中間証明書が抜けていました。設定し直したところ届くようになりました。",
        "",
    ),
    (
        "tech",
        "SSO の設定でエラーになる",
        "SAML の設定を保存すると「署名が正しくありません」と表示されます。{product} 側の証明書は最新です。",
        "IdP 側の署名アルゴリズムが SHA-1 になっていないかご確認ください。SHA-256 が必要です。",
        "",
        "SHA-1 の問い合わせが今月3件目。ヘルプ記事を追加する。",
    ),
]
CONVERSATIONS_EN = [
    (
        "support",
        "Can't log in after password change",
        "I changed my password this morning and now the login page says my credentials are wrong.",
        "Sorry about that. Your old session was still cached in the browser; please clear cookies for our site and try again.",
        "That worked, thanks!",
        "",
    ),
    (
        "support",
        "How do I add a new agent?",
        "We hired two new support agents. Where do I invite them to {product}?",
        "Go to Setup → Users → Invite a user. The invitation link is valid for seven days.",
        "",
        "",
    ),
    (
        "support",
        "Dashboard shows the wrong time zone",
        "All times on my dashboard are nine hours off. I am based in London.",
        "Your profile's time zone was set to Asia/Tokyo. You can change it under My profile → Time zone.",
        "Fixed, thank you.",
        "Profile time zone defaulted to the org's.",
    ),
    (
        "support",
        "Feature request: dark mode",
        "Our night shift would love a dark theme for {product}.",
        "Thanks for the suggestion! I have passed it to our product team.",
        "",
        "Logged as feature request FR-212.",
    ),
    (
        "billing",
        "Refund for double charge",
        "We were charged twice for invoice {invoice}. Please refund the duplicate payment.",
        "You are right, the payment went through twice. The refund has been issued and should appear within 5 business days.",
        "Got it, thanks for the quick help.",
        "Duplicate charge confirmed in the payment gateway.",
    ),
    (
        "billing",
        "Invoice needs our VAT number",
        "Could you add our VAT number GB123456789 to invoice {invoice}?",
        "Done: the corrected invoice is attached to this reply.",
        "",
        "",
    ),
    (
        "billing",
        "Switching to annual billing",
        "What discount do we get if we switch to annual billing?",
        "Annual billing saves two months compared to monthly. I can switch you at your next renewal.",
        "Please do, thanks.",
        "",
    ),
    (
        "tech",
        "Shipment delayed: tracking not updating",
        "Tracking for order {order} has not updated for three days. Our customer is waiting.",
        "The carrier's status feed stopped on their side. We have raised it with them and will update you.",
        "Any news? The customer is asking again.",
        "Carrier ticket #88412 open.",
    ),
    (
        "tech",
        "Email channel stopped importing",
        "Since yesterday, mails sent to our support address no longer create tickets.",
        "The mailbox password was rotated on your side, so we could not fetch mail. Please update it under Setup → Departments → Email.",
        "Updated, mails are coming in again.",
        "",
    ),
    (
        "tech",
        "API rate limit errors (429)",
        "Our integration receives 429 errors when syncing orders like {order}.",
        "The limit is 600 requests per minute. Batching the order updates keeps you well under it.",
        "",
        "Suggested the bulk endpoint.",
    ),
]
PRODUCTS = [
    ("窓口 Cloud", "MC-100", "support"),
    ("窓口 Connect API", "MC-API", "tech"),
    ("Madoguchi Mobile", "MC-MOB", "support"),
]
CHANNELS = ["email", "email", "email", "web", "web", "chat", "phone", "crm"]
PRIORITIES = ["low", "medium", "medium", "medium", "high", "high", "urgent"]


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
        self._print(org)

    def _bilingual_statuses(self, owner: Membership, department: Department) -> None:
        """Default statuses still named in English get the demo's bilingual names."""
        for status in TicketStatus.objects.for_org(department.org_id).filter(department=department):
            name = STATUS_NAMES.get(status.name)
            if name:
                status.name = name
                status_save(actor=owner, status=status)

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
        for ticket in (
            Ticket.objects.for_org(org)
            .filter(pk__in={t.ticket_id for t in threads})
            .only("pk", "org_id", "subject", "description")
        ):
            search_index_update(ticket)

    def _print(self, org: Organization) -> None:
        url = f"{settings.SITE_URL}/{org.portal}/"
        self.stdout.write(self.style.SUCCESS(f"\nDemo organization ready: {url}"))
        self.stdout.write(
            f"Log in at {settings.SITE_URL}/accounts/login/ with password “{PASSWORD}” as:"
        )
        for email, name, role, *_rest in PEOPLE:
            self.stdout.write(f"  {email:34} {name}  ({role})")
