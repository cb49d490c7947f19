"""The sandbox card processor is optional: an app that does not offer it has none of it.

Its tables are on their own metadata (and migration branch, see ``test_migrations.py``),
created only where ``"sandbox_card"`` is in ``PARTIALPAY_GATEWAYS``; the commands that
read them say the sandbox is not enabled instead of failing on a missing table. Each test
runs on the minimal host, on a fresh database of each backend.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import PartialPay, PartialPayModel
from flask_partialpay.audit import run_audit
from flask_partialpay.core.errors import UnknownGateway
from flask_partialpay.sandbox.models import SandboxModel
from flask_partialpay.schema import metadatas, sandbox_enabled
from tests.db.test_migrations import driver, scratch_url  # noqa: F401 (fixtures)
from tests.host.minimal_host import create_app, db

SANDBOX_TABLES = {
    "partialpay_sandbox_charge",
    "partialpay_sandbox_refund",
    "partialpay_sandbox_notification",
}


def test_the_extension_metadata_holds_no_sandbox_table() -> None:
    assert set(SandboxModel.metadata.tables) == SANDBOX_TABLES
    assert not set(PartialPayModel.metadata.tables) & SANDBOX_TABLES
    assert all(name.startswith("partialpay_") for name in SandboxModel.metadata.tables)


def test_an_app_that_does_not_name_the_sandbox_card_is_not_offered_it() -> None:
    app = Flask("production_host")
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="x" * 64)
    database = SQLAlchemy()
    database.init_app(app)
    PartialPay(app, database)
    with app.app_context():
        assert sandbox_enabled(app) is False
        assert list(PartialPay.state().gateways) == ["manual"]
        with pytest.raises(UnknownGateway):
            PartialPay.state().gateway("sandbox_card")
        assert not set(database.metadata.tables) & SANDBOX_TABLES


@pytest.fixture(params=[False, True], ids=["without_sandbox", "with_sandbox"])
def host(request: pytest.FixtureRequest, scratch_url: str) -> Iterator[Flask]:  # noqa: F811
    """The minimal host (its tables made by ``partialpay.create_tables()``)."""
    gateways = ("sandbox_card", "manual") if request.param else ("manual",)
    app = create_app(scratch_url, TESTING=True, PARTIALPAY_GATEWAYS=gateways)
    yield app
    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _sandbox_tables(app: Flask) -> set[str]:
    with app.app_context():
        return set(sa.inspect(db.engine).get_table_names()) & SANDBOX_TABLES


def test_create_tables_makes_the_sandbox_tables_only_where_it_is_enabled(host: Flask) -> None:
    enabled = "sandbox_card" in host.config["PARTIALPAY_GATEWAYS"]
    assert sandbox_enabled(host) is enabled
    assert (SandboxModel.metadata in metadatas(host)) is enabled

    assert _sandbox_tables(host) == (SANDBOX_TABLES if enabled else set())
    with host.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    assert set(PartialPayModel.metadata.tables) <= tables


def test_the_audit_compares_the_processor_only_where_the_sandbox_is_enabled(host: Flask) -> None:
    enabled = "sandbox_card" in host.config["PARTIALPAY_GATEWAYS"]

    result = host.test_cli_runner().invoke(args=["partialpay", "audit"])

    assert result.exit_code == 0, result.output
    assert ("processor charge" in result.output) is enabled
    assert ("sandbox card processor is not enabled" in result.output) is not enabled
    with host.app_context():
        assert run_audit(db.session).sandbox_checked is enabled


@pytest.mark.parametrize("host", [False], ids=["without_sandbox"], indirect=True)
def test_sandbox_deliver_says_the_sandbox_is_not_enabled(host: Flask) -> None:
    result = host.test_cli_runner().invoke(args=["partialpay", "sandbox-deliver"])

    assert result.exit_code == 2
    assert "sandbox card processor is not enabled" in result.output
    assert "nothing to deliver" in result.output
