"""Each event's e-mail reaches a real SMTP server: the right person, language and amounts.

The app is the unit tier's bare app with Flask-Babel, a customer directory (Ana reads
Spanish, Bob has no language: English) and e-mail on, sending to aiosmtpd on loopback.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Flask

from flask_partialpay.core.vocabulary import MailStatus
from flask_partialpay.mail import events
from flask_partialpay.state import current_partialpay
from tests.mail.conftest import SmtpServer
from tests.mail.mail_helpers import bank_transfer, confirm, outbox, place, reject
from tests.unit.bare import db


def test_a_payment_received_is_mailed_in_the_customers_language_with_its_invoice(
    app: Flask, smtp_server: SmtpServer
) -> None:
    place("A-1", "ana", "100.00")
    current_partialpay.orders.paid("A-1", amount=Decimal("40.00"))

    (mail,) = smtp_server.to("ana@example.com")
    assert mail.sender == "shop@example.com"
    assert mail.subject == "Pago recibido del pedido A-1"
    text, html = mail.part("plain"), mail.part("html")
    # Spanish words of the catalog, and amounts written the Spanish way.
    assert "Facturas" in text and "Importe pendiente: 60,00\xa0US$" in text
    assert "40,00\xa0US$" in text
    # The invoice, numbered as the order's pages number it, inline in the HTML part.
    assert "A-1-1" in text
    assert 'class="pp-table pp-invoices"' in html and "A-1-1" in html
    assert [m.status for m in outbox()] == [MailStatus.SENT]


def test_an_english_reader_gets_english_and_dollars_written_the_english_way(
    app: Flask, smtp_server: SmtpServer
) -> None:
    place("B-1", "bob", "40.00")
    current_partialpay.orders.paid("B-1")

    received = smtp_server.to("bob@example.com")
    assert [mail.subject for mail in received] == [
        "Payment received for order B-1",
        "Order B-1 is complete",
    ]
    assert "Amount due: $0.00" in received[0].part("plain")
    assert "Invoices" in received[0].part("plain")


def test_a_bank_transfer_tells_the_staff_then_the_customer_once_confirmed(
    app: Flask, smtp_server: SmtpServer
) -> None:
    place("B-2", "bob", "50.00")
    payment = bank_transfer("B-2", "20.00")
    (staff,) = smtp_server.to("staff@example.com")
    assert staff.subject == f"Bank transfer {payment.reference} awaits confirmation"
    assert "$20.00" in staff.part("plain")

    assert confirm(payment.id) is True
    (customer,) = smtp_server.to("bob@example.com")
    assert customer.subject == "Your bank transfer for order B-2 is confirmed"
    assert "B-2-1" in customer.part("plain")
    # Confirmed by a manager: one e-mail (with the invoice), not a second "received".
    assert [m.event for m in outbox()] == ["transfer_awaiting", "transfer_confirmed"]


def test_a_rejected_transfer_says_why_escaped_in_html(app: Flask, smtp_server: SmtpServer) -> None:
    place("B-3", "bob", "50.00")
    payment = bank_transfer("B-3", "20.00")
    assert reject(payment.id, "No transfer <b>arrived</b>") is True

    (mail,) = smtp_server.to("bob@example.com")
    assert mail.subject == "Your bank transfer for order B-3 was rejected"
    assert "Reason: No transfer <b>arrived</b>" in mail.part("plain")
    assert "No transfer &lt;b&gt;arrived&lt;/b&gt;" in mail.part("html")


def test_a_declined_order_is_mailed(app: Flask, smtp_server: SmtpServer) -> None:
    place("B-4", "bob", "50.00")
    current_partialpay.orders.decline("B-4", by="admin-1")
    assert [mail.subject for mail in smtp_server.to("bob@example.com")] == [
        "Order B-4 was declined"
    ]


def test_wallet_credits_and_debits_are_mailed_with_the_balance(
    app: Flask, smtp_server: SmtpServer
) -> None:
    wallets = current_partialpay.wallets
    wallets.credit("ana", "30.00", "USD", reason="topup")
    wallets.debit("ana", "12.50", "USD", reason="order_payment")

    credited, debited = smtp_server.to("ana@example.com")
    assert credited.subject == "30,00\xa0US$ añadidos a tu monedero"
    assert "30,00\xa0US$" in credited.part("plain")
    assert debited.subject == "12,50\xa0US$ pagados con tu monedero"
    assert "17,50\xa0US$" in debited.part("plain")


def test_the_plan_events_are_queued_in_the_callers_transaction_and_sent_after_it(
    app: Flask, smtp_server: SmtpServer
) -> None:
    order = place("B-5", "bob", "90.00")
    state = current_partialpay

    def remind() -> None:
        events.instalment_due(
            state.session, order, 2, 3000, date(2027, 3, 1), "https://shop.test/pay/B-5"
        )
        # Sent only after this transaction commits.
        assert smtp_server.to("bob@example.com") == []

    state.transaction(remind)
    (due,) = smtp_server.to("bob@example.com")
    assert due.subject == "Instalment 2 of order B-5 is due on March 1, 2027"
    assert "$30.00" in due.part("plain") and "https://shop.test/pay/B-5" in due.part("plain")
    assert 'href="https://shop.test/pay/B-5"' in due.part("html")

    state.transaction(lambda: events.instalment_charged(state.session, order, 2, 3000))
    state.transaction(
        lambda: events.instalment_charge_failed(
            state.session, order, 3, 3000, 1, "https://shop.test/pay/B-5",
            reason="Your card was declined.", next_try_on=date(2027, 4, 4),
        )
    )  # fmt: skip
    state.transaction(
        lambda: events.instalment_overdue(
            state.session, order, 3, 3000, date(2027, 4, 1), "https://shop.test/pay/B-5"
        )
    )
    subjects = [mail.subject for mail in smtp_server.to("bob@example.com")]
    assert subjects[1:] == [
        "Instalment 2 of order B-5 was charged",
        "We could not charge instalment 3 of order B-5",
        "Instalment 3 of order B-5 is overdue",
    ]
    failed = smtp_server.to("bob@example.com")[2].part("plain")
    assert "Your card was declined." in failed and "April 4, 2027" in failed
    # The overdue instalment is the staff's business too, told as such.
    (staff,) = smtp_server.to("staff@example.com")
    assert "of order B-5, due on April 1, 2027, is overdue" in staff.part("plain")


def test_the_plan_events_speak_the_customers_language(app: Flask, smtp_server: SmtpServer) -> None:
    order = place("A-5", "ana", "90.00")
    state = current_partialpay
    state.transaction(
        lambda: events.instalment_due(
            state.session, order, 2, 3000, date(2027, 3, 1), "https://shop.test/pay/A-5"
        )
    )
    (mail,) = smtp_server.to("ana@example.com")
    assert "1 de marzo de 2027" in mail.part("plain")
    assert "30,00\xa0US$" in mail.part("plain")


def test_the_same_event_twice_queues_one_e_mail(app: Flask, smtp_server: SmtpServer) -> None:
    order = place("B-6", "bob", "90.00")
    state = current_partialpay

    def remind_twice() -> list[list[int]]:
        return [
            events.instalment_due(state.session, order, 2, 3000, date(2027, 3, 1), "/pay")
            for _ in range(2)
        ]

    first, second = state.transaction(remind_twice)
    # And again in a later transaction, as a scheduler run again would.
    third = state.transaction(remind_twice)
    assert len(first) == 1 and second == [] and third == [[], []]
    assert len(smtp_server.to("bob@example.com")) == 1
    # Another due date of the same instalment is another reminder.
    state.transaction(
        lambda: events.instalment_due(state.session, order, 2, 3000, date(2027, 3, 8), "/pay")
    )
    assert len(smtp_server.to("bob@example.com")) == 2


def test_the_same_payment_reported_twice_mails_once(app: Flask, smtp_server: SmtpServer) -> None:
    place("B-7", "bob", "90.00")
    orders = current_partialpay.orders
    assert orders.paid("B-7", amount=Decimal("10.00"), idempotency_key="n-1") is True
    assert orders.paid("B-7", amount=Decimal("10.00"), idempotency_key="n-1") is False
    assert len(smtp_server.to("bob@example.com")) == 1
    assert len(outbox("payment_received")) == 1


def test_a_customer_without_an_address_gets_no_e_mail(
    app: Flask, smtp_server: SmtpServer, directory: object
) -> None:
    place("C-1", "carol", "40.00")  # not in the directory
    current_partialpay.orders.paid("C-1")
    assert outbox() == []
    assert smtp_server.received == []
    assert db.session.is_active
