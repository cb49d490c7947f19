"""The host's Alembic configuration, told where the extension's revisions are.

:func:`add_version_location` is a Flask-Migrate configure callback; ``init_app`` registers it
on the app's ``Migrate`` (a host that registered it itself keeps working: it is added once
and adds each folder once). It keeps the host's own version locations first, so that the
host's revisions stay in the host's folder.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from flask import current_app, has_app_context

from flask_partialpay import schema
from flask_partialpay.migrations.branches import (
    SANDBOX_VERSIONS_DIR,
    VERSIONS_DIR,
    is_extension_folder,
)

if TYPE_CHECKING:
    # Alembic is optional (flask-partialpay[migrate]): the callback is handed its config by
    # Flask-Migrate, so the extension itself never imports it.
    from alembic.config import Config

# Alembic's names for the characters that separate the paths of one option.
_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}
# How Alembic splits a list when the config names no separator (it warns, we do not).
_LEGACY_VERSION_SPLIT = re.compile(r", *| +")
_LEGACY_SYS_PATH_SPLIT = re.compile(r", *| +|:")
# Newline: a folder's name may hold a space, a comma or a colon, never a newline.
_SEPARATOR = "newline"


def add_version_location(config: Config) -> Config:
    """Alembic config hook: also look for revisions in the extension's folders.

    Appends the ``partialpay`` branch's folder, and the ``sandbox`` branch's when the
    current app enables the sandbox card (Flask-Migrate runs this hook inside the app
    context), to the host's own version locations (its ``migrations/versions`` when it
    lists none). Writes them one a line (``path_separator = newline``), so that a path with
    a space survives. Turns on ``revision_environment``, so that ``flask db revision``
    runs ``env.py`` and with it the hook that puts the host's revision in the host's
    folder. Running it again changes nothing.
    """
    separator = _separator(config)
    locations = host_version_locations(config, separator)
    wanted = [VERSIONS_DIR]
    if has_app_context() and schema.sandbox_enabled(current_app):
        wanted.append(SANDBOX_VERSIONS_DIR)
    locations += [folder for folder in wanted if folder not in locations]
    sys_paths = _split(config.get_main_option("prepend_sys_path"), separator, sys_path=True)
    config.set_main_option("path_separator", _SEPARATOR)
    config.set_main_option("version_locations", _joined(locations))
    if sys_paths:  # the new separator applies to it too
        config.set_main_option("prepend_sys_path", _joined(sys_paths))
    config.set_main_option("revision_environment", "true")
    return config


def host_version_locations(config: Config, separator: str | None = None) -> list[str]:
    """Every version location of ``config``: the host's own first, then any others.

    The ``version_locations`` option, or pyproject.toml's ``[tool.alembic]`` one, or else
    the folder Alembic uses when none is listed, ``<script_location>/versions``.
    """
    listed = _split(config.get_main_option("version_locations"), separator or _separator(config))
    if not listed:
        # Alembic's own reader: here it only looks in pyproject.toml, which needs no separator.
        listed = list(config.get_version_locations_list() or [])
    if not any(not is_extension_folder(folder) for folder in listed):
        script_location = config.get_main_option("script_location") or "migrations"
        listed.insert(0, str(Path(script_location) / "versions"))
    return listed


def host_folder(config: Config) -> str:
    """The folder a host's new revision belongs in: its first own version location."""
    return next(
        folder for folder in host_version_locations(config) if not is_extension_folder(folder)
    )


def _separator(config: Config) -> str | None:
    """The character that separates the config's paths; None when it names none."""
    for option in ("path_separator", "version_path_separator"):
        name = config.get_main_option(option)
        if name is not None:
            return _SEPARATORS.get(name, " ")
    return None


def _split(value: str | None, separator: str | None, *, sys_path: bool = False) -> list[str]:
    if not value:
        return []
    if separator is None:
        legacy = _LEGACY_SYS_PATH_SPLIT if sys_path else _LEGACY_VERSION_SPLIT
        parts = legacy.split(value)
    else:
        parts = value.split(separator)
    return [part.strip() for part in parts if part.strip()]


def _joined(paths: list[str]) -> str:
    # set_main_option interpolates "%(name)s": a literal "%" in a path is written "%%".
    return "\n".join(path.replace("%", "%%") for path in paths)
