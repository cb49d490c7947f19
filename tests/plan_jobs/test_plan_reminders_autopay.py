"""The reminder of an instalment that automatic payments will charge says so, and names the
card; one that nothing will charge (off, or the card removed or expired by the due date)
asks for the payment as any reminder does.

Bob's $100.00 order of tests/plan_jobs (25% paid on 31 January 2027, then $25.00 due on
28 February, 31 March and 30 April), reminded on 25 February. The shop offers a card
gateway that can charge a saved card without the customer, as Stripe does.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import PartialPay
from flask_partialpay.instalments import autopay
from flask_partialpay.payments import saved_cards
from flask_partialpay.payments.gateways.base import NoCallbacks, NoRefunds, StartOutcome
from flask_partialpay.payments.models import Payment
from flask_partialpay.state import current_partialpay
from tests.mail.conftest import Directory, SmtpServer
from tests.plan_jobs.conftest import SERVER_NAME
from tests.plan_jobs.plan_helpers import DayClock, order, pay, place_on_plan, run

REMINDERS = "plan-reminders"
CARDS = "offsessioncards"
PAY_LINK = f"https://{SERVER_NAME}/partialpay/orders/P-1/pay"
AUTOMATIC = (
    "Automatic payments are on: we will charge Visa •••• 4242 on February 28, 2027, so you "
    "need not do anything. To pay another way before then, use the link below."
)


class OffSessionCards(NoCallbacks, NoRefunds):
    """A card gateway that can charge saved cards without the customer (never called here:
    reminders charge nothing)."""

    name = CARDS
    confirmed_by_manager = False
    supports_refund = False

    def label(self) -> str:
        return "Card"

    def start(self, payment: Payment) -> StartOutcome:
        return StartOutcome(redirect_url=payment.return_url)

    def charge_saved_card(self, payment: Payment, saved_card: Any, *, return_url: str) -> str:
        raise AssertionError("a reminder charged a card")


@pytest.fixture
def plan_settings() -> dict[str, Any]:
    return {"PARTIALPAY_GATEWAYS": (CARDS, "manual")}


@pytest.fixture
def partialpay(
    plain_app: Flask, db: SQLAlchemy, directory: Directory, clock: DayClock
) -> PartialPay:
    Babel(plain_app)
    extension = PartialPay()
    extension.init_app(
        plain_app,
        db,
        customer_directory=directory,
        clock=clock,
        gateways=[OffSessionCards()],
    )
    return extension


def bobs_order_paid_by(exp_month: int, exp_year: int) -> saved_cards.SavedCard:
    """Bob's order with its first payment made, and automatic payments on with a Visa card
    expiring in ``exp_month``/``exp_year``."""
    place_on_plan("P-1", "bob", "100.00")
    pay("P-1", "25.00")
    state = current_partialpay

    def work() -> saved_cards.SavedCard:
        card = saved_cards.save_card(
            state.session,
            customer_id="bob",
            gateway=CARDS,
            processor_customer="cus_bob",
            payment_method=f"pm_bob_{exp_month}_{exp_year}",
            brand="visa",
            last4="4242",
            exp_month=exp_month,
            exp_year=exp_year,
        )
        autopay.turn_on(state.session, order("P-1"), card, now=state.now(), gateways=state.gateway)
        return card

    return state.transaction(work)


def reminder(smtp_server: SmtpServer, clock: DayClock) -> tuple[str, str]:
    """Run the reminders on 25 February: the text and the HTML of Bob's one reminder."""
    clock.move_to(date(2027, 2, 25))
    run([REMINDERS])
    subject = "Instalment 1 of order P-1 is due on February 28, 2027"
    [mail] = [mail for mail in smtp_server.to("bob@example.com") if mail.subject == subject]
    return mail.part("plain"), mail.part("html")


def test_the_reminder_of_an_instalment_charged_automatically_names_the_card(
    app: Flask, clock: DayClock, smtp_server: SmtpServer
) -> None:
    bobs_order_paid_by(12, 2030)

    text, html = reminder(smtp_server, clock)

    assert "Instalment 1 of $25.00 is due on February 28, 2027." in text
    assert AUTOMATIC in text and f"<p>{AUTOMATIC}</p>" in html
    # Paying by hand stays possible.
    assert f"Complete Payment: {PAY_LINK}" in text and f'href="{PAY_LINK}"' in html


def turned_off() -> None:
    state = current_partialpay
    state.transaction(lambda: autopay.turn_off(state.session, order("P-1")))


def card_removed() -> None:
    state = current_partialpay

    def work() -> None:
        [card] = saved_cards.saved_cards(state.session, "bob")
        saved_cards.remove_card(state.session, card)

    state.transaction(work)


def gateway_withdrawn() -> None:
    """The shop no longer offers the card's gateway (as if it left PARTIALPAY_GATEWAYS)."""
    state = current_partialpay

    def work() -> None:
        [card] = saved_cards.saved_cards(state.session, "bob")
        card.gateway = "retired"

    state.transaction(work)


@pytest.mark.parametrize(
    ("exp_month", "then"),
    [
        (12, turned_off),
        (12, card_removed),
        # Good on the day Bob agreed (31 January), expired by the due date.
        (1, None),
        (12, gateway_withdrawn),
    ],
    ids=["turned off", "card removed", "card expired by the due date", "gateway withdrawn"],
)
def test_a_reminder_promises_no_charge_that_will_not_be_made(
    app: Flask, clock: DayClock, smtp_server: SmtpServer, exp_month: int, then: Any
) -> None:
    bobs_order_paid_by(exp_month, 2027)
    if then is not None:
        then()

    text, html = reminder(smtp_server, clock)

    assert "Automatic payments" not in text and "Automatic payments" not in html
    assert f"Complete Payment: {PAY_LINK}" in text
