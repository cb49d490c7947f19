"""The wheel carries what the extension needs at run time, translations compiled.

A copy of the project, with a small Spanish catalog added, is built with
``python -m build --wheel --no-isolation`` (setup.py compiles the catalogs), then the wheel
is inspected and installed into a folder of its own to be imported from there.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from babel.support import Translations

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "flask_partialpay"
DOMAIN = "flask_partialpay"
COPIED_DIRS = (PACKAGE, "example_shop", "migrations", "translations")
COPIED_FILES = ("setup.cfg", "setup.py", "pyproject.toml", "README.md")
# Compiled catalogs are left behind on purpose: the build must make them itself.
NOT_COPIED = shutil.ignore_patterns(
    "__pycache__", "*.py[cod]", "*.mo", "*.egg-info", "build", "dist", "instance"
)

CATALOG = f"{PACKAGE}/translations/es/LC_MESSAGES/{DOMAIN}.po"
COMPILED_CATALOG = f"{PACKAGE}/translations/es/LC_MESSAGES/{DOMAIN}.mo"
MESSAGE = "Enter an amount."  # raised by flask_partialpay.core.money.parse_amount
TRANSLATION = "Introduce un importe."
SPANISH_PO = f"""\
msgid ""
msgstr ""
"Project-Id-Version: flask-partialpay packaging test\\n"
"Language: es\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=utf-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

msgid "{MESSAGE}"
msgstr "{TRANSLATION}"
"""

TIMEOUT = 300  # seconds; a build takes a few


def _run(
    command: list[str], cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - fixed command lines
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0, (
        f"{' '.join(command)} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
    )
    return result


def _files_under(folder: Path) -> set[str]:
    """Paths, relative to the repository root, of the files in ``folder`` (no caches)."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }


@pytest.fixture(scope="module")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    copy = tmp_path_factory.mktemp("project")
    for name in COPIED_DIRS:
        shutil.copytree(ROOT / name, copy / name, ignore=NOT_COPIED)
    for name in COPIED_FILES:
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, copy / name)
    # setup.cfg reads the long description from it.
    (copy / "README.md").touch()
    catalog = copy / CATALOG
    catalog.parent.mkdir(parents=True, exist_ok=True)
    catalog.write_text(SPANISH_PO, encoding="utf-8")
    assert not (copy / COMPILED_CATALOG).exists()
    return copy


@pytest.fixture(scope="module")
def wheel(project_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    _run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=project_copy,
    )
    (built,) = dist.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


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


def test_wheel_contains_catalogs_compiled_at_build_time(wheel: Path, wheel_files: set[str]) -> None:
    assert CATALOG in wheel_files
    assert COMPILED_CATALOG in wheel_files
    with zipfile.ZipFile(wheel) as archive:
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
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    _run(
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
            str(wheel),
        ]
    )
    workdir = tmp_path / "elsewhere"  # not the repository, so that it cannot be imported
    workdir.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = _run(
        [sys.executable, "-W", "error", "-c", _CHECK_INSTALLED, MESSAGE], cwd=workdir, env=env
    )
    found = json.loads(result.stdout)

    assert Path(found["module"]).resolve().is_relative_to(site.resolve()), found["module"]
    assert found["layout"] is True
    assert found["es"] == TRANSLATION
