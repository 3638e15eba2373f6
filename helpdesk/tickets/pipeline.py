"""The rules pipeline (TKT-09): what runs when a ticket is created or changed, in this order:

    assignment rules -> workflow rules -> SLA -> round robin -> blueprints

`run` owns the order. The first, second and fourth steps are the rules app's
(`helpdesk.tickets.rules.steps`); SLA and blueprints belong to apps above tickets, which
`register` a step into their slot at start-up (an AppConfig's `ready`): a registry, not an
upward import and not signals. Registering into a slot that does not exist fails.

The ticket services call `run` inside their transaction, after writing their own history row,
for every way a ticket is made or changed (pages, mail, the help center, bulk updates). What a
rule changes is written by `rule_change` with its own history row (no actor; the rule's name,
shown as "Rule: <name>").

Loops: the changes rules make are run through the pipeline once more, as an update (so a
workflow rule triggered by a field another rule set does run), and no further; a service
called from inside a step (a blueprint moving the status) runs the pipeline at most one
level deeper."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.utils import timezone

from helpdesk.tenancy.models import Membership

from .models import Ticket

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
SLOTS = ("assignment", "workflow", "sla", "round_robin", "blueprints")
BUILTIN = {"assignment", "workflow", "round_robin"}
MAX_DEPTH = 2


@dataclass
class Context:
    """One run of the pipeline. `changes` is what the triggering change did, as history has it
    ({field: [before, after]}); steps add what rules change to `rule_changes`."""

    ticket: Ticket
    event: str  # "create" or "update"
    changes: dict[str, list[Any]]
    actor: Membership | None
    now: dt.datetime
    depth: int = 0
    rule_changes: dict[str, list[Any]] = field(default_factory=dict)

    def changed(self, name: str) -> bool:
        return name in self.changes or name in self.rule_changes


Step = Callable[[Context], None]
_registry: dict[str, list[Step]] = {slot: [] for slot in SLOTS}
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("pipeline_depth", default=0)
_batch: contextvars.ContextVar[dict[Any, Any] | None] = contextvars.ContextVar(
    "pipeline_batch", default=None
)


@contextlib.contextmanager
def batch() -> Iterator[None]:
    """Within the block, steps read what they configure (the rules, the schema) once and
    reuse it for every ticket: a bulk update of 500 tickets costs no query per ticket for the
    rules. Nothing may change the rules inside the block."""
    token = _batch.set({}) if _batch.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _batch.reset(token)


def batched(function: F) -> F:
    """Run `function` (a bulk service) inside `batch()`."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with batch():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def cached(key: Any, read: Callable[[], T]) -> T:
    """`read()`, remembered for the current `batch()` (read every time outside one)."""
    memo = _batch.get()
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    return memo[key]


def register(slot: str, step: Step) -> None:
    """Add `step` to `slot` (for "sla" and "blueprints", from the apps that own them). The
    same step registered twice runs once."""
    if slot not in SLOTS:
        raise ValueError(f"Unknown pipeline slot {slot!r}; slots are {', '.join(SLOTS)}.")
    if slot in BUILTIN:
        raise ValueError(f"The {slot!r} slot is run by the rules app itself.")
    if step not in _registry[slot]:
        _registry[slot].append(step)


def unregister(slot: str, step: Step) -> None:
    if step in _registry.get(slot, []):
        _registry[slot].remove(step)


def steps() -> list[tuple[str, Step]]:
    """Every step in the order they run."""
    from .rules import steps as rules

    builtin: dict[str, Step] = {
        "assignment": rules.assignment_step,
        "workflow": rules.workflow_step,
        "round_robin": rules.round_robin_step,
    }
    ordered: list[tuple[str, Step]] = []
    for slot in SLOTS:
        if slot in builtin:
            ordered.append((slot, builtin[slot]))
        ordered.extend((slot, step) for step in _registry[slot])
    return ordered


def run(
    ticket: Ticket,
    *,
    event: str,
    changes: dict[str, list[Any]],
    actor: Membership | None,
    now: dt.datetime | None = None,
) -> dict[str, list[Any]]:
    """Run every step on `ticket` (saved, inside the caller's transaction). Returns what the
    rules changed, {field: [before, after]}."""
    if event not in ("create", "update"):
        raise ValueError(event)
    depth = _depth.get()
    if depth >= MAX_DEPTH:
        return {}
    ctx = Context(
        ticket=ticket,
        event=event,
        changes=changes,
        actor=actor,
        now=now or timezone.now(),
        depth=depth,
    )
    token = _depth.set(depth + 1)
    try:
        for _slot, step in steps():
            step(ctx)
    finally:
        _depth.reset(token)
    made = dict(ctx.rule_changes)
    if made and depth == 0:
        # What the rules changed is an update of its own: the workflow rules that watch those
        # fields run once (at depth 1, whose own changes go no further).
        token = _depth.set(1)
        try:
            again = run(ticket, event="update", changes=made, actor=actor, now=ctx.now)
        finally:
            _depth.reset(token)
        for name, values in again.items():
            made[name] = [made[name][0], values[1]] if name in made else values
    return made


def rule_change(ctx: Context, *, rule_name: str, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set fields of `ctx.ticket` on a rule's behalf: the same checks of derived fields as the
    ticket services, a history row naming the rule, followers told of a status change.

    `values` holds ticket fields (department, status, priority, owner ...) and optionally
    `custom_fields` (values by key, already valid). A move to another department takes its
    default status (unless a status is given) and keeps only the custom values its layout
    knows. Returns the changes written."""
    from .fields import validate_custom_values
    from .helpcenter.ratings import rating_request
    from .models import CustomField, StatusKind
    from .services import tickets as service
    from .services.followers import followers_notify
    from .services.history import diff, history_record
    from .services.owners import owner_notify

    ticket = ctx.ticket
    values = dict(values)
    custom = values.pop("custom_fields", None) or {}
    before = service._snapshot(ticket)
    old_department, old_kind = ticket.department_id, ticket.status_kind
    service._apply(ticket, values)
    moved = ticket.department_id != old_department
    if moved and "status" not in values:
        service._set_default_status(ticket)
    if moved or custom:
        definitions = list(
            CustomField.objects.for_org(ticket.org_id).filter(department=ticket.department_id)
        )
        known = {d.key for d in definitions if d.is_active}
        kept = {k: v for k, v in (ticket.custom_fields or {}).items() if k in known}
        kept.update(validate_custom_values(definitions, custom, partial=True))
        ticket.custom_fields = kept
    service._sync_derived(ticket, old_kind)
    after = service._snapshot(ticket)
    for key in before:
        after.setdefault(key, None)
    changes = diff(before, after)
    if not changes:
        return {}
    ticket.last_activity_at = ctx.now
    written = {name for name in changes if name in service.TRACKED}
    if moved or any(name.startswith("cf.") for name in changes):
        written.add("custom_fields")
    written |= {"status_kind", "priority_rank", "closed_at", "updated_at", "last_activity_at"}
    ticket.save(update_fields=sorted(written))
    # "_rule" names the rule: the history shows it as the change's actor ("Rule: <name>").
    recorded: dict[str, Any] = {**changes, "_rule": rule_name}
    row = history_record(ticket=ticket, actor=None, ip=None, action="rule", changes=recorded)
    if "status" in changes:
        followers_notify(ticket=ticket, actor=None, event="status", history=row)
        if ticket.status_kind == StatusKind.CLOSED and old_kind != StatusKind.CLOSED:
            rating_request(ticket)  # as when an agent closes it (TKT-04)
    if "owner" in changes and ctx.event == "update":
        # On create the ticket service tells the final owner, after the pipeline.
        owner_notify(ticket=ticket, event="assigned", actor=None)
    for name, (old, new) in changes.items():
        first = ctx.rule_changes.get(name, [old, new])[0]
        ctx.rule_changes[name] = [first, new]
    return changes
