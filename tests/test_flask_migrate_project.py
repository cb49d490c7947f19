"""A Flask-Migrate project that only writes ``Migrate(app, db)``, from the installed wheel.

The wheel of tests/wheel_build.py is installed, with Flask-Migrate, in a virtualenv of its
own (once for the module). In a temporary folder, the host of tests/flask_migrate_host.py
runs the real ``flask db`` commands on each database: ``init`` (its ``env.py`` left as
Flask-Migrate writes it), a plain ``upgrade``, ``migrate`` twice, ``check``, a new revision
of the extension's branch arriving with a new release, and a plain ``downgrade``. The host's
revisions must land in its own folder, on its own branch, without the extension's tables;
nothing may be written into the installed package.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests import backends
from tests.wheel_build import run

HOST = Path(__file__).resolve().parent / "flask_migrate_host.py"
# Variables that would let the virtualenv's interpreter find packages outside it.
LEAKY = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV")
NEW_RELEASE_REVISION = "pp9999"
NEW_RELEASE_TABLE = "partialpay_from_a_new_release"
NEW_RELEASE_FILE = f"""\
revision = "{NEW_RELEASE_REVISION}"
down_revision = "{{down_revision}}"
branch_labels = None
depends_on = None

import sqlalchemy as sa
from alembic import op


def upgrade():
    op.create_table("{NEW_RELEASE_TABLE}", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("{NEW_RELEASE_TABLE}")
"""


class MigrateVenv:
    """A virtualenv with the wheel and Flask-Migrate, and the ``flask`` command run in it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.python = folder / "bin" / "python"
        self.env = {name: value for name, value in os.environ.items() if name not in LEAKY}

    @property
    def site_packages(self) -> Path:
        (found,) = self.folder.glob("lib/python*/site-packages")
        return found

    @property
    def package(self) -> Path:
        return self.site_packages / "flask_partialpay"

    def flask(self, project: Path, *arguments: str, **env: str) -> str:
        """``flask --app host_app <arguments>`` in ``project``; what it printed (both streams)."""
        result = run(
            [str(self.python), "-m", "flask", "--app", "host_app", *arguments],
            cwd=project,
            env={**self.env, **env},
        )
        return result.stdout + result.stderr


@pytest.fixture(scope="module")
def venv(built_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> MigrateVenv:
    made = MigrateVenv(tmp_path_factory.mktemp("migrate") / "venv")
    run([sys.executable, "-m", "venv", str(made.folder)], env=made.env)
    run(
        [
            str(made.python),
            "-m",
            "pip",
            "install",
            "--quiet",
            f"{built_wheel}[migrate,postgres,mariadb]",
        ],
        env=made.env,
    )
    return made


def _drop_every_table(url: str) -> None:
    engine = sa.create_engine(url)
    try:
        tables = sa.MetaData()
        tables.reflect(engine)
        tables.drop_all(engine)
    finally:
        engine.dispose()


@pytest.fixture
def database(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database: a new SQLite file, or the server's test database emptied."""
    url = backends.database_url(backend, tmp_path)
    if backend != "sqlite":
        _drop_every_table(url)
        backends.forget_tables(backend)  # the suite's other tests build theirs again
    try:
        yield url
    finally:
        if backend != "sqlite":
            _drop_every_table(url)


def _files(folder: Path) -> set[Path]:
    return {
        path.relative_to(folder)
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def _revision_files(project: Path) -> list[Path]:
    return sorted((project / "migrations" / "versions").glob("*.py"), key=os.path.getmtime)


def _assignment(source: str, name: str) -> str:
    match = re.search(rf"^{name} = (.+)$", source, re.MULTILINE)
    assert match, f"no {name} in\n{source}"
    return match.group(1).strip()


def _partialpay_head(package: Path) -> str:
    """The head of the installed ``partialpay`` branch: the revision nothing revises."""
    sources = [path.read_text() for path in (package / "migrations" / "versions").glob("*.py")]
    revisions = {_assignment(source, "revision").strip("'\"") for source in sources}
    revised = {_assignment(source, "down_revision").strip("'\"") for source in sources}
    (head,) = revisions - revised
    return head


def _applied(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return set(connection.scalars(sa.text("SELECT version_num FROM alembic_version")))
    finally:
        engine.dispose()


def _columns(url: str, table: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {column["name"] for column in sa.inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("backend", "sandbox", "migrate_after"),
    [
        ("sqlite", False, False),
        ("sqlite", True, True),
        ("postgresql", False, False),
        ("mariadb", False, True),
    ],
    ids=[
        "sqlite",
        "sqlite-sandbox-migrate_after_init_app",
        "postgresql",
        "mariadb-migrate_after_init_app",
    ],
)
def test_a_host_that_only_writes_migrate_app_db_migrates_with_plain_flask_db_commands(
    venv: MigrateVenv,
    database: str,
    tmp_path: Path,
    backend: str,
    sandbox: bool,
    migrate_after: bool,
) -> None:
    project = tmp_path / "shop"
    project.mkdir()
    shutil.copy(HOST, project / "host_app.py")
    host_env = {
        "DATABASE_URL": database,
        "HOST_SANDBOX": "1" if sandbox else "",
        "HOST_MIGRATE_AFTER": "1" if migrate_after else "",
    }
    installed = _files(venv.site_packages)
    versions = project / "migrations" / "versions"
    partialpay_head = _partialpay_head(venv.package)

    where = run(
        [str(venv.python), "-c", "import flask_partialpay; print(flask_partialpay.__file__)"],
        cwd=project,
        env=venv.env,
    )
    assert Path(where.stdout.strip()).is_relative_to(venv.package)  # the wheel, not the repository

    venv.flask(project, "db", "init", **host_env)
    stock_env = venv.site_packages / "flask_migrate" / "templates" / "flask" / "env.py"
    assert (project / "migrations" / "env.py").read_text() == stock_env.read_text()

    venv.flask(project, "db", "upgrade", **host_env)  # no revision: every branch
    extension_tables = {name for name in _tables(database) if name.startswith("partialpay_")}
    assert "partialpay_order" in extension_tables
    assert any("sandbox" in name for name in extension_tables) == sandbox

    venv.flask(project, "db", "migrate", "-m", "host", **host_env)
    (first,) = _revision_files(project)
    first_source = first.read_text()
    first_id = _assignment(first_source, "revision").strip("'\"")
    assert _assignment(first_source, "down_revision") == "None"
    assert "shop_product" in first_source
    assert "partialpay_" not in first_source
    assert _files(venv.site_packages) == installed

    venv.flask(project, "db", "upgrade", **host_env)
    venv.flask(project, "db", "check", **host_env)  # fails (exit 1) if anything is left
    assert "No changes in schema detected" in venv.flask(
        project, "db", "migrate", "-m", "nothing", **host_env
    )
    assert _revision_files(project) == [first]

    with_price = {**host_env, "HOST_PRICE_COLUMN": "1"}
    venv.flask(project, "db", "migrate", "-m", "price", **with_price)
    second = _revision_files(project)[-1]
    assert second.parent == versions
    second_source = second.read_text()
    second_id = _assignment(second_source, "revision").strip("'\"")
    assert _assignment(second_source, "down_revision").strip("'\"") == first_id
    assert "partialpay_" not in second_source
    venv.flask(project, "db", "upgrade", **with_price)
    assert "price_minor" in _columns(database, "shop_product")
    assert _files(venv.site_packages) == installed

    # A new release of the package brings a revision of the partialpay branch.
    new_release = venv.package / "migrations" / "versions" / f"{NEW_RELEASE_REVISION}_new.py"
    new_release.write_text(NEW_RELEASE_FILE.format(down_revision=partialpay_head))
    try:
        venv.flask(project, "db", "upgrade", **with_price)
        assert NEW_RELEASE_TABLE in _tables(database)
        extension_applied = {NEW_RELEASE_REVISION} | ({"sb0001"} if sandbox else set())
        assert _applied(database) == {second_id} | extension_applied
        venv.flask(project, "db", "check", **with_price)

        venv.flask(project, "db", "downgrade", **with_price)  # the host's branch only

        assert _applied(database) == {first_id} | extension_applied
        assert "price_minor" not in _columns(database, "shop_product")
        assert NEW_RELEASE_TABLE in _tables(database)
    finally:
        new_release.unlink()
        for compiled in new_release.parent.glob(f"__pycache__/{new_release.stem}.*"):
            compiled.unlink()
    assert {path.parent for path in _revision_files(project)} == {versions}
