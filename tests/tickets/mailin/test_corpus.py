"""TKT-07: each message of the corpus (tests/tickets/mailin/corpus/*.eml, real-world shapes of
Gmail, Outlook, iPhone, Thunderbird, old Japanese mailers, machines and broken senders) ends
where it should, with the text a user would see."""

from __future__ import annotations

import pytest

from helpdesk.tickets.mailin.models import InboundMessage
from helpdesk.tickets.models import Attachment, Channel, Thread, Ticket

from .conftest import CORPUS, corpus, folded_text, visible_text

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
# Replies to a ticket that a corpus message opened:
# name: (the message that opened the ticket, the new text in full, what is folded away)
REPLIES = {
    # Gmail, nine levels of nested gmail_quote between Emily, Taro and Acme Support, Japanese
    # and English mixed; References start at the Outlook mail that opened the ticket.
    "gmail_long_thread_ja_en.eml": (
        "outlook_inline_image.eml",
        [
            "山田さん、サポートの皆さま",
            "Thank you for the revised quote (見積書 v3). A few last points before we sign:",
            "1. 保守契約の開始日を6月1日にしていただけますか。",
            "2. Please add the on-site training (2 days) as a separate line item.",
            "3. 支払条件は月末締め翌月末払いでお願いします。",
            "If the numbers are final, we can send the purchase order (注文書) by Friday.",
            "よろしくお願いいたします。",
            "Emily Carter",
            "Procurement / 購買部",
        ],
        [
            # Every level, newest to oldest, with its attribution line.
            "On Fri, May 17, 2024 at 6:05 PM Acme Support",
            "改訂版の見積書 v3 を添付いたしました。",
            "Training is now included at no extra cost for the first day.",
            "2024年5月16日(木) 16:40 山田 太郎",
            "台数は50台で確定です。",
            "Emily will handle the contract from here.",
            "ご確認ありがとうございます。台数をお知らせいただけますか。",
            "Could you quote for 50 units instead of 30?",
            "Here is the revised quote (v2).",
            "英語版マニュアルもご用意できます。",
            "見積書の単価が前回と異なっています。ご確認ください。",
            "購買部のEmily CarterをCCに追加します。",
            "お見積もりのご依頼ありがとうございます。担当の佐藤が確認いたします。",
            "2024年5月8日(水) 11:02 山田 太郎",
            "添付の見積書についてご確認ください。",
        ],
    ),
}


def test_tkt07_the_corpus_is_covered_by_the_expectations():
    names = {p.name for p in CORPUS.glob("*.eml")}
    assert names == set(CREATED) | set(IGNORED) | set(HELD) | set(REPLIES)


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


@pytest.mark.django_db
@pytest.mark.parametrize("name", sorted(REPLIES))
def test_tkt07_a_long_reply_chain_lands_in_its_thread_with_the_history_folded(
    feed, acme, support, name
):
    opened_by, new_lines, folded = REPLIES[name]
    ticket = feed(opened_by).ticket
    result = feed(name)
    assert result.outcome == "appended", result.reason
    assert result.ticket.pk == ticket.pk
    assert Ticket.objects.for_org(acme.org).count() == 1
    ticket.refresh_from_db()
    assert ticket.subject == "見積もりのお問い合わせ"  # the reply does not rename the ticket
    threads = list(Thread.objects.for_org(acme.org).filter(ticket=ticket).order_by("pk"))
    assert [t.kind for t in threads] == [Thread.Kind.INCOMING, Thread.Kind.INCOMING]
    assert threads[-1].pk == result.thread.pk
    body = result.thread.body
    text = visible_text(body)
    # Nothing of the new text is lost, line by line and in order.
    positions = [text.find(line) for line in new_lines]
    assert -1 not in positions, [(line, text) for line in new_lines if line not in text]
    assert positions == sorted(positions)
    # The history is one fold under the new text; every level of it is kept there.
    assert body.count("<details>") == 1
    assert body.index("Procurement / 購買部") < body.index("<details>")
    hidden = folded_text(body)
    for expected in folded:
        assert expected in hidden, (expected, hidden)
        assert expected not in text, expected
    quoted = body[body.index("<details>") :]
    assert quoted.count("<blockquote") >= 9  # the nesting survives the sanitiser
    assert "<script" not in body and "onclick" not in body


@pytest.mark.django_db
def test_tkt07_the_long_chain_as_plain_text_folds_the_same_way(feed, acme, support):
    """The same reply from a text-only client (its text/plain part alone, in ISO-2022-JP as
    older Japanese mailers send it, ">" nine deep):
    the new text whole on top, every level in the fold."""
    import email
    from email import policy

    name = "gmail_long_thread_ja_en.eml"
    opened_by, new_lines, folded = REPLIES[name]
    ticket = feed(opened_by).ticket
    original = email.message_from_bytes(corpus(name), policy=policy.default)
    text_only = email.message.EmailMessage(policy=policy.SMTP)
    for header in ("From", "To", "Cc", "Subject", "Date", "In-Reply-To", "References"):
        text_only[header] = original[header]
    text_only["Message-ID"] = "<plain-long-thread-0009@example.co.jp>"
    text_only.set_content(original.get_body(("plain",)).get_content(), charset="iso-2022-jp")
    result = feed(text_only.as_bytes())
    assert result.outcome == "appended", result.reason
    assert result.ticket.pk == ticket.pk
    body = result.thread.body
    text = visible_text(body)
    positions = [text.find(line) for line in new_lines]
    assert -1 not in positions, [(line, text) for line in new_lines if line not in text]
    assert positions == sorted(positions)
    hidden = folded_text(body)
    for expected in folded:
        assert expected in hidden, (expected, hidden)
        assert expected not in text, expected
