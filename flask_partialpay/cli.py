"""``flask partialpay ...`` commands."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .config import SETTINGS

partialpay_cli = AppGroup("partialpay", help="flask-partialpay: payments in parts.")


@partialpay_cli.command("settings")
def show_settings() -> None:
    """Print every PARTIALPAY_* setting with the value in effect (secrets hidden)."""
    for name, entry in SETTINGS.items():
        value = current_app.config.get(name, entry.default)
        if "SECRET" in name and value:
            value = "(set)"
        click.echo(f"{name} = {value!r}")
