"""Configuring SLAs (TKT-09's SLA step, BP-15): SLA policies per department and priority, a
blueprint state's SLA, and their escalation levels 1 to 3.

Desk admins only (ORG-04); a state SLA also needs a plan with blueprints (ORG-07). Each save
validates everything first and writes in one transaction, so bad input leaves nothing
half-saved; the errors are a ValidationError keyed by the form's fields (`first_response`,
`resolution`, `minutes`, and `<target>-<level>` for a level), in words an admin can act on.
Objects of another organization (a department, a mail template, a team, a user who is not a
member) are refused with a message, not saved. After the commit, a task re-plans the open
clocks of the policy or state SLA (`sla.tasks.sla_replan_task`), so a changed target or level
reaches the tickets already running; a deletion stops them in its own transaction."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from blueprints.models import State
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, Department, DeskRole, Membership, Team
from helpdesk.tenancy.permissions import ensure_app_admin
from helpdesk.tickets.mailtemplates.models import MailTemplate
from helpdesk.tickets.models import Priority

from .. import durations
from ..models import (
    MAX_LEVEL,
    MAX_MINUTES,
    EscalationLevel,
    EscalationTeam,
    EscalationUser,
    SlaPolicy,
    StateSla,
    Target,
    When,
)

Errors = dict[str, list[str]]
POLICY_TARGETS = (Target.FIRST_RESPONSE, Target.RESOLUTION)


@dataclass(frozen=True)
class LevelInput:
    """One escalation level as typed: fires `offset_minutes` before, at or after the due time
    of `target` and mails `template` to the chosen people."""

    level: int
    when: str
    offset_minutes: int
    template: MailTemplate | None
    target: str = Target.STATE
    notify_owner: bool = False
    notify_manager: bool = False
    users: Sequence[Any] = ()  # User
    teams: Sequence[Team] = ()
    roles: Sequence[str] = ()


@dataclass(frozen=True)
class PolicyInput:
    """An SLA policy as typed. A target of None starts no clock of that kind."""

    department: Department | None
    priority: str
    first_response_minutes: int | None
    resolution_minutes: int | None
    business_hours: bool = True
    is_active: bool = True
    levels: Sequence[LevelInput] = ()


def _add(errors: Errors, key: str, message: str) -> None:
    errors.setdefault(key, []).append(message)


def level_key(target: str, level: int) -> str:
    """The error key (and form prefix) of one level: "resolution-2", "state-1"."""
    return f"{target}-{level}"


def target_label(target: str) -> str:
    return str(Target(target).label) if target in Target.values else target


# --- Validation -------------------------------------------------------------------------------
def _minutes_errors(errors: Errors, key: str, minutes: int | None, what: str) -> None:
    if minutes is None:
        return
    if minutes < 1:
        _add(errors, key, _("%(what)s must be at least one minute.") % {"what": what})
    elif minutes > MAX_MINUTES:
        _add(
            errors,
            key,
            _("%(what)s must be at most %(max)s.")
            % {"what": what, "max": durations.text(MAX_MINUTES)},
        )


def _recipient_errors(org: Any, key: str, level: LevelInput, errors: Errors) -> None:
    """Who a level mails: members, teams and Desk roles of this organization only."""
    user_ids = sorted({u.pk for u in level.users})
    if user_ids:
        members = Membership.objects.for_org(org).filter(
            status=Membership.Status.ACTIVE, user_id__in=user_ids
        )
        if members.exclude(desk_role="").count() != len(user_ids):
            _add(errors, key, _("Choose active Desk members of your organization."))
    if any(team.org_id != org.pk for team in level.teams):
        _add(errors, key, _("Choose teams of your organization."))
    if set(level.roles) - set(DeskRole.values):
        _add(errors, key, _("Choose Desk roles."))
    if not (level.notify_owner or level.notify_manager or user_ids or level.teams or level.roles):
        _add(
            errors,
            key,
            _(
                "Choose who level %(n)d notifies: the ticket's owner, the owner's manager, "
                "users, teams or roles."
            )
            % {"n": level.level},
        )


def _signed_offset(level: LevelInput) -> int:
    if level.when == When.BEFORE:
        return -level.offset_minutes
    return 0 if level.when == When.AT else level.offset_minutes


def _level_errors(
    org: Any, target: str, target_minutes: int | None, levels: Sequence[LevelInput]
) -> Errors:
    """The levels of one target: numbered 1 to 3 without gaps, each with a valid time, a
    template and recipients of the organization, each firing after the one before."""
    errors: Errors = {}
    seen: dict[int, LevelInput] = {}
    name = target_label(target)
    for level in levels:
        key = level_key(target, level.level)
        if not 1 <= level.level <= MAX_LEVEL:
            _add(
                errors,
                "levels",
                _("Escalation levels go from 1 to %(max)d; there is no level %(n)d.")
                % {"max": MAX_LEVEL, "n": level.level},
            )
            continue
        if level.level in seen:
            _add(
                errors,
                key,
                _("Level %(n)d of %(target)s is set twice.") % {"n": level.level, "target": name},
            )
            continue
        seen[level.level] = level
        if target_minutes is None:
            _add(
                errors,
                key,
                _("%(target)s has no target: set one, or turn its escalation levels off.")
                % {"target": name},
            )
        if level.when not in When.values:
            _add(errors, key, _("Choose before, at or after the due time."))
        elif level.when == When.AT:
            if level.offset_minutes:
                _add(
                    errors,
                    key,
                    _(
                        "A level at the due time has no offset: choose “before” or “after” "
                        "to use one."
                    ),
                )
        elif level.offset_minutes < 1:
            _add(
                errors,
                key,
                _("Give the offset of a level before or after the due time (at least a minute)."),
            )
        elif level.offset_minutes > MAX_MINUTES:
            _add(
                errors,
                key,
                _("Use an offset of at most %(max)s.") % {"max": durations.text(MAX_MINUTES)},
            )
        elif (
            level.when == When.BEFORE
            and target_minutes is not None
            and 1 <= target_minutes <= level.offset_minutes
        ):
            _add(
                errors,
                key,
                _(
                    "Level %(n)d would fire when the clock starts or earlier: its offset "
                    "(%(offset)s) must be shorter than the target (%(target)s)."
                )
                % {
                    "n": level.level,
                    "offset": durations.text(level.offset_minutes),
                    "target": durations.text(target_minutes),
                },
            )
        if level.template is None:
            _add(errors, key, _("Choose a mail template."))
        elif level.template.org_id != org.pk:
            _add(errors, key, _("Choose a mail template of your organization."))
        _recipient_errors(org, key, level, errors)
    for n in sorted(seen):
        key = level_key(target, n)
        if n > 1 and n - 1 not in seen:
            _add(errors, key, _("Set level %(m)d before level %(n)d.") % {"m": n - 1, "n": n})
        elif (
            n > 1
            and key not in errors
            and level_key(target, n - 1) not in errors
            and _signed_offset(seen[n]) <= _signed_offset(seen[n - 1])
        ):
            _add(errors, key, _("Level %(n)d must fire after level %(m)d.") % {"n": n, "m": n - 1})
    return errors


def _ensure_admin(actor: Membership) -> None:
    ensure_app_admin(actor, App.DESK)


def _write_levels(
    org: Any, levels: Sequence[LevelInput], policy: SlaPolicy | None, state_sla: StateSla | None
) -> None:
    """Replace the owner's levels. Clocks remember levels by number, not by row, so fired
    escalations and planned due rows stay valid; the re-planning after commit rewrites them."""
    owner: dict[str, Any] = {"policy": policy} if policy is not None else {"state_sla": state_sla}
    EscalationLevel.objects.for_org(org).filter(**owner).delete()
    for data in sorted(levels, key=lambda lv: (lv.target, lv.level)):
        level = EscalationLevel(
            org=org,
            target=data.target,
            level=data.level,
            when=data.when,
            offset_minutes=0 if data.when == When.AT else data.offset_minutes,
            template=data.template,
            notify_owner=data.notify_owner,
            notify_manager=data.notify_manager,
            roles=sorted(set(data.roles)),
            **owner,
        )
        level.save()
        EscalationUser.objects.bulk_create(
            [
                EscalationUser(org=org, level=level, user=u)
                for u in {u.pk: u for u in data.users}.values()
            ]
        )
        EscalationTeam.objects.bulk_create(
            [
                EscalationTeam(org=org, level=level, team=t)
                for t in {t.pk: t for t in data.teams}.values()
            ]
        )


def _replan_after_commit(*, policy: SlaPolicy | None = None, state_sla: StateSla | None = None):
    """Re-plan the open clocks once the new settings are committed: a task (CORE's
    `replan_policy` / `replan_state_sla` in batches), so the admin does not wait for them."""
    from ..tasks import sla_replan_task

    if policy is not None:
        org_id, kwargs = policy.org_id, {"policy_id": policy.pk}
    elif state_sla is not None:
        org_id, kwargs = state_sla.org_id, {"state_sla_id": state_sla.pk}
    else:  # pragma: no cover - one of the two is given
        return
    transaction.on_commit(lambda: sla_replan_task.delay(org_id, **kwargs))


# --- Policies ---------------------------------------------------------------------------------
def _policy_errors(actor: Membership, data: PolicyInput, policy: SlaPolicy | None) -> Errors:
    org = actor.org
    errors: Errors = {}
    if data.department is None:
        _add(errors, "department", _("Choose a department."))
    elif data.department.org_id != org.pk:
        _add(errors, "department", _("Choose a department of your organization."))
    if data.priority not in Priority.values:
        _add(errors, "priority", _("Choose a priority."))
    _minutes_errors(
        errors, "first_response", data.first_response_minutes, _("The first response target")
    )
    _minutes_errors(errors, "resolution", data.resolution_minutes, _("The resolution target"))
    if data.first_response_minutes is None and data.resolution_minutes is None:
        _add(
            errors,
            "first_response",
            _("Set a first response target, a resolution target, or both."),
        )
    if "department" not in errors and "priority" not in errors:
        assert data.department is not None
        taken = SlaPolicy.objects.for_org(org).filter(
            department=data.department, priority=data.priority
        )
        if policy is not None:
            taken = taken.exclude(pk=policy.pk)
        if taken.exists():
            _add(errors, "priority", _taken_message(data.department, data.priority))
    minutes = {
        Target.FIRST_RESPONSE: data.first_response_minutes,
        Target.RESOLUTION: data.resolution_minutes,
    }
    for level in data.levels:
        if level.target not in POLICY_TARGETS:
            _add(errors, "levels", _("A policy's levels are for its first response or resolution."))
    for target in POLICY_TARGETS:
        mine = [lv for lv in data.levels if lv.target == target]
        for key, messages in _level_errors(org, target, minutes[target], mine).items():
            errors.setdefault(key, []).extend(messages)
    return errors


def _taken_message(department: Department, priority: str) -> str:
    return _(
        "%(department)s already has an SLA policy for %(priority)s priority: edit that one."
    ) % {
        "department": department.name,
        "priority": Priority(priority).label,
    }


@transaction.atomic
def sla_policy_save(
    *, actor: Membership, data: PolicyInput, policy: SlaPolicy | None = None
) -> SlaPolicy:
    """Create (`policy` None) or change an SLA policy with its levels; the open clocks of a
    changed policy are re-planned after commit."""
    _ensure_admin(actor)
    ensure_same_org(actor.org, policy)
    if policy is not None:
        policy = SlaPolicy.objects.for_org(actor.org).select_for_update().get(pk=policy.pk)
    errors = _policy_errors(actor, data, policy)
    if errors:
        raise ValidationError(errors)
    assert data.department is not None
    if policy is None:
        policy = SlaPolicy(org=actor.org)
    policy.department = data.department
    policy.priority = data.priority
    policy.first_response_minutes = data.first_response_minutes
    policy.resolution_minutes = data.resolution_minutes
    policy.business_hours = data.business_hours
    policy.is_active = data.is_active
    try:
        with transaction.atomic():  # a concurrent twin: the same message as the check above
            policy.save()
    except IntegrityError:
        raise ValidationError(
            {"priority": [_taken_message(data.department, data.priority)]}
        ) from None
    _write_levels(actor.org, data.levels, policy=policy, state_sla=None)
    _replan_after_commit(policy=policy)
    return policy


@transaction.atomic
def sla_policy_delete(*, actor: Membership, policy: SlaPolicy) -> None:
    """Delete a policy and its levels. Its open clocks stop counting; stopped ones stay for
    the report (their policy becomes empty)."""
    _ensure_admin(actor)
    ensure_same_org(actor.org, policy)
    from . import clocks as runtime

    # Its open clocks stop without a verdict, in this transaction: once the row is gone the
    # clocks no longer name it.
    runtime.replan_policy(policy, removed=True)
    policy.delete()


# --- State SLAs -------------------------------------------------------------------------------
def _ensure_state_admin(actor: Membership) -> None:
    _ensure_admin(actor)
    if not actor.org.limit("blueprints_per_department"):
        raise PermissionDenied(
            _("Blueprints need the Professional or Enterprise plan. Upgrade to use them.")
        )


@transaction.atomic
def state_sla_save(
    *,
    actor: Membership,
    state: State,
    minutes: int,
    business_hours: bool = True,
    levels: Sequence[LevelInput] = (),
) -> StateSla:
    """Set a blueprint state's SLA (BP-15), creating it or changing the one it has, with its
    levels; the state's open clocks are re-planned after commit."""
    _ensure_state_admin(actor)
    ensure_same_org(actor.org, state)
    org = actor.org
    errors: Errors = {}
    _minutes_errors(errors, "minutes", minutes, _("The state's SLA"))
    if any(level.target != Target.STATE for level in levels):
        _add(errors, "levels", _("A state's levels are for the time in the state."))
    for key, messages in _level_errors(org, Target.STATE, minutes, levels).items():
        errors.setdefault(key, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    state_sla = StateSla.objects.for_org(org).select_for_update().filter(state=state).first()
    if state_sla is None:
        state_sla = StateSla(org=org, state=state)
    state_sla.minutes = minutes
    state_sla.business_hours = business_hours
    try:
        with transaction.atomic():
            state_sla.save()
    except IntegrityError:  # set at the same moment by another admin
        raise ValidationError(
            {"minutes": [_("Someone else has just set this state's SLA: reload the page.")]}
        ) from None
    _write_levels(org, levels, policy=None, state_sla=state_sla)
    _replan_after_commit(state_sla=state_sla)
    return state_sla


@transaction.atomic
def state_sla_delete(*, actor: Membership, state_sla: StateSla) -> None:
    """Remove a state's SLA and its levels; tickets in the state stop being timed there."""
    _ensure_state_admin(actor)
    ensure_same_org(actor.org, state_sla)
    from . import clocks as runtime

    # The state's open clocks stop without a verdict, in this transaction.
    runtime.replan_state_sla(state_sla, removed=True)
    state_sla.delete()


def desk_users(org: Any, user_ids: Sequence[int]) -> list[Any]:
    """Users among `user_ids` who are active Desk members of `org` (for the forms' choices)."""
    members = Membership.objects.for_org(org).filter(
        status=Membership.Status.ACTIVE, user_id__in=list(user_ids)
    )
    return list(
        get_user_model().objects.filter(pk__in=members.exclude(desk_role="").values("user_id"))
    )
