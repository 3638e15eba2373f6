"""The rules pipeline (TKT-09): what runs when a ticket is created or changed, in this order:

    assignment rules -> workflow rules -> SLA -> round robin -> blueprints

`run` owns the order. Apps `register` their step into a slot at start-up (their AppConfig's
`ready`): the rules app (`helpdesk.tickets.rules.steps`) fills assignment, workflow and round
robin; the SLA and blueprint apps, above tickets, fill theirs: a registry, not an upward
import and not signals. Registering into a slot that does not exist fails. This module
imports no service, so nothing it runs imports it back in a cycle.

The ticket services call `run` inside their transaction, after writing their own history row,
for every way a ticket is made or changed (pages, mail, the help center, bulk updates). What a
rule changes is written by `helpdesk.tickets.rules.changes.rule_change` with its own history
row (no actor; the rule's name, shown as "Rule: <name>").

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

from django.db import connection
from django.utils import timezone

from helpdesk.tenancy.models import Membership

from .models import Ticket

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
SLOTS = ("assignment", "workflow", "sla", "round_robin", "blueprints")
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


# The version tokens of what steps configure (the rules', the blueprints'): name -> a scalar
# SQL subquery with one `%s`, the organization's id. Registered at start-up by the app that
# owns the token; the first token a batch reads brings every registered one in the same
# statement (a ticket's run reads them all: one round trip instead of one each).
_tokens: dict[str, str] = {}


def token_register(name: str, subquery: str) -> None:
    _tokens[name] = subquery


def token(name: str, org_id: int) -> Any:
    """The organization's token `name` (None when it has none yet), remembered for the current
    `batch()` under `(name, org_id)`, the key `seed` gives a token read elsewhere."""
    memo = _batch.get()
    if memo is not None and (name, org_id) in memo:
        return memo[(name, org_id)]
    # Outside a batch nothing is remembered: only the token asked for is read.
    names = [name, *(n for n in _tokens if n != name)] if memo is not None else [name]
    sql = "SELECT " + ", ".join(f"({_tokens[n]})" for n in names)
    with connection.cursor() as cursor:
        cursor.execute(sql, [org_id] * len(names))
        row = cursor.fetchone()
    if memo is not None:
        for n, value in zip(names, row, strict=True):
            memo.setdefault((n, org_id), value)
    return row[0]


def seed(key: Any, value: Any) -> None:
    """Give the current `batch()` a value `cached(key, ...)` would read (a caller that read it
    in a query it made anyway: the blueprint engine reads the settings token with the
    ticket's instance). Nothing outside a batch."""
    memo = _batch.get()
    if memo is not None:
        memo[key] = value


def register(slot: str, step: Step) -> None:
    """Add `step` to `slot`, from the `ready()` of the app that owns it (the rules app for
    assignment, workflow and round robin; the SLA and blueprint apps for theirs). The same step
    registered twice runs once."""
    if slot not in SLOTS:
        raise ValueError(f"Unknown pipeline slot {slot!r}; slots are {', '.join(SLOTS)}.")
    if step not in _registry[slot]:
        _registry[slot].append(step)


def unregister(slot: str, step: Step) -> None:
    if step in _registry.get(slot, []):
        _registry[slot].remove(step)


def steps() -> list[tuple[str, Step]]:
    """Every registered step, in the order of the slots."""
    return [(slot, step) for slot in SLOTS for step in _registry[slot]]


def run(
    ticket: Ticket,
    *,
    event: str,
    changes: dict[str, list[Any]],
    actor: Membership | None,
    now: dt.datetime | None = None,
) -> dict[str, list[Any]]:
    """Run every step on `ticket` (saved, inside the caller's transaction). Returns what the
    rules changed, {field: [before, after]}. One ticket's run, with the run of what its rules
    changed, is a batch: its steps read their settings' version once."""
    if event not in ("create", "update"):
        raise ValueError(event)
    with batch():
        return _run(ticket, event=event, changes=changes, actor=actor, now=now)


def _run(
    ticket: Ticket,
    *,
    event: str,
    changes: dict[str, list[Any]],
    actor: Membership | None,
    now: dt.datetime | None = None,
) -> dict[str, list[Any]]:
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
            again = _run(ticket, event="update", changes=made, actor=actor, now=ctx.now)
        finally:
            _depth.reset(token)
        for name, values in again.items():
            made[name] = [made[name][0], values[1]] if name in made else values
    return made
