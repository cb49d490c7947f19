"""Build hook for flask-partialpay; the package metadata is in setup.cfg.

Before the packages are built, every ``flask_partialpay/translations/<lang>/LC_MESSAGES/*.po``
is compiled to the ``.mo`` beside it, so wheels and installs (editable ones too) carry
compiled catalogs. Messages marked fuzzy are left out, as ``pybabel compile`` does; a
catalog whose translations break their placeholders fails the build.
"""

from __future__ import annotations

import logging
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.errors import SetupError

TRANSLATIONS = Path(__file__).resolve().parent / "flask_partialpay" / "translations"


def compile_catalogs(translations: Path = TRANSLATIONS) -> list[Path]:
    """Compile each ``<lang>/LC_MESSAGES/<domain>.po`` under ``translations``; the ``.mo`` paths."""
    compiled = []
    for po_path in sorted(translations.glob("*/LC_MESSAGES/*.po")):
        with po_path.open("rb") as po_file:
            catalog = read_po(
                po_file,
                locale=po_path.parent.parent.name,
                domain=po_path.stem,
                abort_invalid=True,
            )
        errors = [
            f"{po_path}:{message.lineno}: {error}"
            for message, message_errors in catalog.check()
            for error in message_errors
        ]
        if errors:
            raise SetupError("invalid translations:\n" + "\n".join(errors))
        mo_path = po_path.with_suffix(".mo")
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        compiled.append(mo_path)
    return compiled


class BuildPyWithCatalogs(build_py):
    """``build_py`` that compiles the message catalogs first."""

    def run(self) -> None:
        for mo_path in compile_catalogs():
            self.announce(f"compiled {mo_path}", level=logging.INFO)
        # The list of data files may have been worked out (by egg_info) before the .mo files
        # existed: forget it so that they are copied too.
        self.__dict__.pop("data_files", None)
        super().run()


setup(cmdclass={"build_py": BuildPyWithCatalogs})
