"""Layers (README, Architecture): imports run one way. bin/test runs import-linter's layer
contracts (pyproject.toml); this test adds what a layers contract does not see: no import
cycle between any two modules of the project, not even through an import inside a function
(which grimp counts like any other)."""

from __future__ import annotations

import grimp


def _cycles() -> list[list[str]]:
    graph = grimp.build_graph(
        "helpdesk", "customers", "blueprints", "sla", "reports", "crmsync", "chat", cache_dir=None
    )
    seen: set[frozenset[str]] = set()
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            chain = graph.find_shortest_chain(importer=imported, imported=importer)
            if chain and frozenset(chain) not in seen:
                seen.add(frozenset(chain))
                cycles.append([importer, *chain])
    return cycles


def test_no_import_cycles():
    cycles = _cycles()
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)
