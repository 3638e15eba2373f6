"""Reading a customers CSV file (CUS-01): the encoding, the columns and the cells of each row.

- Encoding: a UTF-8 byte order mark means UTF-8 (what Excel writes for "CSV UTF-8"); else
  strict UTF-8; else CP932, the Shift_JIS that Japanese Excel writes for "CSV". CRLF or LF.
- Parsing: tablib (its CSV format on Python's csv module) reads the header and the rows.
- Columns are recognised by their header in English or Japanese (`Column.names`), ignoring
  case, spaces, "-", "_" and full-width forms; the export's headers are among them, so an
  exported file imports again. Columns only the export writes (created, updated...) are
  ignored quietly; any other column is listed as unknown and ignored.
- A cell the export protected against formula injection ('=..., '+..., '-..., '@...) loses
  its leading apostrophe again.

This module reads text only; checking the values against the organization is `checks.py`.
"""

from __future__ import annotations

import codecs
import csv
import io
import unicodedata
from dataclasses import dataclass, field

import tablib
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from tablib.core import InvalidDimensions

# Characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000


class FileError(Exception):
    """The file as a whole cannot be read (encoding, no header, too large)."""


@dataclass(frozen=True)
class Column:
    field: str
    label: object  # lazy English label, for the pages
    header: str  # the export's English header
    header_ja: str  # the export's Japanese header
    aliases: tuple[str, ...] = ()
    max_length: int | None = None
    required: bool = False

    @property
    def names(self) -> tuple[str, ...]:
        return (self.field, self.header, self.header_ja, *self.aliases)


CONTACT_COLUMNS: tuple[Column, ...] = (
    Column(
        "last_name",
        gettext_lazy("Last name"),
        "Last name",
        "姓",
        ("lastname", "surname", "family name", "苗字", "名字", "氏"),
        100,
        required=True,
    ),
    Column(
        "first_name",
        gettext_lazy("First name"),
        "First name",
        "名",
        ("firstname", "given name", "下の名前"),
        100,
    ),
    Column(
        "email",
        gettext_lazy("Email"),
        "Email",
        "メール",
        ("e-mail", "email address", "mail", "メールアドレス", "Eメール", "電子メール"),
        254,
    ),
    Column(
        "secondary_email",
        gettext_lazy("Secondary email"),
        "Secondary email",
        "サブメール",
        ("secondary e-mail", "予備メール", "サブメールアドレス", "メール2"),
        254,
    ),
    Column("phone", gettext_lazy("Phone"), "Phone", "電話", ("tel", "telephone", "電話番号"), 40),
    Column(
        "mobile",
        gettext_lazy("Mobile"),
        "Mobile",
        "携帯",
        ("mobile phone", "携帯電話", "携帯番号"),
        40,
    ),
    Column("title", gettext_lazy("Title"), "Title", "役職", ("job title", "肩書き", "肩書"), 100),
    Column(
        "account",
        gettext_lazy("Account"),
        "Account",
        "会社名",
        ("account name", "company", "company name", "会社", "取引先", "取引先名", "組織"),
        200,
    ),
    Column(
        "owner",
        gettext_lazy("Owner email"),
        "Owner email",
        "担当者メール",
        ("owner", "担当者", "担当者メールアドレス"),
    ),
    Column("tags", gettext_lazy("Tags"), "Tags", "タグ", ("tag",)),
    Column(
        "description",
        gettext_lazy("Description"),
        "Description",
        "説明",
        ("notes", "note", "備考", "メモ"),
        5000,
    ),
)
# A single name column ("Name", "氏名"), used when the file has no last-name column: split at
# the first space into family name and given name, the order the contact's name shows.
FULL_NAME_ALIASES = ("name", "full name", "氏名", "名前", "お名前", "フルネーム")

ACCOUNT_COLUMNS: tuple[Column, ...] = (
    Column(
        "name",
        gettext_lazy("Account name"),
        "Account name",
        "会社名",
        ("account", "company", "company name", "会社", "取引先", "取引先名", "組織名", "名前"),
        200,
        required=True,
    ),
    Column(
        "website",
        gettext_lazy("Website"),
        "Website",
        "ウェブサイト",
        ("url", "web", "web site", "homepage", "ホームページ", "サイト"),
        200,
    ),
    Column("phone", gettext_lazy("Phone"), "Phone", "電話", ("tel", "telephone", "電話番号"), 40),
    Column(
        "email",
        gettext_lazy("Email"),
        "Email",
        "メール",
        ("e-mail", "email address", "mail", "メールアドレス", "Eメール"),
        254,
    ),
    Column(
        "owner",
        gettext_lazy("Owner email"),
        "Owner email",
        "担当者メール",
        ("owner", "担当者", "担当者メールアドレス"),
    ),
    Column("tags", gettext_lazy("Tags"), "Tags", "タグ", ("tag",)),
    Column(
        "description",
        gettext_lazy("Description"),
        "Description",
        "説明",
        ("notes", "note", "備考", "メモ"),
        5000,
    ),
)
COLUMNS = {"contacts": CONTACT_COLUMNS, "accounts": ACCOUNT_COLUMNS}
# Written by the export for reading, ignored by the import without a word.
EXPORT_ONLY = {
    "contacts": ("Created", "作成日時", "Updated", "更新日時"),
    "accounts": ("Contacts", "連絡先数", "Created", "作成日時", "Updated", "更新日時"),
}


def header_key(text: str) -> str:
    """The form in which headers are compared: NFKC (full-width to half-width), lower case,
    without spaces, "-", "_", "・" and a leading "*" (a spreadsheet's "required" mark)."""
    text = unicodedata.normalize("NFKC", text or "").strip().lstrip("*").lower()
    for ch in " -_・\u3000":
        text = text.replace(ch, "")
    return text


def decode(data: bytes) -> tuple[str, str]:
    """The text of the file and the encoding it was read with."""
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise FileError(_("The file starts as UTF-8 but is not valid UTF-8.")) from exc
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileError(
            _("The file is UTF-16 text. Save it as “CSV UTF-8” or “CSV” from your spreadsheet.")
        )
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise FileError(
            _("The file is neither UTF-8 nor Shift_JIS text. Save it as CSV and try again.")
        ) from exc


def unprotect(value: str) -> str:
    """'=1+1 → =1+1: undo the export's protection of a cell against formula injection."""
    if len(value) > 1 and value[0] == "'" and value[1] in FORMULA_START:
        return value[1:]
    return value


@dataclass
class Sheet:
    """The file read: its encoding, headers, which column holds which field, and the rows
    (each a tuple of cells, numbered as the spreadsheet numbers them: the header is row 1)."""

    encoding: str
    headers: list[str]
    fields: dict[str, int]  # field -> column index
    unknown: list[str] = field(default_factory=list)
    full_name: int | None = None
    custom: dict[str, int] = field(default_factory=dict)  # custom field key -> column index
    rows: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)

    def header_of(self, name: str) -> str:
        index = self.full_name if name == "full_name" else self.fields.get(name)
        return self.headers[index] if index is not None else name


def _first_long_row(text: str, width: int) -> int:
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        if len(row) > width:
            return number
    return 0


def read(data: bytes, kind: str, custom: dict[str, str] | None = None) -> Sheet:
    """Read the CSV file `data` of `kind` ("contacts" or "accounts"). `custom` maps the
    header keys of the organization's custom fields (`header_key` of a label or key) to the
    field's key; the standard columns win over a custom field of the same name."""
    custom = custom or {}
    if len(data) > MAX_BYTES:
        raise FileError(_("The file is larger than 50 MB. Split it into smaller files."))
    text, encoding = decode(data)
    if not text.strip():
        raise FileError(_("The file is empty."))
    dataset = tablib.Dataset()
    try:
        dataset.load(text, format="csv")
    except InvalidDimensions as exc:
        row = _first_long_row(text, len(next(csv.reader(io.StringIO(text)))))
        raise FileError(
            _("Row %(row)s has more cells than the header row has columns.") % {"row": row}
        ) from exc
    except csv.Error as exc:
        raise FileError(_("The file is not a valid CSV file: %(error)s") % {"error": exc}) from exc
    headers = [unicodedata.normalize("NFC", (h or "").strip()) for h in (dataset.headers or [])]
    if not any(headers):
        raise FileError(_("The file has no header row."))
    known = {header_key(name): col.field for col in COLUMNS[kind] for name in col.names}
    quiet = {header_key(name) for name in EXPORT_ONLY[kind]}
    sheet = Sheet(encoding=encoding, headers=headers, fields={})
    for index, header in enumerate(headers):
        key = header_key(header)
        if key in known and known[key] not in sheet.fields:
            sheet.fields[known[key]] = index
        elif key in custom and key not in known and custom[key] not in sheet.custom:
            sheet.custom[custom[key]] = index
        elif kind == "contacts" and key in {header_key(a) for a in FULL_NAME_ALIASES}:
            sheet.full_name = index
        elif key and key not in quiet:
            sheet.unknown.append(header)
    if kind == "contacts" and "last_name" in sheet.fields:
        if sheet.full_name is not None:
            sheet.unknown.append(headers[sheet.full_name])
        sheet.full_name = None
    if len(dataset) > MAX_ROWS:
        raise FileError(
            _("The file has more than %(max)s rows. Split it into smaller files.")
            % {"max": f"{MAX_ROWS:,}"}
        )
    # Data rows: blank lines are skipped by the parser; number the others from 2.
    sheet.rows = [(number, row) for number, row in enumerate(dataset, start=2)]
    return sheet
