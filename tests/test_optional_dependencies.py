"""From a fresh virtualenv: the wheel with its core dependencies runs a host, in English.

The virtualenv is made with ``python -m venv`` (without the system's site-packages) and the
wheel of tests/wheel_build.py installed into it by its own pip, so Flask-Babel,
Flask-Migrate and Alembic are not there at all. tests/fresh_venv_host.py then runs in it,
and so does the quickstart's thirty-line shop (tests/hosts/thirty_lines/shop, copied out of
the repository), driven by its script through a wallet-and-card checkout.
Installing takes a few seconds from the package registry; it is done once for the module.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.wheel_build import run

HOST = Path(__file__).resolve().parent / "fresh_venv_host.py"
# The thirty-line shop of the quickstart, and the script that pays a cart in it.
THIRTY_LINES = Path(__file__).resolve().parent / "hosts" / "thirty_lines"
OPTIONAL = ("flask_babel", "flask_migrate", "alembic")
# Variables that would let the virtualenv's interpreter find packages outside it.
LEAKY = ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV")


class FreshVenv:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.python = folder / "bin" / "python"
        self.workdir = folder.parent / "elsewhere"  # not the repository: it is not importable
        self.workdir.mkdir()
        self.env = {name: value for name, value in os.environ.items() if name not in LEAKY}

    def python_run(self, *arguments: str) -> str:
        return run(
            [str(self.python), "-W", "error", *arguments], cwd=self.workdir, env=self.env
        ).stdout


@pytest.fixture(scope="module")
def venv(built_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> FreshVenv:
    fresh = FreshVenv(tmp_path_factory.mktemp("fresh") / "venv")
    run([sys.executable, "-m", "venv", str(fresh.folder)], env=fresh.env)
    run(
        [str(fresh.python), "-m", "pip", "install", "--quiet", str(built_wheel)],
        cwd=fresh.workdir,
        env=fresh.env,
    )
    return fresh


@pytest.fixture(scope="module")
def host_run(venv: FreshVenv) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(venv.python_run(str(HOST)))
    return found


@pytest.fixture(scope="module")
def thirty_lines_run(venv: FreshVenv, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The thirty-line shop, copied out of the repository, paying a cart by wallet and card."""
    folder = tmp_path_factory.mktemp("thirty_lines")
    shutil.copytree(THIRTY_LINES / "shop", folder / "shop")
    shutil.copy2(THIRTY_LINES / "drive.py", folder / "drive.py")
    database = f"sqlite:///{folder / 'shop.sqlite'}"
    found: dict[str, Any] = json.loads(
        venv.python_run(str(folder / "drive.py"), str(folder / "shop"), database)
    )
    found["folder"] = str(folder)
    return found


def test_the_virtualenv_has_no_optional_dependency(venv: FreshVenv) -> None:
    probe = (
        "import importlib.util, json\n"
        f"print(json.dumps([n for n in {OPTIONAL!r} if importlib.util.find_spec(n)]))"
    )
    assert json.loads(venv.python_run("-c", probe)) == []
    assert venv.python_run("-c", "import sys; print(sys.prefix)").strip() == str(venv.folder)


def test_the_host_runs_from_the_installed_wheel(venv: FreshVenv, host_run: dict[str, Any]) -> None:
    assert Path(host_run["module"]).is_relative_to(venv.folder)
    assert host_run["version"] == host_run["metadata_version"]
    assert host_run["balance"] == "14.50"
    assert host_run["optional_loaded"] == []


def test_without_flask_babel_the_page_is_in_english(host_run: dict[str, Any]) -> None:
    page = host_run["page"]
    assert host_run["status"] == 200
    assert "My wallet" in page
    assert "€14.50" in page
    assert "Mi monedero" not in page  # what the Spanish catalog would have said


def test_translating_without_flask_babel_says_what_to_install(host_run: dict[str, Any]) -> None:
    assert host_run["missing"] == (
        "Translating the extension's pages and e-mails needs Flask-Babel, which is not "
        'installed: pip install "flask-partialpay[babel]"'
    )


def test_the_thirty_line_shop_pays_by_wallet_and_card_from_the_wheel(
    thirty_lines_run: dict[str, Any],
) -> None:
    found = thirty_lines_run
    assert Path(found["shop_module"]).is_relative_to(found["folder"])
    assert found["optional_loaded"] == []
    assert "Via wallet" in found["cart_page"] and "€25.20" in found["cart_page"]
    assert found["card_url"].startswith("/partialpay/card/")
    assert found["again"] == found["card_url"]  # the same form twice: one payment
    assert "Pay €25.20" in found["card_page"]
    assert "Payment received. Thank you!" in found["thank_you"]
    assert found["orders"] == ["paid"]
    assert found["balance"] == "0.00"
    assert found["audit"] == []
