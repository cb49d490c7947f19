"""No new import cycle inside flask_partialpay (see tools/import_cycles.py).

An import inside a function counts like one at module level; imports under
``TYPE_CHECKING`` do not (they never run).
"""

from __future__ import annotations

from tools.import_cycles import import_graph, runtime_cycles


def test_no_import_cycle() -> None:
    cycles = [sorted(cycle) for cycle in runtime_cycles()]
    assert cycles == [], "import cycle(s) inside flask_partialpay; break them"


def test_function_level_imports_count() -> None:
    """An import inside a function is an edge (the way the old cycles were hidden)."""
    # PartialPay.init_app imports the views and the CLI inside the function.
    graph = import_graph()
    assert "flask_partialpay.web" in graph["flask_partialpay.extension"]
    assert "flask_partialpay.cli" in graph["flask_partialpay.extension"]


def test_type_checking_imports_do_not_count() -> None:
    # state.py names PartialPay only for the type checker.
    assert "flask_partialpay.extension" not in import_graph()["flask_partialpay.state"]


def test_cycle_finder_finds_a_loop_and_leaves_out_what_only_leads_into_it() -> None:
    graph = {
        "flask_partialpay.a": {"flask_partialpay.b"},
        "flask_partialpay.b": {"flask_partialpay.c"},
        "flask_partialpay.c": {"flask_partialpay.a"},
        "flask_partialpay.d": {"flask_partialpay.a"},
    }
    assert runtime_cycles(graph) == [
        frozenset({"flask_partialpay.a", "flask_partialpay.b", "flask_partialpay.c"})
    ]
