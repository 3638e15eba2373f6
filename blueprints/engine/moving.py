"""The transition window (BP-09, BP-13), completion under the row lock (BP-03, BP-08) and
auto-transitions (BP-05)."""

from __future__ import annotations

import copy
import datetime as dt
import importlib
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.bulkinsert import insert_row
from helpdesk.compiledreads import CompiledRead
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership
from helpdesk.tickets import pipeline
from helpdesk.tickets.fields import validate_custom_values
from helpdesk.tickets.models import CustomField, Priority, Ticket, TicketHistory
from helpdesk.tickets.services.history import history_record
from helpdesk.tickets.services.tickets import ticket_process_change

from .. import actions as after_actions
from ..models import (
    AutoTrigger,
    DuringAction,
    LogKind,
    ThreadScope,
    TicketBlueprint,
    Transition,
    TransitionLog,
    TransitionWindow,
)
from ..visits import state_visit
from . import definitions as compiled_definitions
from .common import (
    TransitionConflict,
    _moving,
    close_windows,
    lock_ticket,
    move_instance,
)
from .entering import _meets
from .options import (
    Option,
    _before,
    _empty,
    _field_value,
    available_transitions,
    instance_for,
    transitions_from,
)


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
    ticket: Ticket,
    transition: Transition,
    data: dict[str, Any],
    defs: compiled_definitions.Definitions | None = None,
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
    proposed.org = ticket.org  # what the rules read, without loading it again
    proposed.custom_fields = {**(ticket.custom_fields or {}), **custom}
    for name in ("priority", "due_at"):
        if name in values:
            setattr(proposed, name, values[name])
    now = timezone.now()
    schemas = defs or compiled_definitions.current(ticket.org_id)
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


# The locked ticket with what the ticket service's history snapshot reads, in one query whose
# SQL is compiled once per process (its compiling cost more than its running).
_locked_ticket: CompiledRead[Ticket] = CompiledRead(
    lambda org_id, pk: (
        Ticket.objects.for_org(org_id)
        .filter(pk=pk)
        .select_related("status", "department", "contact", "account", "owner")
        .defer("search_vector")
    )
)


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
    # One batch: what the pipeline and the SLA listener read (their settings' token) is read
    # once, with the ticket's instance; nothing changes settings inside a transition.
    with transaction.atomic(), pipeline.batch():
        # Lock the row alone, then read it: a locking read joined to the status would drop
        # the row when the winner of a race changed its status (PostgreSQL re-checks the
        # join against the old status row).
        if not lock_ticket(membership.org.pk, ticket.pk):
            raise TransitionConflict(_("This ticket no longer exists."))
        locked = _locked_ticket(org_id=membership.org.pk, pk=ticket.pk)
        if locked is None:
            raise TransitionConflict(_("This ticket no longer exists."))
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
        values, errors = _during_values(
            locked,
            transition,
            data,
            instance.definitions,  # type: ignore[attr-defined]
        )
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
        move_instance(locked.org_id, instance.pk, to_state.pk, now)
        state_visit(
            ticket=locked,
            left_id=from_state.pk,
            entered_id=to_state.pk,
            at=now,
            transition_id=transition.pk,
            actor_id=membership.user_id,
        )
        close_windows(locked.org_id, instance.pk)
        token = _moving.set(_moving.get() | {locked.pk})
        # One history row: the status change (and fields) naming the transition.
        named: dict[str, list[Any]] = {"transition": [from_state.status.name, transition.name]}
        version = instance.definitions.version_number(instance.blueprint_id)  # type: ignore[attr-defined]
        if version is not None:  # the version it ran under (kept by every save)
            named["blueprint_version"] = ["", version]
        try:
            changed = ticket_process_change(
                actor=membership,
                ticket=locked,
                # A copy: the compiled definitions' status is shared.
                values={"status": copy.copy(to_state.status), **values},
                action="blueprint_transition",
                ip=ip,
                also=named,
            )
        finally:
            _moving.reset(token)
        asked = {f.field for f in transition.fields.all()}
        entry = insert_row(
            TransitionLog(
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
        )
        if not changed:  # nothing else changed: the transition has its own row
            history_record(
                ticket=locked,
                actor=membership.user,
                ip=ip,
                action="blueprint_transition",
                changes=named,
            )
        _schedule_after_actions(transition, entry)
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


def _schedule_after_actions(transition: Transition, entry: TransitionLog) -> None:
    """The transition's after-actions run after commit (BP-11); `entry.transition` is the
    compiled transition, whose count of linked actions spares a transition with none the
    queries."""
    transaction.on_commit(lambda: after_actions.schedule_after_actions(entry))


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
    requirements do not apply to it (nobody fills them). Every incoming message and rating
    calls it: a ticket in no blueprint, or in a state with no auto-transition of this
    trigger, costs one read (the instance, from the compiled definitions), no lock."""
    probe = instance_for(Ticket(org_id=org_id, pk=ticket_id))
    if probe is None or not any(t.auto_trigger == trigger for t in transitions_from(probe)):
        return
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
        schemas = instance.definitions  # type: ignore[attr-defined]
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
    state_visit(
        ticket=ticket,
        left_id=from_state.pk,
        entered_id=transition.to_state_id,
        at=now,
        transition_id=transition.pk,
    )
    close_windows(ticket.org_id, instance.pk)
    token = _moving.set(_moving.get() | {ticket.pk})
    try:
        ctx = pipeline.Context(ticket=ticket, event="update", changes={}, actor=None, now=now)
        made = _rule_change()(
            ctx,
            rule_name=_("Blueprint: %(name)s") % {"name": transition.name},
            values={"status": copy.copy(transition.to_state.status)},
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
    _schedule_after_actions(transition, entry)
