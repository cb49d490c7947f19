"""The Alembic migrations build exactly the schema the models describe, on every backend.

Each test upgrades a fresh, empty scratch database (a file for SQLite, a database of its own
on the PostgreSQL and MariaDB servers, never the suite's ``test`` database) and compares it
with the models through Alembic's autogenerate: a model change without a migration fails.
Each runs twice: with the sandbox card processor enabled (its branch and tables) and
without it (a production schema, which has no ``partialpay_sandbox_*`` table).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from example_shop import MIGRATIONS_DIR, create_app
from example_shop.models import db
from flask_partialpay import ConfigurationError, PartialPay, PartialPayModel
from flask_partialpay.audit import AuditReport, Violation
from flask_partialpay.audit.accounts import check_accounts
from flask_partialpay.audit.holds import check_holds
from flask_partialpay.audit.idempotency import check_idempotency
from flask_partialpay.audit.transfers import check_transfers
from flask_partialpay.core.ids import payment_reference
from flask_partialpay.ledger import stored_routine
from flask_partialpay.migrations import BRANCH as PARTIALPAY_BRANCH
from flask_partialpay.migrations import (
    SANDBOX_BRANCH,
    SANDBOX_VERSIONS_DIR,
    VERSIONS_DIR,
)
from flask_partialpay.sandbox.models import SandboxModel
from tests.backends import check_reachable, server_url

SHOP_BRANCH = "example_shop"
SHOP_MIGRATIONS = Path(MIGRATIONS_DIR)
VERSION_TABLE = "alembic_version"
SHOP_METADATA = db.metadata
PARTIALPAY_METADATA = PartialPayModel.metadata
SANDBOX_METADATA = SandboxModel.metadata
SANDBOX_TABLES = {
    "partialpay_sandbox_charge",
    "partialpay_sandbox_refund",
    "partialpay_sandbox_notification",
}


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
def driver() -> str | None:
    """The scratch URL's dialect and driver, when a test names one (``mariadb+pymysql``)
    other than the server URL's."""
    return None


@pytest.fixture
def scratch_url(backend: str, tmp_path: Path, driver: str | None) -> Iterator[str]:
    """The URL of a new, empty database, dropped again after the test."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.sqlite'}"
        return
    server = server_url(backend)
    check_reachable(server)
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
        url = sa.engine.make_url(server).set(database=name)
        if driver is not None:
            url = url.set(drivername=driver)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(drop))
        admin.dispose()


@pytest.fixture(params=[False, True], ids=["without_sandbox", "with_sandbox"])
def sandbox(request: pytest.FixtureRequest) -> bool:
    """Whether the app under test enables the sandbox card (and so its tables)."""
    return bool(request.param)


def _gateways(sandbox: bool) -> tuple[str, ...]:
    return ("sandbox_card", "manual") if sandbox else ("manual",)


def _extension_metadatas(sandbox: bool) -> list[sa.MetaData]:
    return [PARTIALPAY_METADATA, SANDBOX_METADATA] if sandbox else [PARTIALPAY_METADATA]


@pytest.fixture
def scratch_app(scratch_url: str, tmp_path: Path, sandbox: bool) -> Iterator[Flask]:
    """The example shop on the scratch database, inside its app context."""
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": scratch_url,
            "SECRET_KEY": "x",
            "TESTING": True,
            "PARTIALPAY_GATEWAYS": _gateways(sandbox),
        },
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


def _schema_differences(metadata: sa.MetaData, *others: sa.MetaData) -> list[Any]:
    """What autogenerate would write to bring the database in line with ``metadata``.

    The database also holds the ``others``' tables and Alembic's version table; they are
    not this metadata's business. Any other table it has and ``metadata`` lacks is reported.
    """
    other_tables = {name for other in others for name in other.tables}

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "table":
            return name in metadata.tables or (name not in other_tables and name != VERSION_TABLE)
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


def _assert_each_branch_matches_its_models(metadatas: dict[str, sa.MetaData]) -> None:
    for branch, metadata in metadatas.items():
        others = [other for other in metadatas.values() if other is not metadata]
        differences = _schema_differences(metadata, *others)
        assert differences == [], _missing_migration(branch, differences)


def test_upgrading_an_empty_database_to_heads_builds_exactly_the_models_schema(
    scratch_app: Flask, sandbox: bool
) -> None:
    flask_migrate.upgrade(revision="heads")

    metadatas = {SHOP_BRANCH: SHOP_METADATA, PARTIALPAY_BRANCH: PARTIALPAY_METADATA}
    if sandbox:
        metadatas[SANDBOX_BRANCH] = SANDBOX_METADATA
    _assert_each_branch_matches_its_models(metadatas)
    tables = _table_names()
    assert tables == {name for metadata in metadatas.values() for name in metadata.tables} | {
        VERSION_TABLE
    }
    assert (tables & SANDBOX_TABLES) == (SANDBOX_TABLES if sandbox else set())


def test_upgrading_to_heads_stamps_the_head_of_each_branch(
    scratch_app: Flask, sandbox: bool
) -> None:
    script = _script_directory(scratch_app)
    branches = [PARTIALPAY_BRANCH, SHOP_BRANCH] + ([SANDBOX_BRANCH] if sandbox else [])
    heads = {_branch_head(script, branch) for branch in branches}
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
    assert not tables & SANDBOX_TABLES
    partialpay = _schema_differences(PARTIALPAY_METADATA, SHOP_METADATA, SANDBOX_METADATA)
    assert partialpay == [], _missing_migration(PARTIALPAY_BRANCH, partialpay)
    assert _stamped_revisions() == {_branch_head(_script_directory(scratch_app), PARTIALPAY_BRANCH)}


def test_the_extension_branch_downgrades_to_base_and_upgrades_again(scratch_app: Flask) -> None:
    # Every downgrade of the branch, one after the other: a host rolling back a release
    # runs them, and each must leave what the revision before it built.
    flask_migrate.upgrade(revision=f"{PARTIALPAY_BRANCH}@head")
    flask_migrate.downgrade(revision=f"{PARTIALPAY_BRANCH}@base")
    assert _table_names() <= {VERSION_TABLE}

    flask_migrate.upgrade(revision=f"{PARTIALPAY_BRANCH}@head")
    partialpay = _schema_differences(PARTIALPAY_METADATA, SHOP_METADATA, SANDBOX_METADATA)
    assert partialpay == [], _missing_migration(PARTIALPAY_BRANCH, partialpay)


@pytest.mark.parametrize("sandbox", [True], ids=["with_sandbox"])
def test_the_sandbox_branch_alone_builds_the_sandbox_processor_tables(
    scratch_app: Flask, sandbox: bool
) -> None:
    flask_migrate.upgrade(revision=f"{SANDBOX_BRANCH}@head")

    assert _table_names() == {*SANDBOX_TABLES, VERSION_TABLE}
    assert set(SANDBOX_METADATA.tables) == SANDBOX_TABLES
    differences = _schema_differences(SANDBOX_METADATA, SHOP_METADATA, PARTIALPAY_METADATA)
    assert differences == [], _missing_migration(SANDBOX_BRANCH, differences)

    flask_migrate.downgrade(revision=f"{SANDBOX_BRANCH}@base")

    assert _table_names() == {VERSION_TABLE}


@pytest.mark.parametrize("sandbox", [True], ids=["with_sandbox"])
def test_the_sandbox_branch_adopts_the_tables_of_the_old_linear_history(
    scratch_app: Flask, sandbox: bool
) -> None:
    """A database migrated before the sandbox had a branch already has its tables."""
    SANDBOX_METADATA.create_all(db.engine)  # what the old pp0001 and pp0005 created
    flask_migrate.upgrade(revision=f"{PARTIALPAY_BRANCH}@head")
    flask_migrate.upgrade(revision=f"{SHOP_BRANCH}@head")

    flask_migrate.upgrade(revision="heads")

    script = _script_directory(scratch_app)
    assert _branch_head(script, SANDBOX_BRANCH) in _stamped_revisions()
    _assert_each_branch_matches_its_models(
        {
            SHOP_BRANCH: SHOP_METADATA,
            PARTIALPAY_BRANCH: PARTIALPAY_METADATA,
            SANDBOX_BRANCH: SANDBOX_METADATA,
        }
    )


def _filled_row(table: sa.Table, **values: Any) -> dict[str, Any]:
    """``values``, and a plain value for every other column the row must have."""
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key:
            continue
        if isinstance(column.type, sa.DateTime):
            row[column.name] = datetime(2026, 1, 1)
        elif isinstance(column.type, (sa.Integer, sa.Boolean)):
            row[column.name] = 0
        else:
            row[column.name] = "x"
    return row


@pytest.mark.parametrize("sandbox", [False], ids=["without_sandbox"])
def test_payments_made_before_pp0007_get_the_reference_of_their_public_id(
    scratch_app: Flask, sandbox: bool
) -> None:
    flask_migrate.upgrade(revision="pp0006")
    tables = sa.MetaData()
    tables.reflect(db.engine, only=["partialpay_order", "partialpay_payment"])
    order, payment = tables.tables["partialpay_order"], tables.tables["partialpay_payment"]
    public_ids = [secrets.token_hex(16) for _ in range(3)]
    with db.engine.begin() as connection:
        order_id = connection.execute(
            sa.insert(order).values(_filled_row(order, reference="old-order", currency="USD"))
        ).inserted_primary_key[0]
        for public_id in public_ids:
            connection.execute(
                sa.insert(payment).values(
                    _filled_row(payment, public_id=public_id, order_id=order_id, currency="USD")
                )
            )

    flask_migrate.upgrade(revision="pp0007")

    stored = sa.table("partialpay_payment", sa.column("public_id"), sa.column("reference"))
    with db.engine.connect() as connection:
        rows = connection.execute(sa.select(stored.c.public_id, stored.c.reference))
        references: dict[str, str] = {public_id: reference for public_id, reference in rows}
    assert references == {public_id: payment_reference(public_id) for public_id in public_ids}
    columns = {c["name"]: c for c in sa.inspect(db.engine).get_columns("partialpay_payment")}
    assert columns["reference"]["nullable"] is False
    upgraded = sa.Table("partialpay_payment", sa.MetaData(), autoload_with=db.engine)
    with db.engine.begin() as connection, pytest.raises(sa.exc.IntegrityError):
        connection.execute(
            sa.insert(upgraded).values(
                _filled_row(
                    upgraded,
                    public_id=secrets.token_hex(16),
                    order_id=order_id,
                    currency="USD",
                    reference=references[public_ids[0]],
                )
            )
        )

    flask_migrate.downgrade(revision="pp0006")

    columns = {c["name"]: c for c in sa.inspect(db.engine).get_columns("partialpay_payment")}
    assert "reference" not in columns
    with db.engine.connect() as connection:
        kept = set(connection.scalars(sa.select(payment.c.public_id)))
    assert kept == set(public_ids)


@pytest.mark.parametrize("sandbox", [False], ids=["without_sandbox"])
def test_pp0008_adds_the_saved_card_tables_and_its_downgrade_takes_them_away(
    scratch_app: Flask, sandbox: bool
) -> None:
    saved = {"partialpay_saved_card", "partialpay_processor_customer"}
    flask_migrate.upgrade(revision="pp0007")
    assert not _table_names() & saved

    flask_migrate.upgrade(revision="pp0008")

    assert saved <= _table_names()
    card = sa.Table("partialpay_saved_card", sa.MetaData(), autoload_with=db.engine)
    row = _filled_row(card, public_id="c1", gateway="stripe", payment_method="pm_1")
    with db.engine.begin() as connection:
        connection.execute(sa.insert(card).values(row))
    with db.engine.begin() as connection, pytest.raises(sa.exc.IntegrityError):
        connection.execute(sa.insert(card).values({**row, "public_id": "c2"}))

    flask_migrate.downgrade(revision="pp0007")

    assert not _table_names() & saved


def _index_columns(table: str) -> set[tuple[str, ...]]:
    return {
        tuple(str(name) for name in index["column_names"])
        for index in sa.inspect(db.engine).get_indexes(table)
    }


@pytest.mark.parametrize("sandbox", [False], ids=["without_sandbox"])
def test_pp0010_indexes_the_admin_lists_by_filter_then_id_and_its_downgrade_restores(
    scratch_app: Flask, sandbox: bool
) -> None:
    listed = {
        "partialpay_payment": {("status", "id")},
        "partialpay_order": {("purpose", "id"), ("instalments", "id")},
    }
    flask_migrate.upgrade(revision="pp0010")
    for table, indexes in listed.items():
        assert indexes <= _index_columns(table), table
    assert ("status",) not in _index_columns("partialpay_payment")

    flask_migrate.downgrade(revision="-1")

    for table, indexes in listed.items():
        assert not indexes & _index_columns(table), table
    assert ("status",) in _index_columns("partialpay_payment")


def _procedures() -> set[str]:
    with db.engine.connect() as connection:
        return set(
            connection.scalars(
                sa.text(
                    "SELECT routine_name FROM information_schema.routines"
                    " WHERE routine_schema = DATABASE() AND routine_type = 'PROCEDURE'"
                )
            )
        )


@pytest.mark.parametrize("backend", ["mariadb"], indirect=True)
@pytest.mark.parametrize("sandbox", [False], ids=["without_sandbox"])
def test_pp0016_gives_mariadb_the_wallet_procedure_and_its_downgrade_takes_it_away(
    scratch_app: Flask, sandbox: bool
) -> None:
    flask_migrate.upgrade(revision="pp0015")
    assert stored_routine.NAME not in _procedures()

    flask_migrate.upgrade(revision="pp0016")
    assert stored_routine.NAME in _procedures()

    flask_migrate.downgrade(revision="-1")
    assert stored_routine.NAME not in _procedures()


@pytest.mark.parametrize("backend", ["mariadb"], indirect=True)
@pytest.mark.parametrize("sandbox", [False], ids=["without_sandbox"])
@pytest.mark.parametrize("driver", ["mariadb+pymysql"])
def test_pp0016_gives_the_procedure_on_a_mariadb_url_too(scratch_app: Flask, sandbox: bool) -> None:
    # SQLAlchemy names a mariadb:// URL's dialect "mariadb", a mysql:// URL's "mysql".
    assert db.engine.dialect.name == "mariadb"
    flask_migrate.upgrade(revision="pp0016")
    assert stored_routine.NAME in _procedures()


@pytest.mark.parametrize("backend", ["mariadb"], indirect=True)
@pytest.mark.parametrize("sandbox", [False], ids=["without_sandbox"])
@pytest.mark.parametrize("driver", ["mariadb+pymysql"])
def test_pp0016_as_an_offline_script_runs_in_the_mariadb_client(
    scratch_app: Flask, scratch_url: str, sandbox: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    flask_migrate.upgrade(revision="pp0015")
    capsys.readouterr()
    flask_migrate.upgrade(revision="pp0015:pp0016", sql=True)  # flask db upgrade --sql
    script = capsys.readouterr().out
    assert "DELIMITER //" in script and stored_routine.NAME in script

    _run_in_the_mariadb_client(scratch_url, script)

    assert stored_routine.NAME in _procedures()
    with db.engine.connect() as connection:
        heads = set(MigrationContext.configure(connection).get_current_heads())
    assert "pp0016" in heads and "pp0015" not in heads


@pytest.mark.parametrize("backend", ["mariadb"], indirect=True)
@pytest.mark.parametrize("sandbox", [False], ids=["without_sandbox"])
@pytest.mark.parametrize("driver", ["mysql+pymysql"])
def test_pp0016_as_an_offline_script_for_a_mysql_url_says_how_to_get_the_procedure(
    scratch_app: Flask, sandbox: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    # Offline, a mysql:// URL may be MySQL, which has no CREATE OR REPLACE PROCEDURE.
    flask_migrate.upgrade(revision="pp0015:pp0016", sql=True)
    script = capsys.readouterr().out
    assert "CREATE OR REPLACE PROCEDURE" not in script
    assert f"-- {stored_routine.NAME} (MariaDB only) is not in this script" in script
    assert "mariadb://" in script


def _run_in_the_mariadb_client(url: str, script: str) -> None:
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client is None:
        pytest.fail("neither the mariadb nor the mysql command-line client is installed")
    parsed = sa.engine.make_url(url)
    arguments = [
        client,
        f"--host={parsed.host or '127.0.0.1'}",
        f"--port={parsed.port or 3306}",
        f"--user={parsed.username or 'root'}",
        str(parsed.database),
    ]
    environment = {**os.environ, "MYSQL_PWD": parsed.password or ""}
    finished = subprocess.run(  # noqa: S603 (the test's own client and scratch database)
        arguments, input=script, text=True, capture_output=True, env=environment, check=False
    )
    assert finished.returncode == 0, finished.stderr


# -- a production-like host: no example shop, Flask-Migrate set up as docs/migrations.md says


class _HostBase(DeclarativeBase):
    pass


@pytest.fixture
def production_app(scratch_url: str, tmp_path: Path, sandbox: bool) -> Iterator[Flask]:
    """A bare host, not in debug or testing mode, that only registers Flask-Migrate."""
    app = Flask("production_host")
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        SQLALCHEMY_DATABASE_URI=scratch_url,
        PARTIALPAY_GATEWAYS=_gateways(sandbox),
        PARTIALPAY_SANDBOX_SECRET=secrets.token_hex(32) if sandbox else None,
    )
    host_db = SQLAlchemy(model_class=_HostBase)
    host_db.init_app(app)
    # Nothing but Migrate(app, db): init_app adds the extension's branches.
    flask_migrate.Migrate(app, host_db, directory=str(tmp_path / "migrations"))
    PartialPay().init_app(app, host_db)
    # The host's own migrations, with no revision yet, and the example shop's env.py (the
    # stock one of `flask db init` is tests/test_flask_migrate_project.py's).
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    for name in ("env.py", "alembic.ini", "script.py.mako"):
        shutil.copy(SHOP_MIGRATIONS / name, tmp_path / "migrations" / name)
    with app.app_context():
        try:
            yield app
        finally:
            host_db.session.remove()
            host_db.engine.dispose()


def test_a_production_host_has_sandbox_tables_only_when_it_enables_the_sandbox(
    production_app: Flask, sandbox: bool
) -> None:
    flask_migrate.upgrade(revision="heads")

    engine = production_app.extensions["sqlalchemy"].engine
    tables = set(sa.inspect(engine).get_table_names())
    extension = {name for metadata in _extension_metadatas(sandbox) for name in metadata.tables}
    assert tables == extension | {VERSION_TABLE}
    assert (tables & SANDBOX_TABLES) == (SANDBOX_TABLES if sandbox else set())


def _host_with_migrate(tmp_path: Path, sandbox: bool, migrate: flask_migrate.Migrate) -> Flask:
    app = Flask("production_host")
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'host.sqlite'}",
        PARTIALPAY_GATEWAYS=_gateways(sandbox),
        PARTIALPAY_SANDBOX_SECRET=secrets.token_hex(32) if sandbox else None,
    )
    host_db = SQLAlchemy(model_class=_HostBase)
    host_db.init_app(app)
    migrate.init_app(app, host_db, directory=str(tmp_path / "migrations"))
    PartialPay().init_app(app, host_db)
    return app


class _MigrateWithoutCallbacks(flask_migrate.Migrate):  # type: ignore[misc]
    """A host's Migrate that builds Alembic's configuration itself, with no callback."""

    def call_configure_callbacks(self, config: Any) -> Any:
        return config


def test_init_app_wires_the_sandbox_revisions_into_a_plain_migrate(tmp_path: Path) -> None:
    app = _host_with_migrate(tmp_path, True, flask_migrate.Migrate())

    migrate = app.extensions["migrate"].migrate
    with app.app_context():
        locations = migrate.get_config().get_version_locations_list()
    assert SANDBOX_VERSIONS_DIR in locations


def test_init_app_refuses_the_sandbox_when_the_migrations_would_never_create_its_tables(
    tmp_path: Path,
) -> None:
    # A Flask-Migrate that never lists the extension's revisions: fine without the sandbox ...
    _host_with_migrate(tmp_path, False, _MigrateWithoutCallbacks())

    # ... refused with it: `flask db upgrade` would leave the card page without its tables.
    with pytest.raises(ConfigurationError, match="sandbox processor's revisions"):
        _host_with_migrate(tmp_path, True, _MigrateWithoutCallbacks())


def test_init_app_accepts_the_sandbox_revisions_listed_by_hand(tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "alembic.ini").write_text(
        f"[alembic]\nversion_locations = {VERSIONS_DIR} {SANDBOX_VERSIONS_DIR}\n"
    )

    app = _host_with_migrate(tmp_path, True, _MigrateWithoutCallbacks())

    assert "partialpay" in app.extensions


def ledger_audit() -> list[Violation]:
    """The audit's checks of the ledger (accounts, entries, transfers, holds, keys): the
    schema at pp0009 has none of the later tables and columns the order checks read."""
    report = AuditReport()
    check_accounts(db.session, report, None)
    check_transfers(db.session, report)
    check_holds(db.session, report)
    check_idempotency(db.session, report)
    return report.violations


@pytest.mark.parametrize("sandbox", [False], ids=["without_sandbox"])
def test_pp0009_leaves_system_accounts_no_balance_and_old_entries_audit_clean(
    scratch_app: Flask, sandbox: bool
) -> None:
    flask_migrate.upgrade(revision="pp0008")
    meta = sa.MetaData()
    account, transfer, entry = (
        sa.Table(name, meta, autoload_with=db.engine)
        for name in ("partialpay_account", "partialpay_transfer", "partialpay_entry")
    )
    at = datetime(2026, 1, 1)
    # A ledger as written before pp0009: the system accounts' rows and entries carry a
    # running balance. A top-up of 100.00, then 30.00 paid for an order.
    accounts = [
        (1, "topups", "", -10000),
        (2, "order_payments", "", 3000),
        (3, "wallet", "7", 7000),
    ]
    moves = [(1, 1, 3, 10000, ((1, 0, -10000), (3, 0, 10000))),
             (2, 3, 2, 3000, ((3, 10000, 7000), (2, 0, 3000)))]  # fmt: skip
    with db.engine.begin() as connection:
        for account_id, kind, owner, balance in accounts:
            connection.execute(
                sa.insert(account).values(
                    _filled_row(account, id=account_id, public_id=f"a{account_id}", kind=kind,
                                owner_id=owner, currency="USD", balance_minor=balance,
                                held_minor=0, locked=False, created_at=at)
                )
            )  # fmt: skip
        for transfer_id, source, target, amount, sides in moves:
            connection.execute(
                sa.insert(transfer).values(
                    _filled_row(transfer, id=transfer_id, from_account_id=source,
                                to_account_id=target, amount_minor=amount, currency="USD",
                                reason="topup", memo="", created_at=at)
                )
            )  # fmt: skip
            for side, before, after in sides:
                connection.execute(
                    sa.insert(entry).values(
                        transfer_id=transfer_id, account_id=side, amount_minor=after - before,
                        balance_before_minor=before, balance_after_minor=after, created_at=at,
                    )
                )  # fmt: skip

        if connection.dialect.name == "postgresql":  # the ids above were given explicitly
            for table in ("partialpay_account", "partialpay_transfer"):
                connection.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), 10)")
                )

    flask_migrate.upgrade(revision="pp0009")

    columns = {c["name"]: c for c in sa.inspect(db.engine).get_columns("partialpay_entry")}
    assert columns["balance_before_minor"]["nullable"]
    assert columns["balance_after_minor"]["nullable"]
    with db.engine.connect() as connection:
        balances = dict(connection.execute(sa.select(account.c.id, account.c.balance_minor)).all())
    assert balances == {1: 0, 2: 0, 3: 7000}
    assert ledger_audit() == []
    db.session.rollback()
    # New movements on top of the old ones: system entries without numbers.
    wallets = scratch_app.extensions["partialpay"].wallets
    wallets.debit("7", "5.00", "USD", reason="order_payment")
    wallets.credit("7", "1.00", "USD", reason="topup")
    assert ledger_audit() == []
    db.session.rollback()

    flask_migrate.downgrade(revision="pp0008")

    with db.engine.connect() as connection:
        balances = dict(connection.execute(sa.select(account.c.id, account.c.balance_minor)).all())
        system_chain = connection.execute(
            sa.select(entry.c.account_id, entry.c.balance_before_minor, entry.c.balance_after_minor)
            .where(entry.c.account_id != 3)
            .order_by(entry.c.id)
        ).all()
    assert balances == {1: -10100, 2: 3500, 3: 6600}
    assert system_chain == [(1, 0, -10000), (2, 0, 3000), (2, 3000, 3500), (1, -10000, -10100)]
    columns = {c["name"]: c for c in sa.inspect(db.engine).get_columns("partialpay_entry")}
    assert not columns["balance_after_minor"]["nullable"]
