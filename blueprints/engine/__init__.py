"""The blueprint engine (BP-02..BP-25): plain functions over the definition models, in
modules `entering`, `options`, `moving` and `restricted`; this package exports them.

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

from . import definitions
from .common import TransitionConflict
from .entering import blueprint_step, enter
from .moving import (
    Completed,
    auto_transition,
    complete_transition,
    history_recorded,
    start_transition,
)
from .options import Option, available_transitions, instance_for, transitions_from
from .restricted import blueprint_remove, is_restricted, reassign_owner, restriction_guard

__all__ = [
    "Completed",
    "Option",
    "TransitionConflict",
    "auto_transition",
    "available_transitions",
    "blueprint_remove",
    "blueprint_step",
    "definitions",
    "complete_transition",
    "enter",
    "history_recorded",
    "instance_for",
    "is_restricted",
    "reassign_owner",
    "restriction_guard",
    "start_transition",
    "transitions_from",
]
