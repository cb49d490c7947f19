"""Automatic payments on an order's "My payments" page: turned on with a saved card and the
customer's agreement, turned off, for their own orders only, CSRF-protected, and hostile
input refused next to the field with nothing changed."""

from __future__ import annotations

import html
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from example_shop.models import db
from flask_partialpay.extension import PartialPay
from flask_partialpay.payments import saved_cards
from flask_partialpay.payments.saved_cards import SavedCard
from tests.conftest import Shopper, csrf_from
from tests.plans.plan_steps import (
    MONTHLY_QUARTERS,
    DayClock,
    add_offer,
    buy_in_parts,
    order,
    set_plan,
    use_clock,
    user_id,
)
from tests.plans.test_plan_orders import pay_by_card
from tests.stripe.conftest import stripe_settings

ASHA = "asha@example.com"
RAVI = "ravi@example.com"


@pytest.fixture
def shop_config() -> dict[str, Any]:
    # Stripe offered beside the sandbox card: its saved cards can be charged off session.
    return stripe_settings(PARTIALPAY_GATEWAYS=("sandbox_card", "manual", "stripe"))


@pytest.fixture
def clock(app: Flask) -> DayClock:
    moving = DayClock()
    use_clock(app, moving)
    return moving


@pytest.fixture
def plan_order(app: Flask, clock: DayClock, shopper: Shopper) -> str:
    offer_id = add_offer("plan-auto", "100", "USD")
    set_plan(offer_id, MONTHLY_QUARTERS)
    reference = buy_in_parts(app, shopper, offer_id)
    pay_by_card(shopper, reference, "25.00")
    return reference


def give_card(email: str, *, last4: str = "4242", exp_year: int = 2031) -> SavedCard:
    state = PartialPay.state()
    owner = user_id(email)
    return state.transaction(
        lambda: saved_cards.save_card(
            state.session,
            customer_id=owner,
            gateway="stripe",
            processor_customer=f"cus_{owner}",
            payment_method=f"pm_{owner}_{last4}_{exp_year}",
            brand="visa",
            last4=last4,
            exp_month=4,
            exp_year=exp_year,
        )
    )


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def page_url(reference: str) -> str:
    return f"/partialpay/my-payments/{reference}"


def autopay_card(reference: str) -> int | None:
    return order(reference).autopay_card_id


def turn_on(person: Shopper, reference: str, data: dict[str, str]) -> Any:
    page = text(person.get(page_url(reference)))
    return person.client.post(
        f"{page_url(reference)}/automatic-payments", data={"csrf_token": csrf_from(page), **data}
    )


def test_the_customer_turns_automatic_payments_on_and_off(
    app: Flask, shopper: Shopper, plan_order: str
) -> None:
    card = give_card(ASHA)
    page = text(shopper.get(page_url(plan_order)))
    assert "Automatic payments" in page and "Off: you pay each instalment yourself." in page
    # The amounts and dates that will be charged, the retries, and how to stop.
    assert "$25.00 on Feb 28, 2027" in page and "$25.00 on Apr 30, 2027" in page
    assert "These amounts would be charged on these dates:" in page
    assert "1, 3, 5 days after the due date" in page and "turn automatic payments off" in page
    assert "Visa •••• 4242" in page

    answer = turn_on(shopper, plan_order, {"card": card.public_id, "agree": "y"})

    assert answer.status_code == 302
    account = order(plan_order)
    assert account.autopay_card_id == card.id and account.autopay_agreed_at is not None
    page = text(shopper.get(page_url(plan_order)))
    assert "On: Visa •••• 4242 is charged on each due date" in page
    # Agreed to: what will be charged, no longer what would be.
    assert "These amounts will be charged on these dates:" in page
    assert "would be charged" not in page

    off = shopper.post_form(
        page_url(plan_order), f"{page_url(plan_order)}/automatic-payments/off", {}
    )
    assert off.status_code == 302
    account = order(plan_order)
    assert (account.autopay_card_id, account.autopay_agreed_at) == (None, None)


@pytest.mark.parametrize(
    "data",
    [
        {"agree": "y"},  # no card
        {"card": "", "agree": "y"},
        {"card": "nope", "agree": "y"},
        {"card": "' OR 1=1 --", "agree": "y"},
        {"card": "x" * 5000, "agree": "y"},
        {"card": "{card}"},  # not agreed
        {"card": "{ravi}", "agree": "y"},  # another customer's card
        {"card": "{expired}", "agree": "y"},
    ],
)
def test_bad_input_is_refused_next_to_the_field_and_changes_nothing(
    app: Flask, shopper: Shopper, plan_order: str, clock: DayClock, data: dict[str, str]
) -> None:
    cards = {
        "card": give_card(ASHA).public_id,
        "ravi": give_card(RAVI, last4="1881").public_id,
        "expired": give_card(ASHA, last4="0005", exp_year=2026).public_id,
    }
    filled = {key: value.format(**cards) for key, value in data.items()}

    answer = turn_on(shopper, plan_order, filled)

    assert answer.status_code == 400
    assert 'role="alert"' in text(answer)
    assert autopay_card(plan_order) is None


def test_another_shoppers_order_is_a_404(
    app: Flask, shopper: Shopper, other_shopper: Shopper, plan_order: str
) -> None:
    card = give_card(RAVI)
    assert other_shopper.get(page_url(plan_order)).status_code == 404
    page = text(other_shopper.get("/partialpay/my-payments"))
    for action in ("automatic-payments", "automatic-payments/off"):
        answer = other_shopper.client.post(
            f"{page_url(plan_order)}/{action}",
            data={"csrf_token": csrf_from(page), "card": card.public_id, "agree": "y"},
        )
        assert answer.status_code == 404
    assert autopay_card(plan_order) is None


def test_without_the_csrf_token_nothing_changes(
    app: Flask, shopper: Shopper, plan_order: str
) -> None:
    card = give_card(ASHA)
    answer = shopper.client.post(
        f"{page_url(plan_order)}/automatic-payments", data={"card": card.public_id, "agree": "y"}
    )
    assert answer.status_code == 400
    assert autopay_card(plan_order) is None


def test_a_removed_or_expired_card_says_automatic_payments_stopped(
    app: Flask, shopper: Shopper, plan_order: str, clock: DayClock
) -> None:
    card = give_card(ASHA)
    assert turn_on(shopper, plan_order, {"card": card.public_id, "agree": "y"}).status_code == 302
    clock.move_to(date(2031, 5, 1))
    page = text(shopper.get(page_url(plan_order)))
    assert "Automatic payments have stopped: the card Visa •••• 4242 has expired." in page
    clock.move_to(date(2027, 2, 1))
    state = PartialPay.state()
    state.transaction(
        lambda: saved_cards.remove_card(state.session, db.session.get_one(SavedCard, card.id))
    )
    page = text(shopper.get(page_url(plan_order)))
    assert "Automatic payments have stopped: the card Visa •••• 4242 was removed." in page
    assert db.session.scalar(sa.select(SavedCard.removed_at).where(SavedCard.id == card.id))
