"""Automatic charges through the real Stripe gateway, Stripe answered at the SDK's HTTP
boundary (tests/stripe/recorded.py), on each database.

What a local Stripe cannot do is scripted here in Stripe's documented JSON: a declined
off-session charge, a bank that wants the cardholder (``authentication_required``, or a
PaymentIntent left in ``requires_action``), an answer lost after Stripe took the money.
The ``plan-charges`` job runs with the clock moved by days; retries are on
``PARTIALPAY_PLAN_RETRY_DAYS`` (1, 3, 5) within a grace period of 5 days. Stripe's
webhooks are delivered signed, as Stripe posts them.

Every request is checked to have been made with no database transaction open.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
import stripe
from flask import Flask
from flask_babel import Babel
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import PartialPay
from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.instalments.plan_charges import ChargeState
from flask_partialpay.payments import saved_cards
from flask_partialpay.payments.saved_cards import SavedCard
from flask_partialpay.state import current_partialpay
from flask_partialpay.stripe_gateway.gateway import StripeGateway
from tests.mail.conftest import Directory, SmtpServer
from tests.plan_charges.conftest import DayClock
from tests.plan_charges.plan_helpers import (
    FIRST_DUE,
    charges,
    instalment,
    order,
    payment,
    place_plan_order,
    run_charges,
    statuses,
    turn_on,
)
from tests.stripe import recorded
from tests.stripe.conftest import stripe_settings
from tests.stripe.helpers import deliver
from tests.stripe.recorded import Answer, RecordedStripe, Sent
from tests.unit import bare

BOB = "bob@example.com"
PAYMENT_INTENTS = "/v1/payment_intents"
RETRY_DAYS = (1, 3, 5)
GRACE_DAYS = 5
FAILED_EVENT = "payment_intent.payment_failed"
#: What the customer's "charge failed" e-mail says of each refusal.
REASONS = {
    "decline": "The card was declined. Pay with another card or another way.",
    "authenticate": "The card's bank asks the cardholder to confirm this payment",
    "requires_action": "The card's bank asks the cardholder to confirm this payment",
}
PAY_LINK = "https://shop.example/partialpay/orders/{reference}/pay"


class StripeAtTheBoundary(RecordedStripe):
    """Recorded Stripe that notes each request made while the shop's session had a
    database transaction open (there must be none), and that no request reaches while
    ``unreachable`` (the connection drops before Stripe gets it)."""

    def __init__(self) -> None:
        super().__init__()
        self.under_transaction: list[str] = []
        self.unreachable = False

    def request(
        self,
        method: str,
        url: str,
        headers: Any,
        post_data: Any = None,
        *,
        _usage: list[str] | None = None,
    ) -> Any:
        if bare.db.session().in_transaction():
            self.under_transaction.append(f"{method.upper()} {url}")
        if self.unreachable:
            body = post_data.decode() if isinstance(post_data, bytes) else (post_data or "")
            self.sent.append(Sent(method.upper(), url, dict(headers or {}), body))
            raise stripe.APIConnectionError("Stripe could not be reached (recorded).")
        return super().request(method, url, headers, post_data, _usage=_usage)

    def charges_sent(self) -> list[Sent]:
        """Every charge the SDK sent (retries and replays included)."""
        return [s for s in self.sent if (s.method, s.path) == ("POST", PAYMENT_INTENTS)]


class Charges:
    """Stripe's ``POST /v1/payment_intents`` for off-session charges.

    Like Stripe, it keeps the answer to each Idempotency-Key and gives it again for the
    same key, whatever it was (a 500 included), without doing the work again. A new key
    gets the next of ``answers`` (``default`` when they run out):

    * ``"charge"``: the money is taken (a PaymentIntent ``succeeded``);
    * ``"decline"``, ``"authenticate"``: a 402 ``card_error`` (``card_declined``,
      ``authentication_required``) with the PaymentIntent left ``requires_payment_method``;
    * ``"requires_action"``: a 200 with the PaymentIntent waiting for the cardholder;
    * ``"charge_then_500"``: the money is taken, and the answer is a 500;
    * ``"charge_then_lose"``: the money is taken, then the connection drops for good
      (:attr:`StripeAtTheBoundary.unreachable`): the answer and the SDK's retries are lost.
    """

    def __init__(self, boundary: StripeAtTheBoundary) -> None:
        self.boundary = boundary
        self.answers: list[str] = []
        self.default = "charge"
        #: The PaymentIntents made, by Idempotency-Key: one per key, ever.
        self.intents: dict[str, dict[str, Any]] = {}
        self._answered: dict[str, Answer] = {}
        #: The keys whose answer was given again (Stripe's idempotent replays).
        self.replayed: list[str] = []

    def __call__(self, sent: Sent) -> Answer:
        key = sent.idempotency_key
        assert key is not None, "an off-session charge without an Idempotency-Key"
        if key in self._answered:
            self.replayed.append(key)
            return self._answered[key]
        params = sent.params
        assert (params["confirm"], params["off_session"]) == ("true", "true")
        kind = self.answers.pop(0) if self.answers else self.default
        answer = self._answer(kind, sent)
        self._answered[key] = answer
        if kind == "charge_then_500":
            self.intents[key] = self._succeeded(sent)
        elif "error" in answer.body:
            self.intents[key] = copy.deepcopy(answer.body["error"]["payment_intent"])
        else:
            self.intents[key] = copy.deepcopy(dict(answer.body))
        if kind == "charge_then_lose":
            self.boundary.unreachable = True
            raise stripe.APIConnectionError("The connection dropped (recorded).")
        return answer

    def _answer(self, kind: str, sent: Sent) -> Answer:
        if kind == "decline":
            return recorded.card_error(
                "card_declined",
                "Your card has insufficient funds.",
                decline_code="insufficient_funds",
            )(sent)
        if kind == "authenticate":
            return recorded.card_error(
                "authentication_required",
                "Your card was declined. This transaction requires authentication.",
                decline_code="authentication_required",
            )(sent)
        if kind == "requires_action":
            return Answer(
                200,
                self._intent(
                    sent,
                    status="requires_action",
                    next_action={"type": "use_stripe_sdk", "use_stripe_sdk": {}},
                ),
            )
        if kind == "charge_then_500":
            return Answer(
                500,
                {"error": {"type": "api_error", "message": "An unknown error occurred"}},
                {"Stripe-Should-Retry": "false"},
            )
        assert kind in ("charge", "charge_then_lose"), kind
        return Answer(200, self._succeeded(sent))

    def _succeeded(self, sent: Sent) -> dict[str, Any]:
        return self._intent(sent, status="succeeded")

    @staticmethod
    def _intent(sent: Sent, **extra: Any) -> dict[str, Any]:
        params = sent.params
        return recorded.payment_intent(
            amount=int(params["amount"]),
            currency=params["currency"],
            metadata={"partialpay_payment": params["metadata[partialpay_payment]"]},
            customer=params["customer"],
            payment_method=params["payment_method"],
            **extra,
        )

    def _made(self, sent: Sent) -> dict[str, Any]:
        intent_id = sent.path.removeprefix(PAYMENT_INTENTS + "/").split("/")[0]
        [intent] = [i for i in self.intents.values() if i["id"] == intent_id]
        return intent

    def retrieve(self, sent: Sent) -> Answer:
        """``GET /v1/payment_intents/<id>``: the PaymentIntent as it stands."""
        return Answer(200, self._made(sent))

    def cancel(self, sent: Sent) -> Answer:
        """``POST /v1/payment_intents/<id>/cancel``; refused, as by Stripe, once charged."""
        assert sent.path.endswith("/cancel"), sent.path
        intent = self._made(sent)
        if intent["status"] == "succeeded":
            return Answer(
                400,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "code": "payment_intent_unexpected_state",
                        "message": "This PaymentIntent's status is succeeded.",
                    }
                },
            )
        intent["status"] = "canceled"
        return Answer(200, intent)

    def charged(self) -> list[dict[str, Any]]:
        """The PaymentIntents that took money."""
        return [i for i in self.intents.values() if i["status"] == "succeeded"]


# -- the app: the unit tier's, offering Stripe, with e-mail and the tests' clock ------------


@pytest.fixture
def partialpay_config(smtp_server: SmtpServer) -> dict[str, Any]:
    return stripe_settings(
        PARTIALPAY_MAIL=True,
        PARTIALPAY_MAIL_SENDER="shop@example.com",
        MAIL_BACKEND="smtp",
        MAIL_SERVER=smtp_server.host,
        MAIL_PORT=smtp_server.port,
        MAIL_TIMEOUT=5,
        SERVER_NAME="shop.example",
        PREFERRED_URL_SCHEME="https",
        PARTIALPAY_PLAN_RETRY_DAYS=RETRY_DAYS,
        PARTIALPAY_PLAN_GRACE_DAYS=GRACE_DAYS,
    )


@pytest.fixture
def recorded_stripe() -> StripeAtTheBoundary:
    return StripeAtTheBoundary()


@pytest.fixture
def partialpay(
    plain_app: Flask,
    db: SQLAlchemy,
    directory: Directory,
    clock: DayClock,
    recorded_stripe: StripeAtTheBoundary,
) -> PartialPay:
    Babel(plain_app)
    extension = PartialPay()
    extension.init_app(plain_app, db, customer_directory=directory, clock=clock)
    gateway = plain_app.extensions["partialpay"].gateway("stripe")
    assert isinstance(gateway, StripeGateway)
    gateway.api.use_http_client(recorded_stripe)
    return extension


@pytest.fixture
def boundary(app: Flask, recorded_stripe: StripeAtTheBoundary) -> Iterator[StripeAtTheBoundary]:
    yield recorded_stripe
    assert recorded_stripe.under_transaction == []


@pytest.fixture
def charges_at_stripe(boundary: StripeAtTheBoundary) -> Charges:
    made = Charges(boundary)
    # Sub-paths first: a path is matched by its prefix, in the order expected.
    boundary.expect("GET", PAYMENT_INTENTS + "/", made.retrieve, times=None)
    boundary.expect("POST", PAYMENT_INTENTS + "/", made.cancel, times=None)
    boundary.expect("POST", PAYMENT_INTENTS, made, times=None)
    return made


# -- helpers --------------------------------------------------------------------------------


def keep_card(customer_id: str) -> SavedCard:
    state = current_partialpay
    return state.transaction(
        lambda: saved_cards.save_card(
            state.session,
            customer_id=customer_id,
            gateway="stripe",
            processor_customer=f"cus_of_{customer_id}",
            payment_method=f"pm_of_{customer_id}",
            brand="visa",
            last4="4242",
            exp_month=4,
            exp_year=2031,
        )
    )


def automatic_plan_order(reference: str) -> SavedCard:
    """Bob's order of 100.00 on 25% then three monthly 25.00, the first paid, automatic
    payments on with his saved Stripe card."""
    place_plan_order(reference, customer_id="bob")
    card = keep_card("bob")
    turn_on(reference, card)
    return card


def webhook(intent: dict[str, Any], event_type: str = "payment_intent.succeeded") -> str:
    """Stripe's signed webhook about ``intent``, as posted to the shop; its answer."""
    bare.db.session.commit()  # as a request of its own: no transaction of the test's open
    answer, status = deliver(recorded.event(event_type, intent))
    assert status == 200, answer
    return answer


def mails_to_bob(smtp_server: SmtpServer, subject_part: str) -> list[str]:
    return [m.part("plain") for m in smtp_server.to(BOB) if subject_part in m.subject]


def day(offset: int) -> date:
    return FIRST_DUE + timedelta(days=offset)


# -- a decline, retried on the retry days, then overdue -----------------------------------


@pytest.mark.parametrize("refusal", ["decline", "authenticate", "requires_action"])
def test_a_refused_charge_is_retried_on_the_retry_days_only_then_the_instalment_is_overdue(
    app: Flask,
    clock: DayClock,
    boundary: StripeAtTheBoundary,
    charges_at_stripe: Charges,
    smtp_server: SmtpServer,
    refusal: str,
) -> None:
    automatic_plan_order("B-1")
    charges_at_stripe.default = refusal

    tried_on = []
    for offset in range(-1, 9):
        clock.move_to(day(offset))
        before = len(boundary.charges_sent())
        run_charges()
        run_charges()  # a second run the same day finds nothing due
        clock.later(180)
        run_charges()  # nor one later that day
        sent = boundary.charges_sent()[before:]
        if sent:
            assert len(sent) == 1, f"day {offset}: {len(sent)} charges"
            tried_on.append(offset)
        if offset == GRACE_DAYS:
            assert statuses("B-1")[1] == "due"

    assert tried_on == [0, *RETRY_DAYS]
    attempts = charges("B-1")
    [number] = {c.instalment_id for c in attempts}
    assert [c.attempt for c in attempts] == [1, 2, 3, 4]
    assert {c.state for c in attempts} == {ChargeState.REFUSED}
    paid_by = [payment(c.payment_id) for c in attempts]
    assert {p.status for p in paid_by} == {PaymentStatus.FAILED}
    # Each attempt is a payment of its own, so a new key here and at Stripe.
    assert [p.idempotency_key for p in paid_by] == [
        f"plan-charge:{number}:{attempt}" for attempt in (1, 2, 3, 4)
    ]
    assert [s.idempotency_key for s in boundary.charges_sent()] == [
        f"partialpay-payment-{p.public_id}" for p in paid_by
    ]
    # No money taken; and no PaymentIntent left that could take it later.
    assert charges_at_stripe.charged() == []
    left = {i["status"] for i in charges_at_stripe.intents.values()}
    assert left == {"canceled" if refusal == "requires_action" else "requires_payment_method"}
    assert order("B-1").paid_minor == 2500
    assert instalment("B-1", 1).next_charge_on is None

    # Bob was told each time, with the link to pay by hand; overdue after the grace period.
    failed = mails_to_bob(smtp_server, "We could not charge instalment 1")
    assert len(failed) == 4
    link = PAY_LINK.format(reference="B-1")
    assert all(link in text and "$25.00" in text for text in failed)
    assert all(REASONS[refusal] in text for text in failed)
    assert "We will try again on February 11, 2027" in failed[0]
    assert "Please pay it yourself:" in failed[-1]
    assert statuses("B-1")[1] == "overdue"
    assert len(mails_to_bob(smtp_server, "is overdue")) == 1

    # Stripe's own word of the failure, late: the payments stay as they are, nothing sent.
    if refusal != "requires_action":
        first = charges_at_stripe.intents[boundary.charges_sent()[0].idempotency_key or ""]
        webhook({**first, "last_payment_error": {"code": "card_declined"}}, FAILED_EVENT)
        assert [payment(c.payment_id).status for c in charges("B-1")] == ["failed"] * 4
        assert len(boundary.charges_sent()) == 4
        assert len(mails_to_bob(smtp_server, "We could not charge instalment 1")) == 4


# -- an answer lost after Stripe took the money ----------------------------------------------


@pytest.mark.parametrize("loss", ["connection", "server_error"])
def test_an_answer_lost_after_the_charge_is_asked_again_under_the_same_key_and_charges_once(
    app: Flask,
    clock: DayClock,
    boundary: StripeAtTheBoundary,
    charges_at_stripe: Charges,
    smtp_server: SmtpServer,
    loss: str,
) -> None:
    automatic_plan_order("B-2")
    charges_at_stripe.answers.append(
        "charge_then_lose" if loss == "connection" else "charge_then_500"
    )
    clock.move_to(FIRST_DUE)

    assert run_charges() == 0  # the call failed: not done
    [charge] = charges("B-2")
    assert charge.state == ChargeState.CALLING  # Stripe may have taken the money
    first_key = f"partialpay-payment-{payment(charge.payment_id).public_id}"
    assert len(charges_at_stripe.charged()) == 1  # it did

    # Runs right after, the same day: the attempt may still be under way, nothing is sent.
    sent_before = len(boundary.charges_sent())
    boundary.unreachable = False
    assert run_charges() == 0
    clock.later(5)
    assert run_charges() == 0
    assert len(boundary.charges_sent()) == sent_before

    # Once its run must have died, the attempt is sent again, under the same key.
    clock.later(15)
    if loss == "connection":
        assert run_charges() == 1
        # Stripe answers the first call's PaymentIntent again: the shop records it.
        [intent] = charges_at_stripe.charged()
        assert payment(charge.payment_id).gateway_reference == intent["id"]
        assert charges("B-2")[0].state == ChargeState.SENT
    else:
        # Stripe answers the 500 again for the key: its webhook decides the payment.
        assert run_charges() == 0
        [intent] = charges_at_stripe.charged()
    assert boundary.charges_sent()[-1].idempotency_key == first_key
    assert charges_at_stripe.replayed == [first_key]
    assert {s.idempotency_key for s in boundary.charges_sent()} == {first_key}
    assert len(charges_at_stripe.intents) == 1

    # Stripe's webhook decides the payment: the instalment is paid, once.
    webhook(intent)
    assert payment(charge.payment_id).status == PaymentStatus.SUCCEEDED
    sent_before = len(boundary.charges_sent())
    for minutes in (0, 30, 60 * 6):
        clock.later(minutes)
        run_charges()
    for offset in (1, 3, 5):
        clock.move_to(day(offset))
        assert run_charges() == 0
    assert len(boundary.charges_sent()) == sent_before
    assert [c.state for c in charges("B-2")] == [ChargeState.SENT]
    assert order("B-2").paid_minor == 5000
    assert statuses("B-2")[:2] == ["paid", "paid"]
    [told] = mails_to_bob(smtp_server, "was charged")
    assert "We charged $25.00 to your saved card for instalment 1." in told


# -- a retry is a new attempt, under a new key ------------------------------------------------


def test_a_retry_is_sent_under_a_new_key_and_not_swallowed_by_the_replay_of_the_refusal(
    app: Flask,
    clock: DayClock,
    boundary: StripeAtTheBoundary,
    charges_at_stripe: Charges,
    smtp_server: SmtpServer,
) -> None:
    automatic_plan_order("B-3")
    charges_at_stripe.answers.append("decline")
    clock.move_to(FIRST_DUE)
    assert run_charges() == 0
    [declined] = charges("B-3")
    assert payment(declined.payment_id).status == PaymentStatus.FAILED

    clock.move_to(day(RETRY_DAYS[0]))
    assert run_charges() == 1
    first, retry = charges("B-3")
    assert (first.attempt, retry.attempt) == (1, 2)
    assert payment(retry.payment_id).idempotency_key == f"plan-charge:{retry.instalment_id}:2"
    keys = [s.idempotency_key for s in boundary.charges_sent()]
    assert keys == [
        f"partialpay-payment-{payment(first.payment_id).public_id}",
        f"partialpay-payment-{payment(retry.payment_id).public_id}",
    ]
    assert len(set(keys)) == 2
    # Stripe did the work of each (not a replay of the decline), and took the money once.
    assert charges_at_stripe.replayed == []
    assert len(charges_at_stripe.intents) == 2
    [intent] = charges_at_stripe.charged()
    assert payment(retry.payment_id).gateway_reference == intent["id"]

    webhook(intent)
    assert order("B-3").paid_minor == 5000
    assert statuses("B-3")[:2] == ["paid", "paid"]
    for offset in (3, 5, 6):
        clock.move_to(day(offset))
        assert run_charges() == 0
    assert len(boundary.charges_sent()) == 2
    assert len(mails_to_bob(smtp_server, "We could not charge instalment 1")) == 1
    assert len(mails_to_bob(smtp_server, "was charged")) == 1
    assert mails_to_bob(smtp_server, "is overdue") == []
