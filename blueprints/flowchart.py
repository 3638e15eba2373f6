"""The process flowchart on the ticket (BP-23, BP-25, BP-14): what Cytoscape draws, as JSON,
and the same facts as text for keyboard and screen-reader users.

The graph (states, transitions, sources) comes from the engine's compiled definitions, so it
costs no query whatever its size; the path taken is one query on the ticket's transition log;
the owners' names one query per kind of owner (agents, teams, departments), not per
transition. The request's query count therefore stays fixed as the process or the ticket's
history grows."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from .engine import Option
from .engine.options import _before, _owner_label, _owner_names
from .models import LogKind, TicketBlueprint, TransitionLog

ANY = "any"  # the node common transitions start from (as in the editor)
# The path shows the last PATH_LIMIT steps of a long history (the ticket's history page has
# every one): a ticket that went round its blueprint hundreds of times keeps a light chart.
PATH_LIMIT = 50


def path_taken(instance: TicketBlueprint) -> tuple[list[dict[str, Any]], bool]:
    """The transitions this ticket took in its current blueprint since it last entered it,
    oldest first, at most the last PATH_LIMIT, and whether earlier ones were left out: one
    query (the log rows after the last entry)."""
    rows = list(
        TransitionLog.objects.for_org(instance.org_id)
        .filter(ticket_id=instance.ticket_id, blueprint_id=instance.blueprint_id)
        .select_related("actor")
        .order_by("-at", "-pk")[: PATH_LIMIT + 1]
    )
    cut = len(rows) > PATH_LIMIT
    rows = rows[:PATH_LIMIT]
    rows.reverse()
    start = 0
    for n, row in enumerate(rows):
        if row.kind == LogKind.ENTERED:
            start, cut = n, False
    steps: list[dict[str, Any]] = []
    for row in rows[start:]:
        if row.kind not in (LogKind.TRANSITION, LogKind.AUTO):
            continue
        steps.append(
            {
                "transition": row.transition_id,
                "name": row.name,
                "from_status": row.from_status_id,
                "to_status": row.to_status_id,
                "auto": row.kind == LogKind.AUTO,
                "actor": row.actor.display_name if row.actor else "",
                "at": row.at,
            }
        )
    return steps, cut


def _owners(instance: TicketBlueprint, options: list[Option]) -> dict[int, list[str]]:
    """Every transition's owners for this ticket, in words: the pending ones as the engine
    said (overrides included), the others from the ticket's snapshot (BP-16)."""
    compiled = instance.compiled  # type: ignore[attr-defined]
    known = {o.transition.pk: o.owners for o in options}
    rules = {
        t.pk: _before(instance, t)["owners"] for t in compiled.transitions if t.pk not in known
    }
    names = _owner_names([r for rs in rules.values() for r in rs], instance.org_id)
    out = dict(known)
    for pk, rs in rules.items():
        out[pk] = [_owner_label(r, names) for r in rs] or [_("anyone in the department")]
    return out


def flow_graph(
    instance: TicketBlueprint,
    options: list[Option],
    steps: list[dict[str, Any]],
    reassignable: set[int],
) -> dict[str, Any]:
    """The Cytoscape elements and the text list's facts: states (the current one marked, those
    the path visited), transitions (pending ones, those taken with their order numbers,
    common ones from the "every state" node, BP-12), each with its owners."""
    compiled = instance.compiled  # type: ignore[attr-defined]
    by_status = compiled.state_by_status
    owners = _owners(instance, options)
    pending = {o.transition.pk for o in options}
    taken: dict[tuple[int, Any], list[int]] = {}
    visited = set()
    for n, step in enumerate(steps, start=1):
        source = by_status.get(step["from_status"])
        target = by_status.get(step["to_status"])
        if source is not None:
            visited.add(source.pk)
        if target is not None:
            visited.add(target.pk)
        key = (step["transition"], source.pk if source is not None else None)
        taken.setdefault(key, []).append(n)
    placed = any(s.x or s.y for s in compiled.states)
    nodes = [
        {
            "id": f"s{s.pk}",
            "name": s.status.name,
            "current": s.pk == instance.state_id,
            "visited": s.pk in visited,
            **({"x": s.x, "y": s.y} if placed else {}),
        }
        for s in compiled.states
    ]
    edges = []
    has_common = False
    for t in compiled.transitions:
        froms: list[Any] = [ANY] if t.is_common else list(t.source_ids)
        has_common = has_common or t.is_common
        for source in froms:
            if source != ANY and source not in compiled.state_by_id:
                continue
            numbers = taken.get((t.pk, source), [])
            if t.is_common:  # a common transition may have been taken from any state
                numbers = [n for (pk, _s), ns in taken.items() if pk == t.pk for n in ns]
            is_pending = t.pk in pending and (t.is_common or source == instance.state_id)
            edges.append(
                {
                    "id": f"t{t.pk}-{source}",
                    "transition": t.pk,
                    "source": f"s{source}" if source != ANY else ANY,
                    "target": f"s{t.to_state_id}",
                    "name": t.name,
                    "owners": ", ".join(owners.get(t.pk, [])),
                    "common": t.is_common,
                    "pending": is_pending,
                    "reassign": is_pending and t.pk in reassignable,
                    "taken": sorted(numbers),
                }
            )
    if has_common:
        nodes.append({"id": ANY, "name": _("Every state"), "any": True})
    return {
        "nodes": nodes,
        "edges": edges,
        "preset": placed,
        "owners": owners,
    }
