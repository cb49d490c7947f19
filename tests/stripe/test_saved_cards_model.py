"""Saved cards in the database: listed, saved once per payment method, removed, never card data."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop.models import db
from flask_partialpay.core.errors import PaymentError
from flask_partialpay.extension import PartialPay
from flask_partialpay.payments import saved_cards
from flask_partialpay.payments.saved_cards import ProcessorCustomer, SavedCard

ASHA, RAVI = "customer-asha", "customer-ravi"


def save(customer_id: str = ASHA, payment_method: str = "pm_1", **changes: Any) -> SavedCard:
    values: dict[str, Any] = {
        "customer_id": customer_id,
        "gateway": "stripe",
        "processor_customer": f"cus_{customer_id}",
        "payment_method": payment_method,
        "brand": "visa",
        "last4": "4242",
        "exp_month": 12,
        "exp_year": 2034,
        **changes,
    }
    state = PartialPay.state()
    return state.transaction(lambda: saved_cards.save_card(state.session, **values))


def count(model: Any) -> int:
    db.session.expire_all()
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def test_a_saved_card_is_listed_for_its_customer_only(app: Flask) -> None:
    first = save(payment_method="pm_1")
    second = save(payment_method="pm_2", brand="mastercard", last4="4444")
    save(RAVI, payment_method="pm_3")

    listed = saved_cards.saved_cards(db.session, ASHA)

    assert [card.payment_method for card in listed] == ["pm_1", "pm_2"]
    assert (listed[1].brand, listed[1].last4, listed[1].exp_month, listed[1].exp_year) == (
        "mastercard",
        "4444",
        12,
        2034,
    )
    assert saved_cards.saved_card(db.session, ASHA, first.public_id) is not None
    assert saved_cards.saved_card(db.session, RAVI, second.public_id) is None
    assert saved_cards.saved_card(db.session, ASHA, "no-such-card") is None
    assert saved_cards.saved_cards(db.session, ASHA, gateway="other") == []


def test_saving_the_same_payment_method_again_finds_its_row(app: Flask) -> None:
    first = save()
    again = save()

    assert again.id == first.id
    assert count(SavedCard) == 1


def test_a_payment_method_saved_for_another_customer_is_refused(app: Flask) -> None:
    save(ASHA)

    with pytest.raises(PaymentError):
        save(RAVI)

    assert [card.customer_id for card in db.session.scalars(sa.select(SavedCard))] == [ASHA]


@pytest.mark.parametrize("last4", ["4242424242424242", "424", "42a2", ""])
def test_nothing_but_the_last_four_digits_is_stored(app: Flask, last4: str) -> None:
    with pytest.raises(ValueError, match="last four digits"):
        save(last4=last4)

    assert count(SavedCard) == 0


def test_an_expiry_month_outside_the_year_is_refused(app: Flask) -> None:
    with pytest.raises(ValueError, match="exp_month"):
        save(exp_month=13)


def test_a_removed_card_is_no_longer_offered_and_a_second_removal_changes_nothing(
    app: Flask,
) -> None:
    card = save()
    state = PartialPay.state()

    assert state.transaction(lambda: saved_cards.remove_card(state.session, card)) is True
    assert state.transaction(lambda: saved_cards.remove_card(state.session, card)) is False

    assert saved_cards.saved_cards(db.session, ASHA) == []
    assert saved_cards.saved_card(db.session, ASHA, card.public_id) is None
    assert card.removed


def test_a_late_save_of_a_removed_card_does_not_bring_it_back(app: Flask) -> None:
    card = save()
    state = PartialPay.state()
    state.transaction(lambda: saved_cards.remove_card(state.session, card))

    again = save()

    assert again.id == card.id and again.removed
    assert saved_cards.saved_cards(db.session, ASHA) == []


def test_the_first_processor_customer_kept_is_the_one_every_card_uses(app: Flask) -> None:
    state = PartialPay.state()

    def keep(reference: str) -> str:
        return state.transaction(
            lambda: saved_cards.keep_processor_customer(state.session, "stripe", ASHA, reference)
        )

    assert saved_cards.processor_customer(db.session, "stripe", ASHA) is None
    assert keep("cus_first") == "cus_first"
    assert keep("cus_second") == "cus_first"
    assert saved_cards.processor_customer(db.session, "stripe", ASHA) == "cus_first"
    assert saved_cards.processor_customer(db.session, "stripe", RAVI) is None
    assert count(ProcessorCustomer) == 1


def test_the_schema_alone_registers_the_saved_card_tables() -> None:
    """An app's metadata has the tables even when no page or gateway imported the module
    (create_all and the migrations' autogenerate read the metadata, not the imports)."""
    code = (
        "from flask_partialpay.schema import metadatas\n"
        "from flask_partialpay.db.base import PartialPayModel\n"
        "tables = PartialPayModel.metadata.tables\n"
        "assert {'partialpay_saved_card', 'partialpay_processor_customer'} <= set(tables)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)  # noqa: S603


def test_a_card_is_good_to_the_last_day_of_its_expiry_month(app: Flask) -> None:
    card = save(exp_month=4, exp_year=2031)

    assert not card.expired(date(2031, 4, 30))
    assert card.expired(date(2031, 5, 1))
    assert card.expired(date(2032, 1, 1))
    assert not card.expired(date(2030, 12, 31))
