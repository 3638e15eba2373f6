"""The settings of each after-action type (BP-11), as stored in `AfterAction.config`, with their
checks. `clean_config` is the one validator for forms and services; the runner reads configs
through the same helpers, so a config edited in the database cannot make it do more.

- email:        {"template_id", "ticket_owner", "contact", "users": [ids], "roles": [desk roles]}
- field_update: {"fields": {"priority": "high", "status": id, "owner": id | None,
                            "cf.<key>": value}}
- task:         {"subject", "owner": "ticket_owner" | id, "due_days", "due_hours", "priority"}
- webhook:      {"url", "method", "headers": {name: value}, "timeout", "update_fields"}"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from helpdesk import webhooks
from helpdesk.tenancy.models import Department, DeskRole, Membership, Organization
from helpdesk.tickets.fields import validate_custom_values
from helpdesk.tickets.mailtemplates.models import MailTemplate
from helpdesk.tickets.models import CustomField, Priority, Ticket, TicketStatus
from helpdesk.tickets.services.tickets import TicketInput

from ..models import AfterActionType

MAX_DUE_DAYS = 365
MAX_TIMEOUT = 30
MAX_HEADERS = 20
TICKET_OWNER = "ticket_owner"
# What a field update (and a webhook's answer) may set.
UPDATABLE = ("priority", "status", "owner")


def desk_members(org: Organization, user_ids: list[int]) -> list[Any]:
    """The users among `user_ids` who are active Desk members of `org`."""
    members = Membership.objects.for_org(org).filter(
        status=Membership.Status.ACTIVE, user_id__in=user_ids
    )
    return list(
        get_user_model()
        .objects.filter(pk__in=members.exclude(desk_role="").values("user_id"))
        .order_by("pk")
    )


def _ids(value: Any) -> list[int]:
    try:
        return sorted({int(v) for v in (value or [])})
    except (TypeError, ValueError):
        return []


# --- Email ---------------------------------------------------------------------------------------
def _clean_email(org: Organization, config: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    template_id = config.get("template_id")
    if not MailTemplate.objects.for_org(org).filter(pk=template_id or 0).exists():
        errors["template"] = [_("Choose a mail template of your organization.")]
    users = _ids(config.get("users"))
    if len(desk_members(org, users)) != len(users):
        errors["users"] = [_("Choose active Desk members of your organization.")]
    roles = sorted(set(config.get("roles") or []))
    if set(roles) - set(DeskRole.values):
        errors["roles"] = [_("Choose Desk roles.")]
    clean = {
        "template_id": int(template_id or 0),
        "ticket_owner": bool(config.get("ticket_owner")),
        "contact": bool(config.get("contact")),
        "users": users,
        "roles": roles,
    }
    if not (clean["ticket_owner"] or clean["contact"] or users or roles) and not errors:
        errors["ticket_owner"] = [_("Choose at least one recipient.")]
    if errors:
        raise ValidationError(errors)
    return clean


# --- Field update --------------------------------------------------------------------------------
def ticket_input(
    org: Organization, department: Department, fields: Mapping[str, Any], *, lenient: bool = False
) -> TicketInput:
    """The ticket change `fields` asks for, checked against the department's statuses, members
    and custom fields. `lenient` (a webhook's answer) also accepts a status by name and an
    owner by email. A ValidationError names each refused field."""
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    if not isinstance(fields, Mapping) or not fields:
        raise ValidationError({"fields": [_("Choose at least one field to set.")]})
    for name, value in fields.items():
        if name == "priority":
            if value not in Priority.values:
                errors["priority"] = [_("Choose a priority.")]
            values["priority"] = value
        elif name == "status":
            statuses = TicketStatus.objects.for_org(org).filter(department=department)
            if lenient and isinstance(value, str) and not value.isdigit():
                status = statuses.filter(name__iexact=value).first()
            else:
                status = statuses.filter(pk=int(value) if str(value).isdigit() else 0).first()
            if status is None:
                errors["status"] = [_("Choose a status of the department.")]
            values["status"] = status
        elif name == "owner":
            if value in (None, ""):
                values["owner"] = None
                continue
            user_ids = [int(value)] if str(value).isdigit() else []
            if lenient and isinstance(value, str) and "@" in value:
                user_ids = list(
                    get_user_model()
                    .objects.filter(email__iexact=value)
                    .values_list("pk", flat=True)[:1]
                )
            found = desk_members(org, user_ids)
            if not found:
                errors["owner"] = [_("Choose an active Desk member as owner.")]
            values["owner"] = found[0] if found else None
        elif isinstance(name, str) and name.startswith("cf."):
            custom[name[3:]] = value
        else:
            errors.setdefault("fields", []).append(
                _("“%(name)s” cannot be set by an automated action.") % {"name": name}
            )
    if custom:
        definitions = CustomField.objects.for_org(org).filter(department=department)
        try:
            values["custom_fields"] = validate_custom_values(definitions, custom, partial=True)
        except ValidationError as exc:
            for key, messages in exc.message_dict.items():
                errors[f"cf.{key}"] = messages
    if errors:
        raise ValidationError(errors)
    return TicketInput(**values)


def _clean_field_update(
    org: Organization, department: Department, config: Mapping[str, Any]
) -> dict[str, Any]:
    fields = dict(config.get("fields") or {})
    ticket_input(org, department, fields)
    if "status" in fields:
        fields["status"] = int(fields["status"])
    if fields.get("owner") not in (None, ""):
        fields["owner"] = int(fields["owner"])
    return {"fields": fields}


# --- Task ----------------------------------------------------------------------------------------
def _clean_task(org: Organization, config: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    subject = str(config.get("subject") or "").strip()
    if not subject:
        errors["subject"] = [_("Enter the task's subject.")]
    elif len(subject) > 255:
        errors["subject"] = [_("At most 255 characters.")]
    owner = config.get("owner") or TICKET_OWNER
    if owner != TICKET_OWNER:
        found = desk_members(org, _ids([owner]))
        if not found:
            errors["owner"] = [_("Choose the ticket's owner or an active Desk member.")]
        owner = found[0].pk if found else owner
    try:
        days, hours = int(config.get("due_days") or 0), int(config.get("due_hours") or 0)
    except (TypeError, ValueError):
        days = hours = -1
    if not (0 <= days <= MAX_DUE_DAYS and 0 <= hours <= 23):
        errors["due_days"] = [
            _("The task is due 0 to %(max)s days and 0 to 23 hours later.") % {"max": MAX_DUE_DAYS}
        ]
    priority = config.get("priority") or Priority.MEDIUM
    if priority not in Priority.values:
        errors["priority"] = [_("Choose a priority.")]
    if errors:
        raise ValidationError(errors)
    return {
        "subject": subject,
        "owner": owner,
        "due_days": days,
        "due_hours": hours,
        "priority": priority,
    }


# --- Webhook -------------------------------------------------------------------------------------
def _clean_webhook(config: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    url = str(config.get("url") or "").strip()
    try:
        webhooks.check_url(url)
    except webhooks.UnsafeTarget as exc:
        errors["url"] = [
            _("Enter an http or https address without a user name: %(why)s") % {"why": exc}
        ]
    if len(url) > 2000:
        errors["url"] = [_("At most 2,000 characters.")]
    method = str(config.get("method") or "POST").upper()
    if method not in webhooks.METHODS:
        errors["method"] = [_("Choose POST, PUT or PATCH.")]
    headers = config.get("headers") or {}
    if not isinstance(headers, Mapping) or len(headers) > MAX_HEADERS:
        errors["headers"] = [_("At most %(n)s headers.") % {"n": MAX_HEADERS}]
        headers = {}
    try:
        headers = webhooks.check_headers(headers)
    except webhooks.UnsafeTarget as exc:
        errors["headers"] = [str(exc)]
    try:
        timeout = int(config.get("timeout") or webhooks.DEFAULT_TIMEOUT)
    except (TypeError, ValueError):
        timeout = 0
    if not 1 <= timeout <= MAX_TIMEOUT:
        errors["timeout"] = [_("Between 1 and %(max)s seconds.") % {"max": MAX_TIMEOUT}]
    if errors:
        raise ValidationError(errors)
    return {
        "url": url,
        "method": method,
        "headers": headers,
        "timeout": timeout,
        "update_fields": bool(config.get("update_fields")),
    }


def clean_config(
    org: Organization, department: Department, type: str, config: Mapping[str, Any]
) -> dict[str, Any]:
    """The config of an action of `type`, checked and normalised; a ValidationError keyed by
    the form's field names otherwise."""
    if not isinstance(config, Mapping):
        raise ValidationError(_("The settings are not valid."))
    if type == AfterActionType.EMAIL:
        return _clean_email(org, config)
    if type == AfterActionType.FIELD_UPDATE:
        return _clean_field_update(org, department, config)
    if type == AfterActionType.TASK:
        return _clean_task(org, config)
    if type == AfterActionType.WEBHOOK:
        return _clean_webhook(config)
    raise ValidationError({"type": [_("Choose a type of action.")]})


def webhooks_allowed(org: Organization) -> bool:
    """Custom functions are of the enterprise plan (BP-11, BP-20)."""
    return bool(org.limit("blueprint_webhooks"))


def ticket_payload(ticket: Ticket) -> dict[str, Any]:
    """The ticket as a webhook sends it."""
    contact, owner = ticket.contact, ticket.owner
    return {
        "id": ticket.pk,
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status.name if ticket.status_id else None,
        "status_kind": ticket.status_kind,
        "priority": ticket.priority,
        "channel": ticket.channel,
        "department": {"id": ticket.department_id, "name": ticket.department.name},
        "contact": (
            {"id": contact.pk, "name": contact.name, "email": contact.email} if contact else None
        ),
        "owner": {"id": owner.pk, "name": owner.display_name, "email": owner.email}
        if owner
        else None,
        "due_at": ticket.due_at.isoformat() if ticket.due_at else None,
        "created_at": ticket.created_at.isoformat(),
        "custom_fields": ticket.custom_fields or {},
    }
