"""What the configuration services share: the Desk-admin and plan check, criteria parsing,
errors keyed by form field, the "in use" message."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.tenancy.models import App, Department, Membership
from helpdesk.tenancy.permissions import ensure_app_admin
from helpdesk.tickets.conditions import ConditionError, parse, schema_for, to_json

Errors = dict[str, list[str]]


def _add(errors: Errors, key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def ensure_admin(actor: Membership) -> None:
    """Desk admins only, on a plan with blueprints."""
    ensure_app_admin(actor, App.DESK)
    if not actor.org.limit("blueprints_per_department"):
        raise PermissionDenied(
            _("Blueprints need the Professional or Enterprise plan. Upgrade to use them.")
        )


def criteria_parse(org: Any, department: Department | None, raw: Any) -> dict[str, Any]:
    """Criteria or a validation rule as stored (normalised JSON), or ValidationError with the
    condition language's messages. `raw` may be JSON text (a form's fallback field)."""
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return {}
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(
                _("The criteria are not valid JSON (%(error)s).") % {"error": exc.msg}
            ) from None
    if not raw:
        return {}
    try:
        condition = parse(raw, schema=schema_for(org, department=department), org=org)
    except ConditionError as exc:
        raise ValidationError(exc.messages) from None
    normalised = to_json(condition)
    return {} if normalised == {"all": []} else normalised


def _in_use_message(count: int, what: str) -> str:
    return ngettext(
        "%(n)d ticket is in this %(what)s: it cannot be deleted.",
        "%(n)d tickets are in this %(what)s: it cannot be deleted.",
        count,
    ) % {"n": count, "what": what}
