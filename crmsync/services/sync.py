"""The sync engine (CRM-04..CRM-07): delivering the outbox, matching, conflicts, the dry run,
the initial sync and per-record resyncs. README, "CRM": the sync's design.

Every function runs under the CRM organization's row-level-security scope (the tasks set it);
the desk's rows are read and written inside `DeskConnector.scope()` (the desk organization's
scope when it is another organization), and only after the integration was checked
(`integration_problem`: authority and key) for this use.

- **Links**: a `SyncLink` per pair (CRM id <-> desk id, unique on both sides per
  integration). A record without a link is matched once (`_match`): contacts by primary email
  (CRM email = desk email), optionally by secondary email (CRM secondary = desk email: the
  desk's primary email becomes the CRM's, the old one stays as its secondary email, and the
  customers history records it); accounts by name; products by code, else name. An advisory
  lock on the match key (per integration and email / name) serialises two deliveries of the
  same person; the link's unique constraints are the last guard (a clash retries the row).
- **Delivery**: one integration at a time (a session advisory lock, so rows go in order);
  each row in its own transaction with the writes it causes and its `delivered_at` mark, so a
  redelivered or replayed row changes nothing and a worker killed half-way leaves the row
  undelivered, to be delivered again (the sweep re-enqueues it).
- **Conflicts** (two-way): the *current* values of both sides are compared with the link's
  last synced values field by field: a field changed on one side only takes that side's value;
  a field changed on both takes the newer change (the other side's undelivered outbox row
  tells when it changed) and a `SyncConflict` is logged. Values are read at delivery, not from
  the row, so a stale row never reverts a newer value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from customers import services as desk_services
from customers.models import Account, Contact, Product
from helpdesk.bulkinsert import insert_rows
from helpdesk.tenancy.models import Membership, Organization

from ..connector import DeskConnector
from ..models import (
    CrmAccount,
    CrmContact,
    CrmProduct,
    Integration,
    OutboxEntry,
    SyncConflict,
    SyncError,
    SyncKind,
    SyncLink,
    SyncRun,
)
from .fields import FIELDS, ORIGIN, REFERENCES, attname
from .integration import integration_problem

CRM_MODELS: dict[str, Any] = {
    SyncKind.ACCOUNT: CrmAccount,
    SyncKind.CONTACT: CrmContact,
    SyncKind.PRODUCT: CrmProduct,
}
DESK_MODELS: dict[str, Any] = {
    SyncKind.ACCOUNT: Account,
    SyncKind.CONTACT: Contact,
    SyncKind.PRODUCT: Product,
}
KIND_ORDER = (SyncKind.ACCOUNT, SyncKind.CONTACT, SyncKind.PRODUCT)
CRM, DESK = OutboxEntry.Side.CRM, OutboxEntry.Side.DESK
BATCH = 200
_MISSING = object()


class Refused(Exception):
    """The row cannot be applied: (error type, message)."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(message)
        self.type = type_
        self.message = message


# --- One integration's two sides -------------------------------------------------------------
class Sides:
    def __init__(self, integration: Integration) -> None:
        self.integration = integration
        self.crm_org = integration.org
        self.desk_org: Organization = integration.desk_org
        self.connector = DeskConnector(integration)
        self.two_way = integration.direction == Integration.Direction.TWO_WAY
        self._actor: Membership | None = None

    def scope(self, side: str):
        return self.connector.scope() if side == DESK else _nothing()

    def org(self, side: str) -> Organization:
        return self.desk_org if side == DESK else self.crm_org

    def actor(self):
        if self._actor is None:
            with self.connector.scope():
                self._actor = self.connector.sync_actor()
            if self._actor is None:
                raise Refused(
                    SyncError.Type.AUTHORISATION,
                    "No active Desk admin of the desk portal to write its records as.",
                )
        return self._actor

    # Reading -------------------------------------------------------------------------------
    def values(self, side: str, kind: str, pk: int, *, lock: bool = False) -> dict | None:
        model = (DESK_MODELS if side == DESK else CRM_MODELS)[kind]
        with self.scope(side):
            rows = model.objects.for_org(self.org(side)).filter(pk=pk)
            if lock:
                rows = rows.select_for_update()
            extra = ("department_id",) if side == DESK and kind == SyncKind.PRODUCT else ()
            values = rows.values(*FIELDS[kind], *extra).first()
        if values is not None and side == DESK:
            self.refs_from_desk(kind, [values])
        return values

    # References (a contact's account): the CRM's ids, mapped through the links -------------
    def _ref_map(self, ref_kind: str, ids: set[int], *, from_side: str) -> dict[int, int]:
        """{id on `from_side`: id on the other side} of linked records of `ref_kind`."""
        if not ids:
            return {}
        key, value = ("desk_id", "crm_id") if from_side == DESK else ("crm_id", "desk_id")
        # An initial sync maps 5,000 ids at a time: they go as one array, joined, so that
        # neither Django's per-value IN nor a generic plan's unhashed `= ANY` (each link
        # searching the whole array: half a second a batch) costs per id.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT l.{key}, l.{value} FROM {SyncLink._meta.db_table} AS l"  # noqa: S608 - our table and columns
                f" JOIN unnest(%s::bigint[]) AS k (id) ON l.{key} = k.id"
                " WHERE l.org_id = %s AND l.integration_id = %s AND l.kind = %s",
                [list(ids), self.crm_org.pk, self.integration.pk, str(ref_kind)],
            )
            return dict(cursor.fetchall())

    def refs_from_desk(self, kind: str, rows: list[dict]) -> list[dict]:
        """Desk values with their references as the CRM's ids (in place)."""
        for name, ref_kind in REFERENCES.get(kind, {}).items():
            mapping = self._ref_map(
                ref_kind, {r[name] for r in rows if r.get(name)}, from_side=DESK
            )
            for r in rows:
                if r.get(name) is not None:
                    r[name] = mapping.get(r[name])
        return rows

    def refs_to_desk(self, kind: str, changes: dict) -> dict:
        """Values for the desk, their references as the desk's ids."""
        return self.refs_to_desk_many(kind, [changes])[0]

    def refs_to_desk_many(self, kind: str, rows: list[dict]) -> list[dict]:
        """`refs_to_desk` of many rows, in one query per reference (copies)."""
        refs = REFERENCES.get(kind, {})
        if not any(r.get(name) for name in refs for r in rows):
            return rows
        rows = [dict(r) for r in rows]
        for name, ref_kind in refs.items():
            ids = {r[name] for r in rows if r.get(name)}
            mapping = self._ref_map(ref_kind, ids, from_side=CRM)
            for r in rows:
                if r.get(name):
                    r[name] = mapping.get(r[name])
        return rows

    def in_scope(self, kind: str, values: dict) -> bool:
        """A desk product outside the chosen departments is not synced (CRM-06)."""
        if kind != SyncKind.PRODUCT:
            return True
        return values.get("department_id") in (self.integration.product_department_ids or [])

    # Writing -------------------------------------------------------------------------------
    def write(self, side: str, kind: str, pk: int | None, changes: dict) -> int:
        """Apply `changes` to a record of `side` (create it when `pk` is None); its id."""
        if side == CRM:
            return self._write_crm(kind, pk, changes)
        return self._write_desk(kind, pk, changes)

    def _write_crm(self, kind: str, pk: int | None, changes: dict) -> int:
        model = CRM_MODELS[kind]
        if pk is None:
            record = model(org=self.crm_org, **{attname(k): v for k, v in changes.items()})
            record.full_clean()
            record.save()
            return record.pk
        if not changes:
            return pk
        record = model.objects.for_org(self.crm_org).select_for_update().get(pk=pk)
        for name, value in changes.items():
            setattr(record, attname(name), value)
        record.full_clean()
        record.save(update_fields=[*changes, "updated_at"])
        return pk

    def _write_desk(self, kind: str, pk: int | None, changes: dict) -> int:
        model = DESK_MODELS[kind]
        actor = self.actor()
        changes = self.refs_to_desk(kind, changes)
        with self.connector.scope(), desk_services.change_origin(ORIGIN):
            if pk is None:
                record = model(org=self.desk_org, **{attname(k): v for k, v in changes.items()})
                if kind == SyncKind.PRODUCT:
                    ids = self.integration.product_department_ids or []
                    record.department_id = ids[0] if ids else None
            else:
                if not changes:
                    return pk
                record = model.objects.for_org(self.desk_org).select_for_update().get(pk=pk)
                for name, value in changes.items():
                    setattr(record, attname(name), value)
            try:
                if kind == SyncKind.CONTACT:
                    desk_services.contact_save(actor=actor, contact=record)
                elif kind == SyncKind.ACCOUNT:
                    desk_services.account_save(actor=actor, account=record)
                else:
                    desk_services.product_save(actor=actor, product=record)
            except PermissionDenied as exc:
                raise Refused(SyncError.Type.AUTHORISATION, str(exc)) from exc
            return record.pk

    # Logging -------------------------------------------------------------------------------
    def error(self, type_: str, message: str, *, kind: str = "", side: str = "", record_id=None):
        SyncError.objects.create(
            org=self.crm_org,
            integration=self.integration,
            type=type_,
            kind=kind,
            side=side,
            record_id=record_id,
            message=message[:2000],
        )


class _nothing:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def _other(side: str) -> str:
    return DESK if side == CRM else CRM


def _lock(key: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _norm(value: Any) -> str:
    return (value or "").strip().lower() if isinstance(value, str) else ""


# --- Matching (CRM-05) ---------------------------------------------------------------------
def _match_keys(kind: str, values: dict, secondary: bool) -> list[str]:
    if kind == SyncKind.CONTACT:
        emails = [_norm(values.get("email"))]
        if secondary:
            emails.append(_norm(values.get("secondary_email")))
        return sorted({e for e in emails if e})
    if kind == SyncKind.ACCOUNT:
        return [_norm(values.get("name"))]
    return [_norm(values.get("code")) or "name:" + _norm(values.get("name"))]


def _candidates(sides: Sides, side: str, kind: str, values: dict) -> list[tuple[int, bool]]:
    """Records of `side` that `values` (a record of the other side) matches, not linked yet:
    [(id, matched by the secondary email)]."""
    model = (DESK_MODELS if side == DESK else CRM_MODELS)[kind]
    secondary = sides.integration.match_secondary_email
    with sides.scope(side):
        rows = model.objects.for_org(sides.org(side))
        found: dict[int, bool] = {}
        if kind == SyncKind.CONTACT:
            rows = rows.annotate(e1=Lower("email"), e2=Lower("secondary_email"))
            email = _norm(values.get("email"))
            if email:
                for pk in rows.filter(e1=email).values_list("pk", flat=True):
                    found[pk] = False
            if secondary:
                # CRM secondary = desk primary (from either side's point of view).
                if side == DESK:
                    other = _norm(values.get("secondary_email"))
                    hits = rows.filter(e1=other) if other else rows.none()
                else:
                    hits = rows.filter(e2=email) if email else rows.none()
                for pk in hits.values_list("pk", flat=True):
                    found.setdefault(pk, True)
        elif kind == SyncKind.ACCOUNT:
            name = _norm(values.get("name"))
            found = dict.fromkeys(
                rows.filter(name__iexact=name).values_list("pk", flat=True), False
            )
        else:
            code = _norm(values.get("code"))
            hits = (
                rows.filter(code__iexact=code)
                if code
                else rows.filter(code="", name__iexact=_norm(values.get("name")))
            )
            found = dict.fromkeys(hits.values_list("pk", flat=True), False)
    if not found:
        return []
    linked_field = "desk_id" if side == DESK else "crm_id"
    linked = set(
        SyncLink.objects.for_org(sides.crm_org)
        .filter(integration=sides.integration, kind=kind, **{f"{linked_field}__in": list(found)})
        .values_list(linked_field, flat=True)
    )
    return sorted((pk, by2) for pk, by2 in found.items() if pk not in linked)


def _first_values(sides: Sides, kind: str, crm: dict, desk: dict, by_secondary: bool) -> dict:
    """The values a newly matched pair takes: the CRM's where it has one (one-way: always);
    two-way, an empty CRM field takes the desk's value."""
    result = {}
    for name in FIELDS[kind]:
        value = crm.get(name)
        if sides.two_way and value in ("", None) and desk.get(name) not in ("", None):
            value = desk.get(name)
        result[name] = value
    if by_secondary:
        # CRM-05: the desk's primary email is overwritten by the CRM's; the desk's old one is
        # the CRM's secondary email, which maps to the desk's secondary email (kept there).
        result["email"] = crm.get("email")
        result["secondary_email"] = crm.get("secondary_email") or desk.get("email")
    return result


def _link_new(sides: Sides, side: str, kind: str, pk: int, values: dict) -> SyncLink | None:
    """Match a record of `side` without a link to the other side, or create it there, and
    link them. Raises Refused for an ambiguous match."""
    other = _other(side)
    for key in _match_keys(kind, values, sides.integration.match_secondary_email):
        _lock(f"crmsync-match:{sides.integration.pk}:{kind}:{key}")
    id_field = "crm_id" if side == CRM else "desk_id"
    existing = (
        SyncLink.objects.for_org(sides.crm_org)
        .filter(integration=sides.integration, kind=kind, **{id_field: pk})
        .first()
    )
    if existing is not None:
        return existing  # linked meanwhile by another delivery
    found = _candidates(sides, other, kind, values)
    if len(found) > 1:
        raise Refused(
            SyncError.Type.AMBIGUOUS,
            f"{kind} {pk} matches {len(found)} records of the other side: "
            + ", ".join(str(p) for p, _s in found),
        )
    if found:
        other_pk, by_secondary = found[0]
        other_values = sides.values(other, kind, other_pk, lock=True) or {}
        crm_v, desk_v = (values, other_values) if side == CRM else (other_values, values)
        final = _first_values(sides, kind, crm_v, desk_v, by_secondary)
        crm_id = pk if side == CRM else other_pk
        desk_id = other_pk if side == CRM else pk
        sides.write(CRM, kind, crm_id, {k: v for k, v in final.items() if crm_v.get(k) != v})
        sides.write(DESK, kind, desk_id, {k: v for k, v in final.items() if desk_v.get(k) != v})
    else:
        final = {name: values.get(name) for name in FIELDS[kind]}
        new_pk = sides.write(other, kind, None, final)
        crm_id, desk_id = (pk, new_pk) if side == CRM else (new_pk, pk)
    return SyncLink.objects.create(
        org=sides.crm_org,
        integration=sides.integration,
        kind=kind,
        crm_id=crm_id,
        desk_id=desk_id,
        synced=_jsonable(final),
    )


def _jsonable(values: dict) -> dict:
    return {
        k: (str(v) if not isinstance(v, (str, bool, int, type(None))) else v)
        for k, v in values.items()
    }


# --- Applying one change ---------------------------------------------------------------------
def _pending_since(sides: Sides, side: str, kind: str, pk: int, name: str):
    """When `side` last changed field `name` of record `pk` in a row not yet delivered."""
    with sides.scope(side):
        row = (
            OutboxEntry.objects.for_org(sides.org(side))
            .filter(
                integration_id=sides.integration.pk,
                side=side,
                kind=kind,
                record_id=pk,
                delivered_at=None,
                fields__contains=[name],
            )
            .order_by("-changed_at")
            .values_list("changed_at", flat=True)
            .first()
        )
    return row


def apply(sides: Sides, row: OutboxEntry) -> str:
    """Apply one outbox row; its outcome ("applied", "nothing")."""
    side, kind, other = row.side, row.kind, _other(row.side)
    values = sides.values(side, kind, row.record_id, lock=True)
    if values is None:
        return "nothing"  # deleted since: deletions are not synced
    if side == DESK and not sides.in_scope(kind, values):
        return "nothing"
    id_field = "crm_id" if side == CRM else "desk_id"
    link = (
        SyncLink.objects.for_org(sides.crm_org)
        .select_for_update()
        .filter(integration=sides.integration, kind=kind, **{id_field: row.record_id})
        .first()
    )
    if link is None:
        link = _link_new(sides, side, kind, row.record_id, values)
        return "applied"
    other_pk = link.desk_id if side == CRM else link.crm_id
    target = sides.values(other, kind, other_pk, lock=True)
    if target is None:  # the other side's record was deleted: link afresh
        link.delete()
        _link_new(sides, side, kind, row.record_id, values)
        return "applied"
    synced = dict(link.synced)
    to_other: dict[str, Any] = {}
    to_self: dict[str, Any] = {}
    for name in row.fields:
        if name not in FIELDS[kind]:
            continue
        mine, theirs = values.get(name), target.get(name)
        base = synced.get(name, _MISSING)
        if mine == theirs:
            synced[name] = mine
            continue
        if not sides.two_way or base is _MISSING or theirs == base:
            to_other[name] = mine
            synced[name] = mine
            continue
        if mine == base:
            continue  # only the other side changed it: its own row carries it over
        # Changed on both sides since the last sync: the newer change wins (CRM-04).
        their_time = _pending_since(sides, other, kind, other_pk, name)
        if their_time is not None and their_time > row.changed_at:
            to_self[name], synced[name], kept = theirs, theirs, other
        else:
            to_other[name], synced[name], kept = mine, mine, side
        crm_value, desk_value = (mine, theirs) if side == CRM else (theirs, mine)
        SyncConflict.objects.create(
            org=sides.crm_org,
            integration=sides.integration,
            kind=kind,
            crm_id=link.crm_id,
            desk_id=link.desk_id,
            field=name,
            crm_value=_jsonable({"v": crm_value})["v"],
            desk_value=_jsonable({"v": desk_value})["v"],
            kept=kept,
        )
    delay = getattr(settings, "CRMSYNC_APPLY_DELAY_SECONDS", 0)
    if delay:  # tests/crmsync: a worker killed while applying
        time.sleep(delay)
    if to_other:
        sides.write(other, kind, other_pk, to_other)
    if to_self:
        sides.write(side, kind, row.record_id, to_self)
    if synced != link.synced:
        link.synced = _jsonable(synced)
        link.save(update_fields=["synced", "updated_at"])
    return "applied" if to_other or to_self else "nothing"


def deliver_row(sides: Sides, side: str, row_id: int) -> str | None:
    """Deliver one outbox row in one transaction with its writes; None if it was delivered
    already (a redelivery changes nothing)."""
    for attempt in range(3):
        try:
            with transaction.atomic():
                with sides.scope(side):
                    row = (
                        OutboxEntry.objects.for_org(sides.org(side))
                        .select_for_update()
                        .filter(pk=row_id, delivered_at=None)
                        .first()
                    )
                if row is None:
                    return None
                error = ""
                try:
                    with transaction.atomic():
                        outcome = apply(sides, row)
                except Refused as exc:
                    outcome, error = "failed", exc.message
                    sides.error(
                        exc.type, exc.message, kind=row.kind, side=side, record_id=row.record_id
                    )
                except ValidationError as exc:
                    outcome, error = "failed", "; ".join(exc.messages)
                    sides.error(
                        SyncError.Type.VALIDATION,
                        error,
                        kind=row.kind,
                        side=side,
                        record_id=row.record_id,
                    )
                with sides.scope(side):
                    OutboxEntry.objects.for_org(sides.org(side)).filter(pk=row.pk).update(
                        delivered_at=timezone.now(), outcome=outcome, error=error[:2000]
                    )
                return outcome
        except IntegrityError:
            if attempt == 2:
                raise
    return None


def _next_rows(sides: Sides) -> list[tuple[str, int]]:
    """The next undelivered rows of both sides, oldest change first."""
    rows: list[tuple[Any, int, str]] = []
    sources = [CRM, DESK] if sides.two_way else [CRM]
    for side in sources:
        with sides.scope(side):
            found = (
                OutboxEntry.objects.for_org(sides.org(side))
                .filter(integration_id=sides.integration.pk, side=side, delivered_at=None)
                .order_by("changed_at", "id")
                .values_list("changed_at", "id")[:BATCH]
            )
            rows.extend((at, pk, side) for at, pk in found)
    rows.sort()
    return [(side, pk) for _at, pk, side in rows[:BATCH]]


@dataclass
class Delivery:
    delivered: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    stopped: str = ""


def deliver(*, crm_org: Organization, integration_id: int) -> Delivery:
    """Deliver the integration's undelivered outbox rows, in order, while it is enabled.
    One delivery per integration at a time (a session advisory lock; a worker's death
    releases it)."""
    result = Delivery()
    key = f"crmsync-deliver:{integration_id}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(hashtextextended(%s, 0))", [key])
    try:
        while True:
            integration = (
                Integration.objects.for_org(crm_org)
                .select_related("desk_org", "org")
                .filter(pk=integration_id)
                .first()
            )
            if integration is None or integration.state != Integration.State.ENABLED:
                result.stopped = "not enabled"
                break
            problem = integration_problem(integration)
            if problem:
                result.stopped = problem
                last = (
                    SyncError.objects.for_org(crm_org)
                    .filter(integration=integration)
                    .order_by("-pk")
                    .values_list("message", flat=True)
                    .first()
                )
                if last != problem:  # once per spell, not at every sweep
                    Sides(integration).error(SyncError.Type.AUTHORISATION, problem)
                break
            sides = Sides(integration)
            batch = _next_rows(sides)
            if not batch:
                break
            for side, row_id in batch:
                outcome = deliver_row(sides, side, row_id)
                if outcome is not None:
                    result.delivered += 1
                    result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 0))", [key])
    return result


# --- The dry run and the initial sync (CRM-04, CRM-05) ----------------------------------------
def _all_values(sides: Sides, side: str, kind: str) -> list[dict]:
    model = (DESK_MODELS if side == DESK else CRM_MODELS)[kind]
    extra = ("department_id",) if side == DESK and kind == SyncKind.PRODUCT else ()
    with sides.scope(side):
        rows = list(
            model.objects.for_org(sides.org(side))
            .order_by("pk")
            .values("pk", *FIELDS[kind], *extra)
        )
    if side == DESK and kind == SyncKind.PRODUCT:
        rows = [r for r in rows if sides.in_scope(kind, r)]
    if side == DESK:
        sides.refs_from_desk(kind, rows)
    return rows


def _kinds(sides: Sides) -> list[str]:
    kinds: list[str] = [SyncKind.ACCOUNT, SyncKind.CONTACT]
    if sides.integration.product_department_ids:
        kinds.append(SyncKind.PRODUCT)
    return kinds


def dry_run(integration: Integration) -> dict:
    """What the initial sync would do, per kind: matched (already equal), to update, to
    create (on the desk; two-way also in the CRM) and ambiguous, with the ambiguous listed."""
    sides = Sides(integration)
    secondary = integration.match_secondary_email
    counts: dict[str, dict[str, int]] = {}
    ambiguous: list[dict] = []
    for kind in _kinds(sides):
        crm_rows = _all_values(sides, CRM, kind)
        desk_rows = _all_values(sides, DESK, kind)
        index: dict[str, list[int]] = {}
        desk_by_pk = {r["pk"]: r for r in desk_rows}
        for r in desk_rows:
            for key in _match_keys(kind, r, False):
                index.setdefault(key, []).append(r["pk"])
        c = {"matched": 0, "to_update": 0, "to_create": 0, "to_create_crm": 0, "ambiguous": 0}
        pairs: dict[int, list[int]] = {}
        for r in crm_rows:
            hits = list(
                dict.fromkeys(
                    pk for key in _match_keys(kind, r, False) for pk in index.get(key, [])
                )
            )
            if kind == SyncKind.CONTACT and secondary and _norm(r.get("secondary_email")):
                hits += [p for p in index.get(_norm(r["secondary_email"]), []) if p not in hits]
            pairs[r["pk"]] = hits
        claims: dict[int, int] = {}
        for hits in pairs.values():
            if len(hits) == 1:
                claims[hits[0]] = claims.get(hits[0], 0) + 1
        crm_by_pk = {r["pk"]: r for r in crm_rows}
        for crm_pk, hits in pairs.items():
            r = crm_by_pk[crm_pk]
            if len(hits) > 1 or (hits and claims[hits[0]] > 1):
                # one CRM record matching several desk records, or one desk record matched by
                # several CRM records: an admin decides (merge, or change an email)
                c["ambiguous"] += 1
                ambiguous.append(
                    {"kind": kind, "crm_id": crm_pk, "desk_ids": hits, "label": _label(kind, r)}
                )
            elif not hits:
                c["to_create"] += 1
            else:
                desk = desk_by_pk[hits[0]]
                same = all(desk.get(f) == r.get(f) for f in FIELDS[kind])
                c["matched" if same else "to_update"] += 1
        if sides.two_way:
            touched = {pk for hits in pairs.values() for pk in hits}
            c["to_create_crm"] = len(desk_rows) - len(touched)
        counts[kind] = c
    return {"counts": counts, "ambiguous": ambiguous[:500]}


def _label(kind: str, values: dict) -> str:
    if kind == SyncKind.CONTACT:
        name = " ".join(p for p in (values.get("last_name"), values.get("first_name")) if p)
        return f"{name} <{values.get('email') or '-'}>"
    return str(values.get("name") or "")


def initial_sync(run: SyncRun) -> SyncRun:
    """Link or create every record of the CRM on the desk (two-way: and every desk record in
    the CRM), recording progress on `run` (committed every batch, for the progress bar).

    The common cases go in bulk: CRM accounts and contacts that match nothing on the desk are
    written there through `customers.services.records_create_bulk` (checked, with history), a
    batch at a time; pairs already equal are only linked; desk records missing
    from the CRM are created in it with one INSERT per batch. Everything else (values to
    reconcile, secondary-email matches, a batch the importer refused) goes record by record
    through the same path as a delivery; ambiguous records are logged and skipped."""
    integration = run.integration
    sides = Sides(integration)
    kinds = _kinds(sides)
    data = {(side, kind): _all_values(sides, side, kind) for kind in kinds for side in (CRM, DESK)}
    total = sum(len(data[CRM, k]) for k in kinds)
    if sides.two_way:
        total += sum(len(data[DESK, k]) for k in kinds)
    SyncRun.objects.for_org(run.org).filter(pk=run.pk).update(
        state=SyncRun.State.RUNNING, total=total
    )
    progress = _Progress(run, total)
    for kind in kinds:
        _initial_kind(sides, kind, data[CRM, kind], data[DESK, kind], progress)
    if sides.two_way:
        for kind in kinds:
            _initial_from_desk(sides, kind, progress)
    SyncRun.objects.for_org(run.org).filter(pk=run.pk).update(
        state=SyncRun.State.DONE,
        done=total,
        counts=progress.counts,
        finished_at=timezone.now(),
    )
    run.refresh_from_db()
    return run


class _Progress:
    def __init__(self, run: SyncRun, total: int) -> None:
        self.run, self.total, self.done = run, total, 0
        self.counts: dict[str, int] = {}

    def add(self, outcome: str, n: int = 1) -> None:
        if n:
            self.counts[outcome] = self.counts.get(outcome, 0) + n

    def step(self, n: int) -> None:
        self.done += n
        SyncRun.objects.for_org(self.run.org).filter(pk=self.run.pk).update(
            done=min(self.done, self.total), counts=self.counts
        )


IMPORT_BATCH = 5000


def _linked_ids(sides: Sides, kind: str, id_field: str) -> set[int]:
    return set(
        SyncLink.objects.for_org(sides.crm_org)
        .filter(integration=sides.integration, kind=kind)
        .values_list(id_field, flat=True)
    )


def _initial_kind(sides: Sides, kind: str, crm_rows, desk_rows, progress: _Progress) -> None:
    linked = _linked_ids(sides, kind, "crm_id")
    linked_desk = _linked_ids(sides, kind, "desk_id")
    index: dict[str, list[int]] = {}
    for r in desk_rows:
        if r["pk"] in linked_desk:
            continue
        for key in _match_keys(kind, r, False):
            index.setdefault(key, []).append(r["pk"])
    desk_by_pk = {r["pk"]: r for r in desk_rows}
    secondary = sides.integration.match_secondary_email
    equal: list[tuple[dict, int]] = []
    create: list[dict] = []
    one_by_one: list[int] = []
    claims: dict[int, int] = {}
    pending_rows = [r for r in crm_rows if r["pk"] not in linked]
    progress.add("linked", len(crm_rows) - len(pending_rows))
    hits_of: dict[int, list[int]] = {}
    for r in pending_rows:
        hits = list(
            dict.fromkeys(pk for k in _match_keys(kind, r, False) for pk in index.get(k, []))
        )
        by2 = False
        if kind == SyncKind.CONTACT and secondary and _norm(r.get("secondary_email")):
            extra = [p for p in index.get(_norm(r["secondary_email"]), []) if p not in hits]
            by2 = bool(extra)
            hits += extra
        hits_of[r["pk"]] = hits
        if len(hits) == 1:
            claims[hits[0]] = claims.get(hits[0], 0) + 1
        r["_by2"] = by2
    for r in pending_rows:
        hits = hits_of[r["pk"]]
        if len(hits) > 1 or (hits and claims[hits[0]] > 1):
            one_by_one.append(r["pk"])  # logged as ambiguous there
        elif not hits:
            bulkable = kind == SyncKind.ACCOUNT or (
                kind == SyncKind.CONTACT and _norm(r.get("email"))
            )
            if bulkable:
                create.append(r)
            else:
                one_by_one.append(r["pk"])
        elif not r["_by2"] and all(desk_by_pk[hits[0]].get(f) == r.get(f) for f in FIELDS[kind]):
            equal.append((r, hits[0]))
        else:
            one_by_one.append(r["pk"])
    # Equal pairs: links only.
    for start in range(0, len(equal), IMPORT_BATCH):
        pairs = equal[start : start + IMPORT_BATCH]
        _links_bulk(sides, kind, [(r["pk"], desk_pk, r) for r, desk_pk in pairs])
        progress.add("linked", len(pairs))
        progress.step(len(pairs))
    # New on the desk: the customers importer, a batch at a time.
    for start in range(0, len(create), IMPORT_BATCH):
        new = create[start : start + IMPORT_BATCH]
        if _import_batch(sides, kind, new):
            progress.add("synced", len(new))
            progress.step(len(new))
        else:
            one_by_one += [r["pk"] for r in new]
    for start in range(0, len(one_by_one), BATCH):
        ids = one_by_one[start : start + BATCH]
        for pk in ids:
            progress.add(_initial_one(sides, CRM, kind, pk))
        progress.step(len(ids))


def _links_bulk(sides: Sides, kind: str, pairs: list[tuple[int, int, dict]]) -> None:
    """Insert link rows, 20,000 per statement (helpdesk.bulkinsert: bulk_create spends most
    of its time adapting each value); a pair already linked is skipped."""
    for start in range(0, len(pairs), 20_000):
        insert_rows(
            SyncLink,
            [
                {
                    "org_id": sides.crm_org.pk,
                    "integration_id": sides.integration.pk,
                    "kind": str(kind),
                    "crm_id": c,
                    "desk_id": d,
                    "synced": _jsonable({f: values.get(f) for f in FIELDS[kind]}),
                }
                for c, d, values in pairs[start : start + 20_000]
            ],
            with_ids=False,
            ignore_conflicts=True,
        )


def _import_batch(sides: Sides, kind: str, rows: list[dict]) -> bool:
    """Create these CRM records on the desk in bulk (`customers.services.records_create_bulk`:
    checked, with history) and link them; False (nothing written) when it refused a row:
    they go one by one then."""
    actor = sides.actor()
    try:
        with transaction.atomic():
            desk_rows = sides.refs_to_desk_many(kind, rows)
            with sides.connector.scope(), desk_services.change_origin(ORIGIN):
                pks = desk_services.records_create_bulk(actor=actor, kind=kind, rows=desk_rows)
            _links_bulk(sides, kind, [(r["pk"], pk, r) for r, pk in zip(rows, pks, strict=True)])
    except ValidationError:
        return False
    return True


def _initial_from_desk(sides: Sides, kind: str, progress: _Progress) -> None:
    """Two-way: desk records still without a link (nothing in the CRM matched them) are
    created in the CRM, in batches; the CRM's records are this app's own."""
    linked = _linked_ids(sides, kind, "desk_id")
    rows = [r for r in _all_values(sides, DESK, kind) if r["pk"] not in linked]
    # CRM records still unlinked (ambiguous, refused): a desk record matching one of them is
    # decided record by record, the others are new to the CRM.
    crm_linked = _linked_ids(sides, kind, "crm_id")
    secondary = sides.integration.match_secondary_email
    keys = {
        k
        for r in _all_values(sides, CRM, kind)
        if r["pk"] not in crm_linked
        for k in _match_keys(kind, r, secondary)
    }
    model = CRM_MODELS[kind]
    for start in range(0, len(rows), IMPORT_BATCH):
        batch = rows[start : start + IMPORT_BATCH]
        simple = [
            r
            for r in batch
            if kind != SyncKind.PRODUCT and not keys.intersection(_match_keys(kind, r, False))
        ]
        simple_ids = {r["pk"] for r in simple}
        with transaction.atomic():
            made = model.objects.bulk_create(
                [
                    model(org=sides.crm_org, **{attname(f): r.get(f) for f in FIELDS[kind]})
                    for r in simple
                ]
            )
            _links_bulk(
                sides, kind, [(m.pk, r["pk"], r) for m, r in zip(made, simple, strict=True)]
            )
        for r in batch:
            if r["pk"] not in simple_ids:
                progress.add(_initial_one(sides, DESK, kind, r["pk"]))
        progress.add("created_in_crm", len(simple))
        progress.step(len(batch))


def _initial_one(sides: Sides, side: str, kind: str, pk: int) -> str:
    id_field = "crm_id" if side == CRM else "desk_id"
    try:
        with transaction.atomic():
            if (
                SyncLink.objects.for_org(sides.crm_org)
                .filter(integration=sides.integration, kind=kind, **{id_field: pk})
                .exists()
            ):
                return "linked"
            values = sides.values(side, kind, pk, lock=True)
            if values is None:
                return "gone"
            _link_new(sides, side, kind, pk, values)
            return "synced"
    except Refused as exc:
        sides.error(exc.type, exc.message, kind=kind, side=side, record_id=pk)
        return exc.type
    except ValidationError as exc:
        sides.error(
            SyncError.Type.VALIDATION, "; ".join(exc.messages), kind=kind, side=side, record_id=pk
        )
        return "refused"


def resync_record(integration: Integration, kind: str, crm_id: int) -> OutboxEntry:
    """Queue every synced field of one CRM record for delivery again (the health page)."""
    row = OutboxEntry.objects.create(
        org=integration.org,
        integration_id=integration.pk,
        crm_org_id=integration.org_id,
        side=CRM,
        kind=kind,
        record_id=crm_id,
        fields=list(FIELDS[kind]),
        changed_at=timezone.now(),
    )
    return row
