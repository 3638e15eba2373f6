"""Reading an RFC 822 message as the desk needs it (TKT-07): a pure module, no database.

Parsed with the standard library (`email`, policy=compat32: headers stay strings we decode
ourselves, several times cheaper than the default policy's header objects), with our own
decoding where real mail breaks the rules: Japanese charsets (ISO-2022-JP with Windows
extensions such as ① and ㈱, Shift_JIS labelled for what is really cp932), RFC 2047 words
that are quoted, glued to text, split in the middle of a character or in an unknown charset,
raw 8-bit header bytes (UTF-8, Shift_JIS, ISO-2022-JP) and RFC 2231 file names."""

from __future__ import annotations

import base64
import binascii
import hashlib
import mimetypes
import quopri
import re
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from email.utils import getaddresses, parseaddr

# --- Charsets ---------------------------------------------------------------------------------
# Labels mail clients use for what Python knows under another, wider name. Shift_JIS and
# EUC-JP mail is written on Windows and Macs with vendor characters (①, ㈱, ～): decode them
# as the superset the sender really used.
CHARSET_ALIASES = {
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "s-jis": "cp932",
    "ms_kanji": "cp932",
    "csshiftjis": "cp932",
    "windows-31j": "cp932",
    "ms932": "cp932",
    "x-ms-cp932": "cp932",
    "euc-jp": "euc_jis_2004",
    "x-euc-jp": "euc_jis_2004",
    "cseucpkdfmtjapanese": "euc_jis_2004",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",  # what "Latin-1" mail really is (curly quotes in 0x80-0x9f)
    "us-ascii": "utf-8",  # 8-bit text labelled ASCII is nearly always UTF-8
    "ascii": "utf-8",
    "utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7",
    "unknown-8bit": "",
    "x-unknown": "",
    "default": "",
}
ISO_2022_JP = {"iso-2022-jp", "csiso2022jp", "iso2022jp", "iso-2022-jp-ms", "cp50220", "cp50221"}
_ESCAPE = re.compile(rb"\x1b(\$@|\$B|\$\(D|\(B|\(J|\(I|\$\(Q|\$\(O)")


def _jis_to_cp932(raw: bytes) -> str:
    """ISO-2022-JP as Windows writes it (CP50220/50221): JIS X 0208 plus the NEC and IBM rows
    (①, ㈱, Ⅰ) that Python's iso2022_jp codecs refuse. Each two-byte JIS code is turned into
    its Shift_JIS code and decoded as cp932; half-width katakana (ESC ( I) likewise."""
    out: list[str] = []
    mode = b"(B"
    position = 0
    for match in [*_ESCAPE.finditer(raw), None]:
        end = match.start() if match else len(raw)
        chunk = raw[position:end]
        if chunk:
            if mode in (b"$B", b"$@", b"$(D", b"$(Q", b"$(O"):
                sjis = bytearray()
                for i in range(0, len(chunk) - 1, 2):
                    j1, j2 = chunk[i], chunk[i + 1]
                    if j1 in (0x0A, 0x0D):  # a line break inside a kanji run: keep it
                        sjis += bytes([j1])
                        continue
                    s1 = (j1 + 1) // 2 + 0x70
                    if s1 >= 0xA0:
                        s1 += 0x40
                    s2 = j2 + 0x1F + (j2 >= 0x60) if j1 % 2 else j2 + 0x7E
                    sjis += bytes([s1 & 0xFF, s2 & 0xFF])
                out.append(bytes(sjis).decode("cp932", errors="replace"))
            elif mode == b"(I":
                out.append(bytes(b | 0x80 for b in chunk).decode("cp932", errors="replace"))
            else:
                out.append(chunk.decode("cp932", errors="replace"))
        if match is None:
            break
        mode = match.group(1)
        position = match.end()
    return "".join(out)


def decode_bytes(raw: bytes, charset: str | None) -> str:
    """Text of `raw` in `charset` (a label from the mail), never an exception: the label's
    wider superset first, then UTF-8, cp932 and finally Windows-1252 with replacement."""
    label = (charset or "").strip().strip('"').lower()
    if label in ISO_2022_JP or (not label and b"\x1b$B" in raw):
        return _jis_to_cp932(raw)
    name = CHARSET_ALIASES.get(label, label)
    for candidate in (name, "utf-8", "cp932"):
        if not candidate:
            continue
        try:
            return raw.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return raw.decode("cp1252", errors="replace")


# --- Headers ----------------------------------------------------------------------------------
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([BbQq])\?([^?\s]*)\?=")


def _word_bytes(encoding: str, text: str) -> bytes:
    if encoding.lower() == "b":
        text = re.sub(r"[^A-Za-z0-9+/]", "", text)
        try:
            return base64.b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            return text.encode("ascii", errors="replace")
    return quopri.decodestring(text.replace("_", " ").encode("ascii", errors="replace"), True)


def decode_header_text(value: str) -> str:
    """A header's text: RFC 2047 words decoded wherever they stand (quoted, glued to text),
    adjacent words of one charset joined before decoding (senders split characters across
    them), raw 8-bit bytes and raw ISO-2022-JP decoded as the text they are."""
    if any("\udc80" <= ch <= "\udcff" for ch in value):
        # 8-bit bytes the parser kept as surrogates: decode them as what they most likely are.
        value = decode_bytes(value.encode("ascii", "surrogateescape"), None)
    elif "\x1b$" in value:
        value = _jis_to_cp932(value.encode("latin-1", errors="replace"))
    if "=?" not in value:
        return _unfold(value)
    pieces: list[tuple[str, bytes | str]] = []  # (charset, bytes) or ("", text)
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        between = value[position : match.start()]
        joined = pieces and pieces[-1][0] and not between.strip()
        if between and not joined:
            pieces.append(("", between))
        charset = match.group(1).split("*", 1)[0].lower()  # RFC 2231 language suffix
        data = _word_bytes(match.group(2), match.group(3))
        if joined and pieces[-1][0] == charset:
            previous = pieces[-1][1]
            assert isinstance(previous, bytes)
            pieces[-1] = (charset, previous + data)
        else:
            pieces.append((charset, data))
        position = match.end()
    pieces.append(("", value[position:]))
    text = "".join(
        decode_bytes(data, charset) if isinstance(data, bytes) else data for charset, data in pieces
    )
    return _unfold(text)


def _unfold(value: str) -> str:
    return re.sub(r"\s*[\r\n]+\s*", " ", value).strip()


def raw_header(message: Message, name: str) -> str:
    """A header's value as it came (folded, undecoded); '' when absent."""
    for key, value in message.raw_items():
        if key.lower() == name.lower():
            return str(value)
    return ""


def raw_headers(message: Message, name: str) -> list[str]:
    return [str(v) for k, v in message.raw_items() if k.lower() == name.lower()]


def header_text(message: Message, name: str) -> str:
    return decode_header_text(raw_header(message, name))


def addresses(message: Message, *names: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs of these headers, decoded."""
    values = [decode_header_text(v) for name in names for v in raw_headers(message, name)]
    found = []
    for display, address in getaddresses(values):
        address = address.strip().strip("<>").lower()
        if "@" in address:
            found.append((display.strip().strip('"').strip(), address))
    return found


_MSGID = re.compile(r"<[^<>\s]+>")


def message_ids(value: str) -> list[str]:
    """Message-IDs in a header (`<a@b>` each), in order, without repeats."""
    seen: dict[str, None] = {}
    for found in _MSGID.findall(value or ""):
        seen.setdefault(found, None)
    return list(seen)


# --- The message ------------------------------------------------------------------------------
@dataclass
class Part:
    """An attachment or inline image of a message."""

    name: str
    content_type: str
    data: bytes
    content_id: str = ""  # without <>; set for parts the HTML may show inline
    inline: bool = False


@dataclass
class ParsedMail:
    message: Message
    key: str  # the duplicate key: the Message-ID, else a hash of the raw bytes
    message_id: str
    in_reply_to: list[str]
    references: list[str]
    subject: str
    from_name: str
    from_email: str
    recipients: list[str]  # To, Cc, Delivered-To, X-Original-To addresses, lower-cased
    to: str
    cc: str
    html: str = ""
    text: str = ""
    parts: list[Part] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)


def raw_key(raw: bytes) -> str:
    """The duplicate key of a message without a usable Message-ID."""
    return "sha256:" + hashlib.sha256(raw).hexdigest()


class UnreadableMail(ValueError):
    """A message that cannot be read as mail at all: held for an admin with this reason."""


def parse(raw: bytes) -> ParsedMail:
    """Read `raw` (the bytes a mail server delivered). Raises UnreadableMail when it is not
    a message: no header at all, or neither a sender nor any content."""
    if not raw or not raw.strip():
        raise UnreadableMail("empty message")
    message = BytesParser(policy=policy.compat32).parsebytes(raw)
    if not list(message.raw_items()):
        raise UnreadableMail("no header found")
    message_id = next(iter(message_ids(raw_header(message, "Message-ID"))), "")
    key = message_id if 0 < len(message_id) <= 250 else ""
    if not key:
        key = raw_key(message_id.encode() if message_id else raw)
    sender = addresses(message, "From") or addresses(message, "Sender", "Reply-To")
    from_name, from_email = sender[0] if sender else ("", "")
    if not from_email:
        # A bare address without a domain or display syntax still names the sender.
        from_email = parseaddr(header_text(message, "From"))[1].lower()
    headers = ("To", "Cc", "Delivered-To", "X-Original-To", "Envelope-To")
    recipients = [a for _n, a in addresses(message, *headers)]
    parsed = ParsedMail(
        message=message,
        key=key,
        message_id=message_id,
        in_reply_to=message_ids(raw_header(message, "In-Reply-To")),
        references=message_ids(raw_header(message, "References")),
        subject=header_text(message, "Subject"),
        from_name=from_name,
        from_email=from_email,
        recipients=recipients,
        to=", ".join(a for _n, a in addresses(message, "To"))[:1000],
        cc=", ".join(a for _n, a in addresses(message, "Cc"))[:1000],
        defects=[type(d).__name__ for d in message.defects],
    )
    _read_body(message, parsed)
    return parsed


def part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        payload = str(part.get_payload()).encode("utf-8", errors="replace")
    return decode_bytes(payload, part.get_content_charset())


def _filename(part: Message) -> str:
    """The part's file name: RFC 2231 (`filename*=`, continuations, any charset), RFC 2047
    words in a quoted name (Outlook, iPhone), or Content-Type's `name`."""
    value = None
    for header in ("content-disposition", "content-type"):
        param = "filename" if header == "content-disposition" else "name"
        value = part.get_param(param, header=header)
        if value:
            break
    if not value:
        return ""
    if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded text as latin-1)
        charset, _language, text = value
        name = decode_bytes(text.encode("latin-1", errors="replace"), charset or "utf-8")
    else:
        name = str(value)
        if any("\udc80" <= ch <= "\udcff" for ch in name):
            name = decode_bytes(name.encode("ascii", "surrogateescape"), None)
    name = decode_header_text(name)
    # Only the last path component, without control characters.
    name = re.split(r"[/\\]", name)[-1]
    return re.sub(r"[\x00-\x1f\x7f]", "", name).strip()[:200]


@dataclass
class _Leaf:
    part: Message
    content_type: str
    disposition: str
    name: str


def _leaves(message: Message) -> list[_Leaf]:
    """Every leaf part in order, each header parsed once. An attached message (message/*)
    is one leaf: its own parts are not the mail's."""
    found: list[_Leaf] = []

    def visit(part: Message) -> None:
        content_type = part.get_content_type()
        if part.is_multipart() and not content_type.startswith("message/"):
            for sub in part.get_payload():
                if isinstance(sub, Message):
                    visit(sub)
            return
        disposition = (part.get_content_disposition() or "").lower()
        found.append(_Leaf(part, content_type, disposition, _filename(part)))

    visit(message)
    return found


def _is_body(leaf: _Leaf, content_type: str) -> bool:
    return leaf.content_type == content_type and leaf.disposition != "attachment" and not leaf.name


def _read_body(message: Message, parsed: ParsedMail) -> None:
    """The HTML and plain text bodies (the first of each that is no attachment), further
    text parts added to them, and every other leaf part as an attachment."""
    leaves = _leaves(message)
    html_leaf = next((leaf for leaf in leaves if _is_body(leaf, "text/html")), None)
    text_leaf = next((leaf for leaf in leaves if _is_body(leaf, "text/plain")), None)
    for leaf in leaves:
        part, content_type, name = leaf.part, leaf.content_type, leaf.name
        if leaf is html_leaf:
            parsed.html = part_text(part) + parsed.html
            continue
        if leaf is text_leaf:
            parsed.text = part_text(part) + ("\n" + parsed.text if parsed.text else "")
            continue
        if part.get_content_maintype() == "multipart":
            # A multipart whose boundary never appears: its content is the text there is.
            parsed.text += ("\n" if parsed.text else "") + str(part.get_payload())
            continue
        if content_type == "message/rfc822":
            parsed.parts.append(_attached_message(part))
            continue
        if content_type.startswith("message/"):
            continue  # delivery reports and the like: not the sender's files
        if content_type.startswith("text/") and not name and leaf.disposition != "attachment":
            # A further body part (Apple Mail splits text around an image): add its text.
            extra = part_text(part)
            if content_type == "text/html":
                parsed.html += extra
            else:
                parsed.text += ("\n" if parsed.text else "") + extra
            continue
        content_id = (part.get("Content-ID") or "").strip().strip("<>")
        data = part.get_payload(decode=True) or b""
        if not isinstance(data, bytes):
            data = str(data).encode()
        if not name:
            ext = mimetypes.guess_extension(content_type) or ".bin"
            name = ("image" if content_type.startswith("image/") else "attachment") + ext
        parsed.parts.append(
            Part(
                name=name,
                content_type=content_type,
                data=data,
                content_id=content_id,
                inline=bool(content_id) and leaf.disposition != "attachment",
            )
        )


def _attached_message(attached: Message) -> Part:
    """A forwarded message attached whole, kept as an .eml file."""
    raw = attached.get_payload(0) if attached.is_multipart() else attached.get_payload()
    data = raw.as_bytes(policy=policy.SMTP) if isinstance(raw, Message) else b""
    name = _filename(attached)
    if not name:
        inner = raw if isinstance(raw, Message) else attached
        subject = header_text(inner, "Subject") or "message"
        name = re.sub(r'[\\/:*?"<>|]', "_", subject)[:80] + ".eml"
    if not name.lower().endswith(".eml"):
        name += ".eml"
    return Part(name=name, content_type="message/rfc822", data=data)


# --- Machines, not people (loop prevention) -------------------------------------------------
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|answer)|out of (the )?office|autoreply|"
    r"自動応答|自動返信|自動送信|不在(通知|のお知らせ|です)|vacation reply|abwesenheitsnotiz)",
    re.IGNORECASE,
)
_BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|bounces?)@", re.IGNORECASE)
_BULK = {"bulk", "junk", "list", "auto_reply", "auto-reply"}


def machine_reason(parsed: ParsedMail) -> str:
    """Why this message comes from a machine and must create nothing ('' for a person's):
    auto-replies (RFC 3834 Auto-Submitted and the vendor headers), bulk and list mail,
    bounces. Our own outgoing mail is recognised by the service (it knows our ids)."""
    message = parsed.message
    auto = raw_header(message, "Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return f"auto-reply (Auto-Submitted: {auto[:40]})"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autogenerated", "X-AutoReply-From"):
        if raw_header(message, name):
            return f"auto-reply ({name})"
    precedence = raw_header(message, "Precedence").strip().lower()
    if precedence in _BULK:
        return f"bulk mail (Precedence: {precedence})"
    if raw_header(message, "List-Id") or raw_header(message, "List-Unsubscribe"):
        return "mailing list (List-Id / List-Unsubscribe)"
    if message.get_content_type() == "multipart/report":
        return "bounce (delivery report)"
    return_path = raw_header(message, "Return-Path").strip()
    if return_path.replace(" ", "") == "<>":
        return "bounce (empty Return-Path)"
    if _BOUNCE_SENDER.match(parsed.from_email or ""):
        return f"bounce (from {parsed.from_email})"
    if _AUTO_SUBJECT.match(parsed.subject or ""):
        return "auto-reply (subject)"
    return ""
