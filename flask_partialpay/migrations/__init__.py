"""The extension's Alembic revisions, and the Flask-Migrate wiring that applies them.

The ``partialpay`` branch (``versions/``) builds the extension's tables. The sandbox card
processor's tables are on a branch of their own, ``sandbox`` (``sandbox_versions/``), which
is part of the app's migrations only when the app enables the sandbox card
(``"sandbox_card"`` in ``PARTIALPAY_GATEWAYS``): a production app without it never gets a
``partialpay_sandbox_*`` table.

A host using Flask-Migrate writes ``Migrate(app, db)`` (before or after ``init_app``) and
nothing else: ``init_app`` adds the extension's folders to the host's version locations
(:func:`add_version_location`), makes autogenerate leave the extension's tables out
(:func:`include_name`, :func:`include_object`), puts the host's new revisions on the host's
own branch in the host's folder, and makes a plain ``flask db upgrade`` apply every branch
and a plain ``flask db downgrade`` step back the host's branch only (see
:mod:`~flask_partialpay.migrations.wiring`). The ``env.py`` of ``flask db init`` is used as
it is.

Flask-Migrate and Alembic are optional (``flask-partialpay[migrate]``): nothing here imports
them at import time, so a host without them imports this package (``init_app`` does) and
creates the tables with ``PartialPay.create_tables()``.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import MetaData

from flask_partialpay import schema
from flask_partialpay.migrations.autogenerate import include_name, include_object
from flask_partialpay.migrations.branches import (
    BRANCH,
    SANDBOX_BRANCH,
    SANDBOX_VERSIONS_DIR,
    VERSIONS_DIR,
)
from flask_partialpay.migrations.locations import add_version_location
from flask_partialpay.migrations.wiring import check_sandbox_revisions, wire_flask_migrate

__all__ = [
    "BRANCH",
    "SANDBOX_BRANCH",
    "SANDBOX_VERSIONS_DIR",
    "VERSIONS_DIR",
    "add_version_location",
    "check_sandbox_revisions",
    "include_name",
    "include_object",
    "target_metadatas",
    "wire_flask_migrate",
]


def target_metadatas() -> list[MetaData]:
    """The extension's metadatas, for an ``env.py`` that writes the extension's revisions.

    A host does not need them: its autogenerate leaves the extension's tables out. The
    example shop's ``migrations/env.py`` gives them to Alembic to write new revisions of
    the ``partialpay`` branch (the sandbox's metadata only when it is enabled).
    """
    return schema.metadatas(current_app)
