"""Department layouts: statuses and custom fields (DEP-02).

A department's layout is made on its first use (`statuses_for`), not when tenancy creates
the department: tenancy sits below tickets and never calls up into it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Max, ProtectedError, QuerySet
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Department, Membership

from ..models import CustomField, FieldType, StatusKind, Ticket, TicketStatus
from .access import ensure_can

# Created with every department's layout; names are stored in the language active when the
# layout is made (its first use) and can be renamed freely.
DEFAULT_STATUSES = [
    (gettext_noop("Open"), StatusKind.OPEN, True),
    (gettext_noop("On Hold"), StatusKind.ON_HOLD, False),
    (gettext_noop("Escalated"), StatusKind.OPEN, False),
    (gettext_noop("Closed"), StatusKind.CLOSED, False),
]


@transaction.atomic
def layout_create_defaults(*, department: Department) -> list[TicketStatus]:
    """The default statuses of a department that has none yet; [] when it has some.

    Race-safe: an advisory lock on the department, held until the transaction ends, lets
    one of two concurrent first uses create them while the other waits and then finds them.
    A department always keeps a status once it has one (the default cannot be deleted)."""
    statuses = TicketStatus.objects.for_org(department.org_id).filter(department=department)
    if statuses.exists():
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [f"layout:{department.org_id}:{department.pk}"],
        )
    if statuses.exists():
        return []
    return TicketStatus.objects.bulk_create(
        TicketStatus(
            org_id=department.org_id,
            department=department,
            name=_(name),
            kind=kind,
            order=index,
            is_default=default,
        )
        for index, (name, kind, default) in enumerate(DEFAULT_STATUSES)
    )


def statuses_for(department: Department) -> QuerySet[TicketStatus]:
    """The statuses of `department`'s layout, in order; made on first use."""
    statuses = TicketStatus.objects.for_org(department.org_id).filter(department=department)
    if not statuses.exists():
        layout_create_defaults(department=department)
    return statuses.all()


@transaction.atomic
def status_save(*, actor: Membership, status: TicketStatus) -> TicketStatus:
    ensure_can(actor, "configure")
    org = actor.org
    ensure_same_org(org, status.department, status if status.pk else None)
    status.org = org
    status.name = status.name.strip()
    status.full_clean(exclude=["org", "department"])
    clash = TicketStatus.objects.for_org(org).filter(
        department=status.department, name__iexact=status.name
    )
    if status.pk:
        clash = clash.exclude(pk=status.pk)
    if clash.exists():
        raise ValidationError(
            {
                "name": _("This department already has a status named “%(name)s”.")
                % {"name": status.name}
            }
        )
    if status.pk is None:
        top = (
            TicketStatus.objects.for_org(org)
            .filter(department=status.department)
            .aggregate(m=Max("order"))["m"]
        )
        status.order = 0 if top is None else top + 1
    else:
        previous = TicketStatus.objects.for_org(org).get(pk=status.pk)
        if previous.is_default and not status.is_default:
            raise ValidationError(
                {
                    "is_default": _(
                        "A department needs a default status: make another status the default "
                        "instead."
                    )
                }
            )
        if previous.kind != status.kind:
            # Tickets keep their kind in step with their status.
            Ticket.objects.for_org(org).filter(status=status).update(status_kind=status.kind)
    if status.is_default:
        TicketStatus.objects.for_org(org).filter(department=status.department).exclude(
            pk=status.pk
        ).update(is_default=False)
    status.save()
    return status


@transaction.atomic
def status_delete(*, actor: Membership, status: TicketStatus) -> None:
    ensure_can(actor, "configure")
    ensure_same_org(actor.org, status)
    if status.is_default:
        raise ValidationError(_("The default status cannot be deleted."))
    try:
        with transaction.atomic():
            status.delete()
    except ProtectedError as exc:
        raise ValidationError(
            _("“%(name)s” is used by tickets. Move them to another status first.")
            % {"name": status.name}
        ) from exc


def _reorder(items: dict, ids: list[int], message: str) -> list:
    if set(ids) != set(items) or len(ids) != len(items):
        raise ValidationError(message)
    for index, pk in enumerate(ids):
        items[pk].order = index
    return list(items.values())


@transaction.atomic
def statuses_reorder(*, actor: Membership, department: Department, ids: list[int]) -> None:
    ensure_can(actor, "configure")
    ensure_same_org(actor.org, department)
    statuses = {
        s.pk: s for s in TicketStatus.objects.for_org(actor.org).filter(department=department)
    }
    TicketStatus.objects.bulk_update(
        _reorder(statuses, ids, _("The order must list every status of the department once.")),
        ["order"],
    )


@transaction.atomic
def custom_fields_reorder(*, actor: Membership, department: Department, ids: list[int]) -> None:
    ensure_can(actor, "configure")
    ensure_same_org(actor.org, department)
    fields = {f.pk: f for f in CustomField.objects.for_org(actor.org).filter(department=department)}
    CustomField.objects.bulk_update(
        _reorder(fields, ids, _("The order must list every field of the department once.")),
        ["order"],
    )


def _clean_choices(field: CustomField) -> None:
    if field.type == FieldType.PICKLIST:
        values = [str(v).strip() for v in field.choices or [] if str(v).strip()]
        if not values:
            raise ValidationError({"choices": _("Give the pick list at least one value.")})
        if len({v.lower() for v in values}) != len(values):
            raise ValidationError({"choices": _("Pick list values must be different.")})
        field.choices = values
    else:
        field.choices = []


@transaction.atomic
def custom_field_save(*, actor: Membership, field: CustomField) -> CustomField:
    ensure_can(actor, "configure")
    org = actor.org
    ensure_same_org(org, field.department, field if field.pk else None)
    field.org = org
    field.label = field.label.strip()
    if field.pk is None:
        base = slugify(field.label).replace("-", "_")[:50] or "field"
        key, n = base, 1
        existing = set(
            CustomField.objects.for_org(org)
            .filter(department=field.department)
            .values_list("key", flat=True)
        )
        while key in existing:
            n += 1
            key = f"{base}_{n}"
        field.key = key
        top = (
            CustomField.objects.for_org(org)
            .filter(department=field.department)
            .aggregate(m=Max("order"))["m"]
        )
        field.order = 0 if top is None else top + 1
    else:
        previous = CustomField.objects.for_org(org).get(pk=field.pk)
        if previous.type != field.type:
            raise ValidationError(
                {
                    "type": _(
                        "The type of a field cannot change once created; add a new field instead."
                    )
                }
            )
    _clean_choices(field)
    field.full_clean(exclude=["org", "department"])
    field.save()
    return field


@transaction.atomic
def custom_field_delete(*, actor: Membership, field: CustomField) -> None:
    """Deactivate rather than delete: tickets keep their values and history stays readable."""
    ensure_can(actor, "configure")
    ensure_same_org(actor.org, field)
    field.is_active = False
    field.save(update_fields=["is_active"])
