"""Reminders of a plan's instalments, sent by ``run-due`` as the app's clock moves.

Bob (English) orders $100.00 on 31 January 2027, 25% first then 3 monthly instalments of
$25.00 due on 28 February, 31 March and 30 April; he pays the first at once. The grace
period is 3 days and reminders go 3 days before a due date (the defaults). The e-mails
reach aiosmtpd on loopback.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask

from flask_partialpay.host import signals
from flask_partialpay.mail.events import INSTALMENT_DUE, INSTALMENT_OVERDUE
from tests.mail.conftest import SmtpServer
from tests.plan_jobs.plan_helpers import (
    DayClock,
    done,
    instalment,
    pay,
    place_on_plan,
    queued,
    run,
)

REMINDERS = "plan-reminders"
# An instalment_due_soon signal: the order's reference, the number, the amount, the date.
Reminded = tuple[str, int, str, date]


@pytest.fixture
def bobs_order(app: Flask) -> str:
    place_on_plan("P-1", "bob", "100.00")
    pay("P-1", "25.00")
    return "P-1"


@pytest.fixture
def reminded(app: Flask) -> Iterator[list[Reminded]]:
    """Each ``instalment_due_soon`` sent after its commit: order, number, amount, date."""
    sent: list[Reminded] = []

    def record(_app: Flask, **kwargs: Any) -> None:
        sent.append(
            (kwargs["order"].reference, kwargs["number"], str(kwargs["amount"]), kwargs["due_on"])
        )

    signals.instalment_due_soon.committed.connect(record, sender=app)
    yield sent
    signals.instalment_due_soon.committed.disconnect(record, sender=app)


def test_an_instalment_is_reminded_once_three_days_before_its_due_date(
    bobs_order: str, clock: DayClock, smtp_server: SmtpServer, reminded: list[Reminded]
) -> None:
    clock.move_to(date(2027, 2, 24))  # 4 days before 28 February: not yet
    assert done(run(), REMINDERS) == 0
    assert instalment(bobs_order, 1).reminded_on is None

    clock.move_to(date(2027, 2, 25))
    assert done(run(), REMINDERS) == 1
    assert instalment(bobs_order, 1).reminded_on == date(2027, 2, 25)
    assert instalment(bobs_order, 2).reminded_on is None
    (mail,) = smtp_server.to("bob@example.com")[-1:]
    assert mail.subject == "Instalment 1 of order P-1 is due on February 28, 2027"
    text = mail.part("plain")
    assert "Instalment 1 of $25.00 is due on February 28, 2027." in text
    # An absolute link to the order's payment step, built outside any request.
    assert "https://shop.test/partialpay/orders/P-1/pay" in text
    assert 'href="https://shop.test/partialpay/orders/P-1/pay"' in mail.part("html")
    assert reminded == [("P-1", 1, "25.00", date(2027, 2, 28))]

    # The same day again, and the next days: nothing more.
    assert done(run(), REMINDERS) == 0
    for day in (26, 27, 28):
        clock.move_to(date(2027, 2, day))
        assert done(run(), REMINDERS) == 0
    assert len(queued(INSTALMENT_DUE)) == 1
    assert len([m for m in smtp_server.received if "is due on" in m.subject]) == 1
    assert len(reminded) == 1

    # The next instalment has its own reminder, three days before its own date.
    clock.move_to(date(2027, 3, 28))
    assert done(run(), REMINDERS) == 1
    assert [m.event_key for m in queued(INSTALMENT_DUE)] == [
        "P-1:1:2027-02-28",
        "P-1:2:2027-03-31",
    ]


def test_a_run_that_missed_days_still_reminds_until_the_instalment_is_overdue(
    app: Flask, clock: DayClock, smtp_server: SmtpServer
) -> None:
    place_on_plan("P-2", "bob", "100.00")
    pay("P-2", "25.00")
    place_on_plan("P-3", "bob", "100.00")
    pay("P-3", "25.00")
    # Nothing ran from the 24th of February: on 2 March instalment 1 (due on 28 February)
    # is within its grace period, still due.
    clock.move_to(date(2027, 3, 2))
    assert done(run(), REMINDERS) == 2
    assert {m.event_key for m in queued(INSTALMENT_DUE)} == {
        "P-2:1:2027-02-28",
        "P-3:1:2027-02-28",
    }


def test_an_instalment_already_overdue_is_never_reminded(
    bobs_order: str, clock: DayClock, smtp_server: SmtpServer
) -> None:
    # The first run after the grace period (28 February + 3 days): overdue, not reminded.
    clock.move_to(date(2027, 3, 4))
    outcome = run()
    assert done(outcome, REMINDERS) == 0
    assert instalment(bobs_order, 1).reminded_on is None
    assert queued(INSTALMENT_DUE) == []
    assert [m.event_key for m in queued(INSTALMENT_OVERDUE)] == ["P-1:1", "P-1:1"]


def test_a_paid_instalment_is_not_reminded_and_a_part_paid_one_is_for_what_is_left(
    bobs_order: str, clock: DayClock, smtp_server: SmtpServer
) -> None:
    pay(bobs_order, "25.00", key="early")  # instalment 1, early
    pay(bobs_order, "10.00")  # part of instalment 2
    clock.move_to(date(2027, 2, 25))
    assert done(run(), REMINDERS) == 0
    assert instalment(bobs_order, 1).reminded_on is None

    clock.move_to(date(2027, 3, 28))
    assert done(run(), REMINDERS) == 1
    (mail,) = [m for m in smtp_server.received if "is due on" in m.subject]
    assert "Instalment 2 of $15.00 is due on March 31, 2027." in mail.part("plain")


def test_an_order_no_longer_open_is_not_reminded(
    bobs_order: str, clock: DayClock, smtp_server: SmtpServer
) -> None:
    from flask_partialpay.state import current_partialpay

    current_partialpay.orders.cancelled(bobs_order)
    clock.move_to(date(2027, 2, 25))
    assert done(run(), REMINDERS) == 0
    assert queued(INSTALMENT_DUE) == []


class TestRemindersOff:
    @pytest.fixture
    def plan_settings(self) -> dict[str, Any]:
        return {"PARTIALPAY_PLAN_REMIND_DAYS": 0}

    def test_zero_days_sends_no_reminder(
        self, bobs_order: str, clock: DayClock, smtp_server: SmtpServer
    ) -> None:
        for day in (25, 28):
            clock.move_to(date(2027, 2, day))
            assert done(run(), REMINDERS) == 0
        assert queued(INSTALMENT_DUE) == []


class TestWithoutServerName:
    @pytest.fixture
    def plan_settings(self) -> dict[str, Any]:
        return {"SERVER_NAME": None}

    def test_the_reminder_waits_for_the_shops_address_and_is_then_sent(
        self, app: Flask, bobs_order: str, clock: DayClock, smtp_server: SmtpServer
    ) -> None:
        clock.move_to(date(2027, 2, 25))
        outcome = run(only=[REMINDERS])
        (job,) = outcome.outcomes
        # The row failed (logged with what to set): nothing recorded, nothing queued.
        assert (job.done, job.failed) == (0, 1)
        assert instalment(bobs_order, 1).reminded_on is None
        assert queued(INSTALMENT_DUE) == []

        app.config["SERVER_NAME"] = "shop.test"
        clock.move_to(date(2027, 2, 26))
        assert done(run(only=[REMINDERS]), REMINDERS) == 1
        (mail,) = queued(INSTALMENT_DUE)
        assert "https://shop.test/partialpay/orders/P-1/pay" in mail.text

    def test_init_app_warns_with_what_to_set(
        self, app: Flask, caplog: pytest.LogCaptureFixture
    ) -> None:
        (warning,) = [r for r in caplog.get_records("setup") if "SERVER_NAME" in r.message]
        assert warning.levelname == "WARNING"
        assert warning.message.startswith("The payment plans' reminder and overdue e-mails")
        assert 'set SERVER_NAME in the app\'s config (e.g. SERVER_NAME = "shop.example.com"' in (
            warning.message
        )
