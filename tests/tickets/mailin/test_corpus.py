"""TKT-07: each message of the corpus (tests/tickets/mailin/corpus/*.eml, real-world shapes of
Gmail, Outlook, iPhone, Thunderbird, old Japanese mailers, machines and broken senders) ends
where it should, with the text a user would see."""

from __future__ import annotations

import pytest

from helpdesk.tickets.mailin.models import InboundMessage
from helpdesk.tickets.models import Attachment, Channel, Thread, Ticket

from .conftest import CORPUS, folded_text, visible_text

# name: (outcome, subject, what the message shows, what is folded away, files kept)
CREATED = {
    "gmail_alternative.eml": (
        "Printer on floor 3 is jammed",
        ["The printer on floor 3 is jammed again. Could someone take a look?", "Jane"],
        [],
        [],
    ),
    "html_only.eml": (
        "Order 5512 arrived damaged",
        ["The box for order 5512 arrived crushed."],
        [],
        [],
    ),
    "outlook_inline_image.eml": (
        "見積もりのお問い合わせ",
        ["お世話になっております。", "添付の見積書についてご確認ください。"],
        [],
        ["image001.png", "見積書.pdf"],
    ),
    "iso2022jp_windows_chars.eml": (
        "①ログイン不可の件",
        ["①ログインできません。", "②パスワード再設定メールが届きません。", "㈱サンプル　山田～"],
        [],
        [],
    ),
    "shift_jis_mislabelled.eml": (
        "請求書の金額について（№１２３）",
        ["請求書の金額が①と②で異なっています。", "～以上～"],
        [],
        [],
    ),
    "iphone_rfc2231_photo.eml": (
        "写真の件で質問です",
        ["画面の写真を送ります。エラーが出ています。"],
        [],
        ["画面の写真.jpg"],
    ),
    "raw_8bit_headers.eml": (
        "配送が遅れています",
        ["注文番号 A-100 の配送が一週間遅れています。"],
        [],
        [],
    ),
    "raw_jis_subject.eml": ("返品について", ["返品の手順を教えてください。"], [], []),
    "rfc2231_iso2022jp_filename.eml": ("ログの送付", ["ログを添付します。"], [], ["ログ.txt"]),
    "forwarded_attachment.eml": (
        "Fwd: Invoice question from our accountant",
        ["Please see the question below from our accountant."],
        [],
        ["Invoice 2024-04.eml"],
    ),
    "forwarded_inline.eml": (
        "Fwd: Delivery schedule",
        ["FYI, can you confirm this schedule?"],
        ["Deliveries move to Thursdays from June."],
        [],
    ),
    "malformed_mime.eml": ("Cannot open the app", ["The app crashes when I open it."], [], []),
    "dangerous_attachments.eml": (
        "Your invoice",
        [
            "Please open the attached invoice.",
            "“invoice.pdf.exe” was not kept: files of this type are not allowed.",
            "“run.js” was not kept: files of this type are not allowed.",
        ],
        [],
        ["real.pdf"],
    ),
    "oversized_attachment.eml": (
        "Logs attached",
        ["Here are the full logs.", "“logs.zip” was not kept: it is too large"],
        [],
        ["small.txt"],
    ),
    "outlook_reply_ja_quote.eml": (
        "RE: 契約更新について",
        ["ご回答ありがとうございます。来週に更新します。"],
        ["差出人: アクメ サポート", "契約の更新期限は5月末です。"],
        [],
    ),
    "gmail_reply_quote.eml": (
        "Re: Password reset",
        ["It worked, thank you!"],
        ["Please use the link to reset your password."],
        [],
    ),
    "iphone_reply_ja_quote.eml": (
        "Re: 支払い方法",
        ["銀行振込でお願いします。"],
        ["のメッセージ:", "お支払い方法をお選びください。"],
        [],
    ),
    "no_subject.eml": ("(no subject)", ["See attached."], [], ["export.csv"]),
    "no_message_id.eml": ("Question without id", ["How do I export my data?"], [], []),
}
IGNORED = {
    "auto_reply_ooo.eml": "auto-reply",
    "auto_reply_ja_subject.eml": "auto-reply",
    "x_autoreply.eml": "auto-reply",
    "bounce_report.eml": "bounce",
    "bounce_empty_return_path.eml": "bounce",
    "mailing_list.eml": "mailing list",
    "precedence_bulk.eml": "bulk",
    "own_outgoing.eml": "our own outgoing mail",
}
HELD = {"garbage.eml": "no header", "no_sender.eml": "no sender address"}


def test_tkt07_the_corpus_is_covered_by_the_expectations():
    names = {p.name for p in CORPUS.glob("*.eml")}
    assert names == set(CREATED) | set(IGNORED) | set(HELD)


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(CREATED))
def test_tkt07_a_new_message_opens_a_ticket(feed, acme, support, settings, name):
    settings.ATTACHMENT_MAX_BYTES = 4096
    subject, shown, folded, files = CREATED[name]
    result = feed(name)
    assert result.outcome == "created", result.reason
    ticket = Ticket.objects.for_org(acme.org).get(pk=result.ticket.pk)
    assert ticket.subject == subject
    assert ticket.channel == Channel.EMAIL
    assert ticket.department == support
    thread = Thread.objects.for_org(acme.org).get(ticket=ticket)
    assert thread.kind == Thread.Kind.INCOMING
    assert thread.contact == ticket.contact
    text = visible_text(thread.body)
    for expected in shown:
        assert expected in text, (expected, text)
    hidden = folded_text(thread.body)
    for expected in folded:
        assert expected in hidden, (expected, hidden)
        assert expected not in text
    names = sorted(
        Attachment.objects.for_org(acme.org).filter(thread=thread).values_list("name", flat=True)
    )
    assert names == sorted(files)
    assert "<script" not in thread.body and "onclick" not in thread.body


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(IGNORED))
def test_tkt07_machines_open_no_ticket(feed, acme, name):
    result = feed(name)
    assert result.outcome == "ignored"
    assert IGNORED[name] in result.reason
    assert not Ticket.objects.for_org(acme.org).exists()
    entry = InboundMessage.objects.for_org(acme.org).get()
    assert entry.outcome == "ignored" and IGNORED[name] in entry.reason


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(HELD))
def test_tkt07_unreadable_mail_is_held_with_its_bytes(feed, acme, name):
    result = feed(name)
    assert result.outcome == "held"
    assert HELD[name] in result.reason
    assert not Ticket.objects.for_org(acme.org).exists()
    entry = InboundMessage.objects.for_org(acme.org).get()
    assert bytes(entry.raw) == (CORPUS / name).read_bytes()
