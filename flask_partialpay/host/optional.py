"""The optional dependencies, imported only where a feature needs them.

Flask-Babel (``flask-partialpay[babel]``) translates the extension's pages and e-mails;
without it they are in English, amounts still formatted by Babel, the library. Flask-Migrate
and Alembic (``flask-partialpay[migrate]``) apply the extension's migrations; without them,
``PartialPay.create_tables()`` creates its tables. No module of the package imports either
at import time: a feature that needs one imports it through :func:`require`, which says what
to install when it is missing.
"""

from __future__ import annotations

from importlib import import_module
from types import ModuleType

#: Each optional module: the distribution that provides it, and the extra that installs it.
PROVIDERS: dict[str, tuple[str, str]] = {
    "flask_babel": ("Flask-Babel", "babel"),
    "flask_migrate": ("Flask-Migrate", "migrate"),
    "alembic": ("Alembic", "migrate"),
}


class MissingDependency(ImportError):
    """An optional dependency a feature needs is not installed."""


def install_hint(module: str) -> str:
    """The command that installs ``module``: ``pip install "flask-partialpay[babel]"``."""
    _, extra = PROVIDERS[module]
    return f'pip install "flask-partialpay[{extra}]"'


def require(module: str, feature: str) -> ModuleType:
    """``module`` imported, or :class:`MissingDependency` naming ``feature`` and what to install.

    ``feature`` says what needs it, as the start of a sentence ("Translating the
    extension's pages").
    """
    try:
        return import_module(module)
    except ImportError as error:
        distribution, _ = PROVIDERS[module]
        raise MissingDependency(
            f"{feature} needs {distribution}, which is not installed: {install_hint(module)}",
            name=module,
        ) from error
