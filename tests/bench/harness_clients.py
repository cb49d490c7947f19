"""Clients for the harness's tests: module-level, so that a spawned process can import them.

Each is a context manager factory of the shape ``bench.harness.Client`` expects once the
leading arguments are bound with ``functools.partial``.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench.harness import Operation


@contextmanager
def refusing_every_third(pid_folder: str, index: int) -> Iterator[Operation]:
    """Writes its process id to ``pid_folder``; its every third counted operation raises."""
    (Path(pid_folder) / str(index)).write_text(str(os.getpid()))

    def operation(number: int) -> None:
        if number > 0 and number % 3 == 0:
            raise ValueError(f"client {index} refuses operation {number}")

    yield operation


@contextmanager
def failing_setup(failing: int, index: int) -> Iterator[Operation]:
    """Client ``failing`` cannot start; the others could."""
    if index == failing:
        raise ConnectionError(f"client {index} cannot connect")
    yield lambda _number: None


@contextmanager
def vanishing(index: int) -> Iterator[Operation]:
    """Client 0's process ends without a word, as a killed or crashed one would."""
    if index == 0:
        os._exit(3)
    yield lambda _number: None


@contextmanager
def burning(index: int) -> Iterator[Operation]:
    """Each operation keeps its process busy for 20 ms of CPU time."""

    def operation(_number: int) -> None:
        until = time.process_time() + 0.02
        while time.process_time() < until:
            pass

    yield operation
