"""The amount due: the order's total less what is paid and the wallet part held for it."""

from __future__ import annotations

from decimal import Decimal

from flask_partialpay.payments.models import OrderRecord


def order(*, paid: int = 0, reserved: int = 0, total: int = 35400) -> OrderRecord:
    return OrderRecord(currency="INR", total_minor=total, paid_minor=paid, reserved_minor=reserved)


def test_the_due_is_the_total_less_paid_and_held_money() -> None:
    assert order().due == Decimal("354.00")
    assert order(paid=10000, reserved=5000).due_minor == 20400
    assert order(paid=10000, reserved=5000).due == Decimal("204.00")


def test_an_order_paid_beyond_its_total_owes_nothing_rather_than_a_negative_amount() -> None:
    assert order(paid=30000, reserved=10000).due_minor == 0
    assert order(paid=35400).due == Decimal("0.00")
