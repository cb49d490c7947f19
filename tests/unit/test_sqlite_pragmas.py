"""SQLite's journal mode and sync level on the app's engine: defaults, settings, refusals.

SQLite only, on files of the test's own (``tmp_path``): the settings do nothing elsewhere.
``PRAGMA synchronous`` answers with a number: 1 is NORMAL, 2 FULL, 3 EXTRA.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import PartialPay
from flask_partialpay.core.errors import ConfigurationError

NORMAL, FULL, EXTRA = 1, 2, 3


def host(url: str, **config: Any) -> tuple[Flask, SQLAlchemy]:
    app = Flask("pragmas_host")
    app.config.update(SQLALCHEMY_DATABASE_URI=url, SECRET_KEY="x", TESTING=True, **config)
    database = SQLAlchemy()
    database.init_app(app)
    return app, database


@pytest.fixture
def file_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'shop.sqlite'}"


def pragmas(app: Flask, database: SQLAlchemy) -> tuple[str, int]:
    """(journal mode, synchronous) of a connection the app's engine hands out."""
    with app.app_context(), database.engine.connect() as connection:
        return (
            connection.exec_driver_sql("PRAGMA journal_mode").scalar_one(),
            connection.exec_driver_sql("PRAGMA synchronous").scalar_one(),
        )


@pytest.fixture
def engines() -> Iterator[list[sa.Engine]]:
    """Engines to dispose after the test, so that no file stays open."""
    made: list[sa.Engine] = []
    yield made
    for engine in made:
        engine.dispose()


def registered(url: str, engines: list[sa.Engine], **config: Any) -> tuple[Flask, SQLAlchemy]:
    app, database = host(url, **config)
    PartialPay(app, database)
    with app.app_context():
        engines.append(database.engine)
    return app, database


def test_a_file_database_gets_wal_and_normal_by_default(
    file_url: str, engines: list[sa.Engine]
) -> None:
    assert pragmas(*registered(file_url, engines)) == ("wal", NORMAL)


def test_the_settings_choose_other_modes(file_url: str, engines: list[sa.Engine]) -> None:
    app, database = registered(
        file_url,
        engines,
        PARTIALPAY_SQLITE_JOURNAL_MODE="TRUNCATE",
        PARTIALPAY_SQLITE_SYNCHRONOUS="FULL",
    )
    assert pragmas(app, database) == ("truncate", FULL)


def test_none_leaves_what_the_database_and_the_host_chose(
    file_url: str, tmp_path: Path, engines: list[sa.Engine]
) -> None:
    # The file is already in WAL mode (persistent); the host sets EXTRA on each connection.
    with sqlite3.connect(tmp_path / "shop.sqlite") as raw:
        raw.execute("PRAGMA journal_mode=WAL")
    raw.close()
    app, database = host(
        file_url, PARTIALPAY_SQLITE_JOURNAL_MODE=None, PARTIALPAY_SQLITE_SYNCHRONOUS=None
    )
    with app.app_context():
        engines.append(database.engine)

        @sa.event.listens_for(database.engine, "connect")
        def host_pragmas(dbapi_connection: Any, _record: object) -> None:
            dbapi_connection.execute("PRAGMA synchronous=EXTRA")

    PartialPay(app, database)
    assert pragmas(app, database) == ("wal", EXTRA)


def test_only_one_of_them_may_be_left(file_url: str, engines: list[sa.Engine]) -> None:
    app, database = registered(file_url, engines, PARTIALPAY_SQLITE_JOURNAL_MODE=None)
    assert pragmas(app, database) == ("delete", NORMAL)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("PARTIALPAY_SQLITE_JOURNAL_MODE", "WALL"),
        ("PARTIALPAY_SQLITE_JOURNAL_MODE", "OFF"),  # a crash could leave half a transfer
        ("PARTIALPAY_SQLITE_JOURNAL_MODE", "MEMORY"),
        ("PARTIALPAY_SQLITE_SYNCHRONOUS", "NORMALL"),
        ("PARTIALPAY_SQLITE_SYNCHRONOUS", "OFF"),
        ("PARTIALPAY_SQLITE_SYNCHRONOUS", 1),
    ],
)
def test_a_value_sqlite_would_not_take_as_meant_stops_init_app(
    file_url: str, setting: str, value: object
) -> None:
    app, database = host(file_url, **{setting: value})
    with pytest.raises(ConfigurationError, match=setting):
        PartialPay(app, database)


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_is_left_alone(url: str, engines: list[sa.Engine]) -> None:
    # WAL does not apply to memory; synchronous would stay NORMAL if it had been set.
    assert pragmas(*registered(url, engines)) == ("memory", FULL)


def test_every_pooled_connection_has_them(file_url: str, engines: list[sa.Engine]) -> None:
    app, database = registered(file_url, engines)
    with app.app_context(), ExitStack() as stack:
        # Held at once, so the pool opens three connections, not one handed out three times.
        connections = [stack.enter_context(database.engine.connect()) for _ in range(3)]
        assert database.engine.pool.checkedout() == 3  # type: ignore[attr-defined]
        for connection in connections:
            assert connection.exec_driver_sql("PRAGMA synchronous").scalar_one() == NORMAL


def test_a_connection_opened_before_init_app_is_not_handed_out_without_them(
    file_url: str, engines: list[sa.Engine]
) -> None:
    app, database = host(file_url)
    with app.app_context():
        engines.append(database.engine)
        with database.engine.connect() as connection:  # back in the pool afterwards
            connection.exec_driver_sql("SELECT 1")
    PartialPay(app, database)
    assert pragmas(app, database) == ("wal", NORMAL)


def test_the_extension_refuses_a_db_not_registered_on_the_app(file_url: str) -> None:
    app = Flask("pragmas_host")
    app.config.update(SQLALCHEMY_DATABASE_URI=file_url, SECRET_KEY="x", TESTING=True)
    with pytest.raises(ConfigurationError, match=r"after db\.init_app"):
        PartialPay(app, SQLAlchemy())
