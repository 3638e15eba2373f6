"""The blueprint engine (BP-02..BP-25): plain functions over the definition models.

- `blueprint_step` is the last step of the TKT-09 pipeline: a ticket not in a blueprint enters
  the first active blueprint of its department, in list order, whose states include its status
  and whose criteria it meets (BP-21); a ticket whose status was moved by other means follows
  it when the status is a state of its blueprint, and leaves the blueprint otherwise.
- `available_transitions(ticket, member)`: each transition from the current state, with the
  reasons the member cannot take it (owner rule, failing condition) and what is still missing
  (fields, actions in order) (BP-06, BP-07, BP-12, BP-23, BP-25).
- `start_transition` opens the member's window; actions done inside it (a reply, comment,
  attachment, approval request, solution or share, in the configured order) count towards the
  transition; the same outside a window does not (BP-09, BP-13): `history_recorded` follows
  the ticket's history rows.
- `complete_transition` locks the ticket row, re-checks the before rules, validates the during
  rules, moves the status through the ticket service (history), writes the log and schedules
  the after-actions after commit. Of two members completing at once exactly one wins; the
  other gets `TransitionConflict` saying what happened (the state they saw is gone).
- Auto-transitions when a customer reply or rating arrives (BP-05), restricted mode (BP-02,
  `restriction_guard`, called by the ticket services' access checks), owner reassignment
  (BP-14), removal from a ticket (BP-18)."""

from __future__ import annotations

import contextvars
import datetime as dt
import importlib
import logging
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import DepartmentAgent, DeskRole, Membership, TeamMember
from helpdesk.tickets import pipeline
from helpdesk.tickets.conditions import (
    OPERATOR_LABELS,
    ConditionError,
    matches,
    parse,
    schema_for,
)
from helpdesk.tickets.conditions.parse import Condition, Group, Leaf
from helpdesk.tickets.fields import validate_custom_values
from helpdesk.tickets.models import CustomField, Priority, Ticket, TicketHistory
from helpdesk.tickets.services.access import ticket_access
from helpdesk.tickets.services.history import history_record
from helpdesk.tickets.services.tickets import ticket_process_change

from . import actions as after_actions
from .models import (
    AutoTrigger,
    Blueprint,
    BlueprintStatus,
    DuringAction,
    LogKind,
    OwnerKind,
    OwnerOverride,
    RestrictedAction,
    Restriction,
    State,
    ThreadScope,
    TicketBlueprint,
    Transition,
    TransitionLog,
    TransitionOwner,
    TransitionWindow,
)

log = logging.getLogger(__name__)

# Tickets whose status the engine is moving (the pipeline step leaves them alone).
_moving: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "blueprint_moving", default=frozenset()
)


class TransitionConflict(ValidationError):
    """The ticket is no longer where the member saw it (another member completed a transition
    first, or the transition was removed): the loser of a race."""


# --- Entering (BP-21) ----------------------------------------------------------------------------
def _candidates(ticket: Ticket) -> list[Blueprint]:
    """Active blueprints of the ticket's department with a state for its status, in order
    (read once per pipeline batch)."""
    return pipeline.cached(
        ("blueprints", ticket.org_id, ticket.department_id, ticket.status_id),
        lambda: list(
            Blueprint.objects.for_org(ticket.org_id)
            .filter(
                department_id=ticket.department_id,
                status=BlueprintStatus.ACTIVE,
                states__status_id=ticket.status_id,
            )
            .annotate(entry_state_id=F("states__id"))
            .order_by("position", "pk")
        ),
    )


Schemas = dict[Any, Any]


def _condition(
    org: Any, department: Any, raw: dict[str, Any], schemas: Schemas | None = None
) -> Condition | None:
    """A stored condition, parsed (None: it no longer parses, e.g. a field was removed). The
    department's schema is read once per pipeline batch, or per `schemas` memo (one engine
    call): one query however many blueprints or transitions have criteria."""
    key = ("bp-schema", org.pk, getattr(department, "pk", department))
    memo = schemas if schemas is not None else {}
    if key not in memo:
        memo[key] = pipeline.cached(key, lambda: schema_for(org, department=department))
    try:
        return parse(raw or {}, schema=memo[key], org=org, check_refs=False)
    except ConditionError:
        return None


def _meets(
    ticket: Ticket, raw: dict[str, Any], now: dt.datetime, schemas: Schemas | None = None
) -> bool:
    if not raw:
        return True
    condition = _condition(ticket.org, ticket.department_id, raw, schemas)
    return condition is not None and matches(condition, ticket, now=now)


def _before_snapshot(blueprint: Blueprint) -> dict[str, Any]:
    """Every transition's "before" settings (owners, criteria), as a ticket entering now keeps
    them (BP-16)."""
    owners: dict[int, list[dict[str, Any]]] = {}
    for o in TransitionOwner.objects.for_org(blueprint.org_id).filter(
        transition__blueprint=blueprint
    ):
        owners.setdefault(o.transition_id, []).append(
            {
                "kind": o.kind,
                "user": o.user_id,
                "role": o.role,
                "team": o.team_id,
                "department": o.department_id,
                "access": o.access,
            }
        )
    return {
        str(t.pk): {"owners": owners.get(t.pk, []), "criteria": t.criteria}
        for t in Transition.objects.for_org(blueprint.org_id).filter(blueprint=blueprint)
    }


def enter(ticket: Ticket, blueprint: Blueprint, *, now: dt.datetime, actor: Any = None) -> Any:
    state_id = getattr(blueprint, "entry_state_id", None)
    state = (
        State(pk=state_id, org_id=ticket.org_id, blueprint=blueprint, status_id=ticket.status_id)
        if state_id
        else State.objects.for_org(ticket.org_id).get(blueprint=blueprint, status=ticket.status_id)
    )
    instance = TicketBlueprint.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        blueprint=blueprint,
        state=state,
        entered_at=now,
        started_at=now,
        before=_before_snapshot(blueprint),
    )
    TransitionLog.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        blueprint=blueprint,
        kind=LogKind.ENTERED,
        name=blueprint.name,
        to_status_id=ticket.status_id,
        actor=actor,
        at=now,
    )
    return instance


def blueprint_step(ctx: pipeline.Context) -> None:
    """The pipeline's last step (TKT-09)."""
    ticket = ctx.ticket
    if ticket.pk in _moving.get() or not ticket.org.limit("blueprints_per_department"):
        return
    # A ticket being created is in no blueprint yet, and was never removed from one.
    creating = ctx.event == "create" and ctx.depth == 0
    instance = (
        None
        if creating
        else TicketBlueprint.objects.for_org(ticket.org_id)
        .filter(ticket_id=ticket.pk)
        .select_related("state", "blueprint")
        .first()
    )
    if instance is not None:
        if instance.state.status_id == ticket.status_id:
            return
        _status_moved(instance, ticket, ctx)
        if TicketBlueprint.objects.for_org(ticket.org_id).filter(pk=instance.pk).exists():
            return
    candidates = _candidates(ticket)
    if not candidates:
        return
    schemas: Schemas = {}
    for blueprint in candidates:
        if not (blueprint.applies_to_all or _meets(ticket, blueprint.criteria, ctx.now, schemas)):
            continue
        removed = not creating and (
            TransitionLog.objects.for_org(ticket.org_id)
            .filter(ticket_id=ticket.pk, kind=LogKind.REMOVED, blueprint=blueprint)
            .exists()
        )
        if removed:
            continue  # an admin took the ticket out of it (BP-18): it does not come back
        enter(ticket, blueprint, now=ctx.now, actor=ctx.actor.user if ctx.actor else None)
        return


def _status_moved(instance: TicketBlueprint, ticket: Ticket, ctx: pipeline.Context) -> None:
    """The status changed outside a transition (an edit, a rule): the ticket follows it within
    its blueprint, or leaves the blueprint when the status is not one of its states."""
    state = (
        State.objects.for_org(ticket.org_id)
        .filter(blueprint_id=instance.blueprint_id, status_id=ticket.status_id)
        .first()
    )
    old_status = instance.state.status_id
    seconds = int((ctx.now - instance.entered_at).total_seconds())
    actor = ctx.actor.user if ctx.actor else None
    TransitionWindow.objects.for_org(ticket.org_id).filter(instance=instance).delete()
    if state is None:
        instance.delete()
        TransitionLog.objects.create(
            org_id=ticket.org_id,
            ticket=ticket,
            blueprint_id=instance.blueprint_id,
            kind=LogKind.LEFT,
            name=instance.blueprint.name,
            from_status_id=old_status,
            to_status_id=ticket.status_id,
            actor=actor,
            at=ctx.now,
            seconds_in_state=max(seconds, 0),
        )
        return
    instance.state = state
    instance.entered_at = ctx.now
    instance.save(update_fields=["state", "entered_at"])
    TransitionLog.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        blueprint_id=instance.blueprint_id,
        kind=LogKind.TRANSITION,
        name="",
        from_status_id=old_status,
        to_status_id=ticket.status_id,
        actor=actor,
        at=ctx.now,
        seconds_in_state=max(seconds, 0),
    )


# --- Who may execute (BP-06, BP-14, BP-22, BP-23) ------------------------------------------------
@dataclass
class _Member:
    """What owner rules read about one member, read once."""

    membership: Membership
    _teams: set[int] | None = None
    _departments: set[int] | None = None

    @property
    def user_id(self) -> int:
        return self.membership.user_id

    @property
    def teams(self) -> set[int]:
        if self._teams is None:
            self._teams = set(
                TeamMember.objects.for_org(self.membership.org_id)
                .filter(user_id=self.user_id)
                .values_list("team_id", flat=True)
            )
        return self._teams

    @property
    def departments(self) -> set[int]:
        if self._departments is None:
            self._departments = set(
                DepartmentAgent.objects.for_org(self.membership.org_id)
                .filter(user_id=self.user_id)
                .values_list("department_id", flat=True)
            )
        return self._departments


def _owner_matches(rule: dict[str, Any], ticket: Ticket, member: _Member) -> bool:
    kind = rule["kind"]
    if kind == OwnerKind.TICKET_OWNER:
        return ticket.owner_id is not None and ticket.owner_id == member.user_id
    if kind == OwnerKind.AGENT:
        return rule["user"] == member.user_id
    if kind == OwnerKind.ROLE:
        return member.membership.desk_role == rule["role"]
    if kind == OwnerKind.TEAM:
        return rule["team"] in member.teams
    if kind == OwnerKind.DEPARTMENT:
        return rule["department"] in member.departments
    return False


def _owner_label(rule: dict[str, Any], names: dict[str, dict[int, str]]) -> str:
    kind = rule["kind"]
    if kind == OwnerKind.TICKET_OWNER:
        return _("the ticket's owner")
    if kind == OwnerKind.AGENT:
        return names["users"].get(rule["user"], "?")
    if kind == OwnerKind.ROLE:
        return _("role %(role)s") % {"role": DeskRole(rule["role"]).label}
    if kind == OwnerKind.TEAM:
        return _("team %(team)s") % {"team": names["teams"].get(rule["team"], "?")}
    return _("agents of %(department)s") % {
        "department": names["departments"].get(rule["department"], "?")
    }


def _describe_failure(condition: Condition, ticket: Ticket, now: dt.datetime) -> list[str]:
    """The parts of a condition the ticket does not meet, in words."""

    def words(node: Any) -> str:
        if isinstance(node, Group):
            joiner = _(" and ") if node.kind == "all" else _(" or ")
            return "(" + joiner.join(words(c) for c in node.children) + ")"
        assert isinstance(node, Leaf)
        text = f"{node.field.label} {OPERATOR_LABELS[node.op]}"
        if node.value is not None:
            choices = dict(node.field.choices)
            values = node.value if isinstance(node.value, tuple) else (node.value,)
            text += " " + ", ".join(str(choices.get(v, v)) for v in values)
        return text

    root = condition.root
    if root.kind == "any" or len(root.children) <= 1:
        return [words(root) if len(root.children) != 1 else words(root.children[0])]
    failing = []
    for child in root.children:
        single = Condition(
            root=Group("all", (child,)), org_id=condition.org_id, time_zone=condition.time_zone
        )
        if not matches(single, ticket, now=now):
            failing.append(words(child))
    return failing


@dataclass
class Option:
    """One transition from the ticket's current state, as a member sees it."""

    transition: Transition
    owners: list[str]
    can_execute: bool = False
    is_owner: bool = False  # the member is one of its owners (conditions aside)
    reasons: list[str] = field(default_factory=list)  # why the member cannot take it
    missing_fields: list[str] = field(default_factory=list)
    actions: list[tuple[str, str, bool]] = field(default_factory=list)  # (kind, label, done)
    window: TransitionWindow | None = None
    can_edit: bool = True  # BP-22: an owner without access to the ticket only executes

    @property
    def ready(self) -> bool:
        return self.can_execute and not self.missing_fields and all(d for *_x, d in self.actions)


def instance_for(ticket: Ticket) -> TicketBlueprint | None:
    return (
        TicketBlueprint.objects.for_org(ticket.org_id)
        .filter(ticket_id=ticket.pk)
        .select_related("blueprint", "state__status")
        .first()
    )


def transitions_from(instance: TicketBlueprint) -> list[Transition]:
    """The transitions of the instance's blueprint that start from its state (common ones
    included), with their during parts."""
    return list(
        Transition.objects.for_org(instance.org_id)
        .filter(blueprint_id=instance.blueprint_id)
        .filter(models_q_from(instance.state_id))
        .select_related("to_state__status")
        .prefetch_related("owners", "fields", "actions")
        .distinct()
        .order_by("position", "pk")
    )


def models_q_from(state_id: int) -> Any:
    from django.db.models import Q

    return Q(is_common=True) | Q(sources__state_id=state_id)


def _before(instance: TicketBlueprint, transition: Transition) -> dict[str, Any]:
    """The transition's before settings for this ticket: as when it entered (BP-16), or live
    for a transition added since."""
    kept = (instance.before or {}).get(str(transition.pk))
    if kept is not None:
        return kept
    return {
        "owners": [
            {
                "kind": o.kind,
                "user": o.user_id,
                "role": o.role,
                "team": o.team_id,
                "department": o.department_id,
                "access": o.access,
            }
            for o in transition.owners.all()
        ],
        "criteria": transition.criteria,
    }


def _owner_names(rules: list[dict[str, Any]], org_id: int) -> dict[str, dict[int, str]]:
    from helpdesk.tenancy.models import Department, Team, User

    users = {r["user"] for r in rules if r.get("user")}
    teams = {r["team"] for r in rules if r.get("team")}
    departments = {r["department"] for r in rules if r.get("department")}
    return {
        "users": {u.pk: u.display_name for u in User.objects.filter(pk__in=users)} if users else {},
        "teams": dict(Team.objects.for_org(org_id).filter(pk__in=teams).values_list("pk", "name"))
        if teams
        else {},
        "departments": dict(
            Department.objects.for_org(org_id).filter(pk__in=departments).values_list("pk", "name")
        )
        if departments
        else {},
    }


def _may_execute(
    instance: TicketBlueprint,
    transition: Transition,
    ticket: Ticket,
    member: _Member,
    overrides: dict[int, int],
) -> tuple[bool, list[dict[str, Any]]]:
    """Whether the member is an owner of the transition on this ticket, and the owner rules."""
    rules = _before(instance, transition)["owners"]
    if transition.pk in overrides:  # reassigned on this ticket (BP-14)
        return overrides[transition.pk] == member.user_id, [
            {"kind": OwnerKind.AGENT, "user": overrides[transition.pk]}
        ]
    if not rules:
        # No owner: anyone of the department (BP-06); Desk admins see every department.
        m = member.membership
        allowed = m.desk_role == DeskRole.ADMIN or ticket.department_id in member.departments
        return allowed, []
    return any(_owner_matches(r, ticket, member) for r in rules), rules


def available_transitions(
    ticket: Ticket,
    membership: Membership,
    *,
    now: dt.datetime | None = None,
    instance: TicketBlueprint | None = None,
) -> tuple[TicketBlueprint | None, list[Option]]:
    """The ticket's blueprint instance and, for each transition from its state, whether the
    member may take it and why not (BP-25). `instance`: the ticket's, when the caller read
    it already."""
    ensure_same_org(membership.org, ticket)
    now = now or timezone.now()
    instance = instance or instance_for(ticket)
    if instance is None:
        return None, []
    member = _Member(membership)
    overrides = dict(
        OwnerOverride.objects.for_org(ticket.org_id)
        .filter(instance=instance)
        .values_list("transition_id", "user_id")
    )
    windows = {
        w.transition_id: w
        for w in TransitionWindow.objects.for_org(ticket.org_id).filter(
            instance=instance, started_by_id=membership.user_id
        )
    }
    transitions = transitions_from(instance)
    all_rules: list[dict[str, Any]] = []
    befores = {t.pk: _before(instance, t) for t in transitions}
    for b in befores.values():
        all_rules.extend(b["owners"])
    all_rules.extend({"kind": OwnerKind.AGENT, "user": u} for u in overrides.values())
    names = _owner_names(all_rules, ticket.org_id)
    access = ticket_access(membership, ticket)
    schemas: Schemas = {}
    options = []
    for t in transitions:
        allowed, rules = _may_execute(instance, t, ticket, member, overrides)
        owners = [_owner_label(r, names) for r in rules] or [_("anyone in the department")]
        option = Option(transition=t, owners=owners, window=windows.get(t.pk))
        option.can_edit = access is not None
        option.is_owner = allowed
        reasons = []
        if not allowed:
            reasons.append(
                _("Only %(owners)s may execute this transition.") % {"owners": ", ".join(owners)}
            )
        criteria = befores[t.pk]["criteria"]
        if criteria:
            condition = _condition(ticket.org, ticket.department_id, criteria, schemas)
            if condition is None:
                reasons.append(_("Its condition no longer applies to this department's fields."))
            elif not matches(condition, ticket, now=now):
                reasons.extend(
                    _("Condition not met: %(condition)s") % {"condition": text}
                    for text in _describe_failure(condition, ticket, now)
                )
        if t.to_state_id == instance.state_id:
            reasons.append(_("The ticket is already in this state."))
        option.reasons = reasons
        option.can_execute = not reasons
        values = ticket.custom_fields or {}
        for f in t.fields.all():
            if f.mandatory and _empty(_field_value(ticket, f.field, values)):
                option.missing_fields.append(f.field)
        done = option.window.done_kinds() if option.window else []
        option.actions = [
            (a.kind, str(DuringAction(a.kind).label), a.kind in done) for a in t.actions.all()
        ]
        options.append(option)
    return instance, options


def _field_value(ticket: Ticket, name: str, values: dict[str, Any]) -> Any:
    if name.startswith("cf."):
        return values.get(name[3:])
    return getattr(ticket, name, None)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


# --- The window (BP-09, BP-13) -----------------------------------------------------------------
def _option(
    ticket: Ticket,
    membership: Membership,
    transition: Transition,
    instance: TicketBlueprint | None = None,
) -> Option:
    """The transition as the member sees it on the ticket now (with its definition read
    fresh: fields, actions, target state)."""
    _instance, options = available_transitions(ticket, membership, instance=instance)
    for option in options:
        if option.transition.pk == transition.pk:
            return option
    raise TransitionConflict(
        _(
            "“%(name)s” is not available in the ticket's current state: someone may have "
            "moved it meanwhile. Reload the ticket."
        )
        % {"name": transition.name}
    )


@transaction.atomic
def start_transition(
    *, ticket: Ticket, transition: Transition, membership: Membership
) -> TransitionWindow:
    """Open (or reopen) the member's window for the transition: actions they do on the ticket
    from now on count towards it, in order."""
    ensure_same_org(membership.org, ticket, transition)
    option = _option(ticket, membership, transition)
    if not option.can_execute:
        raise PermissionDenied(" ".join(option.reasons))
    instance = instance_for(ticket)
    assert instance is not None
    window, _created = TransitionWindow.objects.get_or_create(
        org_id=ticket.org_id,
        instance=instance,
        transition=transition,
        started_by_id=membership.user_id,
        defaults={"started_at": timezone.now()},
    )
    return window


# History actions that are during actions (BP-09), when their actor has a window open.
HISTORY_ACTIONS = {
    "reply": DuringAction.REPLY,
    "forward": DuringAction.REPLY,
    "comment": DuringAction.COMMENT,
    "approval_requested": DuringAction.APPROVAL,
    "solution_added": DuringAction.SOLUTION,
    "solution_updated": DuringAction.SOLUTION,
    "share_granted": DuringAction.SHARE,
    "share_changed": DuringAction.SHARE,
}


def history_recorded(row: TicketHistory) -> None:
    """A history row was written (a listener of the ticket services): count actions done
    inside a window; start auto-transitions on a customer reply or rating (after commit)."""
    if row.action in ("incoming", "rated"):
        trigger = AutoTrigger.CUSTOMER_REPLY if row.action == "incoming" else AutoTrigger.RATING
        if row.action == "rated" and "rating" not in (row.changes or {}):
            return  # only the comment changed
        org_id, ticket_id = row.org_id, row.ticket_id
        transaction.on_commit(lambda: auto_transition(org_id, ticket_id, trigger, public=True))
        return
    kinds = []
    if row.action in HISTORY_ACTIONS:
        kinds.append(HISTORY_ACTIONS[row.action])
    attachments = (row.changes or {}).get("attachments")
    if attachments and attachments[1]:
        kinds.append(DuringAction.ATTACHMENT)
    if not kinds or row.actor_id is None:
        return
    windows = list(
        TransitionWindow.objects.for_org(row.org_id)
        .filter(instance__ticket_id=row.ticket_id, started_by_id=row.actor_id)
        .select_for_update()
    )
    for window in windows:
        required = list(
            window.transition.actions.order_by("position", "pk").values_list("kind", flat=True)
        )
        done = window.done_kinds()
        changed = False
        for kind in kinds:
            pending = [k for k in required if k not in done]
            # In the configured order: only the next action due counts (BP-09).
            if pending and pending[0] == kind:
                done.append(kind)
                window.done.append({"kind": kind, "at": timezone.now().isoformat(), "ref": row.pk})
                changed = True
        if changed:
            window.save(update_fields=["done"])


# --- Completing -------------------------------------------------------------------------------
@dataclass
class Completed:
    log: TransitionLog
    next_window: TransitionWindow | None = None


def _during_values(
    ticket: Ticket, transition: Transition, data: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The during fields' values (BP-08): `data` by field name (`cf.<key>`, `priority`,
    `due_at`), cleaned; mandatory ones must have a value; each validation rule must hold for
    the ticket with the new values, else its warning."""
    errors: dict[str, list[str]] = {}
    fields = list(transition.fields.all())
    if not fields:
        return {}, errors
    definitions = list(
        CustomField.objects.for_org(ticket.org_id).filter(department=ticket.department_id)
    )
    by_key = {d.key: d for d in definitions}
    custom_in = {
        f.field[3:]: data[f.field]
        for f in fields
        if f.field.startswith("cf.") and f.field in data and not _empty(data[f.field])
    }
    values: dict[str, Any] = {}
    try:
        custom = validate_custom_values(definitions, custom_in, partial=True)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors[f"cf.{key}"] = messages
        custom = {}
    if custom:
        values["custom_fields"] = custom
    for f in fields:
        if f.field == "priority" and not _empty(data.get("priority")):
            if data["priority"] in Priority.values:
                values["priority"] = data["priority"]
            else:
                errors["priority"] = [_("Choose a priority.")]
        elif f.field == "due_at" and not _empty(data.get("due_at")):
            moment = data["due_at"]
            if isinstance(moment, str):
                from django.utils.dateparse import parse_datetime

                moment = parse_datetime(moment)
            if not isinstance(moment, dt.datetime):
                errors["due_at"] = [_("Enter a date and time.")]
            else:
                if timezone.is_naive(moment):
                    moment = timezone.make_aware(moment)
                values["due_at"] = moment
    # The ticket as it would be: mandatory values and validation rules read it.
    proposed = Ticket(
        **{f.attname: getattr(ticket, f.attname) for f in Ticket._meta.concrete_fields}
    )
    proposed.custom_fields = {**(ticket.custom_fields or {}), **custom}
    for name in ("priority", "due_at"):
        if name in values:
            setattr(proposed, name, values[name])
    now = timezone.now()
    schemas: Schemas = {}
    for f in fields:
        if f.field in errors:
            continue
        label = by_key[f.field[3:]].label if f.field in {f"cf.{k}" for k in by_key} else f.field
        if f.mandatory and _empty(_field_value(proposed, f.field, proposed.custom_fields)):
            errors[f.field] = [_("%(field)s is required for this transition.") % {"field": label}]
            continue
        if f.validation and not _meets(proposed, f.validation, now, schemas):
            errors[f.field] = [f.warning or _("The value does not meet the rule.")]
    return values, errors


def _missing_actions(option: Option) -> list[str]:
    return [label for _kind, label, done in option.actions if not done]


def complete_transition(
    *,
    ticket: Ticket,
    transition: Transition,
    membership: Membership,
    data: dict[str, Any] | None = None,
    expected_state: int | None = None,
    ip: str | None = None,
) -> Completed:
    """Complete `transition` on `ticket` as `membership` (see the module docstring). `data`
    holds the during fields' values; `expected_state` the state the member saw (the page's),
    so a member who lost a race is told rather than moving the ticket twice."""
    ensure_same_org(membership.org, ticket, transition)
    data = data or {}
    with transaction.atomic():
        # Lock the row alone, then read it: a locking read joined to the status would drop
        # the row when the winner of a race changed its status (PostgreSQL re-checks the
        # join against the old status row).
        exists = (
            Ticket.objects.for_org(membership.org)
            .select_for_update()
            .filter(pk=ticket.pk)
            .values_list("pk", flat=True)
            .first()
        )
        if exists is None:
            raise TransitionConflict(_("This ticket no longer exists."))
        locked = (
            Ticket.objects.for_org(membership.org)
            .select_related("status", "department")
            .get(pk=ticket.pk)
        )
        instance = instance_for(locked)
        if instance is None:
            raise TransitionConflict(_("This ticket is no longer in a blueprint. Reload it."))
        if expected_state is not None and instance.state_id != expected_state:
            raise TransitionConflict(
                _(
                    "Someone else has just moved this ticket to “%(state)s”: your transition "
                    "was not applied. Reload the ticket to see what it needs now."
                )
                % {"state": instance.state.status.name}
            )
        option = _option(locked, membership, transition, instance)
        transition = option.transition  # read with its fields, actions and target
        if not option.can_execute:
            raise PermissionDenied(" ".join(option.reasons))
        values, errors = _during_values(locked, transition, data)
        if values and not option.can_edit:
            raise PermissionDenied(
                _("You may execute this transition but not change the ticket's data.")
            )
        missing = _missing_actions(option)
        if missing:
            errors.setdefault("actions", []).append(
                _("Do these first, in this order: %(actions)s.") % {"actions": ", ".join(missing)}
            )
        if errors:
            raise ValidationError(errors)
        now = timezone.now()
        from_state = instance.state
        to_state = transition.to_state
        seconds = max(int((now - instance.entered_at).total_seconds()), 0)
        instance.state = to_state
        instance.entered_at = now
        instance.save(update_fields=["state", "entered_at"])
        TransitionWindow.objects.for_org(locked.org_id).filter(instance=instance).delete()
        token = _moving.set(_moving.get() | {locked.pk})
        try:
            ticket_process_change(
                actor=membership,
                ticket=locked,
                values={"status": to_state.status, **values},
                action="blueprint_transition",
                ip=ip,
            )
        finally:
            _moving.reset(token)
        asked = {f.field for f in transition.fields.all()}
        entry = TransitionLog.objects.create(
            org_id=locked.org_id,
            ticket=locked,
            blueprint_id=instance.blueprint_id,
            transition=transition,
            kind=LogKind.TRANSITION,
            name=transition.name,
            from_status_id=from_state.status_id,
            to_status_id=to_state.status_id,
            actor=membership.user,
            at=now,
            data={k: _json(v) for k, v in data.items() if k in asked},
            seconds_in_state=seconds,
        )
        history_record(
            ticket=locked,
            actor=membership.user,
            ip=ip,
            action="blueprint_transition",
            changes={"transition": [from_state.status.name, transition.name]},
        )
        transaction.on_commit(lambda: after_actions.schedule_after_actions(entry))
        next_window = None
        if (
            instance.blueprint.is_continuous
            and TicketBlueprint.objects.filter(pk=instance.pk, org_id=locked.org_id).exists()
        ):
            # Continuous (BP-03): the next transition the member may take opens at once.
            _i, options = available_transitions(locked, membership, now=now)
            first = next((o for o in options if o.can_execute), None)
            if first is not None:
                next_window = start_transition(
                    ticket=locked, transition=first.transition, membership=membership
                )
    return Completed(log=entry, next_window=next_window)


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


# --- Auto-transitions (BP-05) ------------------------------------------------------------------
def _rule_change() -> Any:
    """The rules' way to change a ticket without an actor (history "Rule: <name>")."""
    try:
        return importlib.import_module("helpdesk.tickets.rules.changes").rule_change
    except ImportError:  # pragma: no cover - older layout
        return pipeline.rule_change  # type: ignore[attr-defined]


def auto_transition(org_id: int, ticket_id: int, trigger: str, *, public: bool = True) -> None:
    """After a customer reply (`public`: incoming threads are public here) or a rating was
    committed: the first auto-transition from the ticket's state with this trigger and a
    matching thread scope whose criteria the ticket meets runs, without an actor. During
    requirements do not apply to it (nobody fills them)."""
    with transaction.atomic():
        if not (Ticket.objects.filter(org_id=org_id, pk=ticket_id).select_for_update().exists()):
            return
        ticket = Ticket.objects.select_related("org", "status", "department").get(
            org_id=org_id, pk=ticket_id
        )
        instance = instance_for(ticket)
        if instance is None:
            return
        scopes = [ThreadScope.ALL, ThreadScope.PUBLIC if public else ThreadScope.PRIVATE]
        now = timezone.now()
        schemas: Schemas = {}
        for transition in transitions_from(instance):
            if transition.auto_trigger != trigger:
                continue
            if trigger == AutoTrigger.CUSTOMER_REPLY and transition.thread_scope not in scopes:
                continue
            if transition.to_state_id == instance.state_id:
                continue
            if not _meets(ticket, _before(instance, transition)["criteria"], now, schemas):
                continue
            _move_without_actor(ticket, instance, transition, now)
            return


def _move_without_actor(
    ticket: Ticket, instance: TicketBlueprint, transition: Transition, now: dt.datetime
) -> None:
    from_state = instance.state
    seconds = max(int((now - instance.entered_at).total_seconds()), 0)
    instance.state = transition.to_state
    instance.entered_at = now
    instance.save(update_fields=["state", "entered_at"])
    TransitionWindow.objects.for_org(ticket.org_id).filter(instance=instance).delete()
    token = _moving.set(_moving.get() | {ticket.pk})
    try:
        ctx = pipeline.Context(ticket=ticket, event="update", changes={}, actor=None, now=now)
        made = _rule_change()(
            ctx,
            rule_name=_("Blueprint: %(name)s") % {"name": transition.name},
            values={"status": transition.to_state.status},
        )
        if made:
            pipeline.run(ticket, event="update", changes=made, actor=None, now=now)
    finally:
        _moving.reset(token)
    entry = TransitionLog.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        blueprint_id=instance.blueprint_id,
        transition=transition,
        kind=LogKind.AUTO,
        name=transition.name,
        from_status_id=from_state.status_id,
        to_status_id=transition.to_state.status_id,
        at=now,
        seconds_in_state=seconds,
    )
    transaction.on_commit(lambda: after_actions.schedule_after_actions(entry))


# --- Restricted mode (BP-02) ----------------------------------------------------------------------
ACCESS_ACTIONS = {
    "reply": RestrictedAction.REPLY,
    "forward": RestrictedAction.REPLY,
    "comment": RestrictedAction.REPLY,
    "edit": RestrictedAction.EDIT,
    "approval": RestrictedAction.APPROVAL,
    "attach": RestrictedAction.ATTACHMENT,
    "solution": RestrictedAction.SOLUTION,
}


def _restriction(ticket: Ticket) -> tuple[str, list[str], int, str] | None:
    """(restriction, actions, instance id, blueprint name) of the ticket's blueprint, read once
    per ticket object."""
    key = "_blueprint_restriction"
    if key not in ticket.__dict__:
        row = (
            TicketBlueprint.objects.for_org(ticket.org_id)
            .filter(ticket_id=ticket.pk)
            .values_list(
                "blueprint__restriction", "blueprint__restricted_actions", "pk", "blueprint__name"
            )
            .first()
        )
        ticket.__dict__[key] = row
    return ticket.__dict__[key]


def is_restricted(restriction: str, actions: list[str], kind: str) -> bool:
    if restriction == Restriction.ALL:
        return True
    if restriction == Restriction.SPECIFIC:
        return kind in actions
    if restriction == Restriction.ALL_EXCEPT:
        return kind not in actions
    return False


def restriction_guard(membership: Membership, ticket: Ticket, action: str) -> str | None:
    """The tickets' access check asks this (registered at start-up): in restricted mode, a
    restricted action is refused unless the member has a transition window open on the
    ticket (then it is part of the transition)."""
    kind = ACCESS_ACTIONS.get(action)
    if kind is None or ticket.pk is None or not membership.org.limit("blueprints_per_department"):
        return None
    row = _restriction(ticket)
    if row is None:
        return None
    restriction, actions, instance_id, name = row
    if not is_restricted(restriction, actions or [], kind):
        return None
    key = f"_blueprint_window_{membership.user_id}"
    if key not in ticket.__dict__:
        ticket.__dict__[key] = (
            TransitionWindow.objects.for_org(ticket.org_id)
            .filter(instance_id=instance_id, started_by_id=membership.user_id)
            .exists()
        )
    if ticket.__dict__[key]:
        return None
    return _(
        "This ticket follows the blueprint “%(name)s” in restricted mode: do this inside one of "
        "its transitions."
    ) % {"name": name}


# --- Reassignment (BP-14) and removal (BP-18) -----------------------------------------------------
@transaction.atomic
def reassign_owner(
    *,
    ticket: Ticket,
    transition: Transition,
    membership: Membership,
    user_id: int,
    ip: str | None = None,
) -> OwnerOverride:
    """Give a pending transition of this ticket to another agent (of any department). Only
    when the blueprint allows it, by a Desk admin or one of the transition's owners."""
    ensure_same_org(membership.org, ticket, transition)
    instance, options = available_transitions(ticket, membership)
    option = next((o for o in options if o.transition.pk == transition.pk), None)
    if instance is None or option is None:
        raise TransitionConflict(_("This transition is not pending on the ticket. Reload it."))
    if not instance.blueprint.dynamic_reassignment:
        raise PermissionDenied(_("This blueprint does not allow reassigning transitions."))
    if not (membership.is_app_admin("desk") or option.is_owner):
        raise PermissionDenied(
            _("Only an administrator or the transition's owner can reassign it.")
        )
    target = (
        Membership.objects.for_org(membership.org)
        .filter(user_id=user_id, status=Membership.Status.ACTIVE)
        .exclude(desk_role="")
        .select_related("user")
        .first()
    )
    if target is None:
        raise ValidationError({"user": [_("Choose an active agent.")]})
    override, _created = OwnerOverride.objects.update_or_create(
        org_id=ticket.org_id,
        instance=instance,
        transition=transition,
        defaults={"user_id": user_id, "set_by": membership.user},
    )
    history_record(
        ticket=ticket,
        actor=membership.user,
        ip=ip,
        action="blueprint_reassigned",
        changes={"transition_owner": [", ".join(option.owners), target.user.display_name]},
    )
    return override


@transaction.atomic
def blueprint_remove(*, ticket: Ticket, membership: Membership, ip: str | None = None) -> None:
    """Take the ticket out of its blueprint (Desk admins, BP-18); written to its history. It
    does not enter that blueprint again."""
    ensure_same_org(membership.org, ticket)
    if not membership.is_app_admin("desk"):
        raise PermissionDenied(_("Only administrators can remove a blueprint from a ticket."))
    Ticket.objects.for_org(membership.org).select_for_update().filter(pk=ticket.pk).first()
    instance = instance_for(ticket)
    if instance is None:
        raise TransitionConflict(_("This ticket is not in a blueprint."))
    now = timezone.now()
    TransitionLog.objects.create(
        org_id=ticket.org_id,
        ticket=ticket,
        blueprint_id=instance.blueprint_id,
        kind=LogKind.REMOVED,
        name=instance.blueprint.name,
        from_status_id=instance.state.status_id,
        actor=membership.user,
        at=now,
        seconds_in_state=max(int((now - instance.entered_at).total_seconds()), 0),
    )
    instance.delete()
    history_record(
        ticket=ticket,
        actor=membership.user,
        ip=ip,
        action="blueprint_removed",
        changes={"blueprint": [instance.blueprint.name, None]},
    )
