"""What the apps above blueprints add to its Setup pages: a column of the states table (the
SLA app: each state's SLA and a link to its form, BP-15). They register at start-up; the page
asks every registered provider once for all its states, so a provider costs one query,
whatever the number of states. A registry, as `visits`: blueprints imports none of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StateNote:
    """One state's cell in a provider's column: a short text and a link, and the lines that
    detail it (the SLA's escalation levels)."""

    text: str
    link_text: str
    url: str
    details: tuple[str, ...] = ()


# (organization id, portal, state ids) -> {state id: note}
StateNotes = Callable[[int, str, Sequence[int]], Mapping[int, StateNote]]
_columns: dict[str, tuple[Any, StateNotes]] = {}


def state_column_register(key: str, heading: Any, notes: StateNotes) -> None:
    """Add (or replace, per `key`) a column of the states table headed `heading`."""
    _columns[key] = (heading, notes)


@dataclass(frozen=True)
class StateColumns:
    headings: list[str]
    notes: dict[int, list[StateNote | None]]  # state id -> one cell per heading


def state_columns(org_id: int, portal: str, state_ids: Sequence[int]) -> StateColumns:
    """The registered columns' headings and each state's cells."""
    headings: list[str] = []
    cells: dict[int, list[StateNote | None]] = {pk: [] for pk in state_ids}
    for heading, provider in _columns.values():
        headings.append(str(heading))
        found = provider(org_id, portal, state_ids) if state_ids else {}
        for pk in state_ids:
            cells[pk].append(found.get(pk))
    return StateColumns(headings=headings, notes=cells)
