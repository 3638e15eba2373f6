"""What the demo organization holds (issue 8 item 11): its people with their roles, three
departments, accounts and contacts, the Japanese and English conversations its tickets are
made of, and its products. Data only; `management/commands/demo_data.py` writes it."""

# ruff: noqa: E501 - the conversations below are data, one message a line
from __future__ import annotations

from helpdesk.tenancy.models import (
    AdminLevel,
    App,
    ChatRole,
    CrmRole,
    DeskRole,
)

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


# --- CRM (CRM-01): a small pipeline for the sales user and the CRM admin -----------------------
# (name, type, industry, owner)
CRM_ACCOUNTS = [
    ("株式会社さくら物流", "customer", "物流", "sales"),
    ("Northwind Traders", "prospect", "Retail", "sales"),
    ("青空ソフトウェア", "partner", "ソフトウェア", "crmadmin"),
    ("Contoso Pharma", "customer", "Healthcare", "crmadmin"),
]
# (last name, first name, email, account, owner)
CRM_CONTACTS = [
    ("高橋", "美咲", "takahashi@sakura-logi.example", "株式会社さくら物流", "sales"),
    ("伊藤", "大輔", "ito@sakura-logi.example", "株式会社さくら物流", "sales"),
    ("Fuller", "Andrew", "andrew@northwind.example", "Northwind Traders", "sales"),
    ("中村", "陽菜", "nakamura@aozora-soft.example", "青空ソフトウェア", "crmadmin"),
    ("Lee", "Grace", "grace.lee@contoso-pharma.example", "Contoso Pharma", "crmadmin"),
]
# (name, account, stage, amount in yen, expected close in days, contact email)
CRM_DEALS = [
    (
        "配送管理システム 年間契約",
        "株式会社さくら物流",
        "negotiation",
        4_800_000,
        14,
        "takahashi@sakura-logi.example",
    ),
    (
        "倉庫拠点の追加ライセンス",
        "株式会社さくら物流",
        "proposal",
        1_200_000,
        30,
        "ito@sakura-logi.example",
    ),
    (
        "Support desk roll-out",
        "Northwind Traders",
        "qualification",
        2_500_000,
        60,
        "andrew@northwind.example",
    ),
    (
        "共同販売パートナー契約",
        "青空ソフトウェア",
        "needs_analysis",
        900_000,
        45,
        "nakamura@aozora-soft.example",
    ),
    (
        "Help center for clinics",
        "Contoso Pharma",
        "won",
        3_600_000,
        -10,
        "grace.lee@contoso-pharma.example",
    ),
]
# (name, code, unit price in yen)
CRM_PRODUCTS = [
    ("Madoguchi Professional（年間）", "MDG-PRO-Y", 180_000),
    ("Madoguchi Enterprise（年間）", "MDG-ENT-Y", 360_000),
    ("導入支援パック", "MDG-ONBOARD", 500_000),
]
