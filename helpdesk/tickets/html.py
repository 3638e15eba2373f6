"""What people write, as stored HTML (TKT-02).

One rule: what a person types shows exactly as typed. A form says which of two formats its
text is in: `TEXT` (a plain textarea, with or without JavaScript) is escaped, never parsed,
with its line breaks kept; `HTML` (markup our rich-text editor produced, or a mail brought
in) is sanitised with nh3. Nothing else decides: text that looks like markup ("a<b>c",
"<script>") is still text."""

from __future__ import annotations

import html
import re
from typing import Final, Literal
from urllib.parse import urlsplit

import nh3
from django.conf import settings

BodyFormat = Literal["text", "html"]
TEXT: Final = "text"
HTML: Final = "html"
FORMATS: Final = (TEXT, HTML)

ALLOWED_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "del",
    # Mail's quoted history, folded under the new text (TKT-07).
    "details",
    "summary",
    "figcaption",
    "figure",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
    "img",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}


def sanitize_html(value: str) -> str:
    """Safe HTML: no scripts, event handlers, styles or javascript: URLs."""
    return nh3.clean(
        value or "",
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
    ).strip()


_C0_AND_SPACE = "".join(map(chr, range(0x21)))


def is_own_url(url: str) -> bool:
    """Whether a browser would load `url`, written in one of our pages, from this site: a
    relative address, or an absolute one on SITE_URL. Read as a browser reads it (tabs and
    newlines dropped, spaces trimmed, "\\" taken for "/"), so "/\\host/x" counts as remote."""
    value = re.sub(r"[\t\n\r]", "", url or "").strip(_C0_AND_SPACE).replace("\\", "/")
    if value.startswith(settings.SITE_URL + "/"):
        return True
    return not value.startswith("//") and not urlsplit(value).scheme


def hide_remote_images(value: str) -> tuple[str, int]:
    """Sanitised HTML with the address of every remote image removed, and how many there were.

    A remote image in a mail tells its sender who opened the message, when, and from which IP
    address, so the ticket page leaves them out until the reader asks (the image keeps its
    alt text). Images of our own (attachments served by our access-checked view) stay."""
    if "<img" not in (value or ""):
        return value or "", 0
    hidden = 0

    def keep_own_images(tag: str, attribute: str, url: str) -> str | None:
        nonlocal hidden
        if tag == "img" and attribute == "src" and not is_own_url(url):
            hidden += 1
            return None
        return url

    cleaned = nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style"},
        attributes=ALLOWED_ATTRIBUTES,
        attribute_filter=keep_own_images,
        url_schemes={"http", "https", "mailto"},
    ).strip()
    return cleaned, hidden


def text_to_html(value: str) -> str:
    """Plain text as escaped HTML that shows it exactly: every character as typed (markup
    included), paragraphs at blank lines and a line break at every other newline."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = re.split(r"\n[ \t]*\n", value.strip("\n"))
    return "".join(
        "<p>" + html.escape(p, quote=False).replace("\n", "<br>") + "</p>"
        for p in paragraphs
        if p.strip()
    )


def body_to_html(value: str, body_format: str = TEXT) -> str:
    """What a form posted, as the HTML to store. `TEXT` (the default, and whatever a caller
    that says nothing sends) is escaped; only `HTML` from the editor or a mail is sanitised."""
    if body_format == HTML:
        return sanitize_html(value or "")
    if body_format != TEXT:
        raise ValueError(f"Unknown body format: {body_format!r}")
    return text_to_html(value or "")


def html_to_text(value: str) -> str:
    """Readable plain text of sanitised HTML, for emails and the search index."""
    text = re.sub(
        r"<(br|/p|/div|/li|/h\d|/tr|/blockquote|/pre)\s*/?>", "\n", value or "", flags=re.I
    )
    text = nh3.clean(text, tags=set())
    return re.sub(r"\n{3,}", "\n\n", html.unescape(text)).strip()


def is_blank(value: str) -> bool:
    """Whether stored HTML shows nothing: no visible text and no image. Markup alone (an empty
    paragraph, a lone <br>) is blank; typed text such as "<br>" is not (it was escaped)."""
    return not html_to_text(value).strip() and "<img" not in (value or "")


_ATTACHMENT_ID = re.compile(r"/attachments/(\d+)/")


def attachment_ids(value: str) -> set[int]:
    """Ids of our attachments that stored HTML shows inline (pasted or dropped images)."""
    return {int(m) for m in _ATTACHMENT_ID.findall(value or "")}
