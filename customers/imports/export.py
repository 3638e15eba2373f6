"""Exporting contacts and accounts to CSV (CUS-01), streamed row by row.

UTF-8 with a byte order mark by default (Excel then reads Japanese correctly), or CP932, the
Shift_JIS Japanese Excel reads without asking (characters it lacks become "?"). Headers are
the import's own (`parsing.COLUMNS`), in English or in Japanese, so an exported file imports
again. Cells that a spreadsheet would take for a formula (=, +, -, @, tab, CR at the start)
are written with a leading apostrophe; the import takes it off again.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from customers.models import Account, AccountTag, Contact, ContactTag

from . import parsing

ENCODINGS = {"utf-8": "utf-8-sig", "shift_jis": "cp932"}
CHUNK = 2000


class _Line:
    """A file-like object that hands back what csv.writer writes to it."""

    def write(self, value: str) -> str:
        return value


def protect(value: Any) -> str:
    """A cell as text, neutralised against formula injection."""
    text = "" if value is None else str(value)
    if text and text[0] in parsing.FORMULA_START:
        return "'" + text
    return text


def _tag_names(obj: Any) -> str:
    return ", ".join(obj.tag_list)


def _with_tags(rows: QuerySet, prefetch: Prefetch) -> QuerySet:
    """Read the tags with the rows (in chunks), unless the list's query already does."""
    existing = getattr(rows, "_prefetch_related_lookups", ())  # the queryset's own prefetches
    lookups = [getattr(p, "prefetch_to", p) for p in existing]
    if any(str(lookup).startswith(prefetch.prefetch_to) for lookup in lookups):
        return rows
    return rows.prefetch_related(prefetch)


def _custom(obj: Any, definitions: list) -> list[str]:
    """The record's custom values in the form the import reads back (checkboxes yes/no)."""
    values = obj.custom_fields or {}
    out = []
    for definition in definitions:
        value = values.get(definition.key)
        if isinstance(value, bool):
            value = "yes" if value else "no"
        out.append(protect(value))
    return out


def _local(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def contact_rows(
    contacts: QuerySet[Contact], japanese: bool, definitions: list
) -> Iterator[list[str]]:
    """The header and one row per contact: the import's columns, the custom fields (by
    label), then when the contact was created and last updated."""
    columns = parsing.CONTACT_COLUMNS
    yield (
        [c.header_ja if japanese else c.header for c in columns]
        + [d.label for d in definitions]
        + (["作成日時", "更新日時"] if japanese else ["Created", "Updated"])
    )
    contacts = _with_tags(
        contacts.select_related("account", "owner"),
        Prefetch("contact_tags", queryset=ContactTag.objects.select_related("tag")),
    )
    for c in contacts.iterator(chunk_size=CHUNK):
        values = {
            "last_name": c.last_name,
            "first_name": c.first_name,
            "email": c.email,
            "secondary_email": c.secondary_email,
            "phone": c.phone,
            "mobile": c.mobile,
            "title": c.title,
            "account": c.account.name if c.account else "",
            "owner": c.owner.email if c.owner else "",
            "tags": _tag_names(c),
            "description": c.description,
        }
        yield (
            [protect(values[col.field]) for col in columns]
            + _custom(c, definitions)
            + [_local(c.created_at), _local(c.updated_at)]
        )


def account_rows(
    accounts: QuerySet[Account], japanese: bool, definitions: list
) -> Iterator[list[str]]:
    """The header and one row per account, as `contact_rows`, with its number of contacts."""
    columns = parsing.ACCOUNT_COLUMNS
    yield (
        [c.header_ja if japanese else c.header for c in columns]
        + [d.label for d in definitions]
        + (["連絡先数", "作成日時", "更新日時"] if japanese else ["Contacts", "Created", "Updated"])
    )
    accounts = _with_tags(
        accounts.select_related("owner"),
        Prefetch("account_tags", queryset=AccountTag.objects.select_related("tag")),
    )
    for a in accounts.iterator(chunk_size=CHUNK):
        values = {
            "name": a.name,
            "website": a.website,
            "phone": a.phone,
            "email": a.email,
            "owner": a.owner.email if a.owner else "",
            "tags": _tag_names(a),
            "description": a.description,
        }
        yield (
            [protect(values[col.field]) for col in columns]
            + _custom(a, definitions)
            + [str(getattr(a, "contact_count", "")), _local(a.created_at), _local(a.updated_at)]
        )


def csv_chunks(rows: Iterable[list[str]], encoding: str) -> Iterator[bytes]:
    """The CSV file in chunks of bytes: a BOM first for UTF-8; CRLF line ends (Excel's)."""
    codec = ENCODINGS.get(encoding, "utf-8-sig")
    writer = csv.writer(_Line(), lineterminator="\r\n")
    if codec == "utf-8-sig":
        yield codecs.BOM_UTF8
        codec = "utf-8"
    buffer: list[str] = []
    for row in rows:
        buffer.append(writer.writerow(row))
        if len(buffer) >= 500:
            yield "".join(buffer).encode(codec, errors="replace")
            buffer = []
    if buffer:
        yield "".join(buffer).encode(codec, errors="replace")
