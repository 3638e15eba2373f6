"""A ticket's visits of blueprint states, for the apps above blueprints (the SLA app's state
clocks, BP-15): they register a listener at start-up and hear of every move, inside the
moving service's transaction. A registry, as the pipeline's: blueprints imports none of them.

The engine calls `state_visit` wherever a ticket's blueprint state changes: entering a
blueprint, a transition (by a member or automatic), a status moved outside transitions, and
leaving or being removed from the blueprint."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from helpdesk.tickets.models import Ticket


@dataclass(frozen=True)
class Visit:
    """The ticket left state `left_id` (None: it was in no state) and entered `entered_id`
    (None: it left the blueprint) at `at`; by taking `transition_id` (None: not a transition)
    as `actor_id` (None: automatic or not a transition), which the blueprint report keeps.
    `first`: the ticket is being created, so it has no earlier visit a listener need look
    for."""

    ticket: Ticket
    left_id: int | None
    entered_id: int | None
    at: dt.datetime
    transition_id: int | None = None
    actor_id: int | None = None
    first: bool = False


Listener = Callable[[Visit], None]
_listeners: list[Listener] = []


def visit_listen(listener: Listener) -> None:
    """Call `listener(visit)` on every state change (registered once)."""
    if listener not in _listeners:
        _listeners.append(listener)


def visit_unlisten(listener: Listener) -> None:
    if listener in _listeners:
        _listeners.remove(listener)


def state_visit(
    *,
    ticket: Ticket,
    left_id: int | None,
    entered_id: int | None,
    at: dt.datetime,
    transition_id: int | None = None,
    actor_id: int | None = None,
    first: bool = False,
) -> None:
    """Tell the listeners the ticket moved from `left_id` to `entered_id` (same state: no
    move, nothing told); `first`: it entered its first state on its creation."""
    if left_id == entered_id:
        return
    visit = Visit(
        ticket=ticket,
        left_id=left_id,
        entered_id=entered_id,
        at=at,
        transition_id=transition_id,
        actor_id=actor_id,
        first=first,
    )
    for listener in _listeners:
        listener(visit)
