"""A worker killed between the card processor's charge and the shop's commit.

Asha checks out the seed's cart (₹354.00, ₹100.00 of it from her wallet) and pays the
₹254.00 rest on the sandbox card page, served by a worker process that is killed (SIGKILL)
inside the shop's transaction recording the processor's notification: the processor has
taken the money, the shop has recorded nothing. Then, as in production:

* the processor's redelivery (``flask partialpay sandbox-deliver``) records it once;
* or, after the processor gave up, ``flask partialpay reconcile`` does;
* if the wallet part's hold lapsed meanwhile, it is taken again when the wallet still has
  the money, and otherwise left due and shown, never lost.

Each ends with the payment recorded once, nothing due twice, and a clean audit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop import partialpay
from example_shop.models import Order, User, db
from flask_partialpay import OrderRecord, Payment
from flask_partialpay.audit import audit
from flask_partialpay.db.base import utcnow
from flask_partialpay.ledger.models import Hold
from flask_partialpay.sandbox.models import SandboxCharge, SandboxNotification
from tests.conftest import Shopper
from tests.wallet.test_checkout_double_submit import fill_cart_with_wallet

ROOT = Path(__file__).resolve().parents[2]
TOTAL, WALLET_PART, CARD_PART = Decimal("354.00"), Decimal("100.00"), Decimal("254.00")


def asha_id() -> str:
    return str(db.session.scalars(sa.select(User.id).where(User.email == "asha@example.com")).one())


def balance() -> Decimal:
    return partialpay.state().wallets.balance(asha_id(), "INR")


@dataclass(frozen=True)
class Placed:
    order_id: int
    number: str
    card_id: int
    card_public_id: str


def checkout_with_wallet(shopper: Shopper) -> Placed:
    """Asha's order with ₹100 held from her wallet and a pending ₹254 card payment."""
    partialpay.state().wallets.credit(
        asha_id(), "100", "INR", reason="adjustment", memo="Test credit"
    )
    response = shopper.client.post("/checkout", data=fill_cart_with_wallet(shopper))
    assert response.status_code == 302 and "/partialpay/card/" in response.location
    public_id = response.location.rstrip("/").rsplit("/", 1)[1]
    db.session.expire_all()
    card = db.session.scalars(sa.select(Payment).where(Payment.public_id == public_id)).one()
    order = db.session.scalars(sa.select(Order)).one()
    assert (card.amount, card.status, balance()) == (CARD_PART, "pending", Decimal("0.00"))
    return Placed(order.id, order.number, card.id, card.public_id)


def pay_in_a_worker_that_dies(app: Flask, database_url: str, placed: Placed) -> None:
    """The card page's charge, in a worker killed while the shop records it."""
    db.session.commit()
    db.session.close()  # the test holds no connection (nor SQLite lock) meanwhile
    worker = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [
            sys.executable,
            "-m",
            "tests.payments.processor_crash_worker",
            database_url,
            app.instance_path,
            placed.card_public_id,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert worker.returncode == -signal.SIGKILL, worker.stderr


def assert_charged_but_not_recorded(placed: Placed) -> None:
    db.session.expire_all()
    charge = db.session.scalars(
        sa.select(SandboxCharge).where(SandboxCharge.payment_public_id == placed.card_public_id)
    ).one()
    assert (charge.status, charge.amount_minor) == ("succeeded", 25400)
    assert db.session.get_one(Payment, placed.card_id).status == "pending"
    problems = audit(db.session)
    assert [v.invariant for v in problems] == ["charge_unrecorded"], problems
    assert "reconcile" in problems[0].message


def assert_paid_once(placed: Placed, *, paid: Decimal) -> OrderRecord:
    db.session.expire_all()
    account = partialpay.orders.find(placed.number)
    assert account is not None
    assert db.session.get_one(Payment, placed.card_id).status == "succeeded"
    assert (account.paid, account.overpaid) == (paid, Decimal("0.00"))
    charges = db.session.scalars(sa.select(SandboxCharge)).all()
    assert [(c.payment_public_id, c.status) for c in charges] == [
        (placed.card_public_id, "succeeded")
    ]
    assert audit(db.session) == []
    return account


def run(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=["partialpay", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.output


def test_the_processors_redelivery_records_the_charge_once(
    app: Flask, shopper: Shopper, database_url: str
) -> None:
    placed = checkout_with_wallet(shopper)
    pay_in_a_worker_that_dies(app, database_url, placed)
    assert_charged_but_not_recorded(placed)

    assert "1 delivered" in run(app, "sandbox-deliver")
    account = assert_paid_once(placed, paid=TOTAL)
    assert account.status == "completed" and account.due == Decimal("0.00")
    assert db.session.get_one(Order, placed.order_id).status == "paid"
    assert balance() == Decimal("0.00")  # the ₹100 part was taken once, with the card

    # Nothing is owed any more, and a second look changes nothing.
    assert "0 delivered" in run(app, "sandbox-deliver")
    assert "nothing to fix" in run(app, "reconcile")
    assert_paid_once(placed, paid=TOTAL)


def test_reconcile_records_a_charge_the_processor_stopped_telling_the_shop_about(
    app: Flask, shopper: Shopper, database_url: str
) -> None:
    placed = checkout_with_wallet(shopper)
    pay_in_a_worker_that_dies(app, database_url, placed)
    assert_charged_but_not_recorded(placed)
    # The processor gave up on its notification (days of failed deliveries).
    db.session.execute(sa.update(SandboxNotification).values(gave_up_at=utcnow()))
    db.session.commit()
    assert "0 delivered" in run(app, "sandbox-deliver")

    output = run(app, "reconcile")
    assert f"recorded the payment {placed.card_public_id}" in output and "1 fixed" in output
    account = assert_paid_once(placed, paid=TOTAL)
    assert account.status == "completed"
    assert "nothing to fix" in run(app, "reconcile")
    assert_paid_once(placed, paid=TOTAL)


def lapse_the_wallet_hold(app: Flask) -> None:
    """The shop's worker was gone longer than the hold lives: the hold expires, and the
    hourly job gives its ₹100 back to the wallet."""
    db.session.execute(sa.update(Hold).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    assert "released" in run(app, "release-expired-holds")
    assert balance() == WALLET_PART


@pytest.mark.parametrize("spent", [False, True], ids=["wallet-still-has-it", "wallet-spent"])
def test_a_wallet_part_that_lapsed_before_the_charge_was_recorded_is_taken_again_or_due(
    app: Flask, shopper: Shopper, database_url: str, spent: bool
) -> None:
    placed = checkout_with_wallet(shopper)
    pay_in_a_worker_that_dies(app, database_url, placed)
    assert_charged_but_not_recorded(placed)
    lapse_the_wallet_hold(app)
    if spent:
        partialpay.state().wallets.debit(
            asha_id(), "100", "INR", reason="adjustment", memo="Spent elsewhere"
        )

    assert "1 delivered" in run(app, "sandbox-deliver")
    db.session.expire_all()
    shop_order = db.session.get_one(Order, placed.order_id)
    if not spent:
        # Held and taken again: the order is paid as Asha was shown it.
        account = assert_paid_once(placed, paid=TOTAL)
        assert account.status == "completed" and balance() == Decimal("0.00")
        assert (shop_order.status, shop_order.via_wallet) == ("paid", WALLET_PART)
    else:
        # The wallet no longer has it: the ₹100 is due, and every page says so.
        account = assert_paid_once(placed, paid=CARD_PART)
        assert (account.status, account.due) == ("open", WALLET_PART)
        assert (shop_order.status, shop_order.via_wallet) == ("awaiting_payment", Decimal(0))
        page = shopper.get(f"/orders/{placed.number}").get_data(as_text=True)
        assert "₹100.00" in page and "Pay" in page
