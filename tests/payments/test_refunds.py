"""Refunding a card payment through the gateway: once per request, never beyond the payment."""

from __future__ import annotations

import re

import sqlalchemy as sa

from example_shop.models import db
from flask_partialpay import Payment
from flask_partialpay.payments.models import Refund
from flask_partialpay.sandbox.models import SandboxCharge
from tests.conftest import Shopper, csrf_from

PAYMENTS_TAB = "/partialpay/admin/payments"


def paid_card_payment(shopper: Shopper) -> Payment:
    shopper.add_to_cart("kurta")
    response = shopper.checkout("sandbox_card")
    shopper.pay_card(response.location, "4242 4242 4242 4242")
    payment = db.session.scalars(sa.select(Payment)).one()
    assert payment.status == "succeeded"
    return payment


def refund_form(admin: Shopper, payment: Payment) -> dict[str, str]:
    html = admin.get(PAYMENTS_TAB).get_data(as_text=True)
    key = re.search(rf'name="refund-{payment.id}-idempotency_key"[^>]*value="([^"]+)"', html)
    assert key, "refund form missing"
    return {"csrf_token": csrf_from(html), f"refund-{payment.id}-idempotency_key": key.group(1)}


def refund(admin: Shopper, payment: Payment, data: dict[str, str], amount: str) -> str:
    response = admin.client.post(
        f"{PAYMENTS_TAB}/{payment.public_id}/refund",
        data={**data, f"refund-{payment.id}-amount": amount},
        follow_redirects=True,
    )
    return str(response.get_data(as_text=True))


def test_the_admin_refunds_part_of_a_card_payment(shopper: Shopper, admin: Shopper) -> None:
    payment = paid_card_payment(shopper)
    page = refund(admin, payment, refund_form(admin, payment), "100.00")
    assert "Refund sent." in page
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).refunded_minor == 10000  # type: ignore[union-attr]
    charge = db.session.scalars(sa.select(SandboxCharge)).one()
    assert charge.refunded_minor == 10000  # the processor agrees


def test_a_refund_submitted_twice_refunds_once(shopper: Shopper, admin: Shopper) -> None:
    payment = paid_card_payment(shopper)
    data = refund_form(admin, payment)
    refund(admin, payment, data, "50")
    refund(admin, payment, data, "50")
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).refunded_minor == 5000  # type: ignore[union-attr]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 1
    assert db.session.scalars(sa.select(SandboxCharge)).one().refunded_minor == 5000


def test_refunds_never_exceed_the_payment(shopper: Shopper, admin: Shopper) -> None:
    payment = paid_card_payment(shopper)  # ₹236.00 with GST
    refund(admin, payment, refund_form(admin, payment), "200")
    page = refund(admin, payment, refund_form(admin, payment), "36.01")
    assert "cannot be refunded" in page
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).refunded_minor == 20000  # type: ignore[union-attr]
    assert db.session.scalars(sa.select(SandboxCharge)).one().refunded_minor == 20000


def test_a_malformed_refund_amount_is_refused_with_the_parser_message(
    shopper: Shopper, admin: Shopper
) -> None:
    payment = paid_card_payment(shopper)
    for typed, message in [
        ("1e3", "without an exponent"),
        ("NaN", "is not a number"),
        ("-5", "without a + or - sign"),
        ("10.005", "at most 2 decimal places"),
    ]:
        page = refund(admin, payment, refund_form(admin, payment), typed)
        assert message in page, typed
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).refunded_minor == 0  # type: ignore[union-attr]
