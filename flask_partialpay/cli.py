"""``flask partialpay ...`` commands."""

from __future__ import annotations

import sys
import time
from datetime import timedelta

import click
from flask import current_app
from flask.cli import AppGroup

from flask_partialpay import audit
from flask_partialpay.db.base import utcnow
from flask_partialpay.host.config import SETTINGS
from flask_partialpay.ledger.models import LedgerAccount
from flask_partialpay.payments import reconcile
from flask_partialpay.sandbox.card import NAME as SANDBOX
from flask_partialpay.sandbox.card import SandboxCardGateway
from flask_partialpay.scheduler import run_due
from flask_partialpay.scheduler.jobs import job_names
from flask_partialpay.schema import sandbox_enabled
from flask_partialpay.state import current_partialpay

# Said by the commands that concern the sandbox card processor when the app does not enable
# it (its tables then do not exist).
_SANDBOX_OFF = (
    "The sandbox card processor is not enabled (sandbox_card is not in PARTIALPAY_GATEWAYS):"
)

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
    """Give back the money of every wallet hold past its expiry, in one transaction.

    ``flask partialpay run-due`` does the same in batches, safely on several machines.
    """
    count = current_partialpay.wallets.release_expired_holds()
    click.echo(f"{count} expired hold(s) released.")


@partialpay_cli.command("run-due")
@click.option(
    "--only",
    "only",
    type=click.Choice(job_names()),
    multiple=True,
    help="Run this job only (repeat for several); default: every job.",
)
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=None,
    help="Each job does at most this many rows in this run; default: all that are due.",
)
def run_due_command(only: tuple[str, ...], limit: int | None) -> None:
    """Do everything that is due: expired holds, lapsed wallet parts, and the other jobs.

    Run it every minute or so (cron, a systemd timer, Celery beat); runs may overlap, on
    one machine or many: each row is claimed by one run and done once. Prints what each
    job did; exits 1 if a job failed (the rest was done, and the failed rows are tried
    again by the next run).
    """
    report = run_due(current_partialpay, only=only or None, limit=limit)
    for outcome in report.outcomes:
        click.echo(outcome.summary())
    if not report.ok:
        raise click.exceptions.Exit(1)


@partialpay_cli.command("audit")
def audit_ledger() -> None:
    """Check every ledger invariant; print each violation and exit 1 if there is any.

    The whole ledger is read in one snapshot, streamed (memory does not grow with it).
    """
    session = current_partialpay.session
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
    if not report.sandbox_checked:
        click.echo(_SANDBOX_OFF + " its charges and refunds were not compared.")
    click.echo(report.summary())
    if report.violations:
        raise click.exceptions.Exit(1)


def _interactive() -> bool:
    """Whether a person watches: a progress bar on a terminal, never in a pipe or cron."""
    return sys.stdout.isatty()


@partialpay_cli.command("reconcile")
@click.option(
    "--since-hours",
    type=click.IntRange(min=1),
    default=72,
    show_default=True,
    help="Compare what the processors did in this many past hours.",
)
def reconcile_payments(since_hours: int) -> None:
    """Record what payment processors did that the shop never recorded (run it from cron).

    Charges whose notification never arrived become succeeded payments, refunds made at
    the processor are recorded, and refunds the shop asked for but never heard back about
    are confirmed or asked again (once: the key is the same). Prints each fix; exits 1 if
    something needs a person.
    """
    report = reconcile.reconcile(current_partialpay, since=utcnow() - timedelta(hours=since_hours))
    for line in report.fixed:
        click.echo(f"fixed: {line}")
    for line in report.problems:
        click.echo(f"look at: {line}")
    click.echo(report.summary())
    if report.problems:
        raise click.exceptions.Exit(1)


@partialpay_cli.command("sandbox-deliver")
@click.option(
    "--watch",
    type=click.IntRange(min=1),
    default=None,
    help="Keep running, delivering every this many seconds (a worker).",
)
def sandbox_deliver(watch: int | None) -> None:
    """Deliver the sandbox processor's notifications the shop has not acknowledged yet.

    As a real processor does: each is posted again, with growing delays, until the shop
    answers 2xx (for up to three days).
    """
    gateway = current_partialpay.gateways.get(SANDBOX)
    if not sandbox_enabled() or not isinstance(gateway, SandboxCardGateway):
        raise click.UsageError(_SANDBOX_OFF + " there is nothing to deliver.")
    while True:
        report = gateway.deliver_due()
        click.echo(
            f"{report.delivered} delivered, {report.failed} to retry, {report.gave_up} given up."
        )
        if watch is None:
            return
        time.sleep(watch)
