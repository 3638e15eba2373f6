"""Configuring rules (TKT-09): save with validation, reorder, enable, delete; round robin per
department; the agents' availability.

Rules are Desk settings: only Desk admins change them (ORG-04). Every object handed in must be
the actor's organization's. A rule's criteria are checked by the condition language's parser
and stored normalised; its field updates by the custom-field validator the forms use."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import (
    App,
    Department,
    DepartmentAgent,
    DeskRole,
    Membership,
)
from helpdesk.tenancy.permissions import ensure_app, ensure_app_admin

from ..canned.placeholders import validate_placeholders
from ..conditions import ConditionError, parse, schema_for, to_json
from ..fields import clean_value
from ..models import CustomField, Priority, TicketStatus
from .models import AgentAvailability, AssignmentRule, RoundRobin, Trigger, WorkflowRule

AnyRule = AssignmentRule | WorkflowRule
NOTIFY_CHOICES = ("owner", "contact", "followers")


def _is_agent(department: Department, user_id: int) -> bool:
    return (
        DepartmentAgent.objects.for_org(department.org)
        .filter(department=department, user_id=user_id)
        .exists()
    )


def _condition(rule: AnyRule, data: Any, errors: dict[str, list[str]]) -> None:
    schema = schema_for(rule.org, department=rule.department)
    try:
        rule.condition = to_json(parse(data, schema=schema, org=rule.org))
    except ConditionError as exc:
        errors.setdefault("condition", []).extend(exc.messages)


def _assignment_errors(rule: AssignmentRule, errors: dict[str, list[str]]) -> None:
    landing = rule.to_department or rule.department
    if not (rule.to_department_id or rule.to_owner_id or rule.to_team_id):
        errors.setdefault(NON_FIELD_ERRORS, []).append(
            _("Choose what the rule does: a department, an agent or a team.")
        )
    if rule.to_owner_id and rule.to_team_id:
        errors.setdefault("to_team", []).append(_("Choose an agent or a team, not both."))
    if (rule.to_owner_id or rule.to_team_id) and landing is None:
        errors.setdefault("to_department", []).append(
            _("Choose the department: the agent or team must belong to it.")
        )
        return
    if rule.to_owner_id and landing is not None and not _is_agent(landing, rule.to_owner_id):
        errors.setdefault("to_owner", []).append(
            _("The agent must be an agent of %(department)s.") % {"department": landing}
        )
    team = rule.to_team
    if team is not None and landing is not None and team.department_id != landing.pk:
        errors.setdefault("to_team", []).append(
            _("The team must be one of %(department)s.") % {"department": landing}
        )


def _workflow_errors(rule: WorkflowRule, errors: dict[str, list[str]]) -> None:
    org = rule.org
    if rule.trigger == Trigger.FIELD:
        schema = schema_for(org, department=rule.department)
        names = {"priority", "status", "owner", "department", "due_at", "subject", "contact"}
        names |= {n for n in schema.fields if n.startswith("cf.")}
        if rule.trigger_field not in names:
            errors.setdefault("trigger_field", []).append(_("Choose the field that changes."))
    else:
        rule.trigger_field = ""
    updates: dict[str, Any] = {}
    for name, value in (rule.field_updates or {}).items():
        if value in (None, ""):
            continue
        if name == "priority":
            if value not in Priority.values:
                errors.setdefault("set_priority", []).append(_("Choose a priority."))
            updates[name] = value
        elif name == "status":
            ok = (
                rule.department is not None
                and TicketStatus.objects.for_org(org)
                .filter(pk=value, department=rule.department)
                .exists()
            )
            if not ok:
                errors.setdefault("set_status", []).append(
                    _("Choose a department first, then one of its statuses.")
                )
            updates[name] = int(value)
        elif name == "owner":
            department = rule.department
            if department is None or not _is_agent(department, int(value)):
                errors.setdefault("set_owner", []).append(
                    _("Choose a department first, then one of its agents.")
                )
            updates[name] = int(value)
        elif name.startswith("cf."):
            field = (
                CustomField.objects.for_org(org)
                .filter(department=rule.department, key=name[3:], is_active=True)
                .first()
                if rule.department is not None
                else None
            )
            if field is None:
                errors.setdefault("custom_updates", []).append(
                    _("%(field)s: no such field in the rule's department.") % {"field": name[3:]}
                )
                continue
            try:
                updates[name] = clean_value(field, value)
            except ValidationError as exc:
                errors.setdefault("custom_updates", []).extend(
                    f"{field.label}: {m}" for m in exc.messages
                )
        else:
            errors.setdefault("custom_updates", []).append(
                _("“%(field)s” cannot be set by a rule.") % {"field": name}
            )
    rule.field_updates = updates
    _mail_errors(rule, errors)
    if not updates and not _mails(rule):
        errors.setdefault(NON_FIELD_ERRORS, []).append(
            _("Choose what the rule does: a field update or a mail notification.")
        )


def _mails(rule: WorkflowRule) -> bool:
    return bool(rule.notify or rule.notify_users or rule.notify_addresses)


def _mail_errors(rule: WorkflowRule, errors: dict[str, list[str]]) -> None:
    rule.notify = [n for n in NOTIFY_CHOICES if n in (rule.notify or [])]
    users = sorted({int(u) for u in rule.notify_users or []})
    found = set(
        Membership.objects.for_org(rule.org)
        .filter(user_id__in=users, status=Membership.Status.ACTIVE)
        .values_list("user_id", flat=True)
    )
    if set(users) - found:
        errors.setdefault("notify_users", []).append(_("Choose active members."))
    rule.notify_users = users
    addresses = []
    for address in rule.notify_addresses or []:
        address = address.strip().lower()
        try:
            validate_email(address)
        except ValidationError:
            errors.setdefault("notify_addresses", []).append(
                _("“%(address)s” is not a valid mail address.") % {"address": address}
            )
        addresses.append(address)
    rule.notify_addresses = list(dict.fromkeys(addresses))
    if not _mails(rule):
        return
    if not rule.mail_subject.strip():
        errors.setdefault("mail_subject", []).append(_("Enter the mail's subject."))
    if not rule.mail_body.strip():
        errors.setdefault("mail_body", []).append(_("Enter the mail's text."))
    for name in ("mail_subject", "mail_body"):
        try:
            validate_placeholders(getattr(rule, name))
        except ValidationError as exc:
            errors.setdefault(name, []).extend(exc.messages)


@transaction.atomic
def rule_save(*, actor: Membership, rule: AnyRule, condition: Any) -> AnyRule:
    """Create or change a rule; `condition` is the criteria's JSON (parsed here). Raises one
    ValidationError keyed by form field with every problem; nothing is saved then."""
    ensure_app_admin(actor, App.DESK)
    rule.org = actor.org
    ensure_same_org(actor.org, rule.department)
    if isinstance(rule, AssignmentRule):
        ensure_same_org(actor.org, rule.to_department, rule.to_team)
    errors: dict[str, list[str]] = {}
    _condition(rule, condition, errors)
    if isinstance(rule, AssignmentRule):
        _assignment_errors(rule, errors)
    else:
        _workflow_errors(rule, errors)
    if errors:
        raise ValidationError(errors)
    if rule.pk is None:
        top = type(rule).objects.for_org(actor.org).aggregate(top=Max("order"))["top"]
        rule.order = (top or 0) + 1
    rule.full_clean(exclude=["org", "department", "to_department", "to_team"])
    rule.save()
    return rule


@transaction.atomic
def rule_move(*, actor: Membership, rule: AnyRule, up: bool) -> None:
    """Move a rule one place up or down; the order is renumbered 1..n."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, rule)
    rules = list(type(rule).objects.for_org(actor.org).select_for_update().order_by("order", "pk"))
    index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    other = index - 1 if up else index + 1
    if 0 <= other < len(rules):
        rules[index], rules[other] = rules[other], rules[index]
    for position, each in enumerate(rules, start=1):
        if each.order != position:
            each.order = position
            each.save(update_fields=["order", "updated_at"])


@transaction.atomic
def rule_enable(*, actor: Membership, rule: AnyRule, enabled: bool) -> None:
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, rule)
    rule.is_enabled = enabled
    rule.save(update_fields=["is_enabled", "updated_at"])


@transaction.atomic
def rule_delete(*, actor: Membership, rule: AnyRule) -> None:
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, rule)
    rule.delete()


@transaction.atomic
def round_robin_set(*, actor: Membership, department: Department, enabled: bool) -> None:
    """Turn a department's round robin on or off (its turn is kept)."""
    ensure_app_admin(actor, App.DESK)
    ensure_same_org(actor.org, department)
    RoundRobin.objects.update_or_create(
        org=actor.org, department=department, team=None, defaults={"is_enabled": enabled}
    )


@transaction.atomic
def availability_set(*, actor: Membership, member: Membership, away: bool) -> None:
    """Mark `member` away (no round robin tickets) or available. Members set their own;
    Desk admins anyone's."""
    ensure_same_org(actor.org, member)
    ensure_app(actor, App.DESK)
    if member.pk != actor.pk:
        ensure_app_admin(actor, App.DESK)
    AgentAvailability.objects.update_or_create(
        org=actor.org, user_id=member.user_id, defaults={"is_away": away}
    )


def is_away(member: Membership) -> bool:
    return (
        AgentAvailability.objects.for_org(member.org)
        .filter(user_id=member.user_id, is_away=True)
        .exists()
    )


def desk_agents(org: Any) -> list[Membership]:
    """Active members with a Desk role that can own tickets, with their availability
    (`away`), for the rules page."""
    members = list(
        Membership.objects.for_org(org)
        .filter(status=Membership.Status.ACTIVE)
        .filter(Q(desk_role=DeskRole.ADMIN) | Q(desk_role=DeskRole.AGENT))
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    away = set(
        AgentAvailability.objects.for_org(org)
        .filter(is_away=True)
        .values_list("user_id", flat=True)
    )
    for member in members:
        member.away = member.user_id in away
    return members
