"""The outbox: nothing for a change rolled back, nothing lost when the mail server is down,
nothing sent twice; the switches that turn e-mails off or hand them to the host."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from jinja2 import ChoiceLoader, DictLoader

from flask_partialpay import PartialPay
from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.core.vocabulary import MailStatus
from flask_partialpay.host import signals
from flask_partialpay.mail import deliver_pending, events, transport
from flask_partialpay.mail.models import MailMessage
from flask_partialpay.mail.transport import OutgoingMail
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.state import current_partialpay
from tests.mail.conftest import SmtpServer
from tests.mail.mail_helpers import outbox, place
from tests.unit.bare import db


class AfterTheMoney(Exception):
    pass


@pytest.fixture
def raising_receiver(app: Flask) -> Iterator[None]:
    """A host receiver that fails inside the transaction, after the money moved."""

    def refuse(sender: Any, **kwargs: Any) -> None:
        raise AfterTheMoney()

    signals.order_completed.connect(refuse, sender=app)
    yield
    signals.order_completed.disconnect(refuse)


def test_a_change_rolled_back_sends_nothing(
    app: Flask, smtp_server: SmtpServer, raising_receiver: None
) -> None:
    place("B-1", "bob", "40.00")
    with pytest.raises(AfterTheMoney):
        # payment_received was queued before order_completed's receiver raised.
        current_partialpay.orders.paid("B-1")
    assert outbox() == []
    assert smtp_server.received == []
    account = db.session.scalars(sa.select(OrderRecord).where(OrderRecord.reference == "B-1"))
    assert account.one().paid_minor == 0


def test_a_mail_server_down_keeps_the_payment_and_the_e_mail_for_later(
    app: Flask, smtp_server: SmtpServer
) -> None:
    place("B-2", "bob", "40.00")
    with smtp_server.refusing():
        assert current_partialpay.orders.paid("B-2", amount=Decimal("10.00")) is True
    (mail,) = outbox()
    assert (mail.status, mail.attempts) == (MailStatus.PENDING, 1)
    assert mail.last_error is not None and "Try again later" in mail.last_error
    assert smtp_server.received == []

    now = current_partialpay.now()
    assert deliver_pending(current_partialpay, now) == 1
    assert deliver_pending(current_partialpay, now) == 0
    (received,) = smtp_server.to("bob@example.com")
    assert received.subject == "Payment received for order B-2"
    (mail,) = outbox()
    assert (mail.status, mail.attempts, mail.last_error) == (MailStatus.SENT, 2, None)


def test_a_mail_server_nobody_listens_on_is_a_failure_like_any_other(
    app: Flask, smtp_server: SmtpServer
) -> None:
    app.config["MAIL_PORT"] = 1
    app.extensions.pop("mailman")
    transport.register_library(app)
    place("B-3", "bob", "40.00")
    assert current_partialpay.orders.paid("B-3", amount=Decimal("10.00")) is True
    (mail,) = outbox()
    assert mail.status == MailStatus.PENDING and "ConnectionRefusedError" in (mail.last_error or "")


def test_deliver_pending_tries_each_e_mail_once_per_run_and_gives_up_at_the_limit(
    app: Flask, smtp_server: SmtpServer
) -> None:
    app.config["PARTIALPAY_MAIL_MAX_ATTEMPTS"] = 3
    place("B-4", "bob", "40.00")
    with smtp_server.refusing():
        current_partialpay.orders.paid("B-4", amount=Decimal("10.00"))
        now = current_partialpay.now()
        assert deliver_pending(current_partialpay, now) == 0
        assert [m.attempts for m in outbox()] == [2]
        assert deliver_pending(current_partialpay, now) == 0
    (mail,) = outbox()
    assert (mail.status, mail.attempts) == (MailStatus.FAILED, 3)
    assert deliver_pending(current_partialpay, now) == 0
    assert smtp_server.received == []


def _queue_outside_a_unit_of_work(count: int) -> None:
    """Plan reminders queued by a caller that commits itself: left for deliver_pending."""
    order = place("B-9", "bob", "90.00")
    for number in range(1, count + 1):
        events.instalment_due(db.session, order, number, 100, date(2027, 1, number), "/pay")
    db.session.commit()


def test_an_e_mail_claimed_by_a_sender_that_died_is_sent_after_the_claim_timeout(
    app: Flask, smtp_server: SmtpServer
) -> None:
    _queue_outside_a_unit_of_work(1)
    now = current_partialpay.now()
    db.session.execute(
        sa.update(MailMessage).values(
            status=MailStatus.SENDING, claim_token="dead", claimed_at=now, attempts=1
        )
    )
    db.session.commit()
    assert deliver_pending(current_partialpay, now + timedelta(seconds=299)) == 0
    assert deliver_pending(current_partialpay, now + timedelta(seconds=301)) == 1
    assert len(smtp_server.received) == 1
    assert [(m.status, m.attempts) for m in outbox()] == [(MailStatus.SENT, 2)]


def test_deliver_pending_sends_at_most_its_limit(app: Flask, smtp_server: SmtpServer) -> None:
    _queue_outside_a_unit_of_work(5)
    now = current_partialpay.now()
    assert deliver_pending(current_partialpay, now, limit=3) == 3
    assert deliver_pending(current_partialpay, now, limit=3) == 2
    assert len(smtp_server.received) == 5


def test_an_event_switched_off_queues_nothing(app: Flask, smtp_server: SmtpServer) -> None:
    app.config["PARTIALPAY_MAIL_EVENTS"] = ("order_completed",)
    place("B-5", "bob", "40.00")
    current_partialpay.orders.paid("B-5")
    assert [m.event for m in outbox()] == ["order_completed"]
    assert [m.subject for m in smtp_server.received] == ["Order B-5 is complete"]


def test_a_mail_ready_receiver_that_sends_it_stops_the_extension_sending(
    app: Flask, smtp_server: SmtpServer
) -> None:
    handed: list[OutgoingMail] = []

    def send_it_myself(sender: Flask, mail: OutgoingMail) -> bool:
        handed.append(mail)
        return True

    signals.mail_ready.connect(send_it_myself, sender=app)
    try:
        place("B-6", "bob", "40.00")
        current_partialpay.orders.paid("B-6", amount=Decimal("10.00"))
    finally:
        signals.mail_ready.disconnect(send_it_myself)
    assert [(m.event, m.recipient) for m in handed] == [("payment_received", "bob@example.com")]
    assert handed[0].subject == "Payment received for order B-6" and "$10.00" in handed[0].text
    assert smtp_server.received == []
    assert [m.status for m in outbox()] == [MailStatus.SENT]


def test_a_mail_ready_receiver_that_only_looks_lets_the_extension_send(
    app: Flask, smtp_server: SmtpServer
) -> None:
    seen: list[str] = []
    looker = lambda sender, mail: seen.append(mail.subject)  # noqa: E731
    signals.mail_ready.connect(looker, sender=app)
    try:
        place("B-7", "bob", "40.00")
        current_partialpay.orders.paid("B-7", amount=Decimal("10.00"))
    finally:
        signals.mail_ready.disconnect(looker)
    assert seen == ["Payment received for order B-7"]
    assert [m.subject for m in smtp_server.received] == seen


@pytest.mark.parametrize("threshold", [{"USD": "20.00"}, {"*": "20"}])
def test_a_low_balance_is_told_once_per_crossing(
    app: Flask, smtp_server: SmtpServer, threshold: dict[str, str]
) -> None:
    app.config["PARTIALPAY_LOW_BALANCE"] = threshold
    app.config["PARTIALPAY_MAIL_EVENTS"] = ("low_balance",)
    wallets = current_partialpay.wallets
    wallets.credit("bob", "50.00", "USD", reason="topup")
    wallets.debit("bob", "30.00", "USD", reason="order_payment")  # 20.00: not below
    assert smtp_server.received == []
    wallets.debit("bob", "5.00", "USD", reason="order_payment")  # 15.00: crossed
    wallets.debit("bob", "5.00", "USD", reason="order_payment")  # 10.00: still below
    assert [m.subject for m in smtp_server.received] == ["Your wallet balance is low: $15.00"]
    assert "below $20.00" in smtp_server.received[0].part("plain")
    wallets.credit("bob", "15.00", "USD", reason="topup")  # 25.00: above again
    wallets.debit("bob", "10.00", "USD", reason="order_payment")  # 15.00: crossed again
    assert len(smtp_server.received) == 2


def test_without_a_low_balance_setting_no_low_balance_e_mail(
    app: Flask, smtp_server: SmtpServer
) -> None:
    wallets = current_partialpay.wallets
    wallets.credit("bob", "50.00", "USD", reason="topup")
    wallets.debit("bob", "49.00", "USD", reason="order_payment")
    assert [m.event for m in outbox()] == ["wallet_credited", "wallet_debited"]


def test_a_broken_template_never_stops_the_payment(
    app: Flask, smtp_server: SmtpServer, caplog: pytest.LogCaptureFixture
) -> None:
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader({"partialpay/mail/payment_received.txt": "{{ nothing.there() }}"}),
            app.jinja_env.loader,  # type: ignore[list-item]
        ]
    )
    app.jinja_env.cache = {}
    place("B-8", "bob", "40.00")
    with caplog.at_level(logging.ERROR):
        assert current_partialpay.orders.paid("B-8") is True
    assert [m.event for m in outbox()] == ["order_completed"]
    assert "payment_received e-mail" in caplog.text


def test_a_host_template_overrides_the_extensions(app: Flask, smtp_server: SmtpServer) -> None:
    app.jinja_env.loader = ChoiceLoader(
        [
            DictLoader({"partialpay/mail/order_completed.txt": "Merci! {{ order.reference }}"}),
            app.jinja_env.loader,  # type: ignore[list-item]
        ]
    )
    app.jinja_env.cache = {}
    place("B-10", "bob", "40.00")
    current_partialpay.orders.paid("B-10")
    assert smtp_server.received[-1].part("plain").strip() == "Merci! B-10"


# -- e-mail off ------------------------------------------------------------------------


def _another_app(config: dict[str, Any], database_url: str) -> Flask:
    other = Flask("another")
    other.config.update(SQLALCHEMY_DATABASE_URI=database_url, SECRET_KEY="x", **config)
    SQLAlchemy().init_app(other)
    return other


def test_e_mail_is_off_by_default(app: Flask, smtp_server: SmtpServer) -> None:
    other = _another_app({}, "sqlite://")
    PartialPay().init_app(other)
    assert other.config["PARTIALPAY_MAIL"] is False
    assert "partialpay_mail" not in other.extensions
    assert "mailman" not in other.extensions


def test_mail_on_without_flask_mailman_says_so_and_stays_off(
    app: Flask, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(transport, "library_available", lambda: False)
    other = _another_app({"PARTIALPAY_MAIL": True}, "sqlite://")
    with caplog.at_level(logging.ERROR):
        PartialPay().init_app(other)
    assert "Flask-Mailman is not installed" in caplog.text
    assert "partialpay_mail" not in other.extensions


@pytest.mark.parametrize(
    "config",
    [
        {"PARTIALPAY_MAIL_EVENTS": ("payment_recieved",)},
        {"PARTIALPAY_MAIL_EVENTS": "payment_received"},
        {"PARTIALPAY_LOW_BALANCE": "10"},
        {"PARTIALPAY_LOW_BALANCE": {"USD": "ten"}},
        {"PARTIALPAY_LOW_BALANCE": {"USD": "1.005"}},
    ],
)
def test_a_mistaken_mail_setting_stops_the_app_at_start(app: Flask, config: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        PartialPay().init_app(_another_app(config, "sqlite://"))


def test_run_due_sends_what_the_mail_server_refused_at_commit(
    app: Flask, smtp_server: SmtpServer
) -> None:
    place("B-10", "bob", "40.00")
    with smtp_server.refusing():
        current_partialpay.orders.paid("B-10", amount=Decimal("10.00"))
    assert [m.status for m in outbox()] == [MailStatus.PENDING]

    result = app.test_cli_runner().invoke(args=["partialpay", "run-due", "--only", "pending-mail"])
    assert result.exit_code == 0, result.output
    assert "pending-mail" in result.output
    (received,) = smtp_server.to("bob@example.com")
    assert received.subject == "Payment received for order B-10"
    assert [m.status for m in outbox()] == [MailStatus.SENT]
