"""Flask-Migrate, wired by ``init_app``: the host writes ``Migrate(app, db)`` and nothing else.

On an app with Flask-Migrate (``app.extensions["migrate"]``), :func:`wire_flask_migrate`
registers :func:`~flask_partialpay.migrations.add_version_location` on its ``Migrate``,
passes the autogenerate hooks to ``env.py`` through ``configure_args`` (after the host's
own) and installs the ``db`` group whose plain upgrade and downgrade know the branches.
``Migrate.init_app`` replaces the last two whenever it runs, and may run after the
extension's ``init_app``: the wiring is checked again each time an app context is pushed
(the ``flask`` command pushes one before it looks up ``db``), which costs a dictionary
look-up once it is done.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, appcontext_pushed

from flask_partialpay import schema
from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.migrations.autogenerate import HostRevisions, IncludeName, IncludeObject
from flask_partialpay.migrations.branches import SANDBOX_VERSIONS_DIR
from flask_partialpay.migrations.commands import install_commands
from flask_partialpay.migrations.locations import add_version_location, host_version_locations

_HOOKS = {
    "process_revision_directives": HostRevisions,
    "include_name": IncludeName,
    "include_object": IncludeObject,
}


def wire_flask_migrate(app: Flask) -> None:
    """Wire the app's Flask-Migrate (if it has one) to the extension's migrations.

    Idempotent; also runs on every app context of ``app`` (see the module's docstring).
    """
    appcontext_pushed.connect(_wire_again, app)
    _wire(app)


def _wire_again(app: Flask, **_: Any) -> None:
    _wire(app)


def _wire(app: Flask) -> None:
    registered = app.extensions.get("migrate")
    if registered is None:
        return
    arguments = registered.configure_args
    if isinstance(arguments.get("process_revision_directives"), HostRevisions):
        return  # this Migrate.init_app's configuration is wired already
    migrate = registered.migrate
    if add_version_location not in migrate.configure_callbacks:
        migrate.configure(add_version_location)
    for name, hook in _HOOKS.items():
        if not isinstance(arguments.get(name), hook):
            arguments[name] = hook(arguments.get(name))
    install_commands(app, migrate.command, check_sandbox_revisions)


def check_sandbox_revisions(app: Flask) -> None:
    """Refuse the sandbox card where the app's Flask-Migrate would never create its tables.

    Runs after the wiring (in ``init_app``, and before each ``flask db`` command), so it
    fails only where the app's Alembic configuration does not come out with the sandbox
    branch's folder even so: a ``Migrate`` that skips its configure callbacks, or a host
    callback after the extension's that replaces the version locations. Without
    Flask-Migrate there is nothing to check (the tables come from
    :meth:`~flask_partialpay.PartialPay.create_tables` or the host).
    """
    registered = app.extensions.get("migrate")
    migrate = getattr(registered, "migrate", None)
    if migrate is None or not schema.sandbox_enabled(app):
        return
    with app.app_context():  # Flask-Migrate builds its configuration in one
        config = migrate.get_config()
    if SANDBOX_VERSIONS_DIR not in host_version_locations(config):
        raise ConfigurationError(
            "sandbox_card is in PARTIALPAY_GATEWAYS, but this app's migrations do not include "
            "the sandbox processor's revisions, so `flask db upgrade` would never create its "
            "tables. The extension adds them through migrate.configure("
            "flask_partialpay.migrations.add_version_location): keep that callback's folders "
            f"(add {SANDBOX_VERSIONS_DIR} to version_locations if your Migrate does not run "
            "its configure callbacks), or take sandbox_card out of PARTIALPAY_GATEWAYS."
        )
