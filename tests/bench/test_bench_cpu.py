"""How busy the machine was during a throughput run (bench/cpu.py), beside each figure.

What is checked is the accounting (which ticks count as busy, whose CPU time is the
clients'), never how fast anything went.
"""

from __future__ import annotations

import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy.engine import make_url

from bench.baselines import PgBench, _libpq_conninfo
from bench.cpu import CpuClock, CpuUse, busy_and_total
from bench.harness import measure
from bench.report import Figure, figure_row
from tests.bench.harness_clients import burning

# user nice system idle iowait irq softirq steal guest guest_nice
STAT = "cpu  100 5 50 800 20 3 2 10 7 0\ncpu0 50 2 25 400 10 1 1 5 3 0\nintr 1 2 3\n"


def test_busy_is_every_tick_but_idle_and_io_wait_and_guest_time_is_not_counted_twice(
    tmp_path: Path,
) -> None:
    stat = tmp_path / "stat"
    stat.write_text(STAT)
    # total: user..steal = 990 (guest is inside user); busy: total - idle - iowait.
    assert busy_and_total(stat) == (170, 990)


def test_without_proc_stat_there_is_no_figure(tmp_path: Path) -> None:
    assert busy_and_total(tmp_path / "missing") is None
    (tmp_path / "other").write_text("intr 1 2 3\n")
    assert busy_and_total(tmp_path / "other") is None
    assert CpuClock(tmp_path / "missing").use(1.0) is None


def test_the_busy_share_is_of_the_ticks_between_start_and_end(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text(STAT)
    clock = CpuClock(stat)
    # 300 more ticks, of which 240 busy (user +200, system +40) and 60 idle.
    stat.write_text("cpu  300 5 90 860 20 3 2 10 7 0\n")
    use = clock.use(0.0)
    assert use == CpuUse(busy=240 / 300, clients=0.0)


@pytest.mark.skipif(sys.platform != "linux", reason="/proc/stat is Linux's")
def test_a_run_says_how_busy_the_machine_was_and_how_much_of_it_the_clients_used() -> None:
    rate = measure(burning, 2, 0.3)

    assert rate.operations > 0
    assert rate.cpu is not None
    # Each operation burns 20 ms of its process's CPU: neither share can be nought, and
    # neither can be more than all the machine's CPU time.
    assert 0 < rate.cpu.clients <= 1.05
    assert 0 < rate.cpu.busy <= 1


def test_a_throughput_figure_shows_its_and_its_baselines_cpu_and_a_time_shows_none() -> None:
    throughput = Figure(
        "postgresql", "debits spread, 8 clients", 1500, "ops/s", "pgbench", 3000,
        cpu=CpuUse(busy=0.97, clients=0.58), baseline_cpu=CpuUse(busy=0.95, clients=0.21),
    )  # fmt: skip
    timed = Figure("postgresql", "balance, 10-entry wallet", 0.9, "ms")

    assert figure_row(throughput).endswith("| 0.50x | 97% (58%) / 95% (21%) |")
    assert figure_row(timed).endswith("| – | – |")


@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_a_pgbench_baseline_says_how_busy_the_machine_was_and_pgbench_s_own_share(
    database_url: str,
) -> None:
    pgbench = PgBench(database_url)
    pgbench.initialise()
    try:
        rate = pgbench.tps(1, 1.0)
    finally:
        with psycopg.connect(_libpq_conninfo(make_url(database_url)), autocommit=True) as c:
            c.execute(
                sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(pgbench.database))
            )

    assert rate.operations > 0
    assert rate.cpu is not None
    assert 0 < rate.cpu.clients <= 1.05
    assert 0 < rate.cpu.busy <= 1
