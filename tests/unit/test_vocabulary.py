"""The status vocabulary: its transition tables, and no status written as a bare string."""

from __future__ import annotations

import ast
from decimal import Decimal
from itertools import product
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

import flask_partialpay
from flask_partialpay import OrderInfo
from flask_partialpay.core.errors import ConfigurationError, IllegalTransition
from flask_partialpay.core.vocabulary import (
    CLOSED_AS,
    HoldStatus,
    Lifecycle,
    OrderStatus,
    Overpayment,
    PaymentStatus,
    RefundStatus,
)
from flask_partialpay.host.config import SETTINGS, check_choice
from flask_partialpay.payments import lifecycle, orders
from flask_partialpay.payments.gateways.external import ExternalGateway
from flask_partialpay.payments.models import OrderRecord, Payment
from tests.unit.bare import db

LIFECYCLES: tuple[type[Lifecycle], ...] = (OrderStatus, PaymentStatus, RefundStatus, HoldStatus)

# The moves the code makes, written out once more by hand: a change to a table is a
# decision, so it must be made in both places.
LEGAL = {
    OrderStatus: {
        ("open", "completed"),
        ("open", "declined"),
        ("open", "cancelled"),
        ("open", "refunded"),
        ("completed", "cancelled"),
        ("completed", "refunded"),
    },
    PaymentStatus: {
        ("pending", "succeeded"),
        ("pending", "failed"),
        ("pending", "rejected"),
        ("pending", "cancelled"),
        # A processor may report success after the shop gave up on the payment.
        ("cancelled", "succeeded"),
    },
    RefundStatus: {("requested", "succeeded"), ("requested", "failed")},
    HoldStatus: {("active", "captured"), ("active", "released"), ("active", "expired")},
}


def every_move(kind: type[Lifecycle]) -> list[tuple[str, str]]:
    return [(a.value, b.value) for a, b in product(kind, kind) if a != b]


@pytest.mark.parametrize("kind", LIFECYCLES, ids=lambda kind: kind.__name__)
def test_every_legal_move_passes(kind: type[Lifecycle]) -> None:
    for current, target in LEGAL[kind]:
        assert kind.move(current, target) == target
        assert kind.allows(current, target)


@pytest.mark.parametrize("kind", LIFECYCLES, ids=lambda kind: kind.__name__)
def test_every_illegal_move_raises(kind: type[Lifecycle]) -> None:
    illegal = [move for move in every_move(kind) if move not in LEGAL[kind]]
    assert illegal  # every status set has moves it forbids
    for current, target in illegal:
        with pytest.raises(IllegalTransition) as raised:
            kind.move(current, target)
        assert raised.value.params == {"state": current, "target": target}
        assert not kind.allows(current, target)


@pytest.mark.parametrize("kind", LIFECYCLES, ids=lambda kind: kind.__name__)
def test_a_repeat_is_quiet(kind: type[Lifecycle]) -> None:
    for status in kind:
        assert kind.move(status, status) is status
        assert kind.move(status.value, status.value) is status


def test_the_table_lists_every_status_and_no_other() -> None:
    for kind in LIFECYCLES:
        assert set(kind.moves()) == set(kind)
        assert {(a, b) for a, b in every_move(kind) if kind.allows(a, b)} == LEGAL[kind]


def test_a_word_that_is_not_a_status_is_an_illegal_move() -> None:
    with pytest.raises(IllegalTransition):
        PaymentStatus.move("pending", "paid")
    with pytest.raises(IllegalTransition):
        OrderStatus.move("awaiting_payment", "open")


def test_a_declared_move_from_several_statuses_checks_each() -> None:
    assert PaymentStatus.move_from(("pending", "cancelled"), "succeeded") == "succeeded"
    with pytest.raises(IllegalTransition):
        PaymentStatus.move_from(("pending", "failed"), "succeeded")


def test_final_statuses_and_the_english_message() -> None:
    assert [status for status in PaymentStatus if status.is_final] == [
        PaymentStatus.SUCCEEDED,
        PaymentStatus.FAILED,
        PaymentStatus.REJECTED,
    ]
    assert not OrderStatus.COMPLETED.is_final
    assert OrderStatus.DECLINED in CLOSED_AS and OrderStatus.COMPLETED not in CLOSED_AS
    assert str(IllegalTransition(state="failed", target="succeeded")) == (
        "This payment is failed and cannot become succeeded."
    )


def test_members_are_the_stored_strings() -> None:
    # StrEnums: the database keeps the same words, so no migration is needed.
    assert PaymentStatus.PENDING == "pending"
    assert f"{OrderStatus.OPEN}" == "open"
    assert "order " + OrderStatus.DECLINED == "order declined"


# -- no bare status word in the package ---------------------------------------------------

PACKAGE = Path(flask_partialpay.__file__).parent
TEMPLATES = PACKAGE / "templates"
STATUS_WORDS = {status.value for kind in LIFECYCLES for status in kind}
# Where a status word is not one of the extension's statuses: (part of the file's path,
# part of the line). The sandbox card processor stands in for an outside payment service,
# so its charge statuses are its own words; the thank-you page's outcomes are words of
# that page (and of templates hosts override), two of which happen to be status words.
# Stripe's PaymentIntents and Refunds have status words of their own, named once each.
ALLOWED = {
    ("stripe_gateway/events.py", 'STRIPE_SUCCEEDED = "succeeded"'),
    ("stripe_gateway/events.py", 'STRIPE_FAILED = "failed"'),
    ("sandbox", '= "succeeded"'),
    ("sandbox", '= "declined"'),
    ("sandbox", '= "cancelled"'),
    ("web/instalments.py", 'DECLINED = "declined"'),
    ("web/instalments.py", 'REJECTED = "rejected"'),
}


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings or bare expression strings."""
    return {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }


def bare_status_words(path: Path) -> list[str]:
    source = path.read_text()
    tree = ast.parse(source)
    skip = _docstrings(tree)
    lines = source.splitlines()
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value in STATUS_WORDS
            and id(node) not in skip
        ):
            line = lines[node.lineno - 1].strip()
            name = str(path.relative_to(PACKAGE))
            if not any(where in name and part in line for where, part in ALLOWED):
                found.append(f"{name}:{node.lineno}: {line}")
    return found


def test_no_bare_status_string_in_the_package() -> None:
    """Statuses are written as members of :mod:`flask_partialpay.core.vocabulary`, nowhere as
    strings (except in the vocabulary itself and the migrations, which keep history)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "migrations" or relative.name == "vocabulary.py":
            continue
        found += bare_status_words(path)
    assert found == []


def test_no_status_or_gateway_literal_in_the_extensions_templates() -> None:
    words = STATUS_WORDS | {"wallet", "manual", "sandbox_card", "adjustment", "reversal"}
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            for word in words:
                for quote in ('"', "'"):
                    literal = f"{quote}{word}{quote}"
                    for operator in ("==", "!=", "in (", "in [", ", "):
                        if "outcome ==" in line:
                            continue  # the page's outcome words, see ALLOWED
                        if f"{operator} {literal}" in line or f"{operator}{literal}" in line:
                            found.append(f"{path.relative_to(TEMPLATES)}:{number}: {literal}")
    assert sorted(set(found)) == []


# -- the writers check their moves --------------------------------------------------------


def _paid_cash_order(app: Flask, total: str, paid: str) -> tuple[int, int]:
    """An order of ``total`` with one cash payment of ``paid`` that succeeded: their ids."""
    pp = app.extensions["partialpay"]
    cash = ExternalGateway("cash")

    def work() -> Payment:
        order = orders.ensure_record(pp.session, OrderInfo("SHOP-9", "1", "USD", Decimal(total)))
        started = lifecycle.start(
            pp.session,
            account=order,
            gateway=cash,
            amount=Decimal(paid),
            customer_id="1",
            return_url="/",
            idempotency_key="cash:SHOP-9",
        )
        lifecycle.succeed(pp.session, started.payment)
        return started.payment

    payment = pp.transaction(work)
    return payment.order_id, payment.id


def test_a_payment_writer_refuses_a_move_the_table_forbids(app: Flask) -> None:
    pp = app.extensions["partialpay"]
    _, payment_id = _paid_cash_order(app, "80.00", "30.00")

    def back_to_pending() -> bool:
        payment = pp.session.get_one(Payment, payment_id)
        return lifecycle._transition(
            pp.session, payment, from_states=(PaymentStatus.SUCCEEDED,), to_state="pending"
        )

    with pytest.raises(IllegalTransition):
        pp.transaction(back_to_pending)
    db.session.expire_all()
    assert db.session.get_one(Payment, payment_id).status == PaymentStatus.SUCCEEDED


def test_an_order_status_never_moves_backwards(app: Flask) -> None:
    pp = app.extensions["partialpay"]
    order_id, _ = _paid_cash_order(app, "30.00", "30.00")
    assert db.session.get_one(OrderRecord, order_id).status == OrderStatus.COMPLETED
    # As if the paid amount had gone down: derive_status would now say Open.
    db.session.execute(
        sa.update(OrderRecord).where(OrderRecord.id == order_id).values(paid_minor=0)
    )
    db.session.commit()

    def refresh() -> str:
        return orders.refresh_status(pp.session, pp.session.get_one(OrderRecord, order_id))

    with pytest.raises(IllegalTransition) as raised:
        pp.transaction(refresh)
    assert raised.value.params == {"state": "completed", "target": "open"}
    db.session.expire_all()
    assert db.session.get_one(OrderRecord, order_id).status == OrderStatus.COMPLETED


def test_the_overpayment_setting_takes_the_overpayment_words_and_no_other() -> None:
    overpayment = SETTINGS["PARTIALPAY_OVERPAYMENT"]
    assert overpayment.choices == tuple(Overpayment) == ("wallet", "refund")
    assert overpayment.default is Overpayment.WALLET
    check_choice("PARTIALPAY_OVERPAYMENT", "refund")  # as a host writes it in its config
    with pytest.raises(ConfigurationError, match="must be one of 'wallet', 'refund'"):
        check_choice("PARTIALPAY_OVERPAYMENT", "refunds")
