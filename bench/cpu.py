"""How busy the machine's CPUs were during a timed run, and the clients' own share of them.

A figure that stops growing with clients is often a machine with no CPU left: the clients,
the database server and the kernel's loopback networking share the same cores. So each
throughput figure, and its baseline, carries two shares of all the machine's CPU time
during the run: **busy**, everything but idle and I/O wait (Linux's ``/proc/stat``), and
**clients**, the user and system time of the clients' own processes (the ledger's Python,
SQLAlchemy's, the driver's; for pgbench, pgbench's; for the checkout over HTTP, the
shoppers' HTTP clients, while the shop's gunicorn workers count in the rest). The rest of
the busy share is the database server's, the kernel's and anything else running. Where
``/proc/stat`` cannot be read (not Linux) there is no such figure.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

PROC_STAT = Path("/proc/stat")

HOW_CPU = """\
**CPU busy (clients)**: during each throughput run, the share of all the machine's CPU
time that was busy (from Linux's `/proc/stat`: user, nice, system, irq, softirq and steal
over those and idle and I/O wait), and in brackets the share the clients' own processes
used (their user + system time over the run's wall time times the CPUs; for pgbench,
pgbench's own process). The busy share less the clients' is the database server's, the
kernel's and anything else running on the machine. For the checkout over HTTP the clients
are the shoppers' HTTP clients: the shop's gunicorn workers, the ledger's Python with them,
are in the rest. For the figure, then for its baseline.\
"""


@dataclass(frozen=True)
class CpuUse:
    """Shares of all the machine's CPU time during a run, each from 0 to 1."""

    busy: float
    clients: float

    def describe(self) -> str:
        return f"{self.busy:.0%} ({self.clients:.0%})"


def busy_and_total(stat: Path = PROC_STAT) -> tuple[int, int] | None:
    """The machine's busy and total CPU time so far, in clock ticks; None if unknown.

    The first line of ``/proc/stat`` is ``cpu  user nice system idle iowait irq softirq
    steal guest guest_nice``; guest time is counted in user time already."""
    try:
        line = stat.read_text().split("\n", 1)[0]
    except OSError:
        return None
    label, *values = line.split()
    if label != "cpu" or len(values) < 5:
        return None
    ticks = [int(value) for value in values[:8]]
    total = sum(ticks)
    return total - ticks[3] - ticks[4], total


class CpuClock:
    """Started at a run's start; :meth:`use` at its end, given the clients' CPU seconds."""

    def __init__(self, stat: Path = PROC_STAT) -> None:
        self._stat = stat
        self._started = busy_and_total(stat)
        self._wall = time.perf_counter()

    def use(self, clients_cpu_seconds: float) -> CpuUse | None:
        ended = busy_and_total(self._stat)
        wall = time.perf_counter() - self._wall
        if self._started is None or ended is None or wall <= 0:
            return None
        total = ended[1] - self._started[1]
        busy = (ended[0] - self._started[0]) / total if total else 0.0
        clients = clients_cpu_seconds / (wall * (os.cpu_count() or 1))
        return CpuUse(busy=busy, clients=clients)


def own_cpu_seconds() -> float:
    """This process's user + system CPU time so far."""
    times = os.times()
    return times.user + times.system


def children_cpu_seconds() -> float:
    """The user + system CPU time of this process's ended child processes so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def child_process_use() -> Iterator[list[CpuUse | None]]:
    """The CPU use of a run made by child processes that end inside the block (pgbench):
    the block's list holds it once the block is done."""
    found: list[CpuUse | None] = [None]
    clock, before = CpuClock(), children_cpu_seconds()
    yield found
    found[0] = clock.use(children_cpu_seconds() - before)
