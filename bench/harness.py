"""Running one workload in N client processes for a fixed time, and what that gives.

Each client runs in a process of its own, as a shop's gunicorn workers do: N threads in one
process would share one GIL, so eight clients could never do more than one core's worth of
Python and "eight clients against one" would measure the interpreter, not the ledger.

The processes are started with ``spawn``, not ``fork``: a spawned process inherits no open
connection, pool, SQLite file handle or app of the parent (SQLite forbids carrying a
connection across ``fork``, and a forked pool would share the parent's sockets), so each
client builds its own app, engine and connection from picklable arguments, as a gunicorn
worker imports the app for itself; and it behaves the same on every platform. Starting
interpreters costs a second or so per client, before the clock starts.

The start barrier: every client reports that it is ready (set up, and warmed up by one
operation of its own, numbered 0, which is not counted: it connects, and it pays what a
new process pays once, such as compiling its statements, as a long-lived worker has long
since done), and only when all are ready does the parent let them go; each client then
runs until its own clock says the run's seconds are over, and reports its completed
operations, its errors, the first error and the time from the start to the end of its
last operation. An operation that raises is counted as an error, not as done. The rate's
seconds are the longest client's.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import queue
import statistics
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from bench.cpu import CpuClock, CpuUse, own_cpu_seconds

#: One operation of a client, given a number that is new on each call (for unique keys).
Operation = Callable[[int], object]
#: Opens a client's connection for the client ``index`` and gives its operation. It is
#: called in the client's own process, so it must pickle: a module-level function, or a
#: ``functools.partial`` of one with picklable arguments (a URL, a path, a run id).
Client = Callable[[int], AbstractContextManager[Operation]]

#: How the client processes are started (the module docstring says why).
START_METHOD = "spawn"
#: Operations each client does before the start, not counted (numbered 0, -1, ...).
WARM_UP_OPERATIONS = 1
#: How long clients may take to start and connect: interpreters on a busy machine.
SETUP_SECONDS = 300.0
#: How long after the run's end an operation may still be finishing (a lock wait).
FINISH_SECONDS = 120.0


@dataclass(frozen=True)
class Rate:
    """Operations completed in a timed run."""

    operations: int
    seconds: float
    errors: int
    first_error: str | None
    #: How busy the machine was during the run (:mod:`bench.cpu`); None if unknown.
    cpu: CpuUse | None = None

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class ClientReport:
    """What one client process did in the run."""

    index: int
    operations: int
    errors: int
    first_error: str | None
    seconds: float
    #: The client process's own CPU time (user + system) during the run.
    cpu_seconds: float = 0.0


def combine(reports: list[ClientReport]) -> Rate:
    """The run's rate: all clients' operations over the longest client's time."""
    first_errors = [r.first_error for r in sorted(reports, key=lambda r: r.index) if r.first_error]
    return Rate(
        operations=sum(r.operations for r in reports),
        seconds=max((r.seconds for r in reports), default=0.0),
        errors=sum(r.errors for r in reports),
        first_error=first_errors[0] if first_errors else None,
    )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


def run_client(
    client: Client, index: int, seconds: float, messages: Any, go: Any, cancelled: Any
) -> None:
    """A client process: set up, say ready, wait for the start, run, report."""
    try:
        with client(index) as operation:
            for number in range(-WARM_UP_OPERATIONS + 1, 1):
                operation(number)
            messages.put(("ready", index))
            go.wait()
            if cancelled.is_set():
                return
            started, cpu_started = time.perf_counter(), own_cpu_seconds()
            deadline = started + seconds
            done = errors = 0
            first_error: str | None = None
            ended = started
            while time.perf_counter() < deadline:
                try:
                    operation(done + errors + 1)
                except Exception as error:  # counted: a failed operation is not done
                    errors += 1
                    first_error = first_error or _describe(error)
                else:
                    done += 1
                ended = time.perf_counter()
            report = ClientReport(
                index, done, errors, first_error, ended - started,
                own_cpu_seconds() - cpu_started,
            )  # fmt: skip
            messages.put(("done", report))
    except BaseException as error:
        messages.put(("failed", index, _describe(error)))


def measure(client: Client, clients: int, seconds: float) -> Rate:
    """Run ``clients`` client processes for ``seconds`` and count their completed operations."""
    context = multiprocessing.get_context(START_METHOD)
    messages = context.Queue()
    go = context.Event()
    cancelled = context.Event()
    processes = [
        context.Process(
            target=run_client,
            args=(client, index, seconds, messages, go, cancelled),
            name=f"bench-client-{index}",
            daemon=True,
        )
        for index in range(clients)
    ]
    for process in processes:
        process.start()
    try:
        _wait_for(messages, processes, "ready", clients, SETUP_SECONDS)
        clock = CpuClock()
        go.set()
        done = _wait_for(messages, processes, "done", clients, seconds + FINISH_SECONDS)
        cpu = clock.use(sum(report.cpu_seconds for report in done))
    except BaseException:
        cancelled.set()
        go.set()
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
        raise
    for process in processes:
        process.join()
    return dataclasses.replace(combine(done), cpu=cpu)


def _wait_for(
    messages: Any, processes: list[Any], kind: str, expected: int, timeout: float
) -> list[Any]:
    """Collect ``expected`` messages of ``kind``; a failed or vanished client is an error."""
    found: list[Any] = []
    reported: set[int] = set()
    suspects: set[str] = set()
    deadline = time.monotonic() + timeout
    while len(found) < expected:
        try:
            message = messages.get(timeout=1.0)
        except queue.Empty:
            # A process that died without a word (killed, crashed) would be waited for
            # forever. Dead and silent over two polls: its last message cannot be in flight.
            silent = {
                p.name for i, p in enumerate(processes) if i not in reported and not p.is_alive()
            }
            if silent & suspects:
                names = ", ".join(sorted(silent & suspects))
                raise RuntimeError(f"a client ended without reporting: {names}") from None
            suspects = silent
            if time.monotonic() > deadline:
                raise RuntimeError(f"clients were not {kind} after {timeout:g} s") from None
            continue
        if message[0] == "failed":
            raise RuntimeError(f"client {message[1]} failed: {message[2]}")
        if message[0] != kind:
            raise RuntimeError(f"client message {message[0]!r} while waiting for {kind!r}")
        payload = message[1]
        reported.add(payload if isinstance(payload, int) else payload.index)
        found.append(payload)
    return found


def median_time(action: Callable[[], object], budget: float, *, at_least: int = 3) -> float:
    """Median seconds of ``action`` over repeated calls for about ``budget`` seconds."""
    times: list[float] = []
    end = time.perf_counter() + budget
    while len(times) < at_least or time.perf_counter() < end:
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
