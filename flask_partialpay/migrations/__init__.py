"""The extension's Alembic revisions: the ``partialpay`` branch, and ``sandbox`` if enabled.

The ``partialpay`` branch (``versions/``) builds the extension's tables. The sandbox card
processor's tables are on a branch of their own, ``sandbox`` (``sandbox_versions/``), which
is part of the app's migrations only when the app enables the sandbox card
(``"sandbox_card"`` in ``PARTIALPAY_GATEWAYS``): a production app without it never gets a
``partialpay_sandbox_*`` table. A host using Flask-Migrate adds them to its own migrations
and applies every branch::

    from flask_partialpay.migrations import add_version_location

    migrate = Migrate(app, db)
    migrate.configure(add_version_location)
    # then: flask db upgrade heads

For autogenerate, give Alembic the metadatas in ``env.py``:
``target_metadata = [db.metadata, *flask_partialpay.migrations.target_metadatas()]``.

Flask-Migrate and Alembic are optional (``flask-partialpay[migrate]``): nothing here imports
them, so a host without them imports this module (``init_app`` does) and creates the tables
with ``PartialPay.create_tables()``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, current_app, has_app_context
from sqlalchemy import MetaData

from flask_partialpay import schema
from flask_partialpay.core.errors import ConfigurationError

if TYPE_CHECKING:
    # Alembic is optional (flask-partialpay[migrate]): the hook is handed its config by
    # Flask-Migrate, so the extension itself never imports it.
    from alembic.config import Config

VERSIONS_DIR = str(Path(__file__).parent / "versions")
BRANCH = "partialpay"
SANDBOX_VERSIONS_DIR = str(Path(__file__).parent / "sandbox_versions")
SANDBOX_BRANCH = "sandbox"


_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}


def add_version_location(config: Config) -> Config:
    """Alembic config hook: also look for revisions in the extension's folders.

    The sandbox branch's folder only when the current app enables the sandbox card (Flask-
    Migrate runs this hook inside the app context). Keeps the host's own version locations
    and its ``path_separator`` (space when unset).
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
    wanted = [VERSIONS_DIR]
    if has_app_context() and schema.sandbox_enabled(current_app):
        wanted.append(SANDBOX_VERSIONS_DIR)
    for directory in wanted:
        if directory not in locations.split(separator):
            locations = f"{locations}{separator}{directory}"
    config.set_main_option("version_locations", locations)
    return config


def target_metadatas() -> list[MetaData]:
    """The extension's metadatas for autogenerate in ``env.py``: the sandbox's when enabled."""
    return schema.metadatas(current_app)


def check_sandbox_revisions(app: Flask) -> None:
    """Refuse the sandbox card where the app's Flask-Migrate would never create its tables.

    Checked when Flask-Migrate is registered on ``app`` before the extension (as
    docs/migrations.md wires it): its configuration must list the sandbox branch's folder,
    which :func:`add_version_location` does. Without Flask-Migrate there is nothing to check
    (the tables come from :meth:`~flask_partialpay.PartialPay.create_tables` or the host).
    """
    registered = app.extensions.get("migrate")
    migrate = getattr(registered, "migrate", None)
    if migrate is None or not schema.sandbox_enabled(app):
        return
    with app.app_context():  # Flask-Migrate builds its configuration in one
        config = migrate.get_config()
    if SANDBOX_VERSIONS_DIR not in (config.get_main_option("version_locations") or ""):
        raise ConfigurationError(
            "sandbox_card is in PARTIALPAY_GATEWAYS, but this app's migrations do not include "
            "the sandbox processor's revisions, so `flask db upgrade` would never create its "
            "tables: call migrate.configure(flask_partialpay.migrations.add_version_location) "
            "before init_app, or take sandbox_card out of PARTIALPAY_GATEWAYS."
        )
