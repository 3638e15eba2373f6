"""Who may execute which transition, and why not (BP-06, BP-07, BP-12, BP-14, BP-22, BP-23,
BP-25)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import DepartmentAgent, DeskRole, Membership, TeamMember
from helpdesk.tickets.conditions import (
    OPERATOR_LABELS,
    matches,
)
from helpdesk.tickets.conditions.parse import Condition, Group, Leaf
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services.access import ticket_access

from ..models import (
    DuringAction,
    OwnerKind,
    OwnerOverride,
    TicketBlueprint,
    Transition,
    TransitionWindow,
)
from . import definitions
from .entering import _condition


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
    """The ticket's instance with its blueprint and state (status loaded) from the compiled
    definitions: one query."""
    return definitions.instance_for(ticket)


def transitions_from(instance: TicketBlueprint) -> list[Transition]:
    """The transitions of the instance's blueprint that start from its state (common ones
    included), in list order, with their target state, fields, actions and owners (owners are
    read from the ticket's snapshot; only a transition added since it entered reads its own,
    `_before`). From the compiled definitions: no query."""
    if not hasattr(instance, "compiled"):
        definitions.attach(instance, definitions.current(instance.org_id))
    return instance.compiled.transitions_from(instance.state_id)  # type: ignore[attr-defined]


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
    # Overrides exist only where the blueprint allows reassignment (BP-14); windows matter
    # only for transitions with actions to count (BP-09).
    overrides: dict[int, int] = (
        dict(
            OwnerOverride.objects.for_org(ticket.org_id)
            .filter(instance=instance)
            .values_list("transition_id", "user_id")
        )
        if instance.blueprint.dynamic_reassignment
        else {}
    )
    transitions = transitions_from(instance)
    windows = (
        {
            w.transition_id: w
            for w in TransitionWindow.objects.for_org(ticket.org_id).filter(
                instance=instance, started_by_id=membership.user_id
            )
        }
        if any(t.actions.all() for t in transitions)
        else {}
    )
    all_rules: list[dict[str, Any]] = []
    befores = {t.pk: _before(instance, t) for t in transitions}
    for b in befores.values():
        all_rules.extend(b["owners"])
    all_rules.extend({"kind": OwnerKind.AGENT, "user": u} for u in overrides.values())
    names = _owner_names(all_rules, ticket.org_id)
    access = ticket_access(membership, ticket)
    defs = instance.definitions  # type: ignore[attr-defined]
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
            condition = _condition(ticket.org, ticket.department_id, criteria, defs)
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
