"""Sending what the outbox holds: right after the commit that queued it, and later again.

:func:`deliver` runs after the commit of the change an e-mail tells of (queued with
``after_commit`` by :mod:`.events`): a page that confirms a payment sends its e-mail at
once. Whatever that could not send (the mail server was down, the process died) stays
pending, and :func:`deliver_pending` sends it: ``flask partialpay run-due`` calls it, and
any number of them may run at once (see :mod:`.outbox` for how each e-mail is claimed by
one sender and never sent twice).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from flask_partialpay.host.config import setting
from flask_partialpay.mail import outbox, transport
from flask_partialpay.mail.context import MailContext
from flask_partialpay.mail.models import MailMessage
from flask_partialpay.mail.transport import OutgoingMail

log = logging.getLogger(__name__)
# E-mails claimed per transaction on PostgreSQL and MariaDB (SQLite claims one at a time).
CLAIM_BATCH = 10


@dataclass(frozen=True)
class _Claimed:
    mail: OutgoingMail
    token: str
    attempts: int


def _claimed(row: MailMessage) -> _Claimed:
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
    return _Claimed(mail=mail, token=row.claim_token, attempts=row.attempts)


def _claim(
    context: MailContext,
    now: datetime,
    *,
    limit: int,
    ids: Collection[int] | None,
    exclude: Collection[int],
) -> list[_Claimed]:
    timeout = timedelta(seconds=int(setting("MAIL_CLAIM_TIMEOUT")))

    def work() -> list[_Claimed]:
        rows = outbox.claim(
            context.session, now, timeout=timeout, limit=limit, ids=ids, exclude=exclude
        )
        return [_claimed(row) for row in rows]

    return context.transaction(work)


def _send(context: MailContext, claimed: _Claimed, clock: Callable[[], datetime]) -> bool:
    """Send one claimed e-mail and record what happened; whether it was sent."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        transport.send(app, claimed.mail)
    except Exception as error:  # a mail server's or a receiver's failure, recorded below
        give_up = claimed.attempts >= int(setting("MAIL_MAX_ATTEMPTS"))
        log.warning(
            "e-mail %s (%s) to %s not sent, attempt %s%s: %s",
            claimed.mail.id,
            claimed.mail.event,
            claimed.mail.recipient,
            claimed.attempts,
            ", giving up" if give_up else "",
            error,
        )
        message = f"{type(error).__name__}: {error}"
        context.transaction(
            lambda: outbox.record_failed(
                context.session, claimed.mail.id, claimed.token, message, give_up=give_up
            )
        )
        return False
    context.transaction(
        lambda: outbox.record_sent(context.session, claimed.mail.id, claimed.token, clock())
    )
    return True


def deliver(context: MailContext, ids: Collection[int]) -> int:
    """Send the pending e-mails ``ids`` (just committed); how many were sent."""
    sent = 0
    tried: set[int] = set()
    while True:
        claimed = _claim(context, context.now(), limit=CLAIM_BATCH, ids=ids, exclude=tried)
        if not claimed:
            return sent
        for one in claimed:
            tried.add(one.mail.id)
            sent += _send(context, one, context.now)


def deliver_pending(context: MailContext, now: datetime, *, limit: int = 100) -> int:
    """Send up to ``limit`` e-mails still waiting (oldest first); how many were sent.

    ``context`` is the app's state (``current_partialpay``) and ``now`` the time by its
    clock (``current_partialpay.now()``). Each e-mail is tried at most once per call; one
    that fails again stays pending with its error and attempt count, until
    ``PARTIALPAY_MAIL_MAX_ATTEMPTS`` marks it failed. Safe to run in several processes at
    once: each e-mail is claimed by one of them. Needs an app context; sends nothing
    when e-mail is off.
    """
    if limit <= 0:
        return 0
    sent = 0
    tried: set[int] = set()
    while len(tried) < limit:
        batch = min(CLAIM_BATCH, limit - len(tried))
        claimed = _claim(context, now, limit=batch, ids=None, exclude=tried)
        if not claimed:
            break
        for one in claimed:
            tried.add(one.mail.id)
            sent += _send(context, one, lambda: now)
    return sent
