"""The Alembic migrations build exactly the schema the models describe, on every backend.

Each test upgrades a fresh, empty scratch database (a file for SQLite, a database of its own
on the PostgreSQL and MariaDB servers, never the suite's ``test`` database) and compares it
with the models through Alembic's autogenerate: a model change without a migration fails.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask

from example_shop import create_app
from example_shop.models import db
from flask_partialpay import PartialPayModel
from flask_partialpay.migrations import BRANCH as PARTIALPAY_BRANCH
from tests.conftest import _check_reachable, server_url

SHOP_BRANCH = "example_shop"
VERSION_TABLE = "alembic_version"
SHOP_METADATA = db.metadata
PARTIALPAY_METADATA = PartialPayModel.metadata


@pytest.fixture(autouse=True)
def _keep_logging_config() -> Iterator[None]:
    """migrations/env.py runs ``fileConfig(alembic.ini)``: undo it after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
    root.setLevel(level)


@pytest.fixture
def scratch_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database, dropped again after the test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    server = server_url(backend)
    _check_reachable(server)
    # A name of its own per run, so that two runs on one server never share it.
    name = f"partialpay_migration_test_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")  # CREATE DATABASE needs it
    quoted = admin.dialect.identifier_preparer.quote(name)
    drop = f"DROP DATABASE IF EXISTS {quoted}"
    if backend == "postgresql":
        drop += " WITH (FORCE)"  # a connection a failed test left open must not block it
    try:
        with admin.connect() as connection:
            connection.execute(sa.text(drop))
            connection.execute(sa.text(f"CREATE DATABASE {quoted}"))
        yield sa.engine.make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(drop))
        admin.dispose()


@pytest.fixture
def scratch_app(scratch_url: str, tmp_path: Path) -> Iterator[Flask]:
    """The example shop on the scratch database, inside its app context."""
    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": scratch_url, "SECRET_KEY": "x", "TESTING": True},
        instance_path=str(tmp_path),
    )
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


def _script_directory(app: Flask) -> ScriptDirectory:
    """The revisions the shop's Flask-Migrate sees: its own and the extension's."""
    migrate = app.extensions["migrate"]
    return ScriptDirectory.from_config(migrate.migrate.get_config(migrate.directory))


def _branch_head(script: ScriptDirectory, branch: str) -> str:
    (head,) = script.get_revisions(f"{branch}@head")
    assert head is not None
    return head.revision


def _table_names() -> set[str]:
    return set(sa.inspect(db.engine).get_table_names())


def _stamped_revisions() -> set[str]:
    version = sa.table(VERSION_TABLE, sa.column("version_num", sa.String))
    with db.engine.connect() as connection:
        return set(connection.scalars(sa.select(version.c.version_num)))


def _schema_differences(metadata: sa.MetaData, other: sa.MetaData) -> list[Any]:
    """What autogenerate would write to bring the database in line with ``metadata``.

    The database also holds ``other``'s tables and Alembic's version table; they are not
    this metadata's business. Any other table it has and ``metadata`` lacks is reported.
    """

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "table":
            return name in metadata.tables or (name not in other.tables and name != VERSION_TABLE)
        return True

    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name}
        )
        return list(compare_metadata(context, metadata))


def _missing_migration(branch: str, differences: list[Any]) -> str:
    return (
        f"the {branch} models differ from what its migrations build; add a revision with\n"
        f"  flask --app example_shop db revision --autogenerate --head {branch}@head -m ...\n"
        f"for: {differences}"
    )


def test_upgrading_an_empty_database_to_heads_builds_exactly_the_models_schema(
    scratch_app: Flask,
) -> None:
    flask_migrate.upgrade(revision="heads")

    shop = _schema_differences(SHOP_METADATA, PARTIALPAY_METADATA)
    assert shop == [], _missing_migration(SHOP_BRANCH, shop)
    partialpay = _schema_differences(PARTIALPAY_METADATA, SHOP_METADATA)
    assert partialpay == [], _missing_migration(PARTIALPAY_BRANCH, partialpay)
    assert _table_names() == {*SHOP_METADATA.tables, *PARTIALPAY_METADATA.tables, VERSION_TABLE}


def test_upgrading_to_heads_stamps_the_head_of_both_branches(scratch_app: Flask) -> None:
    script = _script_directory(scratch_app)
    heads = {_branch_head(script, PARTIALPAY_BRANCH), _branch_head(script, SHOP_BRANCH)}
    # One head per branch: another would be a fork in a branch or a revision on neither.
    assert set(script.get_heads()) == heads

    flask_migrate.upgrade(revision="heads")

    assert _stamped_revisions() == heads


def test_a_host_can_apply_only_the_extension_branch(scratch_app: Flask) -> None:
    flask_migrate.upgrade(revision=f"{PARTIALPAY_BRANCH}@head")

    tables = _table_names()
    assert tables == {*PARTIALPAY_METADATA.tables, VERSION_TABLE}
    assert all(name.startswith("partialpay_") for name in PARTIALPAY_METADATA.tables)
    assert not {name for name in tables if name.startswith("shop_")}
    partialpay = _schema_differences(PARTIALPAY_METADATA, SHOP_METADATA)
    assert partialpay == [], _missing_migration(PARTIALPAY_BRANCH, partialpay)
    assert _stamped_revisions() == {_branch_head(_script_directory(scratch_app), PARTIALPAY_BRANCH)}
