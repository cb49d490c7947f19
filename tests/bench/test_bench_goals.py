"""The benchmark's goals table (bench/report.py): each goal of issue 15 with its measured
ratio and "met", "not met" or "not measured"."""

from __future__ import annotations

import pytest

from bench.report import Figure, Results, evaluate


def _verdicts(figures: list[Figure]) -> dict[tuple[str, str], tuple[float | None, bool | None]]:
    return {(row.goal, row.database): (row.ratio, row.met) for row in evaluate(figures)}


PG_FIGURES = [
    Figure("postgresql", "debits spread, 1 client", 600, "ops/s", "pgbench", 1000),
    Figure("postgresql", "debits spread, 4 clients", 800, "ops/s", "pgbench", 2000),
    Figure("postgresql", "debits spread, 8 clients", 900, "ops/s", "pgbench", 2000),
    Figure("postgresql", "statement page 1, 200,000-entry wallet", 10, "ms"),
    Figure("postgresql", "statement page 10,000, 200,000-entry wallet", 25, "ms", "page 1", 10),
]


def test_each_goal_says_met_not_met_or_not_measured() -> None:
    verdicts = _verdicts(PG_FIGURES)

    assert verdicts["debits ≥ 0.5× pgbench tpcb-like, 1 client", "postgresql"] == (0.6, True)
    assert verdicts["debits ≥ 0.5× pgbench tpcb-like, 8 clients", "postgresql"] == (0.45, False)
    # 900 / 600: exactly the bound is met.
    assert verdicts["debits at 8 clients ≥ 1.5× at 1 client (it scales)", "postgresql"] == (
        1.5,
        True,
    )
    assert verdicts["statement page 10,000 ≤ 2× page 1", "postgresql"] == (2.5, False)
    assert verdicts["hot wallet, 8 clients ≥ 0.5× the one-row pgbench script", "postgresql"] == (
        None,
        None,
    )
    assert verdicts["balance at 1,000,000 entries ≤ 1.5× at 10", "postgresql"] == (None, None)
    assert verdicts["MariaDB debits ≥ 0.5× raw PyMySQL, 1 client", "mariadb"] == (None, None)


@pytest.mark.parametrize(
    "figures",
    [
        [Figure("sqlite", "balance, 1,000,000 entries", 1.2, "ms", "10 entries", 1.0)],
        [
            Figure("sqlite", "balance read, 10 entries", 1.0, "ms"),
            Figure("sqlite", "balance read, 1,000,000 entries", 1.2, "ms"),
        ],
        # As bench/__main__.py names them.
        [Figure("sqlite", "balance, 1,000,000-entry wallet", 1.2, "ms", "10-entry wallet", 1.0)],
    ],
    ids=["against its baseline", "between two figures", "as the bench names them"],
)
def test_the_balance_goal_reads_either_form_of_the_figures(figures: list[Figure]) -> None:
    ratio, met = _verdicts(figures)["balance at 1,000,000 entries ≤ 1.5× at 10", "sqlite"]
    assert ratio == pytest.approx(1.2) and met is True


def test_the_results_file_has_the_goals_before_the_figures() -> None:
    results = Results(command="python -m bench", seconds=1)
    results.figures.extend(PG_FIGURES)
    text = results.markdown("how")
    assert text.index("## Goals") < text.index("## Figures")
    assert "| debits ≥ 0.5× pgbench tpcb-like, 8 clients | postgresql | 0.45x" in text
    assert "**not met**" in text and "*not measured*" in text
