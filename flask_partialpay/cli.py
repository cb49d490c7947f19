"""``flask partialpay ...`` commands."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from . import audit
from .config import SETTINGS
from .extension import PartialPay
from .models import LedgerAccount

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


@partialpay_cli.command("audit")
def audit_ledger() -> None:
    """Check every ledger invariant; print each violation and exit 1 if there is any.

    The whole ledger is read in one snapshot, streamed (memory does not grow with it).
    """
    session = PartialPay.state().session
    engine = session.get_bind(mapper=LedgerAccount.__mapper__)
    with audit.snapshot(engine.engine) as snapshot:
        if _interactive():
            total = audit.count_entries(snapshot)
            with click.progressbar(length=total, label="Checking entries") as bar:
                report = audit.run_audit(snapshot, progress=bar.update)
        else:
            report = audit.run_audit(snapshot)
    for violation in report.violations:
        click.echo(str(violation))
    click.echo(report.summary())
    if report.violations:
        raise click.exceptions.Exit(1)


def _interactive() -> bool:
    """Whether a person watches: a progress bar on a terminal, never in a pipe or cron."""
    return sys.stdout.isatty()
