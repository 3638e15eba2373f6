"""After-actions (BP-11): what runs when a transition completes. Owned by the after-actions
work; the engine calls `schedule_after_actions` from `transaction.on_commit` once a transition
is committed."""

from __future__ import annotations

from typing import Any


def schedule_after_actions(log_entry: Any) -> None:
    """Queue the after-actions linked to `log_entry.transition` (a `TransitionLog` of a
    completed transition), in their order. Called after the transition's commit; a failing
    action never undoes the transition. No-op until the after-actions module lands."""
