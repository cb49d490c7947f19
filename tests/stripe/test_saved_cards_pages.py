"""The "Saved cards" page: the shopper's own cards, removed with a CSRF-protected button."""

from __future__ import annotations

import html
from typing import Any

import sqlalchemy as sa
from flask import Flask

from example_shop.models import User, db
from flask_partialpay.extension import PartialPay
from flask_partialpay.payments import saved_cards
from flask_partialpay.payments.saved_cards import SavedCard
from tests.conftest import Shopper, csrf_from

SAVED_CARDS = "/partialpay/saved-cards"
WALLET = "/partialpay/wallet"


def customer(email: str) -> str:
    return str(db.session.scalars(sa.select(User).where(User.email == email)).one().get_id())


def give_card(
    email: str, payment_method: str = "pm_asha", brand: str = "visa", last4: str = "4242"
) -> SavedCard:
    state = PartialPay.state()
    owner = customer(email)
    return state.transaction(
        lambda: saved_cards.save_card(
            state.session,
            customer_id=owner,
            gateway="stripe",
            processor_customer=f"cus_{owner}",
            payment_method=payment_method,
            brand=brand,
            last4=last4,
            exp_month=4,
            exp_year=2031,
        )
    )


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def remove_url(card: SavedCard) -> str:
    return f"{SAVED_CARDS}/{card.public_id}/remove"


def test_the_page_lists_the_shoppers_cards_and_no_one_elses(app: Flask, shopper: Shopper) -> None:
    give_card("asha@example.com")
    give_card("asha@example.com", "pm_asha_2", brand="mastercard", last4="4444")
    give_card("ravi@example.com", "pm_ravi", last4="1881")

    page = text(shopper.get(SAVED_CARDS))

    assert "Visa •••• 4242" in page and "Expires 04/2031" in page
    assert "Mastercard •••• 4444" in page
    assert "1881" not in page
    assert page.count("Remove saved card") == 2


def test_my_wallet_links_to_saved_cards_once_there_is_one(app: Flask, shopper: Shopper) -> None:
    assert SAVED_CARDS not in text(shopper.get(WALLET))

    give_card("asha@example.com")

    assert f'href="{SAVED_CARDS}"' in text(shopper.get(WALLET))


def test_a_shopper_without_saved_cards_is_told_how_to_save_one(
    app: Flask, shopper: Shopper
) -> None:
    page = text(shopper.get(SAVED_CARDS))

    assert "You have no saved cards" in page


def test_the_page_asks_an_anonymous_visitor_to_sign_in(app: Flask) -> None:
    response = app.test_client().get(SAVED_CARDS)

    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_removing_a_card_marks_it_removed_and_says_so(app: Flask, shopper: Shopper) -> None:
    card = give_card("asha@example.com")

    response = shopper.post_form(SAVED_CARDS, remove_url(card), {}, follow_redirects=True)

    assert response.status_code == 200
    page = text(response)
    assert "Visa •••• 4242 was removed from your saved cards." in page
    assert "You have no saved cards" in page
    db.session.expire_all()
    assert db.session.get(SavedCard, card.id).removed_at is not None  # type: ignore[union-attr]


def test_removing_a_card_needs_the_csrf_token(app: Flask, shopper: Shopper) -> None:
    card = give_card("asha@example.com")

    response = shopper.client.post(remove_url(card), data={})

    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(SavedCard, card.id).removed_at is None  # type: ignore[union-attr]


def test_another_shoppers_card_is_a_404_and_stays(
    app: Flask, shopper: Shopper, other_shopper: Shopper
) -> None:
    card = give_card("asha@example.com")

    response = other_shopper.post_form(SAVED_CARDS, remove_url(card), {})

    assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(SavedCard, card.id).removed_at is None  # type: ignore[union-attr]


def test_a_removed_or_unknown_card_is_a_404(app: Flask, shopper: Shopper) -> None:
    card = give_card("asha@example.com")
    token = csrf_from(text(shopper.get(SAVED_CARDS)))
    assert shopper.client.post(remove_url(card), data={"csrf_token": token}).status_code == 302

    again = shopper.client.post(remove_url(card), data={"csrf_token": token})
    unknown = shopper.client.post(f"{SAVED_CARDS}/nothing-here/remove", data={"csrf_token": token})

    assert (again.status_code, unknown.status_code) == (404, 404)
