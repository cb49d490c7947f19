"""The "plan-charges" job on each database: due instalments charged to the chosen saved card
once per attempt, retried on the retry days, never while an attempt is undecided.

The processor is :class:`~tests.plan_charges.fake_cards.FakeCards`, which counts its calls
by key; the payments' outcomes are decided as their notifications would decide them.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay import PartialPay
from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.instalments import autopay
from flask_partialpay.instalments.plan_charges import ChargeState
from flask_partialpay.payments import saved_cards
from flask_partialpay.payments.saved_cards import SavedCard
from flask_partialpay.scheduler.plan_charges import PlanCharges
from flask_partialpay.state import current_partialpay
from tests.plan_charges.conftest import DayClock
from tests.plan_charges.fake_cards import FakeCards
from tests.plan_charges.plan_helpers import (
    FIRST_DUE,
    JOB,
    charges,
    decide,
    instalment,
    order,
    outbox,
    payment,
    plan_order,
    run_charges,
    statuses,
)
from tests.plan_support import done, run
from tests.unit.bare import db

CHARGED = "instalment_charged"
FAILED = "instalment_charge_failed"


def test_a_due_instalment_is_charged_once_on_its_due_date(
    app: Flask, clock: DayClock, fake_cards: FakeCards
) -> None:
    plan_order("P-1")
    clock.move_to(FIRST_DUE - timedelta(days=1))
    assert run_charges() == 0 and fake_cards.keys == []

    clock.move_to(FIRST_DUE)
    assert run_charges() == 1
    [charge] = charges("P-1")
    paid_by = payment(charge.payment_id)
    assert (charge.attempt, charge.state, paid_by.amount_minor) == (1, ChargeState.SENT, 2500)
    assert paid_by.idempotency_key == f"plan-charge:{charge.instalment_id}:1"
    assert paid_by.gateway_reference == fake_cards.charged[fake_cards.keys[0]]
    [(_, amount, return_url)] = fake_cards.seen
    assert amount == 2500 and return_url == "https://shop.example/partialpay/my-payments/P-1"
    assert fake_cards.inside_transaction == []
    assert instalment("P-1", 1).next_charge_on == FIRST_DUE + timedelta(days=1)

    # The same day again, and later that day: nothing more.
    assert run_charges() == 0
    clock.later(120)
    assert run_charges() == 0
    assert len(fake_cards.keys) == 1

    decide(charge.payment_id, succeeded=True)
    assert order("P-1").paid_minor == 5000
    [mail] = outbox(CHARGED)
    assert mail.recipient == "ana@example.com" and "25,00" in mail.text
    assert statuses("P-1") == ["paid", "paid", "upcoming", "upcoming"]
    # Paid: the retry day finds nothing to charge.
    clock.move_to(FIRST_DUE + timedelta(days=1))
    assert run_charges() == 0 and len(fake_cards.keys) == 1


@pytest.mark.parametrize("refusal", ["decline", "authenticate"])
def test_a_refused_charge_is_retried_on_days_1_3_and_5_then_the_instalment_is_overdue(
    app: Flask, clock: DayClock, fake_cards: FakeCards, refusal: str
) -> None:
    plan_order("P-2")
    fake_cards.default = refusal
    tried_on = []
    for offset in range(0, 9):
        clock.move_to(FIRST_DUE + timedelta(days=offset))
        before = len(fake_cards.keys)
        run_charges()
        if len(fake_cards.keys) > before:
            tried_on.append(offset)
    assert tried_on == [0, 1, 3, 5]
    assert len(set(fake_cards.keys)) == 4  # a new payment, so a new key, per attempt
    attempts = charges("P-2")
    assert [c.attempt for c in attempts] == [1, 2, 3, 4]
    assert {c.state for c in attempts} == {ChargeState.REFUSED}
    assert {payment(c.payment_id).status for c in attempts} == {PaymentStatus.FAILED}
    assert instalment("P-2", 1).next_charge_on is None

    failed = outbox(FAILED)
    assert len(failed) == 4
    pay_link = "https://shop.example/partialpay/orders/P-2/pay"
    assert all(pay_link in mail.text for mail in failed)
    # Ana reads Spanish: the next try's day as she writes it.
    assert "11 de febrero de 2027" in failed[0].text
    assert outbox(CHARGED) == []
    # The last retry was on the last day of grace: the next day it is overdue.
    clock.move_to(FIRST_DUE + timedelta(days=5))
    assert statuses("P-2")[1] == "due"
    clock.move_to(FIRST_DUE + timedelta(days=6))
    assert statuses("P-2")[1] == "overdue"


def test_an_undecided_attempt_blocks_the_next_until_its_payment_is_decided(
    app: Flask, clock: DayClock, fake_cards: FakeCards
) -> None:
    plan_order("P-3")
    clock.move_to(FIRST_DUE)
    run_charges()
    [first] = charges("P-3")
    assert payment(first.payment_id).status == PaymentStatus.PENDING

    # The retry days come; the first attempt may yet take the money: no new one.
    for offset in (1, 2, 3):
        clock.move_to(FIRST_DUE + timedelta(days=offset))
        assert run_charges() == 0
    assert len(fake_cards.keys) == 1

    # Even when the next instalment falls due and more is owed than the undecided payment
    # may bring: nothing while it is undecided.
    clock.move_to(FIRST_DUE.replace(month=3))
    assert run_charges() == 0
    assert len(fake_cards.keys) == 1

    clock.move_to(FIRST_DUE + timedelta(days=3))
    decide(first.payment_id, succeeded=False)
    assert run_charges() == 1  # day 3 is a retry day: the next attempt is made now
    assert [c.attempt for c in charges("P-3")] == [1, 2]
    assert len(set(fake_cards.keys)) == 2


def test_a_run_that_died_between_claim_and_call_is_taken_again_with_the_same_key(
    app: Flask, clock: DayClock, fake_cards: FakeCards
) -> None:
    plan_order("P-4")
    clock.move_to(FIRST_DUE)
    state = current_partialpay
    # Step 1 alone, committed: the process dies before it calls the processor.
    [ticket] = state.transaction(
        lambda: PlanCharges(state).claim(state.session, state.now(), limit=5, skip=())
    )
    assert run_charges() == 0  # claimed a moment ago: its run may still be calling
    clock.later(16)
    assert run_charges() == 1
    [charge] = charges("P-4")
    assert charge.id == ticket.row_id and charge.state == ChargeState.SENT
    assert fake_cards.keys == [f"fake-{payment(charge.payment_id).public_id}"]


def test_a_lost_answer_is_asked_again_under_the_same_key_and_charges_once(
    app: Flask, clock: DayClock, fake_cards: FakeCards
) -> None:
    plan_order("P-5")
    clock.move_to(FIRST_DUE)
    fake_cards.answers.append("lose")
    assert run_charges() == 0  # the call failed: counted as failed, not done
    [charge] = charges("P-5")
    assert charge.state == ChargeState.CALLING
    clock.later(16)
    assert run_charges() == 1
    assert len(fake_cards.keys) == 2 and len(set(fake_cards.keys)) == 1
    assert len(fake_cards.charged) == 1
    assert charges("P-5")[0].state == ChargeState.SENT


def test_consent_withdrawn_after_the_claim_is_not_sent(
    app: Flask, clock: DayClock, fake_cards: FakeCards
) -> None:
    plan_order("P-6")
    clock.move_to(FIRST_DUE)
    state = current_partialpay
    state.transaction(
        lambda: PlanCharges(state).claim(state.session, state.now(), limit=5, skip=())
    )
    state.transaction(lambda: autopay.turn_off(state.session, order("P-6")))
    clock.later(16)
    run_charges()
    assert fake_cards.keys == []
    [charge] = charges("P-6")
    assert charge.state == ChargeState.REFUSED
    assert payment(charge.payment_id).status == PaymentStatus.FAILED
    assert outbox(FAILED) == []


def test_a_removed_or_expired_card_is_not_charged(
    app: Flask, clock: DayClock, fake_cards: FakeCards
) -> None:
    card = plan_order("P-7")
    plan_order("P-8", customer_id="bob")
    state = current_partialpay
    state.transaction(
        lambda: saved_cards.remove_card(state.session, state.session.get_one(SavedCard, card.id))
    )
    clock.move_to(FIRST_DUE.replace(year=2032))  # bob's card expired at the end of 2031
    assert run_charges() == 0
    assert fake_cards.keys == []
    db.session.commit()


def test_without_the_shops_address_the_job_stops_before_it_charges(
    app: Flask, clock: DayClock, fake_cards: FakeCards
) -> None:
    plan_order("P-9")
    clock.move_to(FIRST_DUE)
    app.config["SERVER_NAME"] = None
    # As cron runs it: outside any request, the processor's return URL has no address.
    [outcome] = run(only=[JOB]).outcomes
    assert outcome.error is not None and "set SERVER_NAME" in outcome.error
    assert outcome.error.startswith("ConfigurationError: Automatic payments")
    assert fake_cards.keys == [] and charges("P-9") == []

    app.config["SERVER_NAME"] = "shop.example"
    assert done(run(only=[JOB]), JOB) == 1
    assert len(fake_cards.keys) == 1


@pytest.mark.parametrize(
    ("retry", "grace", "accepted"),
    [
        ((1, 3, 5), 5, True),
        ((), 0, True),
        ((1, 3, 6), 5, False),
        ((3, 1), 5, False),
        ((0, 1), 5, False),
        ("135", 5, False),
    ],
)
def test_retry_days_beyond_the_grace_period_are_refused_at_init_app(
    retry: object, grace: int, accepted: bool
) -> None:
    app = Flask(__name__)
    app.config.update(
        TESTING=True,
        SQLALCHEMY_DATABASE_URI="sqlite://",
        PARTIALPAY_GATEWAYS=("manual",),
        PARTIALPAY_PLAN_RETRY_DAYS=retry,
        PARTIALPAY_PLAN_GRACE_DAYS=grace,
    )
    database = SQLAlchemy()
    database.init_app(app)
    if accepted:
        PartialPay().init_app(app, database)
    else:
        with pytest.raises(ConfigurationError, match="PARTIALPAY_PLAN_RETRY_DAYS"):
            PartialPay().init_app(app, database)
