"""List the runtime import cycles inside ``flask_partialpay``.

Run ``python tools/import_cycles.py``: one line per cycle (a strongly connected group of
modules), its modules sorted. An import counts whether it sits at module level or inside a
function, since either runs when the code does; imports under ``TYPE_CHECKING`` never run
and are left out. ``tests/unit/test_import_cycles.py`` holds the list of cycles still allowed.
"""

from __future__ import annotations

import sys

import grimp

PACKAGE = "flask_partialpay"


def import_graph() -> dict[str, set[str]]:
    """Who imports whom inside the package, function-level imports included."""
    graph = grimp.build_graph(PACKAGE, exclude_type_checking_imports=True, cache_dir=None)
    return {
        module: {
            imported
            for imported in graph.find_modules_directly_imported_by(module)
            if imported == PACKAGE or imported.startswith(PACKAGE + ".")
        }
        for module in graph.modules
        if module == PACKAGE or module.startswith(PACKAGE + ".")
    }


def runtime_cycles(graph: dict[str, set[str]] | None = None) -> list[frozenset[str]]:
    """The strongly connected groups of more than one module (Tarjan, iteratively)."""
    graph = import_graph() if graph is None else graph
    index: dict[str, int] = {}
    lowlink: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[frozenset[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = lowlink[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                child = pending.pop()
                if child not in index:
                    index[child] = lowlink[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, sorted(graph.get(child, ()))))
                elif child in on_stack:
                    lowlink[node] = min(lowlink[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                lowlink[parent] = min(lowlink[parent], lowlink[node])
            if lowlink[node] == index[node]:
                group = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.add(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(frozenset(group))
    return sorted(groups, key=lambda group: sorted(group))


def main() -> int:
    cycles = runtime_cycles()
    for group in cycles:
        print(f"{len(group)} modules: " + ", ".join(sorted(group)))
    print(f"{len(cycles)} runtime import cycle(s) inside {PACKAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
