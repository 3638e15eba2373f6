"""The records' history (CUS-04): who changed what, when and from where."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from helpdesk.bulkinsert import insert_row, insert_rows
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization, TenantModel, User

from ..models import (
    Account,
    Contact,
    CustomerHistory,
    HistoryAction,
    RecordKind,
)

# --- History (CUS-04) ----------------------------------------------------------------------
# Written by every service below that changes a contact or account, in its transaction, and
# by the services of the 360° pages (notes, files, import) through `history_add` and
# `history_add_bulk`. Values are kept as displayed (names, not ids): the record, its account
# or its owner may be gone when the entry is read.
KINDS = {Contact: RecordKind.CONTACT, Account: RecordKind.ACCOUNT}


def _kind(kind: str) -> str:
    if kind not in RecordKind.values:
        raise ValueError(f"unknown record kind {kind!r}")
    return str(kind)


def _record_id(record: TenantModel | int) -> int:
    return record if isinstance(record, int) else int(record.pk)


def _user_name(user: User | None) -> str:
    return (user.display_name or user.email)[:200] if user is not None else ""


def _plain(value: Any) -> Any:
    """A JSON-ready display form of one value (None stays None: "empty")."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, User):
        return _user_name(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _changes(changes: Mapping[str, Sequence[Any]] | None) -> dict[str, list[Any]]:
    return {str(k): [_plain(v[0]), _plain(v[1])] for k, v in (changes or {}).items()}


def _entry(
    *,
    org_id: int,
    actor: Membership | None,
    kind: str,
    record: TenantModel | int,
    action: str,
    changes: Mapping[str, Sequence[Any]] | None,
    ip: str | None,
) -> CustomerHistory:
    if action not in HistoryAction.values:
        raise ValueError(f"unknown history action {action!r}")
    user = actor.user if actor is not None else None
    return CustomerHistory(
        org_id=org_id,
        kind=_kind(kind),
        record_id=_record_id(record),
        actor=user,
        actor_name=_user_name(user),
        ip_address=ip or None,
        action=action,
        changes=_changes(changes),
    )


def history_add(
    actor: Membership | None,
    kind: str,
    record: TenantModel | int,
    action: str,
    changes: Mapping[str, Sequence[Any]] | None = None,
    ip: str | None = None,
    *,
    org: Organization | None = None,
) -> CustomerHistory:
    """Write one history entry of a contact or account (`kind`: RecordKind, "contact" or
    "account"; `record`: the record or its id; `action`: a HistoryAction; `changes`:
    {field: (before, after)} as a reader should see them; `ip`: `helpdesk.http.client_ip`).

    For the services of the customers pages (notes, files, import), inside their own
    transaction and after their own permission check. `actor` None (a channel or the system
    acting) needs `org`."""
    if actor is not None:
        org = actor.org
        if isinstance(record, TenantModel):
            ensure_same_org(org, record)
    if org is None:
        raise ValueError("history_add needs an actor or an organization")
    entry = _entry(
        org_id=org.pk,
        actor=actor,
        kind=kind,
        record=record,
        action=action,
        changes=changes,
        ip=ip,
    )
    return insert_row(entry)  # as `save()` would, with an INSERT built once


def history_add_bulk(
    actor: Membership,
    kind: str,
    records: Iterable[TenantModel | int],
    action: str,
    changes: Sequence[Mapping[str, Sequence[Any]] | None] | None = None,
    ip: str | None = None,
) -> list[CustomerHistory]:
    """One entry per record in one INSERT (the importer: `action` "imported"); `changes`,
    when given, is parallel to `records`. Records given as objects must be of `actor.org`."""
    records = list(records)
    objects = [r for r in records if isinstance(r, TenantModel)]
    if objects:
        ensure_same_org(actor.org, *objects)
    if changes is not None and len(changes) != len(records):
        raise ValueError("changes must be parallel to records")
    entries = [
        _entry(
            org_id=actor.org.pk,
            actor=actor,
            kind=kind,
            record=record,
            action=action,
            changes=changes[i] if changes is not None else None,
            ip=ip,
        )
        for i, record in enumerate(records)
    ]
    return CustomerHistory.objects.bulk_create(entries, batch_size=1000)


def history_add_many(
    actor: Membership, kind: str, record_ids: Sequence[int], action: str, ip: str | None = None
) -> None:
    """The same entry (no changes) for many records of `actor.org`, given by id, in one INSERT
    per 20,000 (helpdesk.bulkinsert): the CRM sync's bulk creations."""
    template = _entry(
        org_id=actor.org.pk,
        actor=actor,
        kind=kind,
        record=0,
        action=action,
        changes=None,
        ip=ip,
    )
    row = {
        f.column: getattr(template, f.attname)
        for f in CustomerHistory._meta.concrete_fields
        if not f.primary_key and f.attname != "record_id"
    }
    for start in range(0, len(record_ids), 20_000):
        insert_rows(
            CustomerHistory,
            [{**row, "record_id": pk} for pk in record_ids[start : start + 20_000]],
            with_ids=False,
        )


def _display(org: Organization, field: str, value: Any) -> Any:
    """What a reader sees for a stored column value (ids of the account and owner become
    their names)."""
    if value in (None, ""):
        return None
    if field == "owner":
        return _user_name(User.objects.filter(pk=value).first()) or f"#{value}"
    if field == "account":
        account = Account.objects.for_org(org).filter(pk=value).only("name").first()
        return account.name if account is not None else f"#{value}"
    return value


def _diff(
    org: Organization,
    stored: Mapping[str, Any],
    record: TenantModel,
    fields: Sequence[str],
) -> dict[str, list[Any]]:
    """{field: [before, after]} of the tracked columns that changed (foreign keys by id)."""
    changed: dict[str, list[Any]] = {}
    for field in fields:
        column = field + "_id" if field in ("account", "owner") else field
        before, after = stored.get(field), getattr(record, column)
        if (before or None) != (after or None):
            changed[field] = [_display(org, field, before), _display(org, field, after)]
    return changed
