"""Flask-Babel, Flask-Migrate and Alembic are optional: nothing imports them unasked.

They are installed here (the ``test`` extra), so they are hidden from the import system
(``sys.modules[name] = None`` makes ``import name`` fail as if it were not installed).
tests/test_optional_dependencies.py runs a host in a virtualenv that truly lacks them.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import PartialPay
from flask_partialpay.host.optional import MissingDependency, require

OPTIONAL = ("flask_babel", "flask_migrate", "alembic")

# Imports every module of the package with the optional dependencies hidden: a module-level
# import of one of them anywhere fails this, not only in the modules a host happens to load.
_IMPORT_ALL = f"""
import importlib
import pkgutil
import sys

for name in {OPTIONAL!r}:
    sys.modules[name] = None

import flask_partialpay

names = [flask_partialpay.__name__] + [
    module.name
    for module in pkgutil.walk_packages(flask_partialpay.__path__, "flask_partialpay.")
]
for name in names:
    importlib.import_module(name)
print(len(names))
"""


def bare_app(**config: Any) -> tuple[Flask, SQLAlchemy]:
    app = Flask("bare")
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="x", TESTING=True)
    app.config.update(config)
    database = SQLAlchemy()
    database.init_app(app)
    return app, database


def test_every_module_of_the_package_imports_without_the_optional_dependencies() -> None:
    result = subprocess.run(  # noqa: S603 (our own interpreter, a fixed probe)
        [sys.executable, "-W", "error", "-c", _IMPORT_ALL],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    assert int(result.stdout) > 100  # the walk found the package's modules


@pytest.mark.parametrize(
    ("module", "extra", "distribution"),
    [
        ("flask_babel", "babel", "Flask-Babel"),
        ("flask_migrate", "migrate", "Flask-Migrate"),
        ("alembic", "migrate", "Alembic"),
    ],
)
def test_a_feature_missing_its_dependency_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, module: str, extra: str, distribution: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)

    with pytest.raises(MissingDependency) as raised:
        require(module, "Doing this")

    assert str(raised.value) == (
        f"Doing this needs {distribution}, which is not installed: "
        f'pip install "flask-partialpay[{extra}]"'
    )
    assert isinstance(raised.value, ImportError)
    assert raised.value.name == module


def test_an_installed_dependency_is_imported() -> None:
    import flask_babel

    assert require("flask_babel", "Translating") is flask_babel


def test_an_app_whose_babel_is_not_flask_babel_is_told_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Flask-BabelEx registers itself as "babel" too: translating then needs Flask-Babel."""
    from flask_partialpay.host.i18n import gettext

    app, database = bare_app()
    PartialPay(app, database)
    app.extensions["babel"] = object()
    monkeypatch.setitem(sys.modules, "flask_babel", None)

    with app.test_request_context(), pytest.raises(MissingDependency) as raised:
        gettext("Balance")

    assert 'pip install "flask-partialpay[babel]"' in str(raised.value)


def test_without_flask_babel_a_page_is_in_english_whatever_the_browser_asks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "flask_babel", None)
    app, database = bare_app(PARTIALPAY_WALLET_CURRENCIES=("EUR",))
    extension = PartialPay(app, database)
    with app.app_context():
        extension.create_tables()
    from flask_login import LoginManager, UserMixin, login_user

    class User(UserMixin):  # type: ignore[misc]
        id = "7"

    LoginManager(app).user_loader(lambda _: User())

    @app.get("/login")
    def log_in() -> str:
        login_user(User())
        return "in"

    client = app.test_client()
    client.get("/login")
    page = client.get("/partialpay/wallet", headers={"Accept-Language": "es"})

    assert page.status_code == 200
    assert "My wallet" in page.get_data(as_text=True)
    assert "Mi monedero" not in page.get_data(as_text=True)
