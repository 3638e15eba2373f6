"""After-actions: scheduling and running (BP-11). Filled in by the next commit."""

from __future__ import annotations

from typing import Any


def after_actions_schedule(*, log_entry: Any) -> None:
    """No-op until the runner lands."""
