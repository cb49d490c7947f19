"""``flask partialpay ...`` commands."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from .config import SETTINGS
from .extension import PartialPay

partialpay_cli = AppGroup("partialpay", help="flask-partialpay: payments in parts.")


@partialpay_cli.command("settings")
def show_settings() -> None:
    """Print every PARTIALPAY_* setting with the value in effect (secrets hidden)."""
    for name, entry in SETTINGS.items():
        value = current_app.config.get(name, entry.default)
        if "SECRET" in name and value:
            value = "(set)"
        click.echo(f"{name} = {value!r}")


@partialpay_cli.command("release-expired-holds")
def release_expired_holds() -> None:
    """Give back the money of every wallet hold past its expiry (run it from cron)."""
    count = PartialPay.state().wallets.release_expired_holds()
    click.echo(f"{count} expired hold(s) released.")
