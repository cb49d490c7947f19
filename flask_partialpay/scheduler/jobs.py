"""The scheduler's jobs: what ``flask partialpay run-due`` does, in the order it does it.

A job is a name and a function ``run(state, now, *, limit)`` that does what is due at
``now`` (at most ``limit`` rows; None: all of them) and returns how many things it did.
It does them in small batches, each its own transaction, claimed so that runs on several
machines share the work (:mod:`flask_partialpay.db.due_rows`); one that calls a service
outside the database follows :mod:`flask_partialpay.db.outside_calls`. A job whose rows
partly failed raises :class:`~flask_partialpay.db.due_rows.RowsFailed` after doing the
others.

:data:`JOBS` is the one list of them. A new job is added there, in the place its effects
call for: transitions that create work (an instalment falling overdue queues its e-mail)
before the jobs that do that work (sending the outbox), so one run does both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from flask_partialpay.mail import delivery as mail_delivery
from flask_partialpay.scheduler import plan_charges, plan_overdue, plan_reminders
from flask_partialpay.state import PartialPayState
from flask_partialpay.wallet import hold_expiry

# "No limit" for the jobs whose own functions take a number: more rows than one run meets.
_EVERYTHING = 2**62


class JobRun(Protocol):
    def __call__(self, state: PartialPayState, now: datetime, /, *, limit: int | None) -> int: ...


@dataclass(frozen=True)
class DueJob:
    """A named unit of scheduled work (``flask partialpay run-due --only NAME``)."""

    name: str
    run: JobRun
    #: One line, shown by ``flask partialpay run-due --help``.
    description: str = ""


def _send_pending_mail(state: PartialPayState, now: datetime, /, *, limit: int | None) -> int:
    # E-mails queued and not sent at their commit (the mail server was down, the process
    # died, or the change was committed by code outside the extension's transactions).
    return mail_delivery.deliver_pending(state, now, limit=_EVERYTHING if limit is None else limit)


JOBS: tuple[DueJob, ...] = (
    DueJob(
        "expired-holds",
        hold_expiry.release_expired_holds,
        "Wallet holds past their time are expired and their money freed, once.",
    ),
    DueJob(
        "lapsed-wallet-parts",
        hold_expiry.release_lapsed_parts,
        "Pending wallet parts whose hold ended go back to the balance.",
    ),
    # Payment plans: due instalments charged first (automatic payments), then reminders,
    # so that an instalment not overdue yet is reminded before the next job looks at it;
    # then what became overdue, then what it leads to.
    DueJob(
        plan_charges.NAME,
        plan_charges.charge_due_instalments,
        "Due instalments are charged to the saved card their customer chose, once per "
        "attempt, and retried on PARTIALPAY_PLAN_RETRY_DAYS.",
    ),
    DueJob(
        plan_reminders.NAME,
        plan_reminders.send_reminders,
        "Instalments due within PARTIALPAY_PLAN_REMIND_DAYS are reminded, each once.",
    ),
    DueJob(
        plan_overdue.OVERDUE,
        plan_overdue.mark_overdue_instalments,
        "Instalments unpaid after the grace period are marked overdue and told, each once.",
    ),
    DueJob(
        plan_overdue.ACTION,
        plan_overdue.take_overdue_actions,
        "PARTIALPAY_PLAN_OVERDUE_ACTION is taken for instalments overdue long enough, once.",
    ),
    # Last: the jobs above queue e-mails (an instalment overdue), and one run sends them.
    DueJob(
        mail_delivery.NAME,
        _send_pending_mail,
        "E-mails queued but not sent yet are sent, each once.",
    ),
)


def job_names() -> tuple[str, ...]:
    return tuple(job.name for job in JOBS)
