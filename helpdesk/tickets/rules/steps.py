"""The rules app's steps of the pipeline (TKT-09): assignment rules, workflow rules and round
robin. `helpdesk.tickets.pipeline.run` calls them in its order (registered by `RulesConfig.ready`);
each reads the rules of the ticket's organization and changes the ticket only through
`changes.rule_change`."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from helpdesk.compiledreads import CompiledRead
from helpdesk.tenancy.models import Department, DepartmentAgent, DeskRole, Membership, Team

from ..conditions import ConditionError, matches, parse, schema_for
from ..conditions.schema import Schema
from ..models import Ticket
from ..pipeline import Context, cached
from . import version
from .changes import rule_change
from .models import AgentAvailability, AssignmentRule, RoundRobin, Trigger, WorkflowRule

log = logging.getLogger(__name__)


def _rules(model: Any, ticket: Ticket) -> list[Any]:
    """The enabled rules that look at the ticket's department, in order. The organization's
    enabled rules are read once per process and settings version (`version.settings`); the
    rule objects are shared: read them, never change them."""
    org_id, department_id = ticket.org_id, ticket.department_id
    enabled = version.settings(
        org_id,
        ("rules", model._meta.label),
        lambda: list(model.objects.for_org(org_id).filter(is_enabled=True).order_by("order", "pk")),
    )
    return [r for r in enabled if r.department_id is None or r.department_id == department_id]


def _matches(rule: Any, ctx: Context, schemas: dict[int | None, Schema]) -> bool:
    ticket = ctx.ticket
    key = rule.department_id
    if key not in schemas:
        schemas[key] = cached(
            ("schema", ticket.org_id, key),
            lambda: schema_for(ticket.org, department=rule.department_id),
        )
    try:
        condition = parse(rule.condition, schema=schemas[key], org=ticket.org, check_refs=False)
    except ConditionError:
        # A custom field it names was removed since it was saved: the rule matches nothing
        # until an admin fixes it (its edit page shows why).
        log.warning("Rule %s of org %s has an invalid condition", rule.pk, ticket.org_id)
        return False
    return matches(condition, ticket, now=ctx.now)


# --- Round robin -------------------------------------------------------------------------------
def available_agents(department: Department, team: Team | None = None) -> list[int]:
    """User ids who may take a ticket of `department` now, in a stable order: active members
    who are agents (or admins) of the department (and of `team`), not away."""
    org = department.org_id
    agents = DepartmentAgent.objects.for_org(org).filter(department=department)
    ids = set(agents.values_list("user_id", flat=True))
    if team is not None:
        ids &= set(team.members.values_list("pk", flat=True))
    active = set(
        Membership.objects.for_org(org)
        .filter(
            user_id__in=ids,
            status=Membership.Status.ACTIVE,
            desk_role__in=[DeskRole.ADMIN, DeskRole.AGENT],
        )
        .values_list("user_id", flat=True)
    )
    away = set(
        AgentAvailability.objects.for_org(org)
        .filter(user_id__in=active, is_away=True)
        .values_list("user_id", flat=True)
    )
    return sorted(active - away)


def round_robin_next(department: Department, team: Team | None = None) -> int | None:
    """The next agent in turn (their user id), or None when nobody is available. Locks the
    scope's row until the transaction ends: two tickets at once go to two agents."""
    org = department.org_id
    row = (
        RoundRobin.objects.for_org(org)
        .select_for_update()
        .filter(department=department, team=team)
        .first()
    )
    if row is None:
        RoundRobin.objects.bulk_create(
            [RoundRobin(org_id=org, department=department, team=team, is_enabled=team is not None)],
            ignore_conflicts=True,
        )
        row = (
            RoundRobin.objects.for_org(org)
            .select_for_update()
            .get(department=department, team=team)
        )
    candidates = available_agents(department, team)
    if not candidates:
        return None
    last = row.last_user_id or 0
    chosen = next((c for c in candidates if c > last), candidates[0])
    row.last_user_id = chosen
    row.save(update_fields=["last_user", "updated_at"])
    return chosen


def round_robin_step(ctx: Context) -> None:
    """A ticket without an owner, new or moved to another department, goes to the next
    available agent of its department when the department's round robin is on."""
    ticket = ctx.ticket
    if ticket.owner_id is not None:
        return
    if ctx.event != "create" and not ctx.changed("department"):
        return
    if _ROUND_ROBIN_ON(org_id=ticket.org_id, department_id=ticket.department_id) is None:
        return
    chosen = round_robin_next(ticket.department)
    if chosen is not None:
        owner = Membership.objects.for_org(ticket.org_id).select_related("user").get(user_id=chosen)
        rule_change(ctx, rule_name=str(_round_robin_name()), values={"owner": owner.user})


# Every new ticket asks (incoming mail makes many): compiled once.
_ROUND_ROBIN_ON: CompiledRead[RoundRobin] = CompiledRead(
    lambda org_id, department_id: (
        RoundRobin.objects.for_org(org_id)
        .filter(department_id=department_id, team__isnull=True, is_enabled=True)
        .only("pk")
    )
)


def _round_robin_name() -> str:
    from django.utils.translation import gettext

    return gettext("Round robin")


# --- Assignment rules ---------------------------------------------------------------------------
def _is_agent(department_id: int, user_id: int, org_id: int) -> bool:
    return (
        DepartmentAgent.objects.for_org(org_id)
        .filter(department_id=department_id, user_id=user_id)
        .exists()
        and Membership.objects.for_org(org_id)
        .filter(user_id=user_id, status=Membership.Status.ACTIVE)
        .exists()
    )


def assignment_step(ctx: Context) -> None:
    """On a new ticket, the first matching assignment rule moves and/or assigns it."""
    if ctx.event != "create":
        return
    ticket = ctx.ticket
    schemas: dict[int | None, Schema] = {}
    for rule in _rules(AssignmentRule, ticket):
        if not _matches(rule, ctx, schemas):
            continue
        # The matching rule read afresh with what it points to: the cached one is shared, and
        # its department, owner and team are read as they are now.
        rule = (
            AssignmentRule.objects.for_org(ticket.org_id)
            .select_related("to_department", "to_owner", "to_team")
            .filter(pk=rule.pk)
            .first()
        )
        if rule is None:  # deleted since the version was read
            continue
        values: dict[str, Any] = {}
        department_id = rule.to_department_id or ticket.department_id
        if rule.to_department_id and rule.to_department_id != ticket.department_id:
            department = rule.to_department
            if department is None or not department.is_enabled:
                return
            values["department"] = department
            if ticket.owner_id and not _is_agent(department_id, ticket.owner_id, ticket.org_id):
                values["owner"] = None
        if rule.to_owner_id and _is_agent(department_id, rule.to_owner_id, ticket.org_id):
            values["owner"] = rule.to_owner
        elif rule.to_team_id and rule.to_team is not None:
            department = values.get("department") or ticket.department
            if rule.to_team.department_id == department.pk:
                chosen = round_robin_next(department, rule.to_team)
                if chosen is not None:
                    values["owner"] = (
                        Membership.objects.for_org(ticket.org_id)
                        .select_related("user")
                        .get(user_id=chosen)
                        .user
                    )
        if values:
            rule_change(ctx, rule_name=rule.name, values=values)
        return  # first match wins


# --- Workflow rules -----------------------------------------------------------------------------
def _triggered(rule: WorkflowRule, ctx: Context) -> bool:
    if rule.trigger == Trigger.CREATE:
        return ctx.event == "create"
    if rule.trigger == Trigger.UPDATE:
        return ctx.event == "update"
    if rule.trigger == Trigger.CREATE_OR_UPDATE:
        return True
    return ctx.event == "update" and rule.trigger_field in ctx.changes


def _updates(rule: WorkflowRule, ticket: Ticket) -> dict[str, Any]:
    """The rule's field updates that still fit the ticket (a status of its department, an
    owner who is its department's agent); others are skipped."""
    from ..models import TicketStatus

    values: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, value in (rule.field_updates or {}).items():
        if name.startswith("cf."):
            if rule.department_id == ticket.department_id:
                custom[name[3:]] = value
        elif name == "priority":
            values["priority"] = value
        elif name == "status":
            status = TicketStatus.objects.for_org(ticket.org_id).filter(pk=value).first()
            if status is not None and status.department_id == ticket.department_id:
                values["status"] = status
        elif name == "owner":
            if value is None:
                values["owner"] = None
            elif _is_agent(ticket.department_id, int(value), ticket.org_id):
                values["owner"] = (
                    Membership.objects.for_org(ticket.org_id)
                    .select_related("user")
                    .get(user_id=int(value))
                    .user
                )
    if custom:
        values["custom_fields"] = custom
    return values


def workflow_step(ctx: Context) -> None:
    """Every enabled workflow rule whose trigger and criteria match, in order: its field
    updates, then its mail (sent after commit)."""
    ticket = ctx.ticket
    schemas: dict[int | None, Schema] = {}
    for rule in _rules(WorkflowRule, ticket):
        if not _triggered(rule, ctx) or not _matches(rule, ctx, schemas):
            continue
        values = _updates(rule, ticket)
        if values:
            try:
                with transaction.atomic():
                    rule_change(ctx, rule_name=rule.name, values=values)
            except (ValidationError, ValueError):  # a rule that no longer fits stops nothing
                log.exception("Workflow rule %s failed on ticket %s", rule.pk, ticket.pk)
        if rule.notify or rule.notify_users or rule.notify_addresses:
            _enqueue_mail(rule, ticket)


def _enqueue_mail(rule: WorkflowRule, ticket: Ticket) -> None:
    from .tasks import workflow_mail_task

    org_id, rule_id, ticket_id = ticket.org_id, rule.pk, ticket.pk
    token = uuid.uuid4().hex  # one claim per firing: a redelivered task sends nothing twice
    transaction.on_commit(lambda: workflow_mail_task.delay(org_id, rule_id, ticket_id, token))
