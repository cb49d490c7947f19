"""The project's wheel built as a release would be, for the tests that inspect or install it.

A copy of the project, with a small Spanish catalog of its own, is built with
``python -m build --wheel --no-isolation`` (setup.py compiles the catalogs with Babel's
``compile_catalog``). :func:`built_wheel` is a session fixture (the root conftest imports
it): tests/test_packaging.py and tests/test_optional_dependencies.py share one build.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "flask_partialpay"
DOMAIN = "flask_partialpay"
COPIED_DIRS = (PACKAGE, "example_shop", "migrations", "translations")
COPIED_FILES = ("pyproject.toml", "setup.py", "README.md", "LICENSE")
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


def run(
    command: list[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    *,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - fixed command lines
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False
    )
    assert result.returncode == 0 or not check, (
        f"{' '.join(command)} exited {result.returncode}\n"
        f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
    )
    return result


def copy_project(copy: Path, spanish_po: str) -> Path:
    """The project as a release would be built from it, its Spanish catalog ``spanish_po``."""
    for name in COPIED_DIRS:
        shutil.copytree(ROOT / name, copy / name, ignore=NOT_COPIED)
    for name in COPIED_FILES:
        shutil.copy2(ROOT / name, copy / name)
    catalog = copy / CATALOG
    catalog.parent.mkdir(parents=True, exist_ok=True)
    catalog.write_text(spanish_po, encoding="utf-8")
    assert not (copy / COMPILED_CATALOG).exists()
    return copy


def build_wheel(
    project: Path, dist: Path, *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    return run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)],
        cwd=project,
        check=check,
    )


@pytest.fixture(scope="session")
def built_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's wheel, built once for the run, with :data:`SPANISH_PO` as its catalog."""
    project = copy_project(tmp_path_factory.mktemp("project"), SPANISH_PO)
    dist = tmp_path_factory.mktemp("dist")
    build_wheel(project, dist)
    (built,) = dist.glob("*.whl")
    return built
