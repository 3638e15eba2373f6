"""Custom fields of contacts and accounts, on the same machinery as the ticket fields
(`helpdesk.customvalues`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify
from django.utils.translation import gettext as _

from helpdesk.customvalues import FieldType, clean_value, display_value, validate_custom_values
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization

from ..models import (
    Account,
    Contact,
    CustomerField,
    RecordKind,
)
from .common import _stored, ensure_can
from .history import _kind

# --- Custom fields of contacts and accounts ----------------------------------------------------
CF_PREFIX = "cf_"


def customer_fields(org: Organization, module: str, *, active_only: bool = True):
    """The organization's field definitions for contacts or accounts, in their order."""
    fields = CustomerField.objects.for_org(org).filter(module=_kind(module))
    if active_only:
        fields = fields.filter(is_active=True)
    return fields.order_by("order", "pk")


def _custom_values(
    org: Organization,
    module: str,
    stored: Mapping[str, Any],
    values: Mapping[str, Any],
    definitions: list[CustomerField],
) -> dict[str, Any]:
    """The record's new custom values: `values` (raw, by key; a missing key empties the
    field) checked against the active definitions; values of inactive fields are kept.
    Errors are keyed `cf_<key>`, the form fields' names."""
    try:
        cleaned = validate_custom_values(
            definitions,
            values,
            unknown_message=_("There is no such field for these records."),
        )
    except ValidationError as exc:
        raise ValidationError({f"{CF_PREFIX}{k}": v for k, v in exc.message_dict.items()}) from exc
    active = {d.key for d in definitions}
    result = {k: v for k, v in stored.items() if k not in active}
    result.update({k: v for k, v in cleaned.items() if v is not None})
    return result


def _custom_diff(
    definitions: list[CustomerField], before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, list[Any]]:
    changed: dict[str, list[Any]] = {}
    for definition in definitions:
        old, new = before.get(definition.key), after.get(definition.key)
        if old != new:
            changed[f"{CF_PREFIX}{definition.key}"] = [
                None if old is None else display_value(definition, old),
                None if new is None else display_value(definition, new),
            ]
    return changed


def _field_key(label: str) -> str:
    return slugify(label).replace("-", "_")[:60]


@transaction.atomic
def customer_field_save(*, actor: Membership, field: CustomerField) -> CustomerField:
    """Create or update a contact or account field (Desk administrators).

    The key is made from the label when blank and never changes afterwards (values are stored
    under it). The type of a field that has values stays as it is unless every stored value
    converts cleanly to the new type: no value is ever lost or left unreadable."""
    ensure_can(actor, "configure")
    org = actor.org
    stored = _stored(CustomerField, org, field, "key", "module", "type")
    field.org = org
    field.label = " ".join((field.label or "").split())
    if isinstance(field.choices, str):
        field.choices = field.choices.splitlines()
    field.choices = list(dict.fromkeys(c.strip() for c in field.choices or [] if c.strip()))
    errors: dict[str, Any] = {}
    if stored:
        field.key, field.module = stored["key"], stored["module"]
    else:
        field.key = (field.key or "").strip() or _field_key(field.label)
        if not field.key:
            errors["key"] = _("Enter a key of letters, digits and underscores.")
    if field.type == FieldType.PICKLIST and not field.choices:
        errors["choices"] = _("Enter the values of the pick list, one a line.")
    if field.type != FieldType.PICKLIST:
        field.choices = []
    try:
        field.full_clean(exclude=["org", "order"])
    except ValidationError as exc:
        errors.update({k: v for k, v in exc.message_dict.items() if k not in errors})
    if not stored and field.key and "key" not in errors:
        clash = customer_fields(org, field.module, active_only=False).filter(key=field.key)
        if clash.exists():
            errors["key"] = _("Another field of these records has the key %(key)s.") % {
                "key": field.key
            }
    if not errors and stored and field.type != stored["type"]:
        problem = _type_change_problem(org, field)
        if problem:
            errors["type"] = problem
    if errors:
        raise ValidationError(errors)
    if not stored:
        last = customer_fields(org, field.module, active_only=False).aggregate(m=Max("order"))
        field.order = (last["m"] or 0) + 1
    field.save()
    return field


def _type_change_problem(org: Organization, field: CustomerField) -> str:
    """Why the stored values of `field` cannot take its new type ("" when they all can, in
    which case they are rewritten in the new type's form)."""
    model = Contact if field.module == RecordKind.CONTACT else Account
    records = list(
        model.objects.for_org(org)
        .filter(custom_fields__has_key=field.key)
        .select_for_update()
        .only("pk", "custom_fields")
    )
    textual = field.type in (FieldType.TEXT, FieldType.TEXTAREA)
    converted, refused = [], []
    for record in records:
        value = record.custom_fields[field.key]
        raw = str(value) if textual and not isinstance(value, str) else value
        try:
            new = clean_value(field, raw)
        except ValidationError:
            new = None
        if new is None and value not in (None, ""):
            refused.append(value)
        converted.append((record, new))
    if refused:
        return _(
            "%(count)d records have values that are not a valid %(type)s (for example "
            "“%(value)s”), so the type stays as it is. Add a new field instead, or correct "
            "those values first."
        ) % {"count": len(refused), "type": FieldType(field.type).label, "value": refused[0]}
    for record, new in converted:
        record.custom_fields[field.key] = new
        model.objects.for_org(org).filter(pk=record.pk).update(custom_fields=record.custom_fields)
    return ""


@transaction.atomic
def customer_fields_reorder(*, actor: Membership, module: str, keys: Sequence[int]) -> None:
    """Put the fields of `module` in the order of the ids `keys` (others keep theirs, after)."""
    ensure_can(actor, "configure")
    fields = {f.pk: f for f in customer_fields(actor.org, module, active_only=False)}
    order = [pk for pk in keys if pk in fields] + [pk for pk in fields if pk not in keys]
    for position, pk in enumerate(order, start=1):
        if fields[pk].order != position:
            fields[pk].order = position
            fields[pk].save(update_fields=["order"])


@transaction.atomic
def customer_field_set_active(
    *, actor: Membership, field: CustomerField, active: bool
) -> CustomerField:
    """Hide a field from the forms (its values stay stored) or show it again."""
    ensure_can(actor, "configure")
    ensure_same_org(actor.org, field)
    field.is_active = active
    field.save(update_fields=["is_active"])
    return field
