"""The wheel carries what the extension needs at run time, translations compiled.

A copy of the project, with a small Spanish catalog added, is built with
``python -m build --wheel --no-isolation`` (setup.py compiles the catalogs with Babel's
``compile_catalog``), then the wheel is inspected and installed into a folder of its own to
be imported from there. A copy with a broken catalog must not build.
"""

from __future__ import annotations

import email.parser
import io
import json
import os
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from babel.support import Translations

from tests.wheel_build import (
    CATALOG,
    COMPILED_CATALOG,
    DOMAIN,
    MESSAGE,
    PACKAGE,
    ROOT,
    SPANISH_PO,
    TRANSLATION,
    build_wheel,
    copy_project,
    run,
)

# A translation that names another placeholder than its message: Babel's checks refuse it.
BROKEN_MESSAGE = "Pay %(amount)s"
BROKEN_PO = (
    SPANISH_PO
    + f"""
msgid "{BROKEN_MESSAGE}"
msgstr "Pagar %(importe)s"
"""
)


def _files_under(folder: Path) -> set[str]:
    """Paths, relative to the repository root, of the files in ``folder`` (no caches)."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def wheel_files(built_wheel: Path) -> set[str]:
    with zipfile.ZipFile(built_wheel) as archive:
        return set(archive.namelist())


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = (name for name in archive.namelist() if name.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode())


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_the_wheels_version_is_the_packages_own(built_wheel: Path) -> None:
    import flask_partialpay

    assert _metadata(built_wheel)["Version"] == flask_partialpay.__version__
    assert built_wheel.name.startswith(f"flask_partialpay-{flask_partialpay.__version__}-")
    # Declared once: pyproject.toml takes it from the package rather than repeating it.
    pyproject = _pyproject()
    assert "version" not in pyproject["project"]
    assert pyproject["project"]["dynamic"] == ["version"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {
        "attr": "flask_partialpay.__version__"
    }


def test_the_test_extra_has_what_the_example_shop_translates_and_migrates_with() -> None:
    extras = _pyproject()["project"]["optional-dependencies"]
    assert set(extras["babel"]) | set(extras["migrate"]) <= set(extras["test"])


def test_the_wheel_declares_its_licence_and_carries_its_text(
    built_wheel: Path, wheel_files: set[str]
) -> None:
    metadata = _metadata(built_wheel)
    assert metadata["License-Expression"] == "BSD-3-Clause"
    assert metadata["License-File"] == "LICENSE"
    (licence,) = (name for name in wheel_files if name.endswith(".dist-info/licenses/LICENSE"))
    with zipfile.ZipFile(built_wheel) as archive:
        assert archive.read(licence) == (ROOT / "LICENSE").read_bytes()
    assert "BSD 3-Clause License" in (ROOT / "LICENSE").read_text(encoding="utf-8")


def test_flask_babel_and_flask_migrate_are_extras_not_requirements(built_wheel: Path) -> None:
    requirements = _metadata(built_wheel).get_all("Requires-Dist") or []
    core = {line.split(">")[0].split("[")[0].lower() for line in requirements if ";" not in line}
    assert {"flask", "flask-sqlalchemy", "babel"} <= core
    assert core.isdisjoint({"flask-babel", "flask-migrate", "alembic"})
    assert 'Flask-Babel>=4.0; extra == "babel"' in requirements
    assert 'Flask-Migrate>=4.0; extra == "migrate"' in requirements
    assert 'alembic>=1.16; extra == "migrate"' in requirements


def test_a_broken_catalog_fails_the_build_naming_the_error(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    project = copy_project(tmp_path_factory.mktemp("broken"), BROKEN_PO)
    dist = tmp_path_factory.mktemp("broken-dist")

    result = build_wheel(project, dist, check=False)

    assert result.returncode != 0
    assert list(dist.glob("*.whl")) == []
    output = result.stdout + result.stderr
    assert "broken message catalogs" in output
    assert "importe" in output, output[-4000:]


def test_wheel_marks_the_package_as_typed(wheel_files: set[str]) -> None:
    assert f"{PACKAGE}/py.typed" in wheel_files


def test_wheel_contains_every_template_of_the_extension(wheel_files: set[str]) -> None:
    templates = _files_under(ROOT / PACKAGE / "templates" / "partialpay")
    assert f"{PACKAGE}/templates/partialpay/layout.html" in templates
    assert templates - wheel_files == set()


def test_wheel_contains_the_default_stylesheet(wheel_files: set[str]) -> None:
    assert f"{PACKAGE}/static/partialpay.css" in wheel_files


def test_wheel_contains_every_static_file_the_pages_load(wheel_files: set[str]) -> None:
    # The admin pages' scripts are files, not inline: the pages' CSP allows no inline script.
    static = _files_under(ROOT / PACKAGE / "static")
    assert f"{PACKAGE}/static/admin_offer_settings.js" in static
    assert static - wheel_files == set()


def test_wheel_holds_the_extension_and_not_the_example_shop(wheel_files: set[str]) -> None:
    assert {name.split("/")[0] for name in wheel_files if "/" in name} == {
        PACKAGE,
        next(name.split("/")[0] for name in wheel_files if ".dist-info/" in name),
    }


def test_wheel_contains_the_extensions_migrations(wheel_files: set[str]) -> None:
    versions = {
        name
        for name in _files_under(ROOT / PACKAGE / "migrations" / "versions")
        if name.endswith(".py")
    }
    assert versions, "the extension has no migration versions"
    assert versions - wheel_files == set()
    sandbox = _files_under(ROOT / PACKAGE / "migrations" / "sandbox_versions")
    assert sandbox, "the sandbox processor's branch has no migration versions"
    assert sandbox - wheel_files == set()
    assert f"{PACKAGE}/migrations/__init__.py" in wheel_files


def test_wheel_contains_catalogs_compiled_at_build_time(
    built_wheel: Path, wheel_files: set[str]
) -> None:
    assert CATALOG in wheel_files
    assert COMPILED_CATALOG in wheel_files
    with zipfile.ZipFile(built_wheel) as archive:
        translations = Translations(io.BytesIO(archive.read(COMPILED_CATALOG)), domain=DOMAIN)
    assert translations.gettext(MESSAGE) == TRANSLATION


# Run by a separate interpreter that has only the installed wheel to import the package from.
_CHECK_INSTALLED = """
import importlib.resources
import json
import sys

from flask import Flask
from flask_babel import Babel, force_locale

import flask_partialpay
from flask_partialpay.host.i18n import gettext

layout = importlib.resources.files("flask_partialpay") / "templates/partialpay/layout.html"
app = Flask("packaging_check")
Babel(app)
with app.test_request_context(), force_locale("es"):
    spanish = gettext(sys.argv[1])
json.dump({"module": flask_partialpay.__file__, "layout": layout.is_file(), "es": spanish},
          sys.stdout)
"""


def test_installed_wheel_imports_and_finds_its_templates_and_translations(
    built_wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--disable-pip-version-check",
            "--target",
            str(site),
            str(built_wheel),
        ]
    )
    workdir = tmp_path / "elsewhere"  # not the repository, so that it cannot be imported
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = run(
        [sys.executable, "-W", "error", "-c", _CHECK_INSTALLED, MESSAGE], cwd=workdir, env=env
    )
    found = json.loads(result.stdout)

    assert Path(found["module"]).resolve().is_relative_to(site.resolve()), found["module"]
    assert found["layout"] is True
    assert found["es"] == TRANSLATION
