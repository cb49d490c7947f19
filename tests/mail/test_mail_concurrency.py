"""Several senders at once, over real parallel connections: each e-mail is sent once.

Each thread has its own app context, so its own session and database connection; a
barrier releases them together (the pattern of tests/unit/test_wallet_concurrency.py).
The mail server takes a little while per message, so the senders overlap.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from flask_partialpay.core.vocabulary import MailStatus
from flask_partialpay.mail import deliver_pending, events
from flask_partialpay.mail import outbox as outbox_rows
from flask_partialpay.mail.delivery import CLAIM_BATCH
from flask_partialpay.mail.models import MailMessage
from flask_partialpay.state import current_partialpay
from tests.mail.conftest import SmtpServer
from tests.mail.mail_helpers import outbox, place
from tests.scheduler.test_claims import wait_at_most_a_second
from tests.unit.bare import db
from tests.unit.test_wallet_concurrency import run_together, unexpected

MAILS = 24


@pytest.mark.parametrize("senders", [2, 4])
def test_parallel_senders_send_each_pending_e_mail_once(
    app: Flask, smtp_server: SmtpServer, senders: int
) -> None:
    order = place("B-1", "bob", "900.00")
    # Queued by a caller that commits itself: pending, for deliver_pending to send.
    for number in range(1, MAILS + 1):
        events.instalment_due(db.session, order, number, 100, date(2027, 1, 1), "/pay")
    db.session.commit()
    smtp_server.delay = 0.01
    now = current_partialpay.now()

    outcomes = run_together(app, senders, lambda index: deliver_pending(current_partialpay, now))

    assert unexpected(outcomes) == []
    assert sum(outcome.value for outcome in outcomes) == MAILS
    subjects = Counter(mail.subject for mail in smtp_server.received)
    assert len(subjects) == MAILS and set(subjects.values()) == {1}
    assert {(m.status, m.attempts) for m in outbox()} == {(MailStatus.SENT, 1)}


def test_the_same_event_queued_by_parallel_transactions_is_one_e_mail(
    app: Flask, smtp_server: SmtpServer
) -> None:
    order_id = place("B-2", "bob", "900.00").id
    state = current_partialpay

    def remind(index: int) -> list[int]:
        from flask_partialpay.payments.models import OrderRecord

        def work() -> list[int]:
            order = state.session.get_one(OrderRecord, order_id)
            return events.instalment_due(state.session, order, 2, 100, date(2027, 1, 1), "/p")

        return state.transaction(work)

    outcomes = run_together(app, 4, remind)

    assert unexpected(outcomes) == []
    assert sorted(len(outcome.value) for outcome in outcomes) == [0, 0, 0, 1]
    assert len(outbox()) == 1
    assert len(smtp_server.received) == 1


# Row locks: the servers (SQLite claims one e-mail at a time under its write lock).
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_sender_claiming_the_oldest_e_mail_leaves_the_others_to_their_senders(
    app: Flask, smtp_server: SmtpServer, backend: str
) -> None:
    # An outbox of long ago, all sent; then a batch and three more e-mails wait.
    sent_long_ago = {
        "event": "wallet_credited", "recipient": "old@example.com", "locale": "en",
        "subject": "Old", "text": "Old", "html": "<p>Old</p>", "status": MailStatus.SENT,
        "attempts": 1, "created_at": datetime(2026, 1, 1, tzinfo=UTC),
    }  # fmt: skip
    db.session.execute(
        sa.insert(MailMessage), [{**sent_long_ago, "event_key": f"old:{n}"} for n in range(2000)]
    )
    order = place("B-3", "bob", "900.00")
    for number in range(1, CLAIM_BATCH + 4):
        events.instalment_due(db.session, order, number, 100, date(2027, 1, 1), "/pay")
    db.session.commit()
    waiting = [mail.id for mail in outbox() if mail.status == MailStatus.PENDING]
    assert len(waiting) == CLAIM_BATCH + 3
    if backend == "mariadb":
        # Statistics as a live outbox has them (for a table just filled they may still
        # say it is empty, and the optimizer would plan as for an empty table).
        db.session.execute(sa.text(f"ANALYZE TABLE {MailMessage.__tablename__}"))
        db.session.commit()
    state = current_partialpay
    now = state.now()
    timeout = timedelta(minutes=5)
    with Session(db.engine) as pending_mail:
        # deliver_pending's claim of the oldest batch, not committed yet. On MariaDB its
        # scan of the waiting e-mails kept them all locked, though it claimed a batch.
        claimed = outbox_rows.claim(pending_mail, now, timeout=timeout, limit=CLAIM_BATCH)
        assert [mail.id for mail in claimed] == waiting[:CLAIM_BATCH]

        def claim_the_newest() -> list[int]:
            wait_at_most_a_second(state.session)
            rows = outbox_rows.claim(
                state.session, now, timeout=timeout, limit=CLAIM_BATCH, ids=waiting[-3:]
            )
            return [mail.id for mail in rows]

        # The three newest, claimed by their sender right after their commit.
        assert state.transaction(claim_the_newest) == waiting[-3:]
        pending_mail.rollback()
