"""Importing contacts and accounts from a CSV file (CUS-01): check, preview, confirm, write.

1. `import_preview`: the member uploads a file; it is read (`parsing.read`) and every row is
   checked against the organization (`import_check`: the existing emails, account names and
   owners are read once into dictionaries, no query per row). A file with any error is not
   kept and nothing is written; a clean one is kept under the organization's storage prefix
   with an `ImportJob` waiting for confirmation.
2. `import_confirm`: up to `CUSTOMER_IMPORT_ASYNC_ROWS` rows (1,000) are written at once;
   a larger file is queued for the Celery task (`tasks.customer_import_task`), whose page
   shows a progress bar.
3. `import_run`: checks the file again (the records may have changed since the preview) and
   writes it in ONE transaction, in batches (`bulk_create`/`bulk_update`), under a lock that
   serialises the imports of one organization. Any row error: nothing is written, the job
   fails with the errors. The file is deleted when the job ends.

Matching (documented in the README): a contact row whose email is a contact's email (else
secondary email; the oldest such contact) updates that contact, other rows create contacts;
an account row whose name is an account's name (case-insensitively) updates it. A contact's
account is found by name the same way, and created when missing (the preview lists the
accounts that will be created). Owners are given by their email and must be active members
with Desk access. Blank cells leave the stored value as it is; tags are added, never removed.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.validators import URLValidator, validate_email
from django.db import connection, transaction
from django.db.models import JSONField, Q
from django.db.models.functions import Lower
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.models import (
    Account,
    AccountTag,
    Contact,
    ContactTag,
    CustomerField,
    HistoryAction,
    RecordKind,
    Tag,
)
from customers.services import (
    customer_fields,
    ensure_can,
    history_add_many,
    owner_candidates,
    tag_names_clean,
)
from helpdesk.bulkinsert import insert_rows, new_ids, to_json
from helpdesk.customvalues import clean_value
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization, TenantModel

from . import parsing
from .models import ImportJob, ImportKind, ImportStatus

BATCH = 5000
PREVIEW_ROWS = 10
MAX_ERRORS = 500  # kept on the job and shown; the count says how many there were
TAG_SPLIT = re.compile(r"[,、，;]")
_url = URLValidator()


RECORD_KINDS: dict[str, str] = {
    ImportKind.CONTACTS: RecordKind.CONTACT,
    ImportKind.ACCOUNTS: RecordKind.ACCOUNT,
}


def custom_headers(org: Organization, kind: str) -> dict[str, str]:
    """Header keys of the organization's active custom fields of `kind`: the label, the key
    and "cf:key" each name the field."""
    out: dict[str, str] = {}
    for definition in customer_fields(org, RECORD_KINDS[kind]):
        for name in (definition.label, definition.key, f"cf:{definition.key}"):
            out.setdefault(parsing.header_key(name), definition.key)
    return out


def read_file(org: Organization, kind: str, data: bytes) -> parsing.Sheet:
    """`parsing.read` with the organization's custom fields as known columns."""
    return parsing.read(data, kind, custom_headers(org, kind))


def async_threshold() -> int:
    """Files with more rows than this are written by the Celery task."""
    return int(getattr(settings, "CUSTOMER_IMPORT_ASYNC_ROWS", 1000))


# --- Checking --------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class PlannedRow:
    number: int
    values: dict[str, Any]  # field -> cleaned value; blank cells are left out
    target: int | None  # the pk of the record it updates


@dataclass
class Plan:
    """What an import would do: the rows with their cleaned values and targets, the errors,
    and the accounts a contacts import would create."""

    kind: str
    sheet: parsing.Sheet
    rows: list[PlannedRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    new_accounts: dict[str, str] = field(default_factory=dict)  # lower name -> name
    account_ids: dict[str, int] = field(default_factory=dict)
    error_count: int = 0

    @property
    def creates(self) -> int:
        return sum(1 for row in self.rows if row.target is None)

    @property
    def updates(self) -> int:
        return len({row.target for row in self.rows if row.target is not None})

    def _ordered(self) -> list[tuple[str, str, int | None]]:
        """(name, label, column index) of what is imported, in file order; custom fields are
        named "cf:<key>", the name split from a single name column comes first."""
        labels = {c.field: str(c.label) for c in parsing.COLUMNS[self.kind]}
        sheet = self.sheet
        found: list[tuple[str, str, int | None]] = [
            (f, labels[f], i) for f, i in sheet.fields.items()
        ]
        found += [(f"cf:{k}", sheet.headers[i], i) for k, i in sheet.custom.items()]
        found.sort(key=lambda item: item[2] or 0)
        if sheet.full_name is not None:
            found[:0] = [
                ("last_name", labels["last_name"], sheet.full_name),
                ("first_name", labels["first_name"], None),
            ]
        return found

    @property
    def columns(self) -> list[tuple[str, str]]:
        """(field label, file header) of the columns that are imported."""
        return [
            (label, self.sheet.headers[index])
            for _name, label, index in self._ordered()
            if index is not None
        ]

    def preview_fields(self) -> list[str]:
        return [label for _name, label, _index in self._ordered()]

    def preview(self) -> list[dict[str, Any]]:
        """The first rows as the import reads them: number, cells per imported field, and
        whether the row creates or updates a record."""
        names = [name for name, _label, _index in self._ordered()]
        out = []
        for row in self.rows[:PREVIEW_ROWS]:
            cells = []
            for name in names:
                if name.startswith("cf:"):
                    value = (row.values.get("custom_fields") or {}).get(name[3:], "")
                else:
                    value = row.values.get(name, "")
                if isinstance(value, list):
                    value = ", ".join(value)
                elif isinstance(value, bool):
                    value = _("Yes") if value else _("No")
                cells.append(value)
            out.append({"number": row.number, "cells": cells, "update": row.target is not None})
        return out

    def add_error(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row, column, message))


def _email_maps(org: Organization) -> tuple[dict[str, int], dict[str, int]]:
    """lower(email) -> oldest contact, lower(secondary email) -> oldest contact."""
    primary: dict[str, int] = {}
    secondary: dict[str, int] = {}
    rows = (
        Contact.objects.for_org(org)
        .annotate(e=Lower("email"), s=Lower("secondary_email"))
        .filter(~Q(email="") | ~Q(secondary_email=""))
        .order_by("-pk")
        .values_list("pk", "e", "s")
        .iterator(chunk_size=10_000)
    )
    for pk, email, other in rows:  # newest first: the oldest ends up in the dictionaries
        if email:
            primary[email] = pk
        if other:
            secondary[other] = pk
    return primary, secondary


def _account_map(org: Organization) -> dict[str, int]:
    out: dict[str, int] = {}
    for pk, name in (
        Account.objects.for_org(org).order_by("-pk").values_list("pk", "name").iterator()
    ):
        out[name.strip().lower()] = pk
    return out


def _owner_map(org: Organization) -> dict[str, int]:
    return {email.lower(): pk for pk, email in owner_candidates(org).values_list("pk", "email")}


_LIMITS = {
    kind: {c.field: c.max_length for c in columns} for kind, columns in parsing.COLUMNS.items()
}
_user_part = validate_email.user_regex.match  # Django's own rules, the lazy regex compiled once


@lru_cache(maxsize=4096)
def _domain_ok(domain: str) -> bool:
    """Django's email validation of the part after "@" (a file repeats few domains)."""
    try:
        validate_email(f"a@{domain}")
    except ValidationError:
        return False
    return True


def _email_ok(value: str) -> bool:
    """As `django.core.validators.validate_email`, with each domain checked once."""
    user, at, domain = value.rpartition("@")
    return bool(at and user and len(value) <= 320 and _user_part(user) and _domain_ok(domain))


class _Row:
    """One row's cells, cleaned into `values`, with its errors added to the plan."""

    __slots__ = ("plan", "number", "cells", "data", "values", "ok", "limits")

    def __init__(self, plan: Plan, number: int, cells: tuple[str, ...]):
        self.plan, self.number, self.cells = plan, number, cells
        width = len(cells)
        unprotect = parsing.unprotect
        self.data = {
            name: unprotect((cells[i] or "").strip()) if i < width else ""
            for name, i in plan.sheet.fields.items()
        }
        self.values: dict[str, Any] = {}
        self.ok = True
        self.limits = _LIMITS[plan.kind]

    def cell(self, name: str) -> str:
        return self.data.get(name, "")

    def error(self, name: str, message: str) -> None:
        self.ok = False
        self.plan.add_error(self.number, self.plan.sheet.header_of(name), message)

    def text(self, name: str) -> str:
        value = self.data.get(name, "")
        if not value:
            return value
        limit = self.limits[name]
        if limit and len(value) > limit:
            self.error(
                name,
                _("Longer than %(max)s characters (%(n)s).") % {"max": limit, "n": len(value)},
            )
        else:
            self.values[name] = value
        return value

    def email(self, name: str) -> str:
        value = self.data.get(name, "").lower()
        if not value:
            return ""
        if not _email_ok(value):
            self.error(name, _("“%(value)s” is not a valid email address.") % {"value": value})
            return ""
        self.values[name] = value
        return value

    def owner(self, owners: dict[str, int]) -> None:
        value = self.cell("owner").lower()
        if not value:
            return
        if value not in owners:
            self.error(
                "owner",
                _(
                    "No active member with Desk access has the email “%(value)s”. Give an "
                    "owner's email, or leave the cell blank."
                )
                % {"value": value},
            )
            return
        self.values["owner_id"] = owners[value]

    def tags(self) -> None:
        value = self.cell("tags")
        if not value:
            return
        try:
            names = tag_names_clean(TAG_SPLIT.split(value))
        except ValidationError as exc:
            self.error("tags", " ".join(exc.message_dict.get("tags", exc.messages)))
            return
        if names:
            self.values["tags"] = names

    def custom(self, definitions: dict[str, CustomerField], new: bool) -> None:
        """The custom fields' cells, checked as the record's form checks them; a required
        field needs a value on a new record."""
        values: dict[str, Any] = {}
        sheet = self.plan.sheet
        for key, index in sheet.custom.items():
            cell = self.cells[index] if index < len(self.cells) else ""
            raw = parsing.unprotect((cell or "").strip())
            if not raw:
                continue
            try:
                value = clean_value(definitions[key], raw)
            except ValidationError as exc:
                self.plan.add_error(self.number, sheet.headers[index], " ".join(exc.messages))
                self.ok = False
                continue
            if value is not None:
                values[key] = value
        if new:
            for key, definition in definitions.items():
                if definition.required and key not in values:
                    at = sheet.custom.get(key)
                    column = sheet.headers[at] if at is not None else definition.label
                    self.plan.add_error(self.number, column, _("A value is required."))
                    self.ok = False
        if values:
            self.values["custom_fields"] = values


def _check_contacts(plan: Plan, org: Organization, definitions: dict[str, CustomerField]) -> None:
    primary, secondary = _email_maps(org)
    accounts = _account_map(org)
    owners = _owner_map(org)
    seen: dict[str, int] = {}  # email (either column) -> first row naming it
    targets: dict[int, int] = {}
    sheet = plan.sheet
    for number, cells in sheet.rows:
        row = _Row(plan, number, cells)
        if sheet.full_name is not None:
            full = parsing.unprotect((cells[sheet.full_name] or "").strip())
            parts = re.split(r"\s+", full, maxsplit=1)
            family, given = parts[0], parts[1] if len(parts) > 1 else ""
            if not family:
                row.error("full_name", _("The name is missing."))
            elif len(family) > 100 or len(given) > 100:
                row.error("full_name", _("The name is too long."))
            else:
                row.values["last_name"] = family
                if given:
                    row.values["first_name"] = given
        else:
            row.text("first_name")
        last = row.text("last_name") if sheet.full_name is None else row.values.get("last_name")
        email = row.email("email")
        other = row.email("secondary_email")
        for name in ("phone", "mobile", "title", "description"):
            row.text(name)
        account = row.text("account")
        row.owner(owners)
        row.tags()
        target = primary.get(email) if email else None
        if email and target is None and email in secondary:
            target = secondary[email]
            row.values.pop("email", None)  # found by its secondary email: the primary stays
        row.custom(definitions, new=target is None)
        if not last and sheet.full_name is None and target is None:
            row.error("last_name", _("The last name is missing."))
        if email:
            if email in seen:
                row.error(
                    "email",
                    _("%(email)s is also on row %(row)s: one row per contact.")
                    % {"email": email, "row": seen[email]},
                )
            seen.setdefault(email, number)
        if other:
            owner_pk = primary.get(other) or secondary.get(other)
            if other == email:
                row.error("secondary_email", _("The secondary email is the same as the email."))
            elif owner_pk is not None and owner_pk != target:
                row.error(
                    "secondary_email",
                    _("%(email)s already belongs to another contact.") % {"email": other},
                )
            elif other in seen and seen[other] != number:
                row.error(
                    "secondary_email",
                    _("%(email)s is also on row %(row)s.") % {"email": other, "row": seen[other]},
                )
            seen.setdefault(other, number)
        if target is not None and target in targets and row.ok:
            row.error(
                "email",
                _("Row %(row)s updates the same contact.") % {"row": targets[target]},
            )
        if account:
            key = account.lower()
            if key in accounts:
                plan.account_ids[key] = accounts[key]
            else:
                plan.new_accounts.setdefault(key, account)
        if row.ok:
            if target is not None:
                targets[target] = number
            plan.rows.append(PlannedRow(number, row.values, target))


def _check_accounts(plan: Plan, org: Organization, definitions: dict[str, CustomerField]) -> None:
    accounts = _account_map(org)
    owners = _owner_map(org)
    seen: dict[str, int] = {}
    for number, cells in plan.sheet.rows:
        row = _Row(plan, number, cells)
        name = row.text("name")
        if not name:
            row.error("name", _("The account name is missing."))
        website = row.cell("website")
        if website:
            if "://" not in website:
                website = "https://" + website
            try:
                _url(website)
            except ValidationError:
                message = _("“%(value)s” is not a valid web address.") % {"value": website}
                row.error("website", message)
            else:
                if len(website) > 200:
                    row.error("website", _("Longer than %(max)s characters.") % {"max": 200})
                row.values["website"] = website
        row.email("email")
        row.text("phone")
        row.text("description")
        row.owner(owners)
        row.tags()
        key = name.lower()
        if name and key in seen:
            row.error(
                "name",
                _("“%(name)s” is also on row %(row)s: one row per account.")
                % {"name": name, "row": seen[key]},
            )
        if name:
            seen.setdefault(key, number)
        target = accounts.get(key) if name else None
        row.custom(definitions, new=target is None)
        if row.ok:
            plan.rows.append(PlannedRow(number, row.values, target))


def import_check(*, org: Organization, kind: str, sheet: parsing.Sheet) -> Plan:
    """Check every row of `sheet` against `org`: the plan, with the errors (none: it can be
    written). A fixed number of queries, whatever the number of rows."""
    plan = Plan(kind=kind, sheet=sheet)
    definitions = {d.key: d for d in customer_fields(org, RECORD_KINDS[kind])}
    if kind == ImportKind.CONTACTS:
        if "last_name" not in sheet.fields and sheet.full_name is None:
            plan.add_error(1, "", _("The file has no last-name column (“Last name” or “姓”)."))
            return plan
        _check_contacts(plan, org, definitions)
    else:
        if "name" not in sheet.fields:
            message = _("The file has no account-name column (“Account name” or “会社名”).")
            plan.add_error(1, "", message)
            return plan
        _check_accounts(plan, org, definitions)
    if not sheet.rows:
        plan.add_error(2, "", _("The file has a header row but no data rows."))
    return plan


# --- Writing ---------------------------------------------------------------------------------
# Rows are written with one INSERT ... SELECT FROM UNNEST(arrays) or UPDATE ... FROM UNNEST
# per batch, built from the checked values without a model instance per row: Django's
# bulk_create and bulk_update spend most of an import's time preparing each object (README,
# "Customer import"). Columns and defaults are read from the models, so a field added later
# is written with its default.
def _lock_imports(org: Organization | int) -> None:
    org_id = getattr(org, "pk", org)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"customer-import:{org_id}"]
        )


def _update(
    model: type[TenantModel], org: Organization, rows: list[tuple[int, dict[str, Any]]]
) -> None:
    """UPDATE the records (id, values by column) in one statement: a value given replaces the
    stored one, a missing one keeps it; custom values are merged into the stored ones."""
    if not rows:
        return
    opts = model._meta
    quote = connection.ops.quote_name
    names = sorted({name for _pk, values in rows for name in values})
    sets = []
    for name in names:
        column = quote(name)
        if isinstance(opts.get_field(name[:-3] if name.endswith("_id") else name), JSONField):
            sets.append(f"{column} = r.{column} || COALESCE(v.{column}, '{{}}'::jsonb)")
        else:
            sets.append(f"{column} = COALESCE(v.{column}, r.{column})")
    sets.append(f"{quote('updated_at')} = %s")  # both models have it (auto_now)
    table = quote(opts.db_table)
    sql = (
        f"UPDATE {table} AS r SET {', '.join(sets)} "  # noqa: S608 - identifiers from the model
        f"FROM json_populate_recordset(NULL::{table}, %s::json) AS v "
        "WHERE r.org_id = %s AND r.id = v.id"
    )
    document = to_json([{**values, "id": pk} for pk, values in rows])
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), document, org.pk])


def _write_tags(org: Organization, kind: str, tags: dict[int, list[str]]) -> None:
    """Add the tags of each record (pk -> names): the organization's tags (the one tagging
    model of tickets and customers), created when new, and the links."""
    if not tags:
        return
    link = ContactTag if kind == ImportKind.CONTACTS else AccountTag
    names = {n.lower(): n for values in tags.values() for n in values}

    def known() -> dict[str, int]:
        return dict(
            Tag.objects.for_org(org)
            .annotate(key=Lower("name"))
            .filter(key__in=list(names))
            .values_list("key", "pk")
        )

    ids = known()
    missing = [name for key, name in names.items() if key not in ids]
    if missing:
        insert_rows(
            Tag,
            [{"org_id": org.pk, "name": name} for name in missing],
            with_ids=False,
            ignore_conflicts=True,
        )
        ids = known()
    record = "contact_id" if kind == ImportKind.CONTACTS else "account_id"
    links = [
        {"org_id": org.pk, record: pk, "tag_id": ids[n.lower()]}
        for pk, values in tags.items()
        for n in values
    ]
    for batch in _batches(links, 20_000):
        insert_rows(link, batch, with_ids=False, ignore_conflicts=True)


def _history(actor: Membership, kind: str, pks: list[int], ip: str | None) -> None:
    """One "imported" entry per record in the customers' history (CUS-04)."""
    history_add_many(actor, RECORD_KINDS[kind], pks, HistoryAction.IMPORTED, ip)


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    accounts_created: int = 0
    pks: list[int] = field(default_factory=list)


Progress = Callable[[int], None]


def _batches(items: list, size: int = BATCH):
    for start in range(0, len(items), size):
        yield items[start : start + size]


CONTACT_FIELDS: tuple[str, ...] = (
    *("first_name", "last_name", "email", "secondary_email", "phone", "mobile", "title"),
    *("description", "owner_id", "custom_fields"),
)
ACCOUNT_FIELDS: tuple[str, ...] = (
    *("name", "website", "phone", "email", "description", "owner_id", "custom_fields"),
)


def _write(
    org: Organization,
    plan: Plan,
    progress: Progress,
    model: type[TenantModel],
    names: tuple[str, ...],
    account_ids: dict[str, int] | None = None,
) -> Outcome:
    """Insert the new records and update the matched ones, batch by batch."""
    outcome = Outcome()
    tags: dict[int, list[str]] = {}
    done = 0

    def values(row: PlannedRow) -> dict[str, Any]:
        out = {k: v for k, v in row.values.items() if k in names}
        if account_ids is not None and row.values.get("account"):
            out["account_id"] = account_ids[row.values["account"].lower()]
        return out

    new_rows = [row for row in plan.rows if row.target is None]
    for batch in _batches(new_rows):
        ids = new_ids(model, len(batch))
        insert_rows(
            model,
            [
                {**values(row), "id": pk, "org_id": org.pk}
                for row, pk in zip(batch, ids, strict=True)
            ],
        )
        for row, pk in zip(batch, ids, strict=True):
            if "tags" in row.values:
                tags[pk] = row.values["tags"]
        outcome.pks += ids
        done += len(batch)
        progress(done)
    old_rows = [row for row in plan.rows if row.target is not None]
    for batch in _batches(old_rows):
        _update(model, org, [(row.target, values(row)) for row in batch])
        for row in batch:
            if "tags" in row.values:
                tags[row.target] = row.values["tags"]
            outcome.pks.append(row.target)
        done += len(batch)
        progress(done)
    outcome.created, outcome.updated = len(new_rows), len(old_rows)
    _write_tags(org, plan.kind, tags)
    return outcome


def _write_contacts(org: Organization, plan: Plan, progress: Progress) -> Outcome:
    account_ids = dict(plan.account_ids)
    ids = new_ids(Account, len(plan.new_accounts))
    insert_rows(
        Account,
        [
            {"id": pk, "org_id": org.pk, "name": name}
            for pk, name in zip(ids, plan.new_accounts.values(), strict=True)
        ],
    )
    account_ids.update(zip(plan.new_accounts, ids, strict=True))
    outcome = _write(org, plan, progress, Contact, CONTACT_FIELDS, account_ids)
    outcome.accounts_created = len(ids)
    return outcome


def _write_accounts(org: Organization, plan: Plan, progress: Progress) -> Outcome:
    return _write(org, plan, progress, Account, ACCOUNT_FIELDS)


@transaction.atomic
def import_write(
    *,
    actor: Membership,
    kind: str,
    sheet: parsing.Sheet,
    ip: str | None = None,
    progress: Progress | None = None,
) -> tuple[Plan, Outcome | None]:
    """Check `sheet` and, when every row is right, write it: all rows or none, in one
    transaction, under the organization's import lock. (plan, None) when a row is refused."""
    ensure_can(actor, "edit")
    org = actor.org
    _lock_imports(org)
    plan = import_check(org=org, kind=kind, sheet=sheet)
    if plan.error_count:
        return plan, None
    writer = _write_contacts if kind == ImportKind.CONTACTS else _write_accounts
    outcome = writer(org, plan, progress or (lambda done: None))
    _history(actor, kind, outcome.pks, ip)
    return plan, outcome


# --- Jobs ------------------------------------------------------------------------------------
def progress_key(org_id: int, job_id: int) -> str:
    return f"customer-import:{org_id}:{job_id}"


def live_done(job: ImportJob) -> int:
    """Records written so far: the cache while the job's transaction is open."""
    if job.status == ImportStatus.RUNNING:
        return int(cache.get(progress_key(job.org_id, job.pk)) or 0)
    return job.done


def _discard_previews(actor: Membership) -> None:
    """A member's unconfirmed previews go when they upload another file."""
    old = ImportJob.objects.for_org(actor.org).filter(
        requested_by=actor.user, status=ImportStatus.PREVIEWED
    )
    for job in old:
        if job.file:
            job.file.delete(save=False)
    old.delete()


def import_preview(
    *, actor: Membership, kind: str, name: str, data: bytes, ip: str | None = None
) -> tuple[Plan, ImportJob | None]:
    """Read and check an uploaded file. Nothing is written to the records. A clean file is
    kept with a job waiting for confirmation; a file with errors is not kept (job None).
    Raises ValidationError when the file as a whole cannot be read."""
    ensure_can(actor, "edit")
    if kind not in ImportKind.values:
        raise ValidationError({"kind": _("Choose contacts or accounts.")})
    try:
        sheet = read_file(actor.org, kind, data)
    except parsing.FileError as exc:
        raise ValidationError({"file": str(exc)}) from exc
    plan = import_check(org=actor.org, kind=kind, sheet=sheet)
    if plan.error_count:
        return plan, None
    with transaction.atomic():
        _discard_previews(actor)
        job = ImportJob(
            org=actor.org,
            kind=kind,
            file_name=(name or "import.csv")[:255],
            encoding=sheet.encoding,
            requested_by=actor.user,
            ip=ip,
            total=len(sheet.rows),
        )
        job.file.save("import.csv", ContentFile(data), save=False)
        job.save()
    return plan, job


@transaction.atomic
def import_confirm(*, actor: Membership, job: ImportJob) -> bool:
    """Confirm a previewed import: True when it is to run in the background (the caller sends
    the task on commit), False when the caller runs it now (`import_run`)."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, job)
    updated = (
        ImportJob.objects.for_org(actor.org)
        .filter(pk=job.pk, requested_by=actor.user, status=ImportStatus.PREVIEWED)
        .update(status=ImportStatus.QUEUED, updated_at=timezone.now())
    )
    if not updated:
        raise ValidationError(_("This import has already been confirmed or is no longer there."))
    job.status = ImportStatus.QUEUED
    return job.total > async_threshold()


def _finish(org_id: int, job_id: int, **values: Any) -> None:
    ImportJob.objects.for_org(org_id).filter(pk=job_id).update(
        finished_at=timezone.now(), updated_at=timezone.now(), **values
    )


# A running job whose worker died (its transaction rolled back, nothing written) may be claimed
# again by the redelivered task (acks_late) after this long; an import of 100,000 rows takes
# about a minute.
STALE_AFTER = dt.timedelta(minutes=30)


def import_run(*, org_id: int, job_id: int) -> ImportJob | None:
    """Run a confirmed import: claim the job, read its file, check and write it in one
    transaction, then delete the file and record the outcome (messages in the requester's
    language). None when the job is not there or is not queued (idempotent)."""
    now = timezone.now()
    claimed = (
        ImportJob.objects.for_org(org_id)
        .filter(pk=job_id)
        .filter(
            Q(status=ImportStatus.QUEUED)
            | Q(status=ImportStatus.RUNNING, updated_at__lt=now - STALE_AFTER)
        )
        .update(status=ImportStatus.RUNNING, done=0, updated_at=now)
    )
    if not claimed:
        return None
    job = ImportJob.objects.for_org(org_id).select_related("org", "requested_by").get(pk=job_id)
    key = progress_key(org_id, job_id)
    language = getattr(job.requested_by, "language", "") or settings.LANGUAGE_CODE
    with translation.override(language):
        try:
            outcome_values = _run(job, key)
        except Exception:
            _finish(
                org_id,
                job_id,
                file="",
                status=ImportStatus.FAILED,
                error=_("The import failed unexpectedly; nothing was written."),
            )
            raise
        finally:
            cache.delete(key)
            if job.file:
                job.file.delete(save=False)
    _finish(org_id, job_id, file="", **outcome_values)
    job.refresh_from_db()
    return job


def _run(job: ImportJob, key: str) -> dict[str, Any]:
    """The job's work; the values its row ends with."""
    membership = (
        Membership.objects.for_org(job.org_id)
        .select_related("org", "user")
        .filter(user_id=job.requested_by_id, status=Membership.Status.ACTIVE)
        .first()
    )
    try:
        if membership is None:
            raise PermissionDenied(_("The member who started the import can no longer do it."))
        if not job.file:
            raise parsing.FileError(_("The uploaded file is no longer there: upload it again."))
        with job.file.open("rb") as handle:
            data = handle.read()
        sheet = read_file(membership.org, job.kind, data)
        plan, outcome = import_write(
            actor=membership,
            kind=job.kind,
            sheet=sheet,
            ip=job.ip,
            progress=lambda done: cache.set(key, done, 3600),
        )
    except (PermissionDenied, parsing.FileError, OSError) as exc:
        return {"status": ImportStatus.FAILED, "error": str(exc)}
    if outcome is None:
        return {
            "status": ImportStatus.FAILED,
            "errors": [e.as_dict() for e in plan.errors],
            "error": ngettext(
                "%(n)s row has errors; nothing was written.",
                "%(n)s rows have errors; nothing was written.",
                plan.error_count,
            )
            % {"n": plan.error_count},
        }
    return {
        "status": ImportStatus.DONE,
        "done": outcome.created + outcome.updated,
        "created_count": outcome.created,
        "updated_count": outcome.updated,
        "accounts_created": outcome.accounts_created,
    }


def recent_jobs(actor: Membership, limit: int = 5) -> list[ImportJob]:
    """The member's latest confirmed imports (for the import page)."""
    return list(
        ImportJob.objects.for_org(actor.org)
        .filter(requested_by=actor.user)
        .exclude(status=ImportStatus.PREVIEWED)[:limit]
    )
