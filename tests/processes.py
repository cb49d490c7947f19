"""``flask partialpay run-due`` in several processes at once, for the tests of runs that
overlap: each process its own interpreter and database connection, all started together.

A test's ``process_app`` module is the app they run (configured from the environment the
test passes), and :func:`done` reads a job's count from what a run printed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: How many runs race on each database: SQLite serialises its writers, so two are enough.
PROCESSES = {"sqlite": 2, "postgresql": 4, "mariadb": 4}


def run_due_in_processes(
    count: int,
    app: str,
    env: Mapping[str, str],
    *,
    args: Sequence[str] = (),
    timeout: float = 120,
) -> list[subprocess.CompletedProcess[str]]:
    """Start ``count`` runs of ``flask --app APP partialpay run-due ARGS`` together, with
    ``env`` added to this environment; what each printed, once all have finished."""
    full = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    command = [sys.executable, "-m", "flask", "--app", app, "partialpay", "run-due", *args]
    started = [
        subprocess.Popen(  # noqa: S603 (our own command line)
            command, cwd=ROOT, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(count)
    ]
    finished = []
    for process in started:
        out, err = process.communicate(timeout=timeout)
        finished.append(subprocess.CompletedProcess(command, process.returncode, out, err))
    return finished


def done(result: subprocess.CompletedProcess[str], job: str) -> int:
    """How many things ``job`` did in the run ``result`` (its line ``job: N done``)."""
    for line in result.stdout.splitlines():
        name, _, rest = line.partition(": ")
        if name == job:
            return int(rest.split()[0])
    raise AssertionError(f"{job} not reported: {result.stdout!r} {result.stderr!r}")
