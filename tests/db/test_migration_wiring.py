"""How ``init_app`` wires a host's Flask-Migrate, piece by piece, without a database server.

The whole story with the real ``flask db`` commands, from an installed wheel and on the
three databases, is tests/test_flask_migrate_project.py; these tests pin each piece: the
version locations, the autogenerate filters, where a host's new revision goes, the plain
upgrade and downgrade, and the wiring whichever of ``Migrate`` and ``PartialPay`` comes first.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click
import flask_migrate
import flask_migrate.cli
import pytest
import sqlalchemy as sa
from alembic.config import Config
from alembic.operations import ops
from alembic.script import ScriptDirectory
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import DeclarativeBase

from flask_partialpay import PartialPay, PartialPayModel
from flask_partialpay.migrations import (
    SANDBOX_VERSIONS_DIR,
    VERSIONS_DIR,
    add_version_location,
    include_name,
    include_object,
)
from flask_partialpay.migrations.autogenerate import (
    HostRevisions,
    IncludeName,
    IncludeObject,
    route_to_host_branch,
)
from flask_partialpay.migrations.commands import host_downgrade_target


class _HostBase(DeclarativeBase):
    pass


def _host_app(tmp_path: Path, *, sandbox: bool = False, **migrate_kwargs: Any) -> Flask:
    app = Flask("wired_host")
    app.config.update(
        SECRET_KEY=secrets.token_hex(32),
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'host.sqlite'}",
        PARTIALPAY_GATEWAYS=("sandbox_card", "manual") if sandbox else ("manual",),
        PARTIALPAY_SANDBOX_SECRET=secrets.token_hex(32),
    )
    SQLAlchemy(model_class=_HostBase).init_app(app)
    return app


def _db(app: Flask) -> SQLAlchemy:
    db: SQLAlchemy = app.extensions["sqlalchemy"]
    return db


def _migrations(tmp_path: Path) -> str:
    return str(tmp_path / "migrations")


def _config(app: Flask) -> Config:
    with app.app_context():
        config: Config = app.extensions["migrate"].migrate.get_config()
    return config


def _locations(config: Config) -> list[str]:
    return list(config.get_version_locations_list() or [])


# -- autogenerate leaves the extension's tables out -----------------------------------------


def test_include_name_leaves_out_the_extensions_tables_and_what_is_on_them() -> None:
    assert not include_name("partialpay_order", "table", {"schema_name": None})
    assert not include_name("partialpay_sandbox_charge", "table", {"schema_name": None})
    assert not include_name(
        "ix_partialpay_order_status", "index", {"table_name": "partialpay_order"}
    )
    assert not include_name("id", "column", {"table_name": "partialpay_order"})

    assert include_name("shop_product", "table", {"schema_name": None})
    assert include_name("ix_shop_product_name", "index", {"table_name": "shop_product"})
    assert include_name("public", "schema", {})


def test_include_object_leaves_out_the_extensions_tables_and_what_is_on_them() -> None:
    order = PartialPayModel.metadata.tables["partialpay_order"]
    index = next(iter(order.indexes))
    host = sa.Table(
        "shop_order",
        sa.MetaData(),
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("account_id", sa.ForeignKey(order.c.id)),
    )
    (foreign_key,) = host.foreign_key_constraints

    assert not include_object(order, order.name, "table", False, None)
    assert not include_object(order.c.id, "id", "column", False, None)
    assert not include_object(index, index.name, "index", True, None)
    assert include_object(host, host.name, "table", False, None)
    assert include_object(host.c.account_id, "account_id", "column", False, None)
    # The host's own key to an extension table is the host's to migrate.
    assert include_object(foreign_key, foreign_key.name, "foreign_key_constraint", False, None)


def test_the_hosts_own_filters_still_apply_beside_the_extensions() -> None:
    seen: list[str | None] = []

    def host_include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        seen.append(name)
        return name != "shop_legacy"

    combined = IncludeName(host_include_name)

    assert combined("shop_product", "table", {})
    assert not combined("shop_legacy", "table", {})
    assert not combined("partialpay_order", "table", {})
    assert "partialpay_order" not in seen  # left out before the host's filter is asked
    assert (
        IncludeObject(lambda *arguments: False)(
            sa.Table("shop_x", sa.MetaData()), "shop_x", "table", False, None
        )
        is False
    )


# -- the version locations --------------------------------------------------------------------


def _bare_config(tmp_path: Path, ini: str = "[alembic]\n") -> Config:
    (tmp_path / "alembic.ini").write_text(ini)
    config = Config(str(tmp_path / "alembic.ini"))
    config.set_main_option("script_location", str(tmp_path / "migrations"))
    return config


def test_add_version_location_puts_the_hosts_folder_first_then_the_extensions(
    tmp_path: Path,
) -> None:
    config = add_version_location(_bare_config(tmp_path))

    assert _locations(config) == [str(tmp_path / "migrations" / "versions"), VERSIONS_DIR]
    assert config.get_main_option("path_separator") == "newline"
    assert config.get_main_option("revision_environment") == "true"


def test_add_version_location_keeps_a_path_with_spaces_and_percent_signs(tmp_path: Path) -> None:
    odd = tmp_path / "my shop 100%" / "versions"
    config = _bare_config(tmp_path)
    config.set_main_option("version_locations", str(odd).replace("%", "%%"))
    config.set_main_option("path_separator", "os")

    config = add_version_location(add_version_location(config))

    assert _locations(config) == [str(odd), VERSIONS_DIR]  # and each once


def test_add_version_location_reads_a_list_written_without_a_separator_without_warning(
    tmp_path: Path,
) -> None:
    # Alembic splits such a list on spaces and commas, and warns: the callback does not.
    config = _bare_config(tmp_path, "[alembic]\nversion_locations = a/versions, b/versions\n")

    config = add_version_location(config)

    assert _locations(config) == ["a/versions", "b/versions", VERSIONS_DIR]


def test_add_version_location_rewrites_prepend_sys_path_for_the_new_separator(
    tmp_path: Path,
) -> None:
    config = _bare_config(tmp_path, "[alembic]\npath_separator = os\nprepend_sys_path = .:src\n")

    config = add_version_location(config)

    assert config.get_prepend_sys_paths_list() == [".", "src"]


def test_the_sandbox_folder_is_added_only_for_an_app_that_enables_the_sandbox(
    tmp_path: Path,
) -> None:
    for sandbox in (False, True):
        app = _host_app(tmp_path, sandbox=sandbox)
        PartialPay(app)
        with app.app_context():
            config = add_version_location(_bare_config(tmp_path))
        assert (SANDBOX_VERSIONS_DIR in _locations(config)) == sandbox


# -- where a host's new revision goes ------------------------------------------------------


def _revision_file(folder: Path, revision: str, down_revision: str | None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{revision}.py").write_text(
        f"revision = {revision!r}\ndown_revision = {down_revision!r}\n"
        "branch_labels = None\ndepends_on = None\n"
    )


def _context(tmp_path: Path, host_revisions: dict[str, str | None]) -> SimpleNamespace:
    """What the hook reads of Alembic's migration context: the scripts and the config."""
    script_location = tmp_path / "migrations"
    script_location.mkdir(exist_ok=True)
    (script_location / "script.py.mako").write_text("")
    for revision, down_revision in host_revisions.items():
        _revision_file(script_location / "versions", revision, down_revision)
    config = add_version_location(_bare_config(tmp_path))
    config.cmd_opts = SimpleNamespace(autogenerate=True)  # type: ignore[assignment]
    return SimpleNamespace(script=ScriptDirectory.from_config(config), config=config)


def _directive(**arguments: Any) -> ops.MigrationScript:
    values: dict[str, Any] = {"head": "head", "splice": False, "version_path": None}
    values.update(arguments)
    return ops.MigrationScript(
        rev_id="new",
        upgrade_ops=ops.UpgradeOps([]),
        downgrade_ops=ops.DowngradeOps([]),
        **values,
    )


def test_a_hosts_first_revision_starts_its_own_branch_in_its_own_folder(tmp_path: Path) -> None:
    context = _context(tmp_path, {})
    directive = _directive()

    route_to_host_branch(context, directive)  # type: ignore[arg-type]

    assert directive.head == "base"
    assert directive.version_path == str(tmp_path / "migrations" / "versions")


def test_a_hosts_next_revision_is_built_on_the_hosts_head(tmp_path: Path) -> None:
    context = _context(tmp_path, {"h1": None, "h2": "h1"})
    directive = _directive(branch_label="shop")

    route_to_host_branch(context, directive)  # type: ignore[arg-type]

    assert directive.head == "h2"
    assert directive.version_path is None  # Alembic writes it beside h2
    assert directive.branch_label == "shop"


@pytest.mark.parametrize(
    "chosen",
    [{"head": "partialpay@head"}, {"version_path": "elsewhere"}, {"splice": True}],
    ids=["head", "version_path", "splice"],
)
def test_a_revision_whose_head_or_folder_the_host_chose_is_left_alone(
    tmp_path: Path, chosen: dict[str, Any]
) -> None:
    context = _context(tmp_path, {"h1": None})
    directive = _directive(**chosen)
    before = (directive.head, directive.version_path, directive.splice)

    route_to_host_branch(context, directive)  # type: ignore[arg-type]

    assert (directive.head, directive.version_path, directive.splice) == before


def test_with_two_heads_of_its_own_the_host_chooses(tmp_path: Path) -> None:
    context = _context(tmp_path, {"h1": None, "h2": "h1", "h3": "h1"})
    directive = _directive()

    route_to_host_branch(context, directive)  # type: ignore[arg-type]

    assert directive.head == "head"  # Alembic then asks for --head


def test_an_autogenerated_revision_with_no_change_is_not_written(tmp_path: Path) -> None:
    context = _context(tmp_path, {"h1": None})
    directives = [_directive()]

    HostRevisions(None)(context, None, directives)  # type: ignore[arg-type]

    assert directives == []


def test_the_hosts_own_revision_hook_runs_after_the_routing(tmp_path: Path) -> None:
    context = _context(tmp_path, {"h1": None})
    seen: list[str] = []

    def host_hook(context: Any, revision: Any, directives: list[ops.MigrationScript]) -> None:
        seen.append(directives[0].head)

    directives = [_directive()]
    HostRevisions(host_hook)(context, None, directives)  # type: ignore[arg-type]

    assert seen == ["h1"]
    assert len(directives) == 1  # the host's hook decides about empty revisions


# -- the wiring ---------------------------------------------------------------------------


def _assert_wired(app: Flask, *, host_hook: Any = None) -> None:
    registered = app.extensions["migrate"]
    arguments = registered.configure_args
    assert isinstance(arguments["process_revision_directives"], HostRevisions)
    assert arguments["process_revision_directives"].host is host_hook
    assert isinstance(arguments["include_name"], IncludeName)
    assert isinstance(arguments["include_object"], IncludeObject)
    assert registered.migrate.configure_callbacks.count(add_version_location) == 1
    group = app.cli.commands["db"]
    assert group is not flask_migrate.cli.db
    assert isinstance(group, click.Group)
    assert VERSIONS_DIR in _locations(_config(app))


def test_migrate_registered_before_init_app_is_wired_by_init_app(tmp_path: Path) -> None:
    app = _host_app(tmp_path)
    flask_migrate.Migrate(app, _db(app), directory=_migrations(tmp_path))

    PartialPay(app)

    _assert_wired(app)


def test_migrate_registered_after_init_app_is_wired_on_the_next_app_context(
    tmp_path: Path,
) -> None:
    app = _host_app(tmp_path)
    PartialPay(app)
    flask_migrate.Migrate(app, _db(app), directory=_migrations(tmp_path))

    with app.app_context():  # as the flask command pushes one before it finds `db`
        pass

    _assert_wired(app)


def test_migrate_init_app_run_again_is_wired_again(tmp_path: Path) -> None:
    app = _host_app(tmp_path)
    migrate = flask_migrate.Migrate(app, _db(app), directory=_migrations(tmp_path))
    PartialPay(app)

    migrate.init_app(app, _db(app), directory=_migrations(tmp_path))
    with app.app_context():
        pass

    _assert_wired(app)


def test_a_host_that_registers_add_version_location_itself_gets_it_once(tmp_path: Path) -> None:
    app = _host_app(tmp_path, sandbox=True)
    migrate = flask_migrate.Migrate()
    migrate.configure(add_version_location)
    migrate.init_app(app, _db(app), directory=_migrations(tmp_path))

    PartialPay(app)

    _assert_wired(app)
    locations = _locations(_config(app))
    assert locations.count(VERSIONS_DIR) == locations.count(SANDBOX_VERSIONS_DIR) == 1


def test_the_hosts_own_configure_args_are_kept(tmp_path: Path) -> None:
    def host_hook(context: Any, revision: Any, directives: Any) -> None:
        pass

    app = _host_app(tmp_path)
    flask_migrate.Migrate(
        app, _db(app), directory=_migrations(tmp_path), process_revision_directives=host_hook
    )

    PartialPay(app)

    _assert_wired(app, host_hook=host_hook)
    assert app.extensions["migrate"].configure_args["compare_type"] is True


def test_a_plain_upgrade_means_every_head_on_this_app_only(tmp_path: Path) -> None:
    app = _host_app(tmp_path)
    flask_migrate.Migrate(app, _db(app), directory=_migrations(tmp_path))
    PartialPay(app)
    group = app.cli.commands["db"]
    assert isinstance(group, click.Group)

    def revision_default(command: click.Command) -> Any:
        (revision,) = (param for param in command.params if param.name == "revision")
        return revision.default

    assert revision_default(group.commands["upgrade"]) == "heads"
    assert revision_default(group.commands["downgrade"]) is None
    # Flask-Migrate's own group, which other apps of the process use, is unchanged.
    assert revision_default(flask_migrate.cli.db.commands["upgrade"]) == "head"
    assert revision_default(flask_migrate.cli.db.commands["downgrade"]) == "-1"


def _stamp(app: Flask, *revisions: str) -> None:
    with app.app_context(), _db(app).engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE alembic_version (version_num VARCHAR(32))"))
        for revision in revisions:
            connection.execute(
                sa.text("INSERT INTO alembic_version VALUES (:revision)"), {"revision": revision}
            )


def _app_with_host_revisions(tmp_path: Path, revisions: dict[str, str | None]) -> Flask:
    app = _host_app(tmp_path)
    flask_migrate.Migrate(app, _db(app), directory=_migrations(tmp_path))
    PartialPay(app)
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "script.py.mako").write_text("")
    for revision, down_revision in revisions.items():
        _revision_file(tmp_path / "migrations" / "versions", revision, down_revision)
    return app


def test_a_plain_downgrade_steps_back_the_hosts_branch_only(tmp_path: Path) -> None:
    app = _app_with_host_revisions(tmp_path, {"h1": None, "h2": "h1"})
    _stamp(app, "h2", "pp0015")

    with app.app_context():
        assert host_downgrade_target(None) == "h2@-1"


def test_a_plain_downgrade_with_nothing_of_the_hosts_applied_says_how_to_name_one(
    tmp_path: Path,
) -> None:
    app = _app_with_host_revisions(tmp_path, {"h1": None})
    _stamp(app, "pp0015")

    with app.app_context(), pytest.raises(click.ClickException, match="partialpay@-1"):
        host_downgrade_target(None)


def test_a_plain_downgrade_with_two_host_branches_applied_asks_which(tmp_path: Path) -> None:
    app = _app_with_host_revisions(tmp_path, {"h1": None, "h2": "h1", "h3": "h1"})
    _stamp(app, "h2", "h3", "pp0015")

    with app.app_context(), pytest.raises(click.ClickException, match="h2@-1"):
        host_downgrade_target(None)
