"""Which databases the tests run on, and their tables: shared by both test tiers.

SQLite always runs, on a file of the test's own (not ``:memory:``, so that parallel
connections share one database). PostgreSQL and MariaDB run when
``PARTIALPAY_TEST_POSTGRES_URL`` and ``PARTIALPAY_TEST_MARIADB_URL`` are set. With
``PARTIALPAY_REQUIRE_BACKENDS=1`` (as in CI) an unset or unreachable backend fails the run
instead of being skipped.

A server database is shared by every test of a run, so its tables are built once per set of
tables (the example shop's, or the extension's alone) and emptied after each test: building
twenty tables for every test would make a server run many times slower.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

BACKENDS = ("sqlite", "postgresql", "mariadb")
BACKEND_ENV = {
    "postgresql": "PARTIALPAY_TEST_POSTGRES_URL",
    "mariadb": "PARTIALPAY_TEST_MARIADB_URL",
}
REQUIRE_BACKENDS = os.environ.get("PARTIALPAY_REQUIRE_BACKENDS") == "1"

# The metadatas each server database holds the tables of, as built in this run.
_built: dict[str, tuple[sa.MetaData, ...]] = {}


def server_url(backend: str) -> str:
    """The URL of a server backend, or skip (fail when backends are required)."""
    url = os.environ.get(BACKEND_ENV[backend])
    if not url:
        message = f"{BACKEND_ENV[backend]} is not set"
        if REQUIRE_BACKENDS:
            pytest.fail(message + " and PARTIALPAY_REQUIRE_BACKENDS=1")
        pytest.skip(message)
    return url


def check_reachable(url: str) -> None:
    """Skip (fail when backends are required) unless the server at ``url`` answers."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as error:
        message = f"cannot reach {engine.url.render_as_string(hide_password=True)}: {error}"
        if REQUIRE_BACKENDS:
            pytest.fail(message)
        pytest.skip(message)
    finally:
        engine.dispose()


def database_url(backend: str, tmp_path: Path) -> str:
    """Where a test on ``backend`` keeps its data: its own SQLite file, or the server's."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite'}"
    url = server_url(backend)
    check_reachable(url)
    return url


def use_tables(engine: sa.Engine, backend: str, metadatas: Sequence[sa.MetaData]) -> None:
    """Give the server database the tables of ``metadatas``, empty.

    The first time in a run, and whenever the other tier's tables are there, every table
    either tier may have left is dropped and the requested ones are built; otherwise the
    tables are only emptied.
    """
    wanted = tuple(metadatas)
    built = _built.get(backend)
    if built != wanted:
        for metadata in reversed((*(built or ()), *wanted)):
            metadata.drop_all(engine)
        with engine.begin() as connection:
            connection.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
        for metadata in wanted:
            metadata.create_all(engine)
        _built[backend] = wanted
    empty_tables(engine, wanted)


def forget_tables(backend: str) -> None:
    """A test changed the tables itself: the next one builds them again."""
    _built.pop(backend, None)


def empty_tables(engine: sa.Engine, metadatas: Sequence[sa.MetaData]) -> None:
    """Delete every row of the tables of ``metadatas``, in an order their keys allow."""
    with engine.begin() as connection:
        # MariaDB checks a self-referencing key row by row: unlink reversals first.
        connection.execute(sa.text("UPDATE partialpay_transfer SET reverses_id = NULL"))
        connection.execute(sa.text("UPDATE partialpay_payment SET part_of_id = NULL"))
        for metadata in reversed(metadatas):
            for table in reversed(metadata.sorted_tables):
                connection.execute(table.delete())
