"""The results: each figure beside its baseline, as a Markdown table and in ``RESULTS.md``."""

from __future__ import annotations

import os
import platform
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy

from bench.counting import Count

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

    @property
    def ratio(self) -> float | None:
        if self.baseline is None or self.baseline == 0:
            return None
        return self.value / self.baseline


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
    return f"| {figure.database} | {figure.name} | {value}{note} | {baseline} | {ratio} |"


FIGURES_HEADER = (
    "| database | figure | value | baseline (same run) | ratio |\n| --- | --- | --- | --- | --- |"
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
                    "## Figures",
                    self.figures_table(),
                    "## SQL statements per operation",
                    self.counts_table(),
                    self.counts_details(),
                    *notes,
                    "## How it is measured",
                    how_measured.strip(),
                ]
            )
            + "\n"
        )
