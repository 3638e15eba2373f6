"""Creating and changing tickets (TKT-01, TKT-05, TKT-06 bulk actions).

Services take what travels as a typed, frozen `TicketInput`, trust the objects they are
given (no second read: a caller that needs the row locked reads it with `for_update`), and
refuse any object of another organization (`ensure_same_org`). A ticket's contact is found
or created by email through the customers service, the one way every channel does it."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Account, Contact
from customers.services import contact_get_or_create_by_email, contacts_lock
from helpdesk.compiledreads import CompiledRead
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Department, DepartmentAgent, Membership, User

from .. import pipeline, search
from ..fields import validate_custom_values
from ..helpcenter.ratings import rating_request
from ..html import TEXT, BodyFormat, body_to_html, html_to_text
from ..models import (
    PRIORITY_RANK,
    Channel,
    CustomField,
    Priority,
    StatusKind,
    Thread,
    Ticket,
    TicketHistory,
    TicketStatus,
)
from .access import (
    OWN,
    can,
    department_ids,
    ensure_can,
    ensure_ticket_can,
    ticket_access,
    visible_tickets,
)
from .followers import followers_notify, followers_read_ahead
from .history import diff, history_record
from .layouts import statuses_for
from .owners import owner_notify

TRACKED = [
    "subject",
    "description",
    "department",
    "status",
    "priority",
    "channel",
    "contact",
    "account",
    "owner",
    "due_at",
]
# Checked by `_check_relations` and `ensure_same_org`, so `full_clean` need not query them.
RELATIONS = ["department", "status", "contact", "account", "owner", "created_by"]


class _Unset(enum.Enum):
    UNSET = "unset"


UNSET = _Unset.UNSET


@dataclass(frozen=True, kw_only=True)
class TicketInput:
    """The fields a caller sets on a ticket. On update, a field left UNSET stays as it is.

    `contact_email` finds or creates the contact through the customers service (a blank one
    clears the contact); give it or `contact`, not both. `custom_fields` holds raw values by
    key, checked by the department's field definitions. `description` is plain text, stored
    escaped, unless `description_format` is HTML from the rich-text editor (TKT-02)."""

    subject: str | _Unset = UNSET
    description: str | _Unset = UNSET
    description_format: BodyFormat = TEXT
    department: Department | _Unset = UNSET
    status: TicketStatus | None | _Unset = UNSET
    priority: str | _Unset = UNSET
    channel: str | _Unset = UNSET
    contact: Contact | None | _Unset = UNSET
    contact_email: str | _Unset = UNSET
    contact_name: str = ""
    account: Account | None | _Unset = UNSET
    owner: User | None | _Unset = UNSET
    due_at: dt.datetime | None | _Unset = UNSET
    custom_fields: Mapping[str, Any] | _Unset = UNSET

    def given(self) -> dict[str, Any]:
        """The fields set, by name (`contact_email` and `contact_name` left out)."""
        return {
            f.name: value
            for f in fields(self)
            if f.name not in ("contact_email", "contact_name", "description_format")
            and (value := getattr(self, f.name)) is not UNSET
        }


def next_ticket_number(org_id: int) -> int:
    """The organization's next ticket number. The counter row stays locked until the caller's
    transaction ends, so concurrent creations get distinct, gapless numbers."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO tickets_ticketcounter (org_id, last_number) VALUES (%s, 1) "
            "ON CONFLICT (org_id) DO UPDATE "
            "SET last_number = tickets_ticketcounter.last_number + 1 RETURNING last_number",
            [org_id],
        )
        row = cursor.fetchone()
    assert row is not None  # RETURNING always gives the row
    return int(row[0])


def search_index_update(ticket: Ticket) -> None:
    """Rebuild the ticket's search document from its subject, description and thread."""
    bodies = (
        Thread.objects.for_org(ticket.org_id).filter(ticket=ticket).values_list("body", flat=True)
    )
    doc = search.document(
        ticket.subject, html_to_text(ticket.description), *(html_to_text(b) for b in bodies)
    )
    Ticket.objects.for_org(ticket.org_id).filter(pk=ticket.pk).update(
        search_vector=SearchVector(Value(doc), config="simple")
    )


def _snapshot(ticket: Ticket) -> dict[str, Any]:
    values = {name: getattr(ticket, name) for name in TRACKED}
    # History keeps readable text of the description, not its markup.
    values["description"] = html_to_text(ticket.description)[:1000]
    values.update({f"cf.{k}": v for k, v in (ticket.custom_fields or {}).items()})
    return values


def _check_relations(
    *, actor: Membership, ticket: Ticket, old_owner_id: int | None, department_changed: bool
) -> None:
    """Every related record belongs to the organization and fits the department."""
    org = actor.org
    status = ticket.status if ticket.status_id is not None else None
    ensure_same_org(org, ticket.department, status, ticket.contact, ticket.account)
    errors: dict[str, str] = {}
    allowed = department_ids(actor)
    department = ticket.department
    # Only a new department must be one of the actor's: a full share lets another
    # department's agents edit the ticket where it is (TKT-04).
    if department_changed and allowed is not None and department.pk not in allowed:
        errors["department"] = _("Choose one of your departments.")
    elif not department.is_enabled:
        errors["department"] = _("This department is disabled.")
    if status is None:
        errors["status"] = _("Choose a status.")
    elif status.department_id != department.pk:
        errors["status"] = _("“%(status)s” is not a status of %(department)s.") % {
            "status": status,
            "department": department,
        }
    if ticket.priority not in Priority.values:
        errors["priority"] = _("Choose a priority.")
    if ticket.channel not in Channel.values:
        errors["channel"] = _("Choose a channel.")
    owner_changed = ticket.owner_id != old_owner_id
    if ticket.owner_id is not None and (owner_changed or department_changed):
        # Also when the ticket moves: its owner must work in the new department.
        is_agent = (
            DepartmentAgent.objects.for_org(org)
            .filter(department=department, user_id=ticket.owner_id)
            .exists()
        )
        is_member = (
            Membership.objects.for_org(org)
            .filter(user_id=ticket.owner_id, status=Membership.Status.ACTIVE)
            .exists()
        )
        if not (is_agent and is_member):
            errors["owner"] = _("The owner must be an active agent of %(department)s.") % {
                "department": department
            }
    # Agents may take a ticket or let go of their own; assigning others is for admins.
    taking = ticket.owner_id == actor.user_id
    letting_go = ticket.owner_id is None and old_owner_id == actor.user_id
    if owner_changed and not (taking or letting_go) and not can(actor, "assign"):
        raise PermissionDenied(_("Only Desk administrators can assign tickets to others."))
    if errors:
        raise ValidationError(errors)


def _resolve_contact(actor: Membership, data: TicketInput) -> dict[str, Any]:
    """`data`'s fields by name, with `contact_email` turned into the contact."""
    values = data.given()
    if data.contact_email is not UNSET:
        if "contact" in values:
            raise ValueError("Give contact or contact_email, not both.")
        email = data.contact_email.strip()
        values["contact"] = (
            contact_get_or_create_by_email(org=actor.org, email=email, name=data.contact_name)[0]
            if email
            else None
        )
    return values


def _apply(
    ticket: Ticket, values: Mapping[str, Any], description_format: BodyFormat = TEXT
) -> None:
    for name in TRACKED:
        if name in values:
            value = values[name]
            if name == "description":
                value = body_to_html(value, description_format)
            elif name == "subject":
                value = (value or "").strip()
            setattr(ticket, name, value)


def _sync_derived(ticket: Ticket, previous_kind: str | None) -> None:
    ticket.status_kind = ticket.status.kind
    ticket.priority_rank = PRIORITY_RANK.get(Priority(ticket.priority), 1)
    if ticket.status_kind == StatusKind.CLOSED and previous_kind != StatusKind.CLOSED:
        ticket.closed_at = timezone.now()
    elif ticket.status_kind != StatusKind.CLOSED:
        ticket.closed_at = None


def _custom_fields(
    ticket: Ticket, values: Mapping[str, Any] | None, *, partial: bool
) -> dict[str, Any]:
    if partial and not values:
        # Nothing given and nothing required of a partial update: the values stay as they
        # are, without reading the definitions (every ticket a customer opens by mail).
        return dict(ticket.custom_fields or {})
    definitions = CustomField.objects.for_org(ticket.org).filter(department=ticket.department_id)
    cleaned = validate_custom_values(definitions, dict(values or {}), partial=partial)
    if not partial:
        return cleaned
    merged = dict(ticket.custom_fields or {})
    merged.update(cleaned)
    return merged


# Every new ticket reads its department's statuses (incoming mail makes many): compiled once.
_DEPARTMENT_STATUSES: CompiledRead[TicketStatus] = CompiledRead(
    lambda org_id, department_id: TicketStatus.objects.for_org(org_id).filter(
        department_id=department_id
    )
)


def default_status(department: Department) -> TicketStatus | None:
    """The department's default status (its layout is created on first use). One query for a
    department with its layout: every new ticket asks (incoming mail makes many)."""
    statuses = _DEPARTMENT_STATUSES.all(org_id=department.org_id, department_id=department.pk)
    if not statuses:
        statuses = list(statuses_for(department))
    return next((s for s in statuses if s.is_default), None) or next(
        (s for s in statuses if s.kind == StatusKind.OPEN), None
    )


def _set_default_status(ticket: Ticket) -> None:
    status = default_status(ticket.department)
    if status is None:  # a layout keeps its default status: only a damaged one gets here
        raise ValidationError({"status": _("Choose a status.")})
    ticket.status = status


def _full_clean(ticket: Ticket) -> None:
    ticket.full_clean(exclude=["org", "search_vector", "custom_fields", *RELATIONS])


@transaction.atomic
def ticket_create(*, actor: Membership, data: TicketInput, ip: str | None = None) -> Ticket:
    """A new ticket with the next number. All or nothing."""
    ensure_can(actor, "create")
    values = _resolve_contact(actor, data)
    department = values.get("department")
    if department is None:
        raise ValidationError({"department": _("Choose a department.")})
    ensure_same_org(actor.org, department)
    ticket = Ticket(
        org=actor.org,
        created_by=actor.user,
        channel=values.get("channel") or Channel.WEB,
        priority=Priority.MEDIUM,
    )
    _apply(ticket, values, data.description_format)
    if ticket.status_id is None:
        _set_default_status(ticket)
    if ticket.contact is not None and not ticket.account_id and ticket.contact.account_id:
        ticket.account_id = ticket.contact.account_id
    _check_relations(actor=actor, ticket=ticket, old_owner_id=None, department_changed=True)
    errors: dict[str, Any] = {}
    try:
        ticket.custom_fields = _custom_fields(ticket, values.get("custom_fields"), partial=False)
    except ValidationError as exc:
        errors.update({f"cf_{k}": v for k, v in exc.message_dict.items()})
    if not ticket.subject:
        errors["subject"] = [_("Enter a subject.")]
    if errors:
        raise ValidationError(errors)
    _sync_derived(ticket, None)
    ticket.number = next_ticket_number(actor.org.pk)
    _full_clean(ticket)
    ticket.save()
    created = diff({}, _snapshot(ticket))
    history_record(ticket=ticket, actor=actor.user, ip=ip, action="created", changes=created)
    search_index_update(ticket)
    # Assignment, workflow, SLA, round robin, blueprints (TKT-09), in this transaction.
    pipeline.run(ticket, event="create", changes=created, actor=actor)
    owner_notify(ticket=ticket, event="assigned", actor=actor.user)
    return ticket


@transaction.atomic
def ticket_update(
    *,
    actor: Membership,
    ticket: Ticket,
    data: TicketInput,
    ip: str | None = None,
) -> dict[str, list[Any]]:
    """Change the fields `data` sets; returns the per-field changes written to history.

    `ticket` is used as given (read by the caller, with `for_update` to serialise editors);
    only the fields that changed are written, so a concurrent change of others is kept."""
    # The role, and the share's level on another department's ticket (TKT-04).
    ensure_ticket_can(actor, ticket, "edit")
    moving = data.department is not UNSET and data.department.pk != ticket.department_id
    if moving and ticket_access(actor, ticket) != OWN:
        raise PermissionDenied(
            _("Only agents of the ticket's own department may move it to another department.")
        )
    return _ticket_change(
        actor=actor,
        ticket=ticket,
        values=_resolve_contact(actor, data),
        ip=ip,
        action="updated",
        description_format=data.description_format,
    )


def ticket_process_change(
    *,
    actor: Membership,
    ticket: Ticket,
    values: Mapping[str, Any],
    action: str,
    ip: str | None,
    also: Mapping[str, list[Any]] | None = None,
) -> dict[str, list[Any]]:
    """A change a process makes as `actor` (a blueprint transition moving the status and
    writing its fields): the caller decided the actor may run it (BP-22: a transition's owner
    may lack access to the ticket), so the role and share checks of `ticket_update` are not
    made; the field checks, history and pipeline are the same. Inside the caller's
    transaction, with the ticket row locked by it. `also`: entries the process adds to the
    change's history row (the transition's name), so one row tells the whole step."""
    return _ticket_change(
        actor=actor, ticket=ticket, values=values, ip=ip, action=action, also=also
    )


def _ticket_change(
    *,
    actor: Membership,
    ticket: Ticket,
    values: Mapping[str, Any],
    ip: str | None,
    action: str,
    description_format: BodyFormat = TEXT,
    also: Mapping[str, list[Any]] | None = None,
) -> dict[str, list[Any]]:
    ticket.org = actor.org
    before = _snapshot(ticket)
    old_owner_id, old_kind = ticket.owner_id, ticket.status_kind
    old_department_id = ticket.department_id
    _apply(ticket, values, description_format)
    if (
        "department" in values
        and "status" not in values
        and ticket.status.department_id != ticket.department_id
    ):
        _set_default_status(ticket)
    department_changed = ticket.department_id != old_department_id
    _check_relations(
        actor=actor,
        ticket=ticket,
        old_owner_id=old_owner_id,
        department_changed=department_changed,
    )
    if "custom_fields" in values or department_changed:
        # A new department brings its own fields: only the values given for them are kept,
        # and its required fields must be given.
        try:
            ticket.custom_fields = _custom_fields(
                ticket, values.get("custom_fields", {}), partial=not department_changed
            )
        except ValidationError as exc:
            raise ValidationError({f"cf_{k}": v for k, v in exc.message_dict.items()}) from exc
    if "subject" in values and not ticket.subject:
        raise ValidationError({"subject": _("Enter a subject.")})
    _sync_derived(ticket, old_kind)
    _full_clean(ticket)
    after = _snapshot(ticket)
    for key in before:
        after.setdefault(key, None)
    changes = diff(before, after)
    if not changes:
        return {}
    # What the input set (and what follows from it); other fields stay as stored, so a
    # concurrent change of them is not overwritten with this object's older values.
    written = {name for name in TRACKED if name in values}
    if department_changed:
        written |= {"status", "custom_fields"}
    if "custom_fields" in values:
        written.add("custom_fields")
    # Every change is activity: the list sorts by it (TKT-06).
    ticket.last_activity_at = timezone.now()
    written |= {"status_kind", "priority_rank", "closed_at", "updated_at", "last_activity_at"}
    ticket.save(update_fields=sorted(written))
    row = history_record(
        ticket=ticket, actor=actor.user, ip=ip, action=action, changes={**changes, **(also or {})}
    )
    if "owner" in changes:  # the new owner hears of it (My profile's mail events)
        owner_notify(ticket=ticket, event="assigned", actor=actor.user)
    if "status" in changes:  # followers hear of status changes (TKT-01)
        followers_notify(ticket=ticket, actor=actor.user, event="status", history=row)
    if ticket.status_kind == StatusKind.CLOSED and old_kind != StatusKind.CLOSED:
        rating_request(ticket)  # the contact is asked to rate the answer (TKT-04)
    if "subject" in changes or "description" in changes:
        search_index_update(ticket)
    pipeline.run(ticket, event="update", changes=changes, actor=actor)  # TKT-09
    return changes


@transaction.atomic
def tickets_contact_replace(
    *, actor: Membership, sources: Sequence[Contact], target: Contact, ip: str | None = None
) -> int:
    """Move the tickets and incoming messages of `sources` to `target`, a history row per
    ticket: the tickets' half of merging duplicate contacts (CUS-01), called before
    `customers.services.contacts_merge` in the same transaction. Returns how many tickets
    moved."""
    ensure_can(actor, "edit")
    org = actor.org
    contacts_lock(org=org, contacts=[target, *sources])
    ids = [c.pk for c in sources if c.pk != target.pk]
    names = {c.pk: str(c) for c in sources}
    tickets = Ticket.objects.for_org(org).filter(contact_id__in=ids).only("pk", "contact_id")
    moved = TicketHistory.objects.bulk_create(
        TicketHistory(
            org=org,
            ticket=ticket,
            actor=actor.user,
            ip_address=ip or None,
            action="contact_merged",
            changes={"contact": [names[ticket.contact_id], str(target)]},
        )
        for ticket in tickets
    )
    Ticket.objects.for_org(org).filter(contact_id__in=ids).update(
        contact=target, updated_at=timezone.now(), last_activity_at=timezone.now()
    )
    Thread.objects.for_org(org).filter(contact_id__in=ids).update(contact=target)
    return len(moved)


@dataclass
class BulkResult:
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


BULK_ACTIONS = ("assign", "status", "close")
BULK_LIMIT = 500


@transaction.atomic
@pipeline.batched  # the rules are read once for all the tickets (TKT-09)
def tickets_bulk_update(
    *,
    actor: Membership,
    numbers: Iterable[int],
    action: str,
    value: str | int | None = None,
    ip: str | None = None,
) -> BulkResult:
    """Apply one change to many tickets (TKT-06); each ticket succeeds or fails on its own
    (a savepoint each) and the result says which. The tickets are locked and read once, in
    one query, with what their history needs."""
    ensure_can(actor, "bulk")
    if action not in BULK_ACTIONS:
        raise ValidationError(_("Choose a bulk action."))
    if action == "assign":
        ensure_can(actor, "assign")
    org = actor.org
    wanted = sorted(set(numbers))[:BULK_LIMIT]
    tickets = {
        t.number: t
        for t in visible_tickets(actor)
        .filter(number__in=wanted)
        .select_related("department", "status", "contact", "account", "owner")
        .defer("search_vector")
        .select_for_update(of=("self",))
        .order_by("pk")
    }
    statuses: dict[int, list[TicketStatus]] = {}
    for status in TicketStatus.objects.for_org(org).filter(
        department__in={t.department_id for t in tickets.values()}
    ):
        statuses.setdefault(status.department_id, []).append(status)
    owner = _bulk_owner(actor=actor, value=value) if action == "assign" else None
    result = BulkResult()
    with followers_read_ahead(org_id=org.pk, ticket_ids=[t.pk for t in tickets.values()]):
        for number in wanted:
            _bulk_one(
                actor, tickets.get(number), number, action, value, owner, statuses, ip, result
            )
    return result


def _bulk_one(
    actor: Membership,
    ticket: Ticket | None,
    number: int,
    action: str,
    value: str | int | None,
    owner: User | None,
    statuses: dict[int, list[TicketStatus]],
    ip: str | None,
    result: BulkResult,
) -> None:
    """One ticket of a bulk change, in its own savepoint; the result says how it went."""
    if ticket is None:
        result.failed.append((number, _("Not found.")))
        return
    try:
        with transaction.atomic():
            values = _bulk_values(
                ticket, action, value, owner, statuses.get(ticket.department_id, [])
            )
            changes = _ticket_change(
                actor=actor, ticket=ticket, values=values, ip=ip, action=f"bulk_{action}"
            )
    except (ValidationError, PermissionDenied) as exc:
        message = " ".join(getattr(exc, "messages", None) or [str(exc)])
        result.failed.append((number, message))
    else:
        (result.changed if changes else result.unchanged).append(number)


def _bulk_owner(*, actor: Membership, value: str | int | None) -> User | None:
    """The agent to assign (None: unassign); a member of the organization, read once."""
    if value in (None, ""):
        return None
    try:
        pk = int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        pk = 0
    owner = User.objects.filter(
        pk=pk, memberships__in=Membership.objects.for_org(actor.org)
    ).first()
    if owner is None:
        raise ValidationError(_("Choose an agent."))
    return owner


def _bulk_values(
    ticket: Ticket,
    action: str,
    value: str | int | None,
    owner: User | None,
    statuses: list[TicketStatus],
) -> dict[str, Any]:
    if action == "assign":
        return {"owner": owner}
    if action == "close":
        closed = next((s for s in statuses if s.kind == StatusKind.CLOSED), None)
        if closed is None:
            raise ValidationError(
                _("%(department)s has no closed status.") % {"department": ticket.department}
            )
        return {"status": closed}
    # action == "status": a status *name*, since departments have their own status rows.
    name = str(value or "").lower()
    status = next((s for s in statuses if s.name.lower() == name), None)
    if status is None:
        raise ValidationError(
            _("%(department)s has no status “%(status)s”.")
            % {"department": ticket.department, "status": value}
        )
    return {"status": status}


@transaction.atomic
def ticket_delete(*, actor: Membership, ticket: Ticket) -> None:
    """Delete the ticket with everything that hangs on it: its thread, attachments (their
    files once the deletion is committed), history, tags, followers and the rows of the apps
    above (all cascade). Asked from the CRM (CRM-11); refused unless the actor may edit the
    ticket in its own department (a share's rights do not reach deletion)."""
    from ..models import Attachment

    ensure_ticket_can(actor, ticket, "edit")
    if ticket_access(actor, ticket) != OWN:
        raise PermissionDenied(_("Only agents of the ticket's own department may delete it."))
    org = actor.org
    Ticket.objects.for_org(org).filter(pk=ticket.pk).select_for_update().values_list("pk").first()
    files = list(
        Attachment.objects.for_org(org).filter(ticket=ticket).values_list("file", flat=True)
    )
    Ticket.objects.for_org(org).filter(pk=ticket.pk).delete()
    storage = Attachment._meta.get_field("file").storage

    def _delete_files() -> None:
        for name in files:
            if name:
                storage.delete(name)

    transaction.on_commit(_delete_files)
