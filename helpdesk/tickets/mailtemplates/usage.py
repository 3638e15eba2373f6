"""Who sends mail templates: a registry filled by the apps above tickets (blueprint
after-actions, SLA escalations), so that a template in use is not deleted from under them
while tickets imports none of them. A pure module: nothing to import."""

from __future__ import annotations

from collections.abc import Callable

# (organization id, template id) -> how many things of that app send it.
UsageCounter = Callable[[int, int], int]
_COUNTERS: dict[str, UsageCounter] = {}


def register(key: str, counter: UsageCounter) -> None:
    """Add (or replace, per `key`) a counter: idempotent."""
    _COUNTERS[key] = counter


def count(org_id: int, template_id: int) -> int:
    return sum(counter(org_id, template_id) for counter in _COUNTERS.values())
