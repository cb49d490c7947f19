"""Top-ups: credited once per payment, however the callback arrives; refunds take it back."""

from __future__ import annotations

import re
import threading
from decimal import Decimal

import sqlalchemy as sa
from flask import Flask

from example_shop.models import User, db
from flask_partialpay import Payment
from flask_partialpay.extension import PartialPay
from flask_partialpay.ledger.models import Transfer
from flask_partialpay.payments.models import Refund
from flask_partialpay.sandbox import processor
from flask_partialpay.sandbox.models import SandboxCharge
from flask_partialpay.wallet import topups
from tests.conftest import Shopper, csrf_from

PAYMENTS_TAB = "/partialpay/admin/payments"


def asha_id() -> str:
    user = db.session.scalars(sa.select(User).where(User.email == "asha@example.com")).one()
    return str(user.get_id())


def started_topup(app: Flask, amount: str) -> Payment:
    state = PartialPay.state()
    app.config["PARTIALPAY_WALLET_CURRENCIES"] = ("INR",)
    owner = asha_id()
    with app.test_request_context():
        started = state.transaction(
            lambda: topups.start(
                state.session,
                owner_id=owner,
                amount=Decimal(amount),
                currency="INR",
                gateway=state.gateway("sandbox_card"),
                return_url="/",
                idempotency_key=None,
            )
        )
    return started.payment


def paid_topup(app: Flask, shopper: Shopper, amount: str) -> Payment:
    started = started_topup(app, amount)
    shopper.pay_card(f"/partialpay/card/{started.public_id}", "4242 4242 4242 4242")
    payment = db.session.get(Payment, started.id)
    assert payment is not None
    assert payment.status == "succeeded"
    return payment


def refund(admin: Shopper, payment: Payment, amount: str) -> str:
    html = admin.get(PAYMENTS_TAB).get_data(as_text=True)
    key = re.search(rf'name="refund-{payment.id}-idempotency_key"[^>]*value="([^"]+)"', html)
    assert key
    response = admin.client.post(
        f"{PAYMENTS_TAB}/{payment.public_id}/refund",
        data={
            "csrf_token": csrf_from(html),
            f"refund-{payment.id}-idempotency_key": key.group(1),
            f"refund-{payment.id}-amount": amount,
        },
        follow_redirects=True,
    )
    return str(response.get_data(as_text=True))


def test_a_paid_topup_credits_the_wallet(app: Flask, shopper: Shopper) -> None:
    paid_topup(app, shopper, "100")
    wallets = PartialPay.state().wallets
    assert wallets.balance(asha_id(), "INR") == Decimal("100.00")
    assert [line.description for line in wallets.statement(asha_id(), "INR").lines] == [
        "Wallet top-up"
    ]


def test_refunding_a_topup_takes_the_credit_back_out_of_the_wallet(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    payment = paid_topup(app, shopper, "100")
    assert "Refund sent." in refund(admin, payment, "40")
    wallets = PartialPay.state().wallets
    assert wallets.balance(asha_id(), "INR") == Decimal("60.00")
    assert wallets.statement(asha_id(), "INR").lines[0].description == (
        "Wallet top-up refunded to the card"
    )
    assert db.session.scalars(sa.select(SandboxCharge)).one().refunded_minor == 4000


def test_a_topup_already_spent_cannot_be_refunded_and_nothing_moves(
    app: Flask, shopper: Shopper, admin: Shopper
) -> None:
    payment = paid_topup(app, shopper, "100")
    wallets = PartialPay.state().wallets
    wallets.debit(asha_id(), "90", "INR", reason="order_payment", memo="For order payment #1")
    page = refund(admin, payment, "20")
    assert "The wallet holds ₹10.00; ₹20.00 is more than that." in page
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).refunded_minor == 0  # type: ignore[union-attr]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0
    assert db.session.scalars(sa.select(SandboxCharge)).one().refunded_minor == 0
    assert wallets.balance(asha_id(), "INR") == Decimal("10.00")


def test_five_concurrent_topup_callbacks_credit_the_wallet_once(app: Flask) -> None:
    payment = started_topup(app, "100")
    state = PartialPay.state()
    charge = state.transaction(
        lambda: processor.charge(
            state.session,
            payment_public_id=payment.public_id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            card_number="4242424242424242",
        )
    )
    body, headers = processor.encode(processor.charge_event(charge))
    db.session.commit()
    barrier = threading.Barrier(5)
    answers: list[int] = []

    def deliver() -> None:
        client = app.test_client()
        barrier.wait(timeout=10)
        answers.append(
            client.post(
                "/partialpay/gateways/sandbox_card/callback", data=body, headers=headers
            ).status_code
        )

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert answers == [200] * 5
    assert state.wallets.balance(asha_id(), "INR") == Decimal("100.00")
    topup_transfers = db.session.scalar(
        sa.select(sa.func.count()).select_from(Transfer).where(Transfer.reason == "topup")
    )
    assert topup_transfers == 1
