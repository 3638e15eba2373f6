"""Where the new text of a reply ends and the quoted history begins (TKT-07): a pure module.

The history is folded away under the new text, never deleted: `split_html` and `split_text`
return (new, quoted), and the service shows the quoted part in a collapsed <details>.
Recognised: Gmail's and Thunderbird's quote blocks, Apple Mail and iPhone
(`<blockquote type="cite">`), Outlook ("-----Original Message-----", the From:/Sent: block,
its reply divider), Yahoo, "On ... wrote:" lines in English and their Japanese forms
("…のメッセージ:", "…が書きました:", "2024年5月1日(水) 10:00 山田 <a@b>:", "差出人:"), and a
trailing run of ">" lines."""

from __future__ import annotations

import re

# HTML: the first of these starts the history. Matched on the raw markup (the sanitiser
# drops the classes and ids they rely on).
_HTML_MARKERS = [
    r"<div[^>]*class=\"?[^\">]*gmail_quote",
    r"<div[^>]*class=\"?[^\">]*gmail_extra",
    r"<blockquote[^>]*type=\"?cite",
    r"<div[^>]*class=\"?[^\">]*moz-cite-prefix",
    r"<div[^>]*id=\"?divRplyFwdMsg",
    r"<div[^>]*id=\"?appendonsend",
    r"<div[^>]*id=\"?mail-editor-reference-message-container",
    r"<div[^>]*class=\"?[^\">]*(yahoo_quoted|ymail_android_signature)",
    r"<div[^>]*class=\"?[^\">]*OutlookMessageHeader",
    r"-{3,}\s*(Original Message|元のメッセージ|Forwarded message|転送されたメッセージ)\s*-{3,}",
    # Outlook's reply header: a rule, then a border-top div or "From:"/"差出人:" in bold.
    r"<div[^>]*border-top:\s*solid\s+#(E1E1E1|B5C4DF)",
    r"<hr[^>]*>\s*(<div[^>]*>\s*)?(<font[^>]*>\s*)?<b>\s*(From|差出人|送信者)\s*[:：]",
]
_HTML_MARKER = re.compile("|".join(f"(?:{m})" for m in _HTML_MARKERS), re.IGNORECASE)
# An attribution line just before a quote ("On ... wrote:") stays with the quote.
_HTML_ATTRIBUTION = re.compile(
    r"(<(div|p)[^>]*>\s*)?[^<>]{0,300}(wrote|のメッセージ|書きました|書き込みました|>)\s*[:：]"
    r"\s*(<br[^>]*>\s*)*(</(div|p)>\s*)?$",
    re.IGNORECASE,
)


def split_html(markup: str) -> tuple[str, str]:
    """(new, quoted) raw HTML; quoted is '' when no history is found."""
    match = _HTML_MARKER.search(markup or "")
    if match is None:
        return markup, ""
    start = match.start()
    attribution = _HTML_ATTRIBUTION.search(markup[max(0, start - 600) : start])
    if attribution is not None:
        start = max(0, start - 600) + attribution.start()
    new, quoted = markup[:start], markup[start:]
    if not _visible(new):
        return markup, ""  # nothing new above it: a forward or top-quoted mail, keep all
    return new, quoted


def _visible(markup: str) -> bool:
    body = re.sub(r"(?is).*?<body[^>]*>", "", markup, count=1)
    text = re.sub(r"(?s)<(style|script|head)[^>]*>.*?</\1>", "", body)
    text = re.sub(r"<[^>]+>|&nbsp;|\s", "", text)
    return bool(text) or "<img" in body.lower()


# Plain text.
_TEXT_MARKERS = [
    r"^\s*-{2,}\s*(Original Message|元のメッセージ|Forwarded message|転送されたメッセージ|"
    r"Ursprüngliche Nachricht|Message d'origine)\s*-{2,}",
    r"^\s*_{10,}\s*$",
    r"^On\s.{0,200}\swrote:\s*$",
    r"^.{0,200}(のメッセージ|が書きました|は書きました|さんは書きました|wrote)\s*[:：]\s*$",
    r"^\d{4}年\d{1,2}月\d{1,2}日.{0,200}[:：]\s*$",
    r"^\d{4}/\d{1,2}/\d{1,2}.{0,200}[:：]\s*$",
    r"^\s*(From|差出人|送信者)\s*[:：]\s*\S.*$",
]
_TEXT_MARKER = re.compile("|".join(f"(?:{m})" for m in _TEXT_MARKERS), re.IGNORECASE)
_HEADER_LINE = re.compile(r"^\s*(Sent|Date|To|Subject|送信日時|日時|宛先|件名|日付)\s*[:：]", re.I)


def split_text(text: str) -> tuple[str, str]:
    """(new, quoted) plain text; quoted is '' when no history is found."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _marker_line(lines)
    if cut is None:
        cut = _trailing_quote(lines)
    if cut is None:
        return text, ""
    new = "\n".join(lines[:cut]).rstrip()
    if not new.strip():
        return text, ""
    return new, "\n".join(lines[cut:]).strip("\n")


def _marker_line(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if line.startswith(">"):
            continue
        joined = line
        if index + 1 < len(lines) and not line.rstrip().endswith(":"):
            joined = line.rstrip() + " " + lines[index + 1].strip()  # "On ... <a@\nb> wrote:"
        for candidate in (line, joined):
            match = _TEXT_MARKER.match(candidate)
            if match is None:
                continue
            if re.match(r"^\s*(From|差出人|送信者)\s*[:：]", candidate, re.I):
                # A header block only: "From:" followed by Sent/Date/To/Subject lines.
                following = lines[index + 1 : index + 5]
                if not any(_HEADER_LINE.match(x) for x in following):
                    continue
            return index
    return None


def _trailing_quote(lines: list[str]) -> int | None:
    """The first line of the final run of quoted ('>') lines, blank lines allowed in it."""
    cut = None
    for index in range(len(lines) - 1, -1, -1):
        line = lines[index].strip()
        if line.startswith(">"):
            cut = index
        elif line:
            break
    if cut is None:
        return None
    # Take the attribution line above the quote with it.
    above = cut - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    if above >= 0 and lines[above].rstrip().endswith((":", "：")):
        return above
    return cut
