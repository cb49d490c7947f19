"""Several senders at once, over real parallel connections: each e-mail is sent once.

Each thread has its own app context, so its own session and database connection; a
barrier releases them together (the pattern of tests/unit/test_wallet_concurrency.py).
The mail server takes a little while per message, so the senders overlap.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from flask import Flask

from flask_partialpay.core.vocabulary import MailStatus
from flask_partialpay.mail import deliver_pending, events
from flask_partialpay.state import current_partialpay
from tests.mail.conftest import SmtpServer
from tests.mail.mail_helpers import outbox, place
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
