"""Writing e-mails to the outbox, and claiming them for sending.

:func:`enqueue` runs in the transaction of the change the e-mail tells of: one
``INSERT ... ON CONFLICT DO NOTHING`` (``INSERT IGNORE`` on MariaDB), so the same event
queues one e-mail per recipient however often it is reported, and a change that rolls
back takes its e-mail with it.

Sending never holds a row lock while the mail server is talked to: :func:`claim` marks
e-mails ``sending`` with a token of its own in a short transaction that commits, the caller
sends them, and :func:`record_sent` or :func:`record_failed` write the outcome in another,
guarded by the token. The claim takes its candidates with
:func:`~flask_partialpay.db.due_rows.claim_due` (``FOR UPDATE SKIP LOCKED`` on PostgreSQL
and MariaDB, locking only the e-mails it returns), so parallel senders take different
e-mails instead of waiting for each other; SQLite has no row locks and claims one e-mail
at a time. On every database the claim itself is a conditional update, which only one
sender can win. A claim older than ``PARTIALPAY_MAIL_CLAIM_TIMEOUT`` belongs to a sender
that died, and is taken again.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, CursorResult, Insert, Table, and_, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from flask_partialpay.core.vocabulary import MailStatus
from flask_partialpay.db.due_rows import claim_due
from flask_partialpay.db.transactions import update_rows
from flask_partialpay.mail.models import (
    ERROR_LENGTH,
    EVENT_KEY_LENGTH,
    EVENT_LENGTH,
    RECIPIENT_LENGTH,
    SUBJECT_LENGTH,
    MailMessage,
)

_mails = cast(Table, MailMessage.__table__)
_COLUMNS = _mails.c
# Databases whose SELECT ... FOR UPDATE can skip rows another transaction locked.
_SKIP_LOCKED_DIALECTS = frozenset({"postgresql", "mysql", "mariadb"})


@dataclass(frozen=True)
class Rendered:
    """An e-mail in its recipient's language, ready to queue."""

    subject: str
    text: str
    html: str


def _shorten(value: str, length: int) -> str:
    return value if len(value) <= length else value[: length - 1] + "…"


def enqueue(
    session: Session,
    *,
    event: str,
    event_key: str,
    recipient: str,
    customer_id: str | None,
    locale: str,
    rendered: Rendered,
    now: datetime,
) -> int | None:
    """Queue an e-mail in this transaction: its id, or None if it was queued before.

    ``event_key`` names the instance of the event (a payment's id), so a repeat of the
    same event finds the unique key taken and adds nothing.
    """
    # INSERT IGNORE turns a value too long for its column into a warning and no row, which
    # would read as "queued before": every value is checked here, on every database alike.
    if not 0 < len(event) <= EVENT_LENGTH or not 0 < len(event_key) <= EVENT_KEY_LENGTH:
        raise ValueError(f"an e-mail event and its key are too long: {event!r} {event_key!r}")
    if not 0 < len(recipient) <= RECIPIENT_LENGTH:
        raise ValueError(f"not an e-mail address: {recipient!r}")
    values = {
        "event": event,
        "event_key": event_key,
        "recipient": recipient,
        "customer_id": customer_id,
        "locale": locale[:16],
        "subject": _shorten(rendered.subject, SUBJECT_LENGTH),
        "text": rendered.text,
        "html": rendered.html,
        "status": MailStatus.PENDING,
        "attempts": 0,
        "created_at": now,
    }
    bind = session.get_bind()
    dialect = bind.dialect.name
    if dialect in ("postgresql", "sqlite"):
        module = postgresql if dialect == "postgresql" else sqlite
        statement = (
            module.insert(_mails)
            .values(values)
            .on_conflict_do_nothing(
                index_elements=[_COLUMNS.event, _COLUMNS.event_key, _COLUMNS.recipient]
            )
        )
        if bind.dialect.insert_returning:
            inserted: int | None = session.execute(
                statement.returning(_COLUMNS.id)
            ).scalar_one_or_none()
            return inserted
        return _row_id(session, statement)
    return _row_id(session, insert(_mails).values(values).prefix_with("IGNORE"))


def _row_id(session: Session, statement: Insert) -> int | None:
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return int(result.lastrowid) if result.rowcount == 1 else None


def _claimable(now: datetime, timeout: timedelta) -> ColumnElement[bool]:
    return or_(
        MailMessage.status == MailStatus.PENDING,
        and_(MailMessage.status == MailStatus.SENDING, MailMessage.claimed_at < now - timeout),
    )


def claim(
    session: Session,
    now: datetime,
    *,
    timeout: timedelta,
    limit: int,
    ids: Collection[int] | None = None,
    exclude: Collection[int] = (),
) -> list[MailMessage]:
    """Mark up to ``limit`` e-mails (of ``ids``, when given; never of ``exclude``, those
    this caller tried already) as being sent by this caller.

    Run in a transaction of its own, committed before anything is sent: the rows' locks
    last only as long as this claim. Returns the claimed e-mails, oldest first, each
    with this claim's token and one more attempt counted.
    """
    dialect = session.get_bind().dialect.name
    candidates = select(MailMessage.id).where(_claimable(now, timeout)).order_by(MailMessage.id)
    if ids is not None:
        candidates = candidates.where(MailMessage.id.in_(list(ids)))
    # SQLite: no row locks to skip; the first writer takes the database's write lock and
    # the others wait for it, so one e-mail is claimed at a time.
    batch = limit if dialect in _SKIP_LOCKED_DIALECTS else 1
    # Locking only the e-mails it returns: a sender's claim of the oldest batch must not
    # hide the e-mails just committed from the sender that queued them.
    found = claim_due(session, candidates, limit=batch, skip=exclude)
    if not found:
        return []
    token = secrets.token_hex(16)
    update_rows(
        session,
        update(MailMessage)
        .where(MailMessage.id.in_(found), _claimable(now, timeout))
        .values(
            status=MailStatus.SENDING,
            claim_token=token,
            claimed_at=now,
            attempts=MailMessage.attempts + 1,
        ),
    )
    return list(
        session.scalars(
            select(MailMessage)
            .where(MailMessage.claim_token == token)
            .order_by(MailMessage.id)
            .execution_options(populate_existing=True)
        )
    )


def record_sent(session: Session, mail_id: int, token: str, now: datetime) -> bool:
    """The claimed e-mail was sent; False if the claim was lost (taken again after a timeout)."""
    return (
        update_rows(
            session,
            update(MailMessage)
            .where(MailMessage.id == mail_id, MailMessage.claim_token == token)
            .values(status=MailStatus.SENT, sent_at=now, claim_token=None, last_error=None),
        )
        == 1
    )


def record_failed(session: Session, mail_id: int, token: str, error: str, *, give_up: bool) -> bool:
    """The claimed e-mail was not sent: pending again (failed when ``give_up``), with why."""
    status = MailStatus.FAILED if give_up else MailStatus.PENDING
    return (
        update_rows(
            session,
            update(MailMessage)
            .where(MailMessage.id == mail_id, MailMessage.claim_token == token)
            .values(status=status, claim_token=None, last_error=_shorten(error, ERROR_LENGTH)),
        )
        == 1
    )
