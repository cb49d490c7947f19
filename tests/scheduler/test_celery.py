"""The run-due task, run by a real Celery worker against Redis; the package without Celery.

The worker is a ``celery worker`` process the fixture starts on a queue of the test's own,
with Redis database 5 on loopback as broker and result backend (``PARTIALPAY_TEST_REDIS_URL``
to use another). Without Redis or Celery the test is skipped, and with
``PARTIALPAY_REQUIRE_BACKENDS=1`` (as in CI) it fails.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from flask_partialpay.scheduler.celery import TASK_NAME, beat_schedule
from tests.backends import REQUIRE_BACKENDS
from tests.scheduler.conftest import Clock
from tests.scheduler.holds import funded, hold_statuses, part_statuses, plain_hold, wallet_part

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("PARTIALPAY_TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


def unavailable(message: str) -> None:
    if REQUIRE_BACKENDS:
        pytest.fail(message + " and PARTIALPAY_REQUIRE_BACKENDS=1")
    pytest.skip(message)


@pytest.fixture
def redis_url() -> str:
    try:
        import celery  # noqa: F401
        import redis
    except ImportError as error:
        unavailable(f"the celery extra is not installed ({error})")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        unavailable(f"cannot reach Redis at {REDIS_URL}: {error}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def worker_env(redis_url: str, database_url: str, clock: Clock, tmp_path: Path) -> dict[str, str]:
    """What the worker and the test's client share; the worker's clock is 31 minutes on."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SCHED_REDIS_URL": redis_url,
        "SCHED_QUEUE": f"partialpay-test-{secrets.token_hex(6)}",
        "SCHED_DATABASE_URL": database_url,
        "SCHED_NOW": (clock() + timedelta(minutes=31)).isoformat(),
        "SCHED_RELEASED_LOG": str(tmp_path / "released.log"),
    }


@pytest.fixture
def worker(app: Flask, worker_env: dict[str, str], tmp_path: Path) -> Iterator[None]:
    """A ``celery worker`` on the test's queue, stopped (and waited for) afterwards."""
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
        [
            sys.executable, "-m", "celery", "-A", "tests.scheduler.celery_app", "worker",
            "--pool", "solo", "--queues", worker_env["SCHED_QUEUE"], "--loglevel", "INFO",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        cwd=ROOT, env=worker_env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def client(worker_env: dict[str, str]) -> Iterator[Any]:
    """A Celery app that sends tasks to the worker's queue and reads their results."""
    from tests.scheduler.celery_app import make_celery

    celery = make_celery(worker_env["SCHED_REDIS_URL"], worker_env["SCHED_QUEUE"])
    yield celery
    celery.close()


@pytest.mark.parametrize("backend", ["sqlite"])
def test_a_worker_runs_the_task_and_the_holds_are_released(
    app: Flask, worker: None, client: Any, worker_env: dict[str, str], tmp_path: Path
) -> None:
    funded("ann")
    funded("bob")
    holds = [plain_hold("ann", "10.00"), plain_hold("ann", "20.00"), wallet_part("bob", "o-1", 500)]

    first = client.send_task(TASK_NAME).get(timeout=60)
    assert first["ok"] is True
    done = {job["name"]: job["done"] for job in first["jobs"]}
    assert (done["expired-holds"], done["lapsed-wallet-parts"]) == (3, 0)
    statuses = hold_statuses()
    assert [statuses[hold] for hold in holds] == ["expired"] * 3
    assert part_statuses()[holds[2]] == "cancelled"
    assert len(Path(worker_env["SCHED_RELEASED_LOG"]).read_text().split()) == 1

    again = client.send_task(TASK_NAME, kwargs={"only": ["expired-holds"]}).get(timeout=60)
    assert again["jobs"] == [{"name": "expired-holds", "done": 0, "failed": 0, "error": None}]


def test_the_beat_entry_sends_the_task_every_period() -> None:
    assert beat_schedule(every=timedelta(minutes=2), limit=500) == {
        "partialpay-run-due": {
            "task": TASK_NAME,
            "schedule": 120.0,
            "kwargs": {"only": None, "limit": 500},
            "options": {"expires": 120.0},
        }
    }


def test_the_package_imports_without_celery() -> None:
    probe = (
        "import sys; sys.modules['celery'] = None\n"
        "import flask_partialpay, flask_partialpay.scheduler, flask_partialpay.cli\n"
        "try:\n"
        "    import flask_partialpay.scheduler.celery\n"
        "except ImportError:\n"
        "    print('only the celery module needs celery')\n"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter, a fixed probe)
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert (result.returncode, result.stdout) == (0, "only the celery module needs celery\n"), (
        result.stderr
    )
