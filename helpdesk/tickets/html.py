"""Rich text: what agents and customers write is sanitised before it is stored (TKT-02)."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "code",
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


def text_to_html(value: str) -> str:
    """Plain text (a textarea without an editor) as paragraphs of escaped HTML."""
    paragraphs = re.split(r"\n\s*\n", (value or "").strip())
    return "".join(
        "<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs if p.strip()
    )


def body_to_html(value: str) -> str:
    """What a form posted: HTML from an editor, or plain text; always sanitised."""
    value = value or ""
    if "<" not in value:
        value = text_to_html(value)
    return sanitize_html(value)


def html_to_text(value: str) -> str:
    """Readable plain text of sanitised HTML, for emails and the search index."""
    text = re.sub(r"<(br|/p|/div|/li|/h\d|/tr)\s*/?>", "\n", value or "", flags=re.I)
    text = nh3.clean(text, tags=set())
    return re.sub(r"\n{3,}", "\n\n", html.unescape(text)).strip()
