"""The extension's Alembic revisions, on their own branch labelled ``partialpay``.

A host using Flask-Migrate adds them to its own migrations and applies both branches::

    from flask_partialpay.migrations import add_version_location

    migrate = Migrate(app, db)
    migrate.configure(add_version_location)
    # then: flask db upgrade heads

For autogenerate, give Alembic both metadatas in ``env.py``:
``target_metadata = [db.metadata, flask_partialpay.PartialPayModel.metadata]``.
"""

from __future__ import annotations

import os
from pathlib import Path

from alembic.config import Config

VERSIONS_DIR = str(Path(__file__).parent / "versions")
BRANCH = "partialpay"


_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}


def add_version_location(config: Config) -> Config:
    """Alembic config hook: also look for revisions in the extension's folder.

    Keeps the host's own version locations and its ``path_separator`` (space when unset).
    """
    separator_name = config.get_main_option("path_separator")
    if separator_name is None:
        separator_name = "space"
        config.set_main_option("path_separator", separator_name)
    separator = _SEPARATORS.get(separator_name, " ")
    locations = config.get_main_option("version_locations")
    if not locations:
        script_location = config.get_main_option("script_location") or "migrations"
        locations = str(Path(script_location) / "versions")
    if VERSIONS_DIR not in locations.split(separator):
        config.set_main_option("version_locations", f"{locations}{separator}{VERSIONS_DIR}")
    return config
