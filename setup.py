"""The one build step that needs code: compiling the message catalogs.

All of the package's metadata is in pyproject.toml. Before the packages are built, Babel's
own setuptools command, ``compile_catalog``, compiles every
``flask_partialpay/translations/<lang>/LC_MESSAGES/flask_partialpay.po`` to the ``.mo``
beside it, so wheels and installs (editable ones too) carry compiled catalogs. Messages
marked fuzzy are left out, as ``pybabel compile`` does. The command only logs the errors it
finds (a translation that breaks its placeholders) and returns their count, which setuptools
ignores: a catalog with errors fails the build here, naming them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from babel.messages.setuptools_frontend import compile_catalog
from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

TRANSLATIONS = Path(__file__).resolve().parent / "flask_partialpay" / "translations"
DOMAIN = "flask_partialpay"


class _ErrorsKept(logging.Handler):
    """Keeps the messages of the error records logged while it is attached."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class BuildPyWithCatalogs(build_py):
    """``build_py`` that compiles the message catalogs first, and stops on a broken one."""

    def run(self) -> None:
        compiler = self.get_finalized_command("compile_catalog")
        errors = _ErrorsKept()
        compiler.log.addHandler(errors)
        try:
            failed = compiler.run()
        finally:
            compiler.log.removeHandler(errors)
        if failed:
            raise SetupError("broken message catalogs:\n" + "\n".join(errors.messages))
        # The list of data files may have been worked out (by egg_info) before the .mo files
        # existed: forget it so that they are copied too.
        self.__dict__.pop("data_files", None)
        super().run()


setup(
    cmdclass={"build_py": BuildPyWithCatalogs, "compile_catalog": compile_catalog},
    # Also what `python setup.py compile_catalog` compiles.
    options={"compile_catalog": {"directory": str(TRANSLATIONS), "domain": DOMAIN}},
)
