"""The reference people see for a payment: short, unambiguous, unique, and no counter."""

from __future__ import annotations

import re
import secrets
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.exc import IntegrityError

from example_shop.models import db
from flask_partialpay import Payment
from flask_partialpay.core.ids import PAYMENT_REFERENCE_LENGTH, payment_reference
from flask_partialpay.payments import lifecycle, orders

CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
SHAPE = re.compile(r"PP-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})-([0-9A-HJKMNP-TV-Z]{4})")


def decoded(reference: str) -> int:
    """The number a reference spells, read back digit by digit."""
    match = SHAPE.fullmatch(reference)
    assert match is not None, reference
    value = 0
    for character in "".join(match.groups()):
        value = value * 32 + CROCKFORD.index(character)
    return value


def test_a_reference_is_short_and_has_no_look_alike_letters() -> None:
    for _ in range(500):
        reference = payment_reference(secrets.token_hex(16))
        assert SHAPE.fullmatch(reference), reference
        assert len(reference) == PAYMENT_REFERENCE_LENGTH
        assert not set("ILOU") & set(reference)


def test_a_reference_spells_the_first_sixty_bits_of_the_public_id() -> None:
    # One reference per 60-bit value and back: two payments share a reference only when
    # their random public ids share those bits, and the row id plays no part.
    for public_id in ["0" * 32, "f" * 32, "123456789abcdef" + "0" * 17, secrets.token_hex(16)]:
        assert decoded(payment_reference(public_id)) == int(public_id[:15], 16)
    assert payment_reference("0" * 32) == "PP-0000-0000-0000"
    assert payment_reference("f" * 32) == "PP-ZZZZ-ZZZZ-ZZZZ"
    # Stable: the same public id, the same reference, whatever the rest of the id.
    assert payment_reference("abc" * 5 + "0" * 17) == payment_reference("abc" * 5 + "1" * 17)


@pytest.fixture
def account(app: Flask) -> orders.OrderRecord:
    info = orders.OrderInfo(
        reference="ref-test", customer_id="1", currency="USD", total=Decimal("500.00")
    )
    found, _created = orders.open_record(db.session, info)
    db.session.commit()
    return found


def pay(account: orders.OrderRecord) -> Payment:
    payment = lifecycle.new_payment(
        account,
        gateway="manual",
        amount_minor=100,
        customer_id=account.customer_id,
        idempotency_key=None,
        return_url="/",
    )
    db.session.add(payment)
    db.session.commit()
    return payment


@pytest.fixture
def public_ids(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Public ids the next payments get, in order (random ones once these run out)."""
    planned: list[str] = []
    real = secrets.token_hex

    def token_hex(nbytes: int) -> str:
        return planned.pop(0) if planned and nbytes == 16 else real(nbytes)

    monkeypatch.setattr(lifecycle.secrets, "token_hex", token_hex)
    return planned


def test_each_payment_shows_the_reference_of_its_public_id(account: orders.OrderRecord) -> None:
    made = [pay(account) for _ in range(30)]
    db.session.expire_all()
    stored = db.session.scalars(sa.select(Payment).order_by(Payment.id)).all()
    assert [p.reference for p in stored] == [payment_reference(p.public_id) for p in made]
    assert len({p.reference for p in stored}) == len(stored)
    # Thirty payments in a row: a counter would number them in order; these are in the
    # order of their random ids (30! orders, one of them sorted).
    numbers = [decoded(p.reference) for p in stored]
    assert numbers != sorted(numbers)


def test_the_reference_follows_the_random_id_and_not_the_row_id(
    account: orders.OrderRecord, public_ids: list[str]
) -> None:
    # Payments made one after the other with public ids that go down: their references go
    # down too, while the row ids go up. What a reference says is the random id's.
    public_ids.extend(f"{n:x}" * 32 for n in (0xC, 0x9, 0x5, 0x2))
    made = [pay(account) for _ in range(4)]
    assert [p.id for p in made] == sorted(p.id for p in made)
    assert [decoded(p.reference) for p in made] == sorted(
        (decoded(p.reference) for p in made), reverse=True
    )


def test_two_payments_never_share_a_reference(
    account: orders.OrderRecord, public_ids: list[str]
) -> None:
    first = pay(account)
    # A public id whose first 60 bits are the first payment's: the unique key refuses it.
    public_ids.append(first.public_id[:15] + "0" * 17)
    with pytest.raises(IntegrityError):
        pay(account)
    db.session.rollback()
    assert db.session.scalars(sa.select(sa.func.count()).select_from(Payment)).one() == 1
