"""What the editor says about a drawing while it is drawn (BP-04): states no transition can
reach and states no transition leaves. Pure: the same rules run in the browser
(static/js/blueprint-editor.js mirrors them) and on the server after every save."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _


@dataclass(frozen=True)
class Edge:
    """A transition as drawn: from these states (every state when common) to one."""

    sources: Sequence[int]
    target: int
    common: bool = False


@dataclass(frozen=True)
class Warning_:
    state: int
    kind: str  # "unreachable" or "dead_end"
    message: str


def outgoing(states: Iterable[int], edges: Iterable[Edge]) -> dict[int, set[int]]:
    """For each state, the states its transitions lead to (a common one leads from every
    state but its own target)."""
    ids = list(states)
    links: dict[int, set[int]] = {s: set() for s in ids}
    for edge in edges:
        for s in ids if edge.common else edge.sources:
            if s != edge.target and s in links:
                links[s].add(edge.target)
    return links


def warnings(
    states: Mapping[int, str],
    edges: Sequence[Edge],
    *,
    entry: int | None,
    ends: Iterable[int] = (),
) -> list[Warning_]:
    """`states`: id -> name; `entry`: the state new tickets start in (the department's default
    status) or None, when every state no transition leads to is a start; `ends`: states whose
    status is closed, where a process may stop. Order: the states' order."""
    links = outgoing(states, edges)
    incoming = {t for targets in links.values() for t in targets}
    starts = {entry} if entry is not None and entry in states else set(states) - incoming
    seen = set(starts)
    todo = list(starts)
    while todo:
        for nxt in links.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    closed = set(ends)
    found: list[Warning_] = []
    for pk, name in states.items():
        if pk not in seen:
            found.append(
                Warning_(
                    pk,
                    "unreachable",
                    _("No transition leads to “%(state)s” from the start of the process.")
                    % {"state": name},
                )
            )
        if not links.get(pk) and pk not in closed and len(states) > 1:
            found.append(
                Warning_(
                    pk,
                    "dead_end",
                    _("No transition leaves “%(state)s”: tickets that reach it stay there.")
                    % {"state": name},
                )
            )
    return found
