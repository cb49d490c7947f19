"""Sending what the outbox holds: right after the commit that queued it, and later again.

:func:`deliver` runs after the commit of the change an e-mail tells of (queued with
``after_commit`` by :mod:`.events`): a page that confirms a payment sends its e-mail at
once. Whatever that could not send (the mail server was down, the process died) stays
pending, and :func:`deliver_pending` sends it: ``flask partialpay run-due`` calls it, and
any number of them may run at once.

Both are a call outside the database (:mod:`flask_partialpay.db.outside_calls`), whose
three steps :class:`Sending` gives: the claim (:func:`.outbox.claim`) marks the e-mails
``sending`` with a token of its own and counts an attempt, in a transaction that commits;
the mail server is talked to with no transaction open; the outcome is written guarded by
the token, so a sender whose claim timed out and was taken again writes nothing. A claim
older than ``PARTIALPAY_MAIL_CLAIM_TIMEOUT`` is a sender that died, and is taken again
with a new token (see :mod:`.outbox`). A mail server takes no idempotency key, so the
token is the ticket's ``key`` only to guard the outcome: a sender that died after the
server took the e-mail and before the outcome was written leaves it to be sent again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.orm import Session

from flask_partialpay.db.due_rows import RowsFailed
from flask_partialpay.db.outside_calls import call_outside
from flask_partialpay.host.config import setting
from flask_partialpay.mail import outbox, transport
from flask_partialpay.mail.context import MailContext
from flask_partialpay.mail.models import MailMessage
from flask_partialpay.mail.transport import OutgoingMail

log = logging.getLogger(__name__)
# E-mails claimed per transaction on PostgreSQL and MariaDB (SQLite claims one at a time).
CLAIM_BATCH = 10
NAME = "pending-mail"


@dataclass(frozen=True)
class MailTicket:
    """One claimed e-mail, as plain values (the session is closed while it is sent)."""

    #: The outbox row's id.
    row_id: int
    #: The claim's token: the outcome is written only while the claim is still this one.
    key: str
    mail: OutgoingMail
    #: Attempts counted so far, this one included.
    attempts: int


def _ticket(row: MailMessage) -> MailTicket:
    assert row.claim_token is not None
    mail = OutgoingMail(
        id=row.id,
        event=row.event,
        event_key=row.event_key,
        recipient=row.recipient,
        customer_id=row.customer_id,
        locale=row.locale,
        subject=row.subject,
        text=row.text,
        html=row.html,
    )
    return MailTicket(row_id=row.id, key=row.claim_token, mail=mail, attempts=row.attempts)


class Sending:
    """The three steps of :mod:`~flask_partialpay.db.outside_calls` for the outbox.

    Each step is stamped with the time :func:`call_outside` gives it, the time it happens:
    the claim timeout counts from the claim. ``ids``: only these e-mails (None: every
    pending one, oldest first).
    """

    def __init__(self, *, ids: Collection[int] | None = None) -> None:
        self._ids = ids
        self._timeout = timedelta(seconds=int(setting("MAIL_CLAIM_TIMEOUT")))

    def claim(
        self, session: Session, now: datetime, *, limit: int, skip: Collection[int]
    ) -> Sequence[MailTicket]:
        rows = outbox.claim(
            session, now, timeout=self._timeout, limit=limit, ids=self._ids, exclude=skip
        )
        return [_ticket(row) for row in rows]

    def call(self, ticket: MailTicket) -> None:
        transport.send(current_app._get_current_object(), ticket.mail)  # type: ignore[attr-defined]

    def succeeded(self, session: Session, ticket: MailTicket, answer: None, now: datetime) -> None:
        outbox.record_sent(session, ticket.row_id, ticket.key, now)

    def failed(self, session: Session, ticket: MailTicket, error: Exception, now: datetime) -> None:
        # A mail server's or a receiver's failure (call_outside logged it): pending again,
        # or failed for good after the last attempt allowed.
        give_up = ticket.attempts >= int(setting("MAIL_MAX_ATTEMPTS"))
        if give_up:
            mail = ticket.mail
            log.warning(
                "e-mail %s (%s) to %s not sent after %s attempts, giving up",
                mail.id,
                mail.event,
                mail.recipient,
                ticket.attempts,
            )
        message = f"{type(error).__name__}: {error}"
        outbox.record_failed(session, ticket.row_id, ticket.key, message, give_up=give_up)


def _send(context: MailContext, sending: Sending, now: datetime, limit: int | None) -> int:
    """Each claimed e-mail sent once; how many were sent (those that failed were logged
    and recorded, and wait for the next try)."""
    try:
        return call_outside(
            context, sending, name=NAME, now=now, limit=limit, batch_size=CLAIM_BATCH
        )
    except RowsFailed as partly:
        return partly.done


def deliver(context: MailContext, ids: Collection[int]) -> int:
    """Send the pending e-mails ``ids`` (just committed); how many were sent."""
    return _send(context, Sending(ids=ids), context.now(), None)


def deliver_pending(context: MailContext, now: datetime, *, limit: int = 100) -> int:
    """Send up to ``limit`` e-mails still waiting (oldest first); how many were sent.

    ``context`` is the app's state (``current_partialpay``) and ``now`` the time by its
    clock (``current_partialpay.now()``). Each e-mail is tried at most once per call; one
    that fails again stays pending with its error and attempt count, until
    ``PARTIALPAY_MAIL_MAX_ATTEMPTS`` marks it failed. Safe to run in several processes at
    once: each e-mail is claimed by one of them. Needs an app context; sends nothing
    when e-mail is off.
    """
    return _send(context, Sending(), now, limit)
