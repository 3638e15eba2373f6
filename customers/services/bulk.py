"""Creating many contacts and accounts at once (the CRM sync's initial sync, CRM-04)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils.translation import gettext as _

from helpdesk.bulkinsert import insert_rows, new_ids
from helpdesk.planning import execute_for_values
from helpdesk.tenancy.models import Membership

from ..models import (
    Account,
    Contact,
    HistoryAction,
    RecordKind,
)
from .common import _email, ensure_can
from .history import _kind, history_add_many

# --- Bulk creation (the CRM sync's initial sync, CRM-04) -------------------------------------
INSERT_BATCH = 5000
BULK_FIELDS: dict[str, tuple[str, ...]] = {
    RecordKind.CONTACT: (
        *("first_name", "last_name", "email", "secondary_email", "phone", "mobile", "title"),
        "description",
        "account",
    ),
    RecordKind.ACCOUNT: ("name", "website", "phone", "description"),
}


@transaction.atomic
def records_create_bulk(
    *, actor: Membership, kind: str, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Create many contacts or accounts at once (`rows`: values of BULK_FIELDS), each with an
    "added" history entry; their ids, in order. All or nothing: a row that is not valid, an
    email (contacts) or a name (accounts) already in the organization or twice in `rows` is
    refused with a ValidationError naming it, and nothing is written. Change listeners are not
    called (the caller is the sync that made the rows)."""
    ensure_can(actor, "edit")
    org = actor.org
    model: type[Contact] | type[Account] = Contact if kind == RecordKind.CONTACT else Account
    names = BULK_FIELDS[_kind(kind)]
    texts = [f for f in names if f != "account"]
    records = []
    for row in rows:
        record = model(org=org, **{f: row.get(f) or "" for f in texts})
        if isinstance(record, Contact):  # its account: an id of this organization's accounts
            record.account_id = row.get("account") or None
        for f in ("email", "secondary_email"):
            if hasattr(record, f):
                setattr(record, f, _email(getattr(record, f)))
        records.append(record)
    if kind == RecordKind.CONTACT:
        account_ids = {r.account_id for r in records if isinstance(r, Contact) and r.account_id}
        if len(account_ids) != _count_ids(Account, org.pk, account_ids):
            raise ValidationError(_("An account does not exist."))
        keys = [e for r in records for e in (r.email, getattr(r, "secondary_email", "")) if e]
        if len(keys) != len(set(keys)):
            raise ValidationError(_("An email is given twice."))
        # Contacts have no index on the secondary email: the organization's contacts are
        # filtered by a hashed `= ANY`, hashed only when the arrays are the statement's own
        # values (helpdesk.planning). A generic plan of a prepared statement searched both
        # arrays for each contact, and the initial sync took four times as long.
        taken = _first_row(
            f"SELECT lower(email), lower(secondary_email) FROM {Contact._meta.db_table}"  # noqa: S608 - our table
            " WHERE org_id = %s"
            " AND (lower(email) = ANY(%s::text[]) OR lower(secondary_email) = ANY(%s::text[]))"
            " LIMIT 1",
            [org.pk, keys, keys],
            planned=True,
        )
        if taken is not None:
            email = taken[0] if taken[0] in keys else taken[1]
            raise ValidationError(_("%(email)s already belongs to a contact.") % {"email": email})
    else:
        keys = [r.name.strip().lower() for r in records]
        if len(keys) != len(set(keys)):
            raise ValidationError(_("An account name is given twice."))
        found = _first_row(
            f"SELECT name FROM {Account._meta.db_table}"  # noqa: S608 - our table
            " WHERE org_id = %s AND lower(name) = ANY(%s) LIMIT 1",
            [org.pk, keys],
        )
        if found is not None:
            raise ValidationError(
                _("An account named “%(name)s” already exists.") % {"name": found[0]}
            )
    for record in records:
        # The account ids were checked above, in one query (not one per record).
        record.full_clean(
            exclude=["org", "account"], validate_unique=False, validate_constraints=False
        )
    # One INSERT per 5,000 rows from the checked values (helpdesk.bulkinsert: bulk_create
    # spends most of its time preparing each value), and the same for the history entries.
    attrs = [f"{f}_id" if f == "account" else f for f in names]
    pks = new_ids(model, len(records))
    for start in range(0, len(records), INSERT_BATCH):
        insert_rows(
            model,
            [
                {"id": pk, "org_id": org.pk, **{attr: getattr(r, attr) for attr in attrs}}
                for pk, r in zip(
                    pks[start : start + INSERT_BATCH],
                    records[start : start + INSERT_BATCH],
                    strict=True,
                )
            ],
        )
    history_add_many(actor, kind, pks, HistoryAction.ADDED)
    return pks


# The checks above take thousands of values at once, as one array parameter joined: Django's
# `__in` adapts each value (a third of the initial sync's Python), and `= ANY(array)` filters
# each row by a search of the whole array in a generic plan.
def _count_ids(model: type[Contact] | type[Account], org_id: int, ids: set[int]) -> int:
    if not ids:
        return 0
    row = _first_row(
        f"SELECT count(*) FROM {model._meta.db_table} AS r"  # noqa: S608 - our table
        " JOIN unnest(%s::bigint[]) AS k (id) ON r.id = k.id WHERE r.org_id = %s",
        [list(ids), org_id],
    )
    return row[0] if row else 0


def _first_row(sql: str, params: list[Any], *, planned: bool = False) -> tuple | None:
    """The first row of `sql`; `planned`: with its values written into the statement
    (`helpdesk.planning.execute_for_values`)."""
    with connection.cursor() as cursor:
        if planned:
            execute_for_values(cursor, sql, params)
        else:
            cursor.execute(sql, params)
        return cursor.fetchone()
