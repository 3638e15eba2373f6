"""Outgoing mail headers (helpdesk/mail.py `use_b_encoded_headers`): non-ASCII text goes out as
B-encoded UTF-8 words and reads back exactly as written; ASCII stays as it is."""

from __future__ import annotations

import email
from email.header import decode_header, make_header

from django.core.mail import EmailMultiAlternatives


def _sent(subject: str, sender: str) -> email.message.Message:
    message = EmailMultiAlternatives(subject, "本文", from_email=sender, to=["bob@example.com"])
    message.attach_alternative("<p>本文</p>", "text/html")
    return email.message_from_bytes(message.message().as_bytes())


def test_tkt07_a_mostly_ascii_japanese_subject_is_b_encoded_and_reads_back_intact():
    subject = "[解決 L1] #123456 Ticket 123456 about login and printer"
    parsed = _sent(subject, "サポート窓口 <support@example.com>")
    assert parsed["Subject"].strip().startswith("=?utf-8?b?")
    assert str(make_header(decode_header(parsed["Subject"]))) == subject
    name = str(make_header(decode_header(parsed["From"])))
    assert name == "サポート窓口 <support@example.com>"
    assert "=?utf-8?b?" in parsed["From"]
    assert parsed.get_payload(0).get_payload(decode=True).decode() == "本文"


def test_tkt07_an_ascii_subject_is_left_as_written():
    parsed = _sent("Printer on fire", "Support <support@example.com>")
    assert parsed["Subject"] == "Printer on fire"
    assert parsed["From"] == "Support <support@example.com>"
