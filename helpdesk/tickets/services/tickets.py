"""Creating and changing tickets (TKT-01, TKT-05, TKT-06 bulk actions)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Value
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import Department, DepartmentAgent, Membership, User

from .. import search
from ..fields import validate_custom_values
from ..html import body_to_html, html_to_text
from ..models import (
    PRIORITY_RANK,
    Channel,
    CustomField,
    Priority,
    StatusKind,
    Thread,
    Ticket,
    TicketStatus,
)
from .access import can, department_ids, ensure_can, ticket_for_member
from .history import diff, history_record

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
        return cursor.fetchone()[0]


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
    errors: dict[str, str] = {}
    allowed = department_ids(actor)
    department = ticket.department
    if department.org_id != org.pk or (allowed is not None and department.pk not in allowed):
        errors["department"] = _("Choose one of your departments.")
    elif not department.is_enabled:
        errors["department"] = _("This department is disabled.")
    if ticket.status_id is None:
        errors["status"] = _("Choose a status.")
    elif ticket.status.org_id != org.pk or ticket.status.department_id != department.pk:
        errors["status"] = _("“%(status)s” is not a status of %(department)s.") % {
            "status": ticket.status,
            "department": department,
        }
    if ticket.contact_id and ticket.contact.org_id != org.pk:
        errors["contact"] = _("Choose a contact of this organization.")
    if ticket.account_id and ticket.account.org_id != org.pk:
        errors["account"] = _("Choose an account of this organization.")
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


def _apply(ticket: Ticket, data: dict[str, Any]) -> None:
    for name in TRACKED:
        if name in data:
            value = data[name]
            if name == "description":
                value = body_to_html(value)
            elif name == "subject":
                value = (value or "").strip()
            setattr(ticket, name, value)


def _sync_derived(ticket: Ticket, previous_kind: str | None) -> None:
    ticket.status_kind = ticket.status.kind
    ticket.priority_rank = PRIORITY_RANK.get(ticket.priority, 1)
    if ticket.status_kind == StatusKind.CLOSED and previous_kind != StatusKind.CLOSED:
        ticket.closed_at = timezone.now()
    elif ticket.status_kind != StatusKind.CLOSED:
        ticket.closed_at = None


def _custom_fields(
    ticket: Ticket, values: dict[str, Any] | None, *, partial: bool
) -> dict[str, Any]:
    fields = CustomField.objects.for_org(ticket.org_id).filter(department=ticket.department_id)
    if values is None:
        values = {}
    cleaned = validate_custom_values(fields, values, partial=partial)
    if not partial:
        return cleaned
    merged = dict(ticket.custom_fields or {})
    merged.update(cleaned)
    return merged


def default_status(department: Department) -> TicketStatus | None:
    statuses = TicketStatus.objects.for_org(department.org_id).filter(department=department)
    return statuses.filter(is_default=True).first() or statuses.filter(kind=StatusKind.OPEN).first()


@transaction.atomic
def ticket_create(*, actor: Membership, data: dict[str, Any], ip: str | None = None) -> Ticket:
    """A new ticket with the next number. `data` holds model fields (objects for relations)
    and `custom_fields` (a dict by key). All or nothing."""
    ensure_can(actor, "create")
    department = data.get("department")
    if department is None:
        raise ValidationError({"department": _("Choose a department.")})
    ticket = Ticket(
        org_id=actor.org.pk, created_by=actor.user, channel=data.get("channel") or Channel.WEB
    )
    ticket.org = actor.org
    _apply(ticket, {"priority": Priority.MEDIUM, **data})
    if ticket.status_id is None:
        ticket.status = default_status(department)
    if ticket.contact_id and not ticket.account_id and ticket.contact.account_id:
        ticket.account_id = ticket.contact.account_id
    _check_relations(actor=actor, ticket=ticket, old_owner_id=None, department_changed=True)
    errors: dict[str, Any] = {}
    try:
        ticket.custom_fields = _custom_fields(ticket, data.get("custom_fields"), partial=False)
    except ValidationError as exc:
        errors.update({f"cf_{k}": v for k, v in exc.message_dict.items()})
    if not ticket.subject:
        errors["subject"] = [_("Enter a subject.")]
    if errors:
        raise ValidationError(errors)
    _sync_derived(ticket, None)
    ticket.number = next_ticket_number(actor.org.pk)
    ticket.full_clean(exclude=["org", "search_vector", "custom_fields"])
    ticket.save()
    history_record(
        ticket=ticket,
        actor=actor.user,
        ip=ip,
        action="created",
        changes=diff({}, _snapshot(ticket)),
    )
    search_index_update(ticket)
    return ticket


@transaction.atomic
def ticket_update(
    *,
    actor: Membership,
    ticket: Ticket,
    data: dict[str, Any],
    ip: str | None = None,
    action: str = "updated",
) -> dict[str, list[Any]]:
    """Change some fields of a ticket; returns the per-field changes written to history."""
    ensure_can(actor, "edit")
    ticket = ticket_for_member(actor, ticket.number, for_update=True)
    ticket.org = actor.org
    before = _snapshot(ticket)
    old_owner_id, old_kind = ticket.owner_id, ticket.status_kind
    _apply(ticket, data)
    if (
        "department" in data
        and "status" not in data
        and ticket.status.department_id != ticket.department_id
    ):
        ticket.status = default_status(ticket.department)
    department_changed = before["department"] != ticket.department
    _check_relations(
        actor=actor,
        ticket=ticket,
        old_owner_id=old_owner_id,
        department_changed=department_changed,
    )
    if "custom_fields" in data or department_changed:
        # A new department brings its own fields: only the values given for them are kept,
        # and its required fields must be given.
        try:
            ticket.custom_fields = _custom_fields(
                ticket, data.get("custom_fields", {}), partial=not department_changed
            )
        except ValidationError as exc:
            raise ValidationError({f"cf_{k}": v for k, v in exc.message_dict.items()}) from exc
    if "subject" in data and not ticket.subject:
        raise ValidationError({"subject": _("Enter a subject.")})
    _sync_derived(ticket, old_kind)
    ticket.full_clean(exclude=["org", "search_vector", "custom_fields"])
    after = _snapshot(ticket)
    for key in before:
        after.setdefault(key, None)
    changes = diff(before, after)
    if not changes:
        return {}
    ticket.save()
    history_record(ticket=ticket, actor=actor.user, ip=ip, action=action, changes=changes)
    if "subject" in changes or "description" in changes:
        search_index_update(ticket)
    return changes


@dataclass
class BulkResult:
    changed: list[int] = field(default_factory=list)
    unchanged: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)


BULK_ACTIONS = ("assign", "status", "close")


def tickets_bulk_update(
    *, actor: Membership, numbers: list[int], action: str, value: Any = None, ip: str | None = None
) -> BulkResult:
    """Apply one change to many tickets; each ticket succeeds or fails on its own and the
    result says which (TKT-06)."""
    ensure_can(actor, "bulk")
    if action not in BULK_ACTIONS:
        raise ValidationError(_("Choose a bulk action."))
    if action == "assign":
        ensure_can(actor, "assign")
    result = BulkResult()
    for number in sorted(set(numbers))[:500]:
        try:
            ticket = ticket_for_member(actor, number)
            data = _bulk_data(actor, ticket, action, value)
            changes = ticket_update(
                actor=actor, ticket=ticket, data=data, ip=ip, action=f"bulk_{action}"
            )
        except (ValidationError, PermissionDenied) as exc:
            message = " ".join(getattr(exc, "messages", None) or [str(exc)])
            result.failed.append((number, message))
        except Exception as exc:  # noqa: BLE001 - a 404 is "not yours": report, go on
            if exc.__class__.__name__ != "Http404":
                raise
            result.failed.append((number, _("Not found.")))
        else:
            (result.changed if changes else result.unchanged).append(number)
    return result


def _bulk_data(actor: Membership, ticket: Ticket, action: str, value: Any) -> dict[str, Any]:
    if action == "assign":
        if value in (None, ""):
            return {"owner": None}
        owner = User.objects.filter(pk=value).first()
        if owner is None:
            raise ValidationError(_("Choose an agent."))
        return {"owner": owner}
    statuses = TicketStatus.objects.for_org(actor.org).filter(department=ticket.department_id)
    if action == "close":
        closed = statuses.filter(kind=StatusKind.CLOSED).first()
        if closed is None:
            raise ValidationError(
                _("%(department)s has no closed status.") % {"department": ticket.department}
            )
        return {"status": closed}
    # action == "status": a status *name*, since departments have their own status rows.
    status = statuses.filter(name__iexact=str(value or "")).first()
    if status is None:
        raise ValidationError(
            _("%(department)s has no status “%(status)s”.")
            % {"department": ticket.department, "status": value}
        )
    return {"status": status}
