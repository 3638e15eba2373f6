"""The thread entry an incoming message becomes (TKT-07): its body as HTML with the quoted
history folded under the new text, the attachments and inline images it keeps (and a note for
each part refused: type, size, count), and the inline images pointed at their attachments
once saved. `services.ingest` places the entry; this module only shapes it."""

from __future__ import annotations

import html
import mimetypes
import os
import re

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import Organization

from ..html import HTML, sanitize_html, text_to_html
from ..models import Thread, Ticket
from ..services.incoming import IncomingMessage
from ..services.threads import ALLOWED_EXTENSIONS, MAX_FILES, _max_size
from . import parse, quotes

# Executables and scripts even inside an allowed name ("invoice.pdf.exe", "a.exe.pdf").
DANGEROUS = re.compile(
    r"\.(exe|com|bat|cmd|scr|pif|msi|msp|dll|cpl|jar|js|jse|vbs|vbe|wsf|wsh|hta|ps1|psm1|"
    r"lnk|reg|sh|app|dmg|iso|img|vhd|apk|html?|svg|xhtml)(\.|$)",
    re.IGNORECASE,
)


def thread_message(parsed: parse.ParsedMail) -> tuple[IncomingMessage, dict[str, int]]:
    """The thread entry to write, and the content ids its HTML shows inline."""
    files, inline, notes = _files(parsed)
    message = IncomingMessage(
        body=_body(parsed, inline, notes),
        body_format=HTML,
        files=[f for f, _cid in files],
        message_id=parsed.message_id,
        in_reply_to=(parsed.in_reply_to or [""])[0],
        references=" ".join(parsed.references)[:5000],
        to=parsed.to,
        cc=parsed.cc,
    )
    return message, inline


def _placeholder(index: int) -> str:
    # A relative address survives the sanitiser; replaced by the attachment's URL once saved.
    return f"/mailin-cid/{index}/"


def _files(
    parsed: parse.ParsedMail,
) -> tuple[list[tuple[SimpleUploadedFile, str]], dict[str, int], list[str]]:
    """The parts to keep as (file, content id), the content ids the HTML may show (by index
    into the files) and a note for each part refused (type, size, count)."""
    limit = _max_size()
    kept: list[tuple[SimpleUploadedFile, str]] = []
    inline: dict[str, int] = {}
    notes: list[str] = []
    for part in parsed.parts:
        name = part.name or "attachment"
        ext = os.path.splitext(name)[1].lower()
        if ext not in ALLOWED_EXTENSIONS:
            guessed = mimetypes.guess_extension(part.content_type) or ""
            if part.content_type == "message/rfc822":
                guessed = ".eml"
            if guessed in ALLOWED_EXTENSIONS and not ext:
                name, ext = name + guessed, guessed
        if DANGEROUS.search(name) or ext not in ALLOWED_EXTENSIONS:
            notes.append(
                _("“%(name)s” was not kept: files of this type are not allowed.") % {"name": name}
            )
            continue
        if len(part.data) > limit:
            notes.append(
                _("“%(name)s” was not kept: it is too large (%(size)s; the limit is %(limit)s).")
                % {
                    "name": name,
                    "size": filesizeformat(len(part.data)),
                    "limit": filesizeformat(limit),
                }
            )
            continue
        if not part.data:
            notes.append(_("“%(name)s” was not kept: it is empty.") % {"name": name})
            continue
        if len(kept) >= MAX_FILES:
            notes.append(
                _("“%(name)s” was not kept: a message keeps at most %(count)d files.")
                % {"name": name, "count": MAX_FILES}
            )
            continue
        upload = SimpleUploadedFile(name, part.data, content_type=part.content_type)
        if part.content_id:
            inline[part.content_id] = len(kept)
        kept.append((upload, part.content_id))
    return kept, inline, notes


def _summary() -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return html.escape(_("Quoted text"))


def _body(parsed: parse.ParsedMail, inline: dict[str, int], notes: list[str]) -> str:
    """The message as HTML: the new text, the quoted history folded under it in a
    <details>, and a note for each refused part. Mail HTML is sanitised by the thread
    service; plain text is escaped here."""
    if parsed.html.strip():
        markup = _cid_to_placeholders(parsed.html, inline)
        markup = re.sub(r"(?is)<(head|style|script|title)[^>]*>.*?</\1>", "", markup)
        new, quoted = quotes.split_html(markup)
        body = sanitize_html(new)
        if quoted:
            body += f"<details><summary>{_summary()}</summary>{sanitize_html(quoted)}</details>"
    else:
        new, quoted = quotes.split_text(parsed.text)
        body = text_to_html(new)
        if quoted:
            body += f"<details><summary>{_summary()}</summary>{text_to_html(quoted)}</details>"
    for note in notes:
        body += f"<p><em>⚠ {html.escape(note)}</em></p>"
    if not body.strip():
        empty = _("(no text)")
        body = f"<p><em>{html.escape(empty)}</em></p>"
    return body


def _cid_to_placeholders(markup: str, inline: dict[str, int]) -> str:
    def replace(match: re.Match[str]) -> str:
        index = inline.get(match.group(2))
        if index is None:
            return match.group(0)
        return f"{match.group(1)}{_placeholder(index)}"

    return re.sub(r"""(src\s*=\s*["']?)cid:([^"'\s>]+)""", replace, markup, flags=re.I)


def link_inline_images(
    org: Organization, ticket: Ticket, thread: Thread, inline: dict[str, int]
) -> None:
    """Point the body's inline images at their attachments (served by the access-checked
    attachment view), now that they have ids."""
    if not inline:
        return
    saved = list(
        thread.attachments.filter(org_id=ticket.org_id).order_by("pk").values_list("pk", flat=True)
    )
    body = thread.body
    portal = org.portal
    for index, pk in enumerate(saved):
        url = reverse(
            "desk:attachment",
            kwargs={"portal": portal, "number": ticket.number, "attachment_id": pk},
        )
        body = body.replace(_placeholder(index), url)
    if body != thread.body:
        thread.body = body
        Thread.objects.for_org(ticket.org_id).filter(pk=thread.pk).update(body=body)
