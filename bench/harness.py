"""Running one workload in N client threads for a fixed time, and what that gives.

Each client gets its own connection (whatever ``client`` opens for it), all of them wait on
a barrier until every one is ready, and the clock starts only then: connecting and setting
up are not measured. An operation that raises is counted as an error, not as done.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

#: One operation of a client, given a number that is new on each call (for unique keys).
Operation = Callable[[int], object]
#: Opens a client's connection for the client ``index`` and gives its operation.
Client = Callable[[int], AbstractContextManager[Operation]]


@dataclass(frozen=True)
class Rate:
    """Operations completed in a timed run."""

    operations: int
    seconds: float
    errors: int
    first_error: str | None

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0


def measure(client: Client, clients: int, seconds: float) -> Rate:
    """Run ``clients`` clients for ``seconds`` and count their completed operations."""
    ready = threading.Barrier(clients + 1)
    go = threading.Event()
    deadline = [0.0]
    counts = [0] * clients
    errors = [0] * clients
    first_errors: list[str] = []
    setup_failures: list[BaseException] = []

    def run(index: int) -> None:
        try:
            with client(index) as operation:
                ready.wait()
                go.wait()
                number = 0
                while time.perf_counter() < deadline[0]:
                    number += 1
                    try:
                        operation(number)
                    except Exception as error:  # counted: a failed operation is not done
                        errors[index] += 1
                        if not first_errors:
                            first_errors.append(f"{type(error).__name__}: {error}"[:300])
                    else:
                        counts[index] += 1
        except threading.BrokenBarrierError:
            return
        except BaseException as error:
            setup_failures.append(error)
            ready.abort()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        for thread in threads:
            thread.join()
        raise RuntimeError(f"a client could not start: {setup_failures[0]!r}") from (
            setup_failures[0] if setup_failures else None
        )
    start = time.perf_counter()
    deadline[0] = start + seconds
    go.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return Rate(sum(counts), elapsed, sum(errors), first_errors[0] if first_errors else None)


def median_time(action: Callable[[], object], budget: float, *, at_least: int = 3) -> float:
    """Median seconds of ``action`` over repeated calls for about ``budget`` seconds."""
    times: list[float] = []
    end = time.perf_counter() + budget
    while len(times) < at_least or time.perf_counter() < end:
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)
