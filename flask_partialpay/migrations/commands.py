"""``flask db upgrade`` and ``flask db downgrade`` without a revision, with several branches.

A host's migrations have the host's branch and the extension's (``partialpay``, and
``sandbox`` where the sandbox card is on), so Alembic's ``head`` is ambiguous: Flask-Migrate's
plain ``flask db upgrade`` fails, and its plain ``flask db downgrade`` (``-1``) steps back
whichever branch Alembic walks first, perhaps the extension's. On the app that registers
the extension, the ``db`` group is a copy of Flask-Migrate's in which a plain upgrade
applies every branch (``heads``) and a plain downgrade steps back the host's branch only
(``<the host's applied revision>@-1``). A named revision means what it always did.
Flask-Migrate's group itself is left as it is, for the other apps of the process.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from importlib import import_module
from typing import Any

import click
from flask import Flask, current_app, g

from flask_partialpay.migrations.branches import BRANCH, is_extension_revision_file

UPGRADE_DEFAULT = "heads"
UPGRADE_HELP = (
    "Upgrade to a later version: with no REVISION, every branch's head (yours and the extension's)."
)
DOWNGRADE_HELP = (
    "Revert to a previous version: with no REVISION, your own branch's last revision "
    f"only (never the extension's; name one to downgrade it, as in {BRANCH}@-1)."
)


def install_commands(app: Flask, command_name: str, check: Callable[[Flask], None]) -> None:
    """Give ``app`` the ``db`` group with the defaults above, if it has Flask-Migrate's own.

    ``check`` runs before each ``db`` command (the sandbox revisions' check). A group the
    host put there itself, or the copy already installed, is left alone.
    """
    stock: click.Group = import_module("flask_migrate.cli").db
    if app.cli.commands.get(command_name) is stock:
        app.cli.add_command(_group_with_defaults(stock, check), name=command_name)


def _group_with_defaults(stock: click.Group, check: Callable[[Flask], None]) -> click.Group:
    group = copy.copy(stock)
    group.commands = dict(stock.commands)
    group.commands["upgrade"] = _upgrade_all_heads(stock.commands["upgrade"])
    group.commands["downgrade"] = _downgrade_host_branch(stock.commands["downgrade"])
    stock_callback = _callback(stock)

    def db(**arguments: Any) -> Any:
        result = stock_callback(**arguments)
        check(current_app._get_current_object())  # type: ignore[attr-defined]
        return result

    group.callback = db
    return group


def _upgrade_all_heads(stock: click.Command) -> click.Command:
    command = copy.copy(stock)
    command.params = [_with_default(param, UPGRADE_DEFAULT) for param in stock.params]
    command.help = UPGRADE_HELP
    return command


def _downgrade_host_branch(stock: click.Command) -> click.Command:
    command = copy.copy(stock)
    command.params = [_with_default(param, None) for param in stock.params]
    command.help = DOWNGRADE_HELP
    stock_callback = _callback(stock)

    def downgrade(**arguments: Any) -> Any:
        # --sql writes a script without reading the database, so it cannot know what is
        # applied: it keeps Flask-Migrate's default.
        if arguments["revision"] is None:
            arguments["revision"] = (
                "-1" if arguments["sql"] else host_downgrade_target(arguments["directory"])
            )
        return stock_callback(**arguments)

    command.callback = downgrade
    return command


def _with_default(param: click.Parameter, default: str | None) -> click.Parameter:
    if param.name != "revision":
        return param
    changed = copy.copy(param)
    changed.default = default
    return changed


def _callback(command: click.Command) -> Callable[..., Any]:
    callback = command.callback
    assert callback is not None, f"Flask-Migrate's {command.name} has no callback"
    return callback


def host_downgrade_target(directory: str | None) -> str:
    """``<revision>@-1`` for the host's revision applied to the app's database.

    Raises :class:`click.ClickException` when none of the host's revisions is applied, or
    several are (the host's own branches): the host names what to downgrade then.
    """
    alembic_script = import_module("alembic.script")
    alembic_migration = import_module("alembic.migration")
    migrate_state = current_app.extensions["migrate"]
    config = migrate_state.migrate.get_config(directory or g.get("directory"))
    scripts = alembic_script.ScriptDirectory.from_config(config)
    options = {
        name: migrate_state.configure_args[name]
        for name in ("version_table", "version_table_schema")
        if name in migrate_state.configure_args
    }
    with migrate_state.db.engine.connect() as connection:
        applied = alembic_migration.MigrationContext.configure(
            connection, opts=options
        ).get_current_heads()
    # A revision the folders no longer have (a branch taken out) is not the host's to step.
    known = {script.revision: script for script in scripts.walk_revisions()}
    own = [
        revision
        for revision in applied
        if revision in known and not is_extension_revision_file(known[revision].path)
    ]
    if not own:
        raise click.ClickException(
            "None of your own revisions is applied, so there is nothing of yours to "
            f"downgrade. To downgrade the extension's branch, name it: "
            f"flask db downgrade {BRANCH}@-1"
        )
    if len(own) > 1:
        raise click.ClickException(
            f"Several of your branches are applied ({', '.join(sorted(own))}): name the "
            f"one to downgrade, as in: flask db downgrade {sorted(own)[0]}@-1"
        )
    return f"{own[0]}@-1"
