"""Where a debit's time goes (bench/breakdown.py, bench/report.py): the split's arithmetic,
the ceiling beside its goal, pgbench's per-command report, and what the timing counts.

Nothing here asserts how fast anything went: only what is counted and how it is divided.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from bench import breakdown, counting, workloads
from bench.baselines import RawSQLite, SQLiteSettings, command_latencies
from bench.breakdown import DriverClock, timing
from bench.ledger_app import make_ledger_app
from bench.report import ONE_CLIENT_GOALS, Breakdown, Figure, Results, Split, ceiling_row

# MariaDB as first measured by hand: 8 round trips of 150 µs (7 statements counted, and
# the pool's ROLLBACK) and 700 µs of Python per debit, against 3 round trips and 460 µs
# per operation for the raw loop.
LEDGER = Split("mariadb", "ledger: debits spread, 1 client", 1000, 1.9, 1.2, 7, 8)
RAW = Split("mariadb", "raw PyMySQL update+insert spread, 1 cl.", 2000, 0.92, 0.9, 3, 3)
THROUGHPUT = Figure("mariadb", "debits spread, 1 client", 500, "ops/s", "raw PyMySQL", 2000)


def test_a_split_divides_the_wall_time_between_the_database_and_python() -> None:
    assert LEDGER.per_operation == pytest.approx(1.9e-3)
    assert LEDGER.database_per_operation == pytest.approx(1.2e-3)
    assert LEDGER.python_per_operation == pytest.approx(0.7e-3)
    assert LEDGER.per_call == pytest.approx(150e-6)
    assert LEDGER.python_share == pytest.approx(0.7 / 1.9)
    # pgbench's latencies are averaged apart from its rate: Python is never below zero.
    assert Split("postgresql", "pgbench", 10, 1.0, 1.01, 7, 7).python_per_operation == 0.0
    assert Split("sqlite", "nothing done", 0, 0.0, 0.0, 0, 0).per_operation == 0.0


def test_the_ceiling_is_the_baselines_time_over_the_ledgers_database_time() -> None:
    split = Breakdown(LEDGER, RAW)

    assert split.ceiling == pytest.approx(460e-6 / 1.2e-3)  # 0.38x: below the goal of 0.5x
    assert split.instrumented_ratio == pytest.approx(460e-6 / 1.9e-3)
    assert Breakdown(Split("sqlite", "none", 0, 0.0, 0.0, 0, 0), RAW).ceiling is None


def test_the_ceiling_row_sets_the_goal_and_the_measured_ratio_beside_it() -> None:
    row = ceiling_row("mariadb", Breakdown(LEDGER, RAW), [THROUGHPUT])

    assert row == (
        "| mariadb | MariaDB debits ≥ 0.5× raw PyMySQL, 1 client | 0.25x "
        "| 0.24x (460 µs / 1,900 µs) | 0.38x (460 µs / 1,200 µs) |"
    )
    # No throughput figure at 1 client in the run: the measured ratio is not invented.
    assert "| 0.25x |" not in ceiling_row("mariadb", Breakdown(LEDGER, RAW), [])


def test_each_database_has_its_one_client_goal() -> None:
    assert {database: goal.bound for database, goal in ONE_CLIENT_GOALS.items()} == {
        "postgresql": 0.5,
        "sqlite": 0.5,
        "mariadb": 0.5,
    }


def test_the_results_file_has_the_section_after_the_statement_counts() -> None:
    results = Results(command="python -m bench", seconds=1)
    results.figures.append(THROUGHPUT)
    results.breakdowns["mariadb"] = Breakdown(LEDGER, RAW)
    text = results.markdown("how")

    section = text.index("## Where a debit's time goes")
    assert text.index("## SQL statements per operation") < section < text.index("## How it is")
    assert (
        "| mariadb | ledger: debits spread, 1 client | 7 | 8 | 1,900 µs | 1,200 µs | 150 µs "
        "| 700 µs | 37% |" in text
    )
    assert "| mariadb | raw PyMySQL update+insert spread, 1 cl. | 3 | 3 | 460 µs | 450 µs" in text
    assert "*Not measured in this run.*" in Results("python -m bench", 1).markdown("how")


PGBENCH_15 = """\
tps = 2986.889762 (without initial connection time)
statement latencies in milliseconds and failures:
         0.001           0  \\set aid random(1, 100000 * :scale)
         0.000           0  \\set delta random(-5000, 5000)
         0.013           0  BEGIN;
         0.038           0  UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
         0.041           0  SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
         0.024           0  INSERT INTO pgbench_history (tid, bid, aid, delta, mtime) VALUES (1);
         0.168           0  END;
"""  # noqa: E501 (pgbench's own lines)
PGBENCH_13 = """\
statement latencies in milliseconds:
         0.002  \\set aid random(1, 100000 * :scale)
         0.050  BEGIN;
         0.200  END;
"""


@pytest.mark.parametrize(
    ("output", "expected"),
    [(PGBENCH_15, [0.013, 0.038, 0.041, 0.024, 0.168]), (PGBENCH_13, [0.050, 0.200])],
    ids=["pgbench 15, with failures", "before pgbench 15"],
)
def test_pgbenchs_report_gives_its_sql_commands_latencies(
    output: str, expected: list[float]
) -> None:
    assert command_latencies(output) == pytest.approx([ms / 1000 for ms in expected])


def test_a_pgbench_output_without_the_report_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="no statement latencies"):
        command_latencies("tps = 10.0 (without initial connection time)\n")


def test_the_engines_statements_and_commits_are_timed_and_the_hooks_removed(
    database_url: str,
) -> None:
    engine = sa.create_engine(database_url)
    with engine.connect():
        pass  # the first connect's own statements and ROLLBACK, not timed here
    try:
        with timing(engine) as clock:
            with engine.begin() as connection:
                connection.execute(sa.text("SELECT 1"))
            with pytest.raises(sa.exc.DBAPIError), engine.connect() as connection:
                connection.execute(sa.text("SELECT * FROM no_such_table_anywhere"))
            timed = clock.calls
        # The SELECT, the COMMIT, the pool's ROLLBACK as the connection goes back (a
        # round trip with PyMySQL), the failed statement, the ROLLBACK of its transaction.
        assert timed == 5 and clock.seconds > 0
        assert "do_commit" not in vars(engine.dialect)
        assert "do_rollback" not in vars(engine.dialect)
        with engine.begin() as connection:
            connection.execute(sa.text("SELECT 1"))
        assert clock.calls == timed
    finally:
        engine.dispose()


def test_a_wrapped_driver_object_times_its_methods_and_gives_its_attributes() -> None:
    clock = DriverClock()
    wrapped = clock.wrap([3, 1, 2])

    wrapped.sort()
    wrapped.append(4)
    assert wrapped.index(4) == 3
    assert wrapped.__class__ is not list and clock.calls == 3


def test_the_raw_loops_statements_are_its_driver_calls(tmp_path: Path) -> None:
    raw = RawSQLite(tmp_path / "raw.sqlite", SQLiteSettings("wal", 1))

    split = breakdown.raw_split("sqlite", raw, 0.05)

    assert split.operations >= 1 and split.loop == f"{raw.name} spread, 1 cl."
    # BEGIN IMMEDIATE, UPDATE, INSERT, COMMIT.
    assert split.statements == split.calls == 4
    assert 0 < split.database_seconds <= split.seconds


def test_the_ledgers_statements_are_counted_as_the_counts_table_counts_them(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    ledger = make_ledger_app(url, connections=1)
    try:
        ledger.fresh_tables()
        workloads.fund_spread(ledger, 1)
        counted = counting.statements_per_operation(ledger)["debit"].total

        split = breakdown.ledger_split("sqlite", url, 0.05)
    finally:
        ledger.dispose()

    assert split.operations >= 1 and split.statements == counted
    # Besides the statements, the driver's ROLLBACK as the session's connection goes back
    # to the pool (sqlite3 sends nothing then); the BEGIN is a statement of the extension.
    assert split.calls == counted + 1
    assert 0 < split.database_seconds < split.seconds
