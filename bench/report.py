"""The results: each figure beside its baseline, the issue's goals, in ``RESULTS.md``."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy

from bench.counting import Count
from bench.cpu import CpuUse

OPERATIONS = ("credit", "debit", "hold", "capture")


@dataclass(frozen=True)
class Figure:
    """One measured figure; ``ratio`` is figure / baseline (a time ratio for times)."""

    database: str
    name: str
    value: float
    unit: str
    baseline_name: str = ""
    baseline: float | None = None
    note: str = ""
    #: How busy the machine was while the figure (its baseline) was measured: throughput.
    cpu: CpuUse | None = None
    baseline_cpu: CpuUse | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


@dataclass(frozen=True)
class Split:
    """Where one loop's time goes: a short run of ``operations``, its driver calls timed.

    ``database_seconds`` is the time spent inside the driver's calls that reach the
    database (statements, COMMIT, ROLLBACK); the rest of the wall time is Python's.
    """

    database: str
    loop: str
    operations: int
    seconds: float
    database_seconds: float
    #: Statements per operation, as :mod:`bench.counting` counts them.
    statements: float
    #: The driver's calls per operation that were timed: on a server, each is a round trip
    #: but for a COMMIT or ROLLBACK the driver knows it can skip (psycopg and sqlite3 send
    #: nothing outside a transaction; PyMySQL always sends one).
    calls: float

    @property
    def per_operation(self) -> float:
        return self.seconds / self.operations if self.operations else 0.0

    @property
    def database_per_operation(self) -> float:
        return self.database_seconds / self.operations if self.operations else 0.0

    @property
    def python_per_operation(self) -> float:
        # Never below zero: pgbench's latencies are averaged separately from its rate.
        return max(0.0, self.per_operation - self.database_per_operation)

    @property
    def python_share(self) -> float:
        return self.python_per_operation / self.per_operation if self.per_operation else 0.0

    @property
    def per_call(self) -> float:
        return self.database_per_operation / self.calls if self.calls else 0.0


@dataclass(frozen=True)
class Breakdown:
    """One client's debits and the baseline's loop on one database, split the same way."""

    ledger: Split
    baseline: Split

    @property
    def ceiling(self) -> float | None:
        """The best ratio the ledger's statements allow: the baseline's time per operation
        over the ledger's database time alone, as if the ledger's Python cost nothing."""
        spent = self.ledger.database_per_operation
        return self.baseline.per_operation / spent if spent else None

    @property
    def instrumented_ratio(self) -> float | None:
        """The baseline's time per operation over the ledger's, in these timed runs."""
        spent = self.ledger.per_operation
        return self.baseline.per_operation / spent if spent else None


def microseconds(seconds: float) -> str:
    value = seconds * 1e6
    return f"{value:,.0f} µs" if value >= 100 else f"{value:.1f} µs"


def _number(value: float, unit: str) -> str:
    if unit == "ops/s":
        return f"{value:,.0f} {unit}"
    if unit == "ms":
        return f"{value:,.2f} {unit}"
    if unit == "s":
        return f"{value:,.3f} {unit}"
    if unit == "MiB":
        return f"{value:,.1f} {unit}"
    return f"{value:,} {unit}"


def figure_row(figure: Figure) -> str:
    baseline = (
        f"{figure.baseline_name}: {_number(figure.baseline, figure.unit)}"
        if figure.baseline is not None
        else figure.baseline_name or "–"
    )
    ratio = f"{figure.ratio:.2f}x" if figure.ratio is not None else "–"
    value = _number(figure.value, figure.unit)
    note = f" ({figure.note})" if figure.note else ""
    cpu = _cpu(figure)
    return f"| {figure.database} | {figure.name} | {value}{note} | {baseline} | {ratio} | {cpu} |"


def _cpu(figure: Figure) -> str:
    if figure.cpu is None and figure.baseline_cpu is None:
        return "–"
    uses = (figure.cpu, figure.baseline_cpu)
    return " / ".join(use.describe() if use is not None else "–" for use in uses)


FIGURES_HEADER = (
    "| database | figure | value | baseline (same run) | ratio "
    "| CPU busy (clients): figure / baseline |\n| --- | --- | --- | --- | --- | --- |"
)


def commit() -> str:
    def git(*arguments: str) -> str:
        return subprocess.run(  # noqa: S603 (git, fixed arguments)
            ["git", *arguments], capture_output=True, text=True, check=False,  # noqa: S607
        ).stdout.strip()  # fmt: skip

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return f"{head} (uncommitted changes)" if git("status", "--porcelain") else head


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        total = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
        memory = f", {int(total) / 1024 / 1024:.1f} GiB RAM"
    except (OSError, IndexError, ValueError):
        pass
    return (
        f"{cpu}, {os.cpu_count()} CPUs{memory}; {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}"
    )


@dataclass
class Results:
    command: str
    seconds: float
    figures: list[Figure] = field(default_factory=list)
    counts: dict[str, dict[str, Count]] = field(default_factory=dict)
    servers: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: Where a debit's time goes, per database (:mod:`bench.breakdown`).
    breakdowns: dict[str, Breakdown] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    def add(self, figure: Figure) -> None:
        self.figures.append(figure)
        print(figure_row(figure), flush=True)

    def figures_table(self) -> str:
        return "\n".join([FIGURES_HEADER, *(figure_row(f) for f in self.figures)])

    def counts_table(self) -> str:
        databases = list(self.counts)
        lines = [
            "| operation | " + " | ".join(databases) + " |",
            "| --- |" + " --- |" * len(databases),
        ]
        for operation in OPERATIONS:
            cells = []
            for database in databases:
                count = self.counts[database].get(operation)
                cells.append("–" if count is None else str(count.total))
            lines.append(f"| {operation} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def counts_details(self) -> str:
        lines = []
        for database, counts in self.counts.items():
            for operation, count in counts.items():
                lines.append(
                    f"- {database}, {operation}: {len(count.executed)} executed "
                    f"({count.summary()}) + COMMIT×{count.commits}"
                    + (f" + ROLLBACK×{count.rollbacks}" if count.rollbacks else "")
                    + f" = {count.total}"
                )
        return "\n".join(lines)

    def goals_table(self) -> str:
        return "\n".join([GOALS_HEADER, *(goal_row(row) for row in evaluate(self.figures))])

    def breakdown_tables(self) -> str:
        """The split of each database's two loops, then each ceiling beside its goal."""
        if not self.breakdowns:
            return "*Not measured in this run.*"
        splits = [
            "| database | loop | statements / op | driver calls / op | wall / op "
            "| database / op | per call | Python / op | Python share |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        ceilings = [
            "| database | goal | measured (throughput) | same ratio, timed runs "
            "| ceiling with no Python at all |",
            "| --- | --- | --- | --- | --- |",
        ]
        for database, breakdown in self.breakdowns.items():
            for split in (breakdown.ledger, breakdown.baseline):
                splits.append(
                    f"| {database} | {split.loop} | {split.statements:.3g} | {split.calls:.3g} "
                    f"| {microseconds(split.per_operation)} "
                    f"| {microseconds(split.database_per_operation)} "
                    f"| {microseconds(split.per_call)} "
                    f"| {microseconds(split.python_per_operation)} "
                    f"| {split.python_share:.0%} |"
                )
            ceilings.append(ceiling_row(database, breakdown, self.figures))
        return "\n".join(splits) + "\n\n" + "\n".join(ceilings)

    def markdown(self, how_measured: str) -> str:
        servers = "; ".join(f"{name}: {version}" for name, version in self.servers.items())
        notes = ["## Notes", "\n".join(f"- {note}" for note in self.notes)] if self.notes else []
        return (
            "\n\n".join(
                [
                    "# Benchmark results",
                    "Written by `python -m bench` (`make bench`); issue 15. "
                    "What each figure measures and how: [below](#how-it-is-measured).",
                    f"- date: {self.started:%Y-%m-%d %H:%M} UTC\n"
                    f"- commit: {commit()}\n"
                    f"- machine: {machine()}\n"
                    f"- databases: {servers}\n"
                    f"- command: `{self.command}` ({self.seconds:g} s per throughput figure)",
                    "## Goals",
                    GOALS_INTRO,
                    self.goals_table(),
                    "## Figures",
                    self.figures_table(),
                    "## SQL statements per operation",
                    self.counts_table(),
                    self.counts_details(),
                    "## Where a debit's time goes",
                    BREAKDOWN_INTRO,
                    self.breakdown_tables(),
                    *notes,
                    "## How it is measured",
                    how_measured.strip(),
                ]
            )
            + "\n"
        )


# -- the goals ---------------------------------------------------------------------

GOALS_INTRO = (
    "The goals of issue 15, each with the ratio measured in this run: **met**, **not met**, "
    "or *not measured* when the run did not make the figure it needs (`--quick` makes few; "
    "`--large` makes the 1,000,000-entry ones)."
)
GOALS_HEADER = "| goal | database | measured | verdict |\n| --- | --- | --- | --- |"


@dataclass(frozen=True)
class GoalRow:
    goal: str
    database: str
    #: The measured ratio and what it divides; None: the figures it needs are not there.
    ratio: float | None
    how: str
    met: bool | None


@dataclass(frozen=True)
class Goal:
    """A goal of the issue: a ratio read from the run's figures, and its bound."""

    text: str
    database: str | None  # None: on every database that has the figures
    bound: float
    at_most: bool  # True: the ratio must be at most ``bound``; False: at least
    ratios: Callable[[list[Figure], str], Iterator[tuple[float, str]]]

    def rows(self, figures: list[Figure]) -> Iterator[GoalRow]:
        databases = (
            [self.database]
            if self.database is not None
            else list(dict.fromkeys(f.database for f in figures))
        )
        for database in databases or ["–"]:
            found = list(self.ratios(figures, database))
            if not found:
                yield GoalRow(self.text, database, None, "", None)
            for ratio, how in found:
                met = ratio <= self.bound if self.at_most else ratio >= self.bound
                yield GoalRow(self.text, database, ratio, how, met)


def _figures(figures: list[Figure], database: str, pattern: str) -> list[Figure]:
    wanted = re.compile(pattern, re.IGNORECASE)
    return [f for f in figures if f.database == database and wanted.search(f.name)]


def against_baseline(pattern: str) -> Callable[[list[Figure], str], Iterator[tuple[float, str]]]:
    """The ratio of each figure named like ``pattern`` to its own baseline."""

    def ratios(figures: list[Figure], database: str) -> Iterator[tuple[float, str]]:
        for figure in _figures(figures, database, pattern):
            if figure.ratio is not None and figure.baseline is not None:
                how = f"{_number(figure.value, figure.unit)} / {figure.baseline_name}"
                yield figure.ratio, f"{how}: {_number(figure.baseline, figure.unit)}"

    return ratios


def between(
    numerator: str, denominator: str
) -> Callable[[list[Figure], str], Iterator[tuple[float, str]]]:
    """The ratio of the figure named like ``numerator`` to the one named like ``denominator``."""

    def ratios(figures: list[Figure], database: str) -> Iterator[tuple[float, str]]:
        tops = _figures(figures, database, numerator)
        bottoms = _figures(figures, database, denominator)
        if tops and bottoms and bottoms[-1].value:
            top, bottom = tops[-1], bottoms[-1]
            how = f"{_number(top.value, top.unit)} / {bottom.name}"
            yield top.value / bottom.value, f"{how}: {_number(bottom.value, bottom.unit)}"

    return ratios


def balance_at_scale(figures: list[Figure], database: str) -> Iterator[tuple[float, str]]:
    """The balance read at 1,000,000 entries against the read at 10.

    Either one figure named ``balance…1,000,000…`` whose baseline is the read at 10 entries,
    or two figures, ``balance…1,000,000…`` and ``balance…10 entries…``.
    """
    large = r"^balance\b.*\b1,000,000\b"
    small = r"^balance\b.*\b10[ -]entr"
    for figure in _figures(figures, database, large):
        if figure.ratio is not None and re.search(r"\b10[ -]entr", figure.baseline_name):
            yield from against_baseline(large)(figures, database)
            return
    yield from between(large, small)(figures, database)


GOALS = (
    Goal(
        "debits ≥ 0.5× pgbench tpcb-like, 1 client", "postgresql", 0.5, False,
        against_baseline(r"^debits spread, 1 client$"),
    ),
    Goal(
        "debits ≥ 0.5× pgbench tpcb-like, 8 clients", "postgresql", 0.5, False,
        against_baseline(r"^debits spread, 8 clients$"),
    ),
    Goal(
        "debits at 8 clients ≥ 1.5× at 1 client (it scales)", "postgresql", 1.5, False,
        between(r"^debits spread, 8 clients$", r"^debits spread, 1 client$"),
    ),
    Goal(
        "hot wallet, 8 clients ≥ 0.5× the one-row pgbench script", "postgresql", 0.5, False,
        against_baseline(r"^hot wallet, 8 clients$"),
    ),
    Goal(
        "SQLite file debits ≥ 0.5× raw sqlite3, same journal mode, 1 client", "sqlite", 0.5,
        False, against_baseline(r"^debits spread, 1 client$"),
    ),
    Goal(
        "MariaDB debits ≥ 0.5× raw PyMySQL, 1 client", "mariadb", 0.5, False,
        against_baseline(r"^debits spread, 1 client$"),
    ),
    Goal(
        "MariaDB debits ≥ 0.5× raw PyMySQL, 8 clients", "mariadb", 0.5, False,
        against_baseline(r"^debits spread, 8 clients$"),
    ),
    Goal(
        "statement page 10,000 ≤ 2× page 1", None, 2.0, True,
        against_baseline(r"^statement page 10,000\b"),
    ),
    Goal("balance at 1,000,000 entries ≤ 1.5× at 10", None, 1.5, True, balance_at_scale),
)  # fmt: skip


def evaluate(figures: list[Figure], goals: tuple[Goal, ...] = GOALS) -> list[GoalRow]:
    return [row for goal in goals for row in goal.rows(figures)]


def goal_row(row: GoalRow) -> str:
    if row.ratio is None:
        return f"| {row.goal} | {row.database} | – | *not measured* |"
    verdict = "**met**" if row.met else "**not met**"
    return f"| {row.goal} | {row.database} | {row.ratio:.2f}x ({row.how}) | {verdict} |"


# -- where a debit's time goes ---------------------------------------------------------------

#: Each database's goal on one client's spread debits: what its ceiling is set beside.
ONE_CLIENT_GOALS = {
    goal.database: goal
    for goal in GOALS
    if goal.database is not None and goal.text.endswith(", 1 client")
}

BREAKDOWN_INTRO = (
    "One client's debits (the spread workload) and the baseline's loop, each in a short run "
    "of its own after the throughput figures, with the driver's calls timed: *database* is "
    "the time inside the driver's calls that reach the database (statements, COMMIT, "
    "ROLLBACK: on a server, their round trips; for SQLite the time inside `sqlite3`), "
    "*Python* the rest of the wall time (the ledger, "
    "SQLAlchemy, Flask-SQLAlchemy, the driver's own Python outside those calls, the timing "
    "itself). The ceiling is the baseline's time per operation over the ledger's database "
    "time alone: the best ratio the ledger's statements allow, were its Python free. "
    "How: [below](#how-it-is-measured)."
)


def _ratio(value: float | None, how: str = "") -> str:
    if value is None:
        return "–"
    return f"{value:.2f}x ({how})" if how else f"{value:.2f}x"


def ceiling_row(database: str, breakdown: Breakdown, figures: list[Figure]) -> str:
    """The goal, the ratio the throughput figures measured, and the ceiling."""
    goal = ONE_CLIENT_GOALS.get(database)
    measured = [row for row in goal.rows(figures) if row.ratio is not None] if goal else []
    ledger, baseline = breakdown.ledger, breakdown.baseline
    timed = _ratio(
        breakdown.instrumented_ratio,
        f"{microseconds(baseline.per_operation)} / {microseconds(ledger.per_operation)}",
    )
    ceiling = _ratio(
        breakdown.ceiling,
        f"{microseconds(baseline.per_operation)} / {microseconds(ledger.database_per_operation)}",
    )
    return (
        f"| {database} | {goal.text if goal else '–'} "
        f"| {_ratio(measured[0].ratio) if measured else '–'} | {timed} | {ceiling} |"
    )
