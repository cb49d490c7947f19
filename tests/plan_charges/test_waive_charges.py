"""A waived instalment is never charged: the "plan-charges" job skips it, a waiver waits
for an automatic charge under way, and a waiver racing the job or a payment, over real
parallel connections on each database, always ends in one correct outcome.

Each race runs several rounds on a fresh order (a new customer, card and consent), with
small head starts varying who arrives first; which one wins is never asserted, only that
the outcome is one of the correct ones. On SQLite each transaction takes the write lock at
BEGIN, so the contenders' transactions run one after the other, whole.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask

from flask_partialpay.audit import audit
from flask_partialpay.core.errors import WaiverNotAllowed
from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.host import signals
from flask_partialpay.instalments.waivers import Waived
from flask_partialpay.state import current_partialpay
from tests.plan_charges.conftest import ORDER_DAY, DayClock
from tests.plan_charges.fake_cards import FakeCards
from tests.plan_charges.plan_helpers import (
    FIRST_DUE,
    charges,
    decide,
    instalment,
    order,
    payment,
    plan_order,
    run_charges,
    statuses,
)
from tests.unit.bare import db

SECOND_DUE = FIRST_DUE.replace(month=3)
# (first contender, second contender): seconds after the barrier.
RACE_DELAYS = [(0, 0), (0.005, 0), (0, 0.005), (0.02, 0), (0, 0.02), (0, 0)]


def waive(reference: str, number: int) -> Waived:
    return current_partialpay.instalments.waive(
        reference, number, by="admin-1", reason="Goodwill after a late delivery"
    )


def assert_audit_clean() -> None:
    db.session.commit()
    assert audit(db.session) == []


# -- the job alone ---------------------------------------------------------------------------


def test_the_charge_job_never_charges_a_waived_instalment(
    app: Flask, clock: DayClock, fake_cards: FakeCards
) -> None:
    plan_order("P-1")
    waive("P-1", 1)

    clock.move_to(FIRST_DUE)
    assert run_charges() == 0
    clock.move_to(FIRST_DUE + timedelta(days=3))  # a retry day, had it been tried
    assert run_charges() == 0
    assert fake_cards.keys == [] and charges("P-1") == []
    assert instalment("P-1", 1).charge_attempts == 0

    # Instalment 2 is charged on its day, for its own amount only.
    clock.move_to(SECOND_DUE)
    assert run_charges() == 1
    [charge] = charges("P-1")
    assert charge.instalment_id == instalment("P-1", 2).id
    assert payment(charge.payment_id).amount_minor == 2500
    assert_audit_clean()


def test_a_waiver_waits_for_an_automatic_charge_under_way(
    app: Flask, clock: DayClock, fake_cards: FakeCards
) -> None:
    plan_order("P-1")
    clock.move_to(FIRST_DUE)
    assert run_charges() == 1
    [charge] = charges("P-1")

    with pytest.raises(WaiverNotAllowed, match="automatic charge"):
        waive("P-1", 1)
    with pytest.raises(WaiverNotAllowed, match="automatic charge"):
        waive("P-1", 2)  # the charge asked for what was due, which may include it
    assert order("P-1").waived_minor == 0

    decide(charge.payment_id, succeeded=False)
    waived = waive("P-1", 1)
    assert waived.waived_minor == 2500
    clock.move_to(FIRST_DUE + timedelta(days=1))  # the retry day
    assert run_charges() == 0
    assert len(charges("P-1")) == 1
    assert_audit_clean()


# -- races -----------------------------------------------------------------------------------


class Outcome:
    def __init__(self) -> None:
        self.value: Any = None
        self.error: BaseException | None = None
        self.trace = ""

    def __repr__(self) -> str:
        return f"Outcome(value={self.value!r}, error={self.error!r})\n{self.trace}"


def run_together(app: Flask, works: list[Callable[[], Any]]) -> list[Outcome]:
    """Each of ``works`` in its own thread, app context and connection, released together."""
    db.session.commit()  # the test's own connection holds no lock while the threads run
    barrier = threading.Barrier(len(works))
    outcomes = [Outcome() for _ in works]

    def run(index: int) -> None:
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                outcomes[index].value = works[index]()
            except BaseException as error:  # judged by the test in the main thread
                outcomes[index].error = error
                outcomes[index].trace = traceback.format_exc()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(works))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    db.session.expire_all()
    return outcomes


def after(delay: float, work: Callable[[], Any]) -> Callable[[], Any]:
    def delayed() -> Any:
        if delay:
            time.sleep(delay)  # a head start for the other contender, not synchronisation
        return work()

    return delayed


def test_a_waiver_racing_the_charge_job_never_lets_the_waived_instalment_be_charged(
    app: Flask, clock: DayClock, fake_cards: FakeCards
) -> None:
    """Instalments 1 and 2 both due: the job charges what is due now, for instalment 1's
    attempt, while an admin waives instalment 2. Either the waiver came first (the charge
    asks for instalment 1's $25.00 only) or the charge did (the waiver is refused while it
    is under way). Never a charge that includes the waived instalment."""
    seen: set[str] = set()
    for round_, delays in enumerate(RACE_DELAYS):
        reference = f"R-{round_}"
        clock.move_to(ORDER_DAY)
        plan_order(reference, customer_id=f"racer-{round_}")
        clock.move_to(SECOND_DUE)

        job, waiver = run_together(
            app,
            [after(delays[0], run_charges), after(delays[1], lambda r=reference: waive(r, 2))],
        )

        assert job.error is None, job
        attempts = charges(reference)
        if waiver.error is None:
            seen.add("waiver first")
            assert instalment(reference, 2).waived
            # Charged after the waiver: instalment 1's amount, never instalment 2's too.
            assert [payment(c.payment_id).amount_minor for c in attempts] in ([], [2500])
            assert job.value == len(attempts)
        else:
            seen.add("charge first")
            assert isinstance(waiver.error, WaiverNotAllowed), waiver
            assert not instalment(reference, 2).waived
            [charge] = attempts
            assert payment(charge.payment_id).amount_minor == 5000
            decide(charge.payment_id, succeeded=True)
        assert_audit_clean()
    assert seen  # which won is never asserted, only that each outcome was a correct one


def test_a_waiver_racing_a_payment_waives_exactly_what_was_left(
    app: Flask, clock: DayClock, fake_cards: FakeCards
) -> None:
    """$10.00 paid by the customer while an admin waives instalment 1 ($25.00 left).
    Waiver first: $25.00 waived and the $10.00 goes to instalment 2. Payment first: the
    $15.00 left is waived and the $10.00 stays on instalment 1. Either way the order owes
    its total less what was waived, and the audit is clean."""
    seen: set[str] = set()
    seen_paid: dict[str, list[int]] = defaultdict(list)

    def record(_app: Flask, **sent: Any) -> None:
        # In the waiver's transaction: what the order's payments were as it is recorded.
        seen_paid[sent["order"].reference].append(sent["order"].paid_minor)

    signals.instalment_waived.connect(record, sender=app)
    for round_, delays in enumerate(RACE_DELAYS):
        reference = f"P-{round_}"
        plan_order(reference, customer_id=f"payer-{round_}")

        def pay(r: str = reference) -> bool:
            return current_partialpay.orders.paid(
                r, amount=Decimal("10.00"), idempotency_key=f"ten:{r}"
            )

        paid, waiver = run_together(
            app, [after(delays[0], pay), after(delays[1], lambda r=reference: waive(r, 1))]
        )

        assert paid.error is None and waiver.error is None, (paid, waiver)
        account = order(reference)
        assert account.paid_minor == 3500
        let_off = instalment(reference, 1).waived_minor
        assert let_off in (2500, 1500)
        seen.add("waiver first" if let_off == 2500 else "payment first")
        assert account.waived_minor == let_off
        # What was waived is what was left of instalment 1 as the order stood when the
        # waiver was recorded: $25.00 before the payment, $15.00 after it.
        assert seen_paid[reference] == [5000 - let_off]
        assert account.due_minor == 10000 - let_off - 3500
        assert statuses(reference)[1] == "waived"
        assert_audit_clean()
    signals.instalment_waived.disconnect(record, sender=app)
    assert seen
    assert all(
        p.status == PaymentStatus.SUCCEEDED
        for r in range(len(RACE_DELAYS))
        for p in current_partialpay.orders.payments(f"P-{r}")
    )


# SQLite runs the two transactions one after the other: nothing can go stale there.
@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_waiver_committed_while_the_job_works_on_another_order_is_seen(
    app: Flask, backend: str, clock: DayClock, fake_cards: FakeCards
) -> None:
    """MariaDB serves a transaction's plain reads from the snapshot its first one took.
    The job claims instalment 1 of orders A and B in one batch and reads A's schedule
    first; B's instalment 2 is waived and committed right then (while A's payment is being
    recorded, before the job locks B). B's charge, asking for what is due now, must leave
    the waived instalment out: the job's read of B's rows must see the waiver."""
    app.config["PARTIALPAY_SCHEDULER_BATCH_SIZE"] = 2
    plan_order("A", customer_id="anna")
    plan_order("B", customer_id="bert")
    clock.move_to(SECOND_DUE)  # instalments 1 and 2 of both due: $50.00 each
    account_a = order("A")
    waived: list[Waived] = []

    def waive_b_meanwhile(_app: Flask, **sent: Any) -> None:
        if sent["payment"].order_id != account_a.id or waived:
            return

        def other_admin() -> None:
            with app.app_context():
                waived.append(waive("B", 2))

        other = threading.Thread(target=other_admin)
        other.start()
        other.join(timeout=30)
        assert waived, "the waiver did not commit while the job held order A"

    signals.payment_recorded.connect(waive_b_meanwhile, sender=app)
    try:
        assert run_charges() == 2
    finally:
        signals.payment_recorded.disconnect(waive_b_meanwhile, sender=app)

    assert [w.waived_minor for w in waived] == [2500]
    amounts = {r: [payment(c.payment_id).amount_minor for c in charges(r)] for r in "AB"}
    assert amounts == {"A": [5000], "B": [2500]}
    assert_audit_clean()
