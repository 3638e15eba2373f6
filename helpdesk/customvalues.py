"""Custom field values, shared by tickets (per department layout, DEP-02) and customers'
contacts and accounts (CUS-01): the field types, one validator for forms, blueprint "during"
checks, field-update actions and the customer services, the display of a value and the form
field of a definition.

This project module imports no app: a field definition is any object with `type`, `key`,
`label`, `required`, `choices` and `is_active` (a ticket `CustomField`, a `CustomerField`).

Values are stored as JSON: text/textarea/email/url/picklist as strings, number as a number,
checkbox as a boolean, date as "YYYY-MM-DD", date-time as an ISO 8601 string in UTC."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator, validate_email
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


class FieldType(models.TextChoices):
    TEXT = "text", gettext_lazy("Single line")
    TEXTAREA = "textarea", gettext_lazy("Multi-line")
    NUMBER = "number", gettext_lazy("Number")
    DATE = "date", gettext_lazy("Date")
    DATETIME = "datetime", gettext_lazy("Date and time")
    PICKLIST = "picklist", gettext_lazy("Pick list")
    CHECKBOX = "checkbox", gettext_lazy("Checkbox")
    EMAIL = "email", gettext_lazy("Email")
    URL = "url", gettext_lazy("URL")


class FieldDefinition(Protocol):
    """What the functions below read of a field definition."""

    type: str
    key: str
    label: str
    required: bool
    choices: Any
    is_active: bool


CustomField = FieldDefinition  # the name the functions below were written with

MAX_TEXT = 255
MAX_TEXTAREA = 10_000


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_value(field: CustomField, value: Any) -> Any:
    """The stored form of one value, or ValidationError with a message a user can act on."""
    kind = field.type
    if kind == FieldType.CHECKBOX:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "true",
            "on",
            "1",
            "yes",
            "false",
            "off",
            "0",
            "no",
            "",
        ):
            return value.lower() in ("true", "on", "1", "yes")
        raise ValidationError(_("Choose yes or no."))
    if _empty(value):
        return None
    if kind in (FieldType.TEXT, FieldType.TEXTAREA):
        if not isinstance(value, str):
            raise ValidationError(_("Enter text."))
        limit = MAX_TEXT if kind == FieldType.TEXT else MAX_TEXTAREA
        if len(value) > limit:
            raise ValidationError(_("Use at most %(limit)d characters.") % {"limit": limit})
        return value.strip()
    if kind == FieldType.NUMBER:
        if isinstance(value, bool):
            raise ValidationError(_("Enter a number."))
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation as exc:
            raise ValidationError(_("Enter a number.")) from exc
        if not number.is_finite() or abs(number) >= Decimal("1e15"):
            raise ValidationError(_("Enter a number."))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == FieldType.DATE:
        parsed = (
            value
            if isinstance(value, dt.date) and not isinstance(value, dt.datetime)
            else _parse(parse_date, value)
        )
        if parsed is None:
            raise ValidationError(_("Enter a date as YYYY-MM-DD."))
        return parsed.isoformat()
    if kind == FieldType.DATETIME:
        parsed = value if isinstance(value, dt.datetime) else _parse(parse_datetime, value)
        if parsed is None:
            raise ValidationError(_("Enter a date and time."))
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed.astimezone(dt.UTC).isoformat()
    if kind == FieldType.PICKLIST:
        if value not in (field.choices or []):
            raise ValidationError(
                _("Choose one of: %(choices)s.") % {"choices": ", ".join(field.choices or [])}
            )
        return value
    if kind == FieldType.EMAIL:
        validate_email_value = str(value).strip()
        try:
            validate_email(validate_email_value)
        except ValidationError as exc:
            raise ValidationError(_("Enter a valid email address.")) from exc
        return validate_email_value.lower()
    if kind == FieldType.URL:
        url = str(value).strip()
        try:
            URLValidator(schemes=["http", "https"])(url)
        except ValidationError as exc:
            raise ValidationError(
                _("Enter a valid URL starting with http:// or https://.")
            ) from exc
        return url
    raise ValidationError(_("Unknown field type."))


def _parse(parser, value: Any):
    if not isinstance(value, str):
        return None
    try:
        return parser(value.strip())
    except ValueError:
        return None


def validate_custom_values(
    fields: Iterable[CustomField],
    values: Mapping[str, Any],
    *,
    partial: bool = False,
    unknown_message: str | None = None,
) -> dict[str, Any]:
    """Clean `values` against the department's active `fields`.

    Unknown keys are refused; required fields must have a value unless `partial` (an update of
    some fields only). Raises one ValidationError keyed by field key with every problem."""
    by_key = {f.key: f for f in fields if f.is_active}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for key in values:
        if key not in by_key:
            errors.setdefault(key, []).append(
                unknown_message or _("There is no such field in this department.")
            )
    for key, field in by_key.items():
        if key not in values:
            if field.required and not partial:
                errors.setdefault(key, []).append(
                    _("%(label)s is required.") % {"label": field.label}
                )
            continue
        try:
            value = clean_value(field, values[key])
        except ValidationError as exc:
            errors.setdefault(key, []).extend(exc.messages)
            continue
        if field.required and (
            value is None or (field.type == FieldType.CHECKBOX and value is False)
        ):
            errors.setdefault(key, []).append(_("%(label)s is required.") % {"label": field.label})
            continue
        cleaned[key] = value
    if errors:
        raise ValidationError(errors)
    return cleaned


def display_value(field: CustomField, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if field.type == FieldType.CHECKBOX:
        return _("Yes") if value else _("No")
    if field.type == FieldType.DATETIME:
        parsed = _parse(parse_datetime, value)
        return timezone.localtime(parsed).strftime("%Y-%m-%d %H:%M") if parsed else str(value)
    return str(value)


def form_field(field: CustomField, initial: Any = None) -> forms.Field:
    """A Django form field for `field`; values are then checked by `clean_value`."""
    common = {"label": field.label, "required": False, "initial": initial}
    kind = field.type
    if kind == FieldType.TEXTAREA:
        return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
    if kind == FieldType.NUMBER:
        return forms.CharField(widget=forms.NumberInput(attrs={"step": "any"}), **common)
    if kind == FieldType.DATE:
        return forms.CharField(widget=forms.DateInput(attrs={"type": "date"}), **common)
    if kind == FieldType.DATETIME:
        if initial:
            parsed = _parse(parse_datetime, initial)
            common["initial"] = (
                timezone.localtime(parsed).strftime("%Y-%m-%dT%H:%M") if parsed else initial
            )
        return forms.CharField(
            widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common
        )
    if kind == FieldType.PICKLIST:
        return forms.ChoiceField(
            choices=[("", "—")] + [(c, c) for c in field.choices or []], **common
        )
    if kind == FieldType.CHECKBOX:
        return forms.BooleanField(**common)
    if kind == FieldType.EMAIL:
        return forms.CharField(widget=forms.EmailInput(), **common)
    if kind == FieldType.URL:
        return forms.CharField(widget=forms.URLInput(), **common)
    return forms.CharField(max_length=MAX_TEXT, **common)
