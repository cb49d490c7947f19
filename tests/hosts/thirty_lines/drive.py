"""Driving the thirty-line shop (``shop/shop.py``) over HTTP, as a shopper would.

Used by tests/hosts/test_thirty_lines.py, and run as a script by
tests/test_optional_dependencies.py in a virtualenv with the installed wheel and its core
dependencies only: ``python drive.py SHOP_FOLDER DATABASE_URL`` imports the shop from
SHOP_FOLDER, pays a cart with the wallet and a card, and prints what happened as JSON.
Nothing here imports the tests' own modules: the script runs outside the repository.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
PASSWORD = "correct horse battery staple"


def load_shop(folder: Path, name: str = "thirty_lines_shop") -> ModuleType:
    """The shop module of ``folder`` (its templates next to it), imported once per name."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, folder / "shop.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # SQLAlchemy reads the models' annotations through it
    spec.loader.exec_module(module)
    return module


class _Forms(HTMLParser):
    """Every form of a page: its action and the fields a browser would send."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value or "" for key, value in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), {}))
        elif tag == "input" and self.forms and "name" in values:
            kind = values.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in values:
                return
            if kind != "submit":
                self.forms[-1][1].setdefault(values["name"], values.get("value", ""))


def form_fields(html: str, action: str) -> dict[str, str]:
    """What submitting the page's form that posts to ``action`` sends, buttons left out."""
    parser = _Forms()
    parser.feed(html)
    for form_action, fields in parser.forms:
        if form_action == action:
            return fields
    raise AssertionError(f"no form posts to {action}")


def seed(shop: ModuleType, app: Flask) -> dict[str, int]:
    """A customer, two goods and a course; the customer's wallet holds €10."""
    with app.app_context():
        db = shop.db
        asha = shop.User(email="asha@example.com", password_hash=generate_password_hash(PASSWORD))
        tea = shop.Product(name="Tea", price_minor=1200)
        mug = shop.Product(name="Mug", price_minor=800)
        course = shop.Product(name="Tea course", price_minor=30000)
        db.session.add_all([asha, tea, mug, course])
        db.session.commit()
        ids = {"asha": asha.id, "tea": tea.id, "mug": mug.id, "course": course.id}
        shop.partialpay.wallets.credit(
            str(asha.id), "10.00", "EUR", reason="adjustment", idempotency_key="welcome"
        )
    return ids


def sign_in(client: FlaskClient, email: str = "asha@example.com") -> None:
    page = client.get("/login").get_data(as_text=True)
    data = {**form_fields(page, ""), "email": email, "password": PASSWORD}
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)


def add_to_cart(client: FlaskClient, product_id: int) -> None:
    page = client.get("/").get_data(as_text=True)
    action = f"/cart/{product_id}"
    assert client.post(action, data=form_fields(page, action)).status_code == 302


def checkout_form(client: FlaskClient) -> dict[str, str]:
    """The cart page's checkout form as it stands (what "Place order" would send)."""
    return form_fields(client.get("/cart").get_data(as_text=True), "/checkout")


def use_wallet(client: FlaskClient) -> None:
    """Tick "Use wallet balance" on the cart page and press "Apply"."""
    data = {**checkout_form(client), "wallet-use_wallet": "y", "wallet-apply": "Apply"}
    response = client.post("/checkout", data=data)
    assert response.status_code == 302 and response.location == "/cart", response.location


def place_order(client: FlaskClient, data: dict[str, str]) -> str:
    """Press "Place order" with ``data``; where the shop sends the shopper."""
    response = client.post("/checkout", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.location)


def pay_by_card(client: FlaskClient, card_url: str, number: str) -> str:
    page = client.get(card_url).get_data(as_text=True)
    data = {**form_fields(page, ""), "card_number": number, "expiry": "12/39", "cvc": "123"}
    response = client.post(card_url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return str(response.location)


def balance(shop: ModuleType, app: Flask, customer: int) -> Decimal:
    with app.app_context():
        spendable: Decimal = shop.partialpay.wallets.spendable(str(customer), "EUR")
        return spendable


def order_statuses(shop: ModuleType, app: Flask) -> list[str]:
    with app.app_context():
        return [order.status for order in shop.db.session.scalars(shop.db.select(shop.Order))]


def audit_violations(shop: ModuleType, app: Flask) -> list[str]:
    from flask_partialpay.audit import audit

    with app.app_context():
        return [str(violation) for violation in audit(shop.db.session())]


def wallet_then_card(shop: ModuleType, app: Flask) -> dict[str, Any]:
    """A €35.20 cart: €10 from the wallet, the rest by card; the form sent twice."""
    ids = seed(shop, app)
    client = app.test_client()
    sign_in(client)
    add_to_cart(client, ids["tea"])
    add_to_cart(client, ids["tea"])
    add_to_cart(client, ids["mug"])
    use_wallet(client)
    cart_page = client.get("/cart").get_data(as_text=True)
    data = checkout_form(client)
    card_url = place_order(client, data)
    again = place_order(client, data)
    card_page = client.get(card_url).get_data(as_text=True)
    back = pay_by_card(client, card_url, SUCCESS_CARD)
    return {
        "cart_page": cart_page,
        "card_url": card_url,
        "again": again,
        "card_page": card_page,
        "back": back,
        "thank_you": client.get(back).get_data(as_text=True),
        "balance": str(balance(shop, app, ids["asha"])),
        "orders": order_statuses(shop, app),
        "audit": audit_violations(shop, app),
    }


def main(folder: str, database_url: str) -> None:
    shop = load_shop(Path(folder), "shop")
    app = shop.create_app(database_url, TESTING=True)
    found = wallet_then_card(shop, app)
    found["optional_loaded"] = sorted(
        name for name in ("flask_babel", "flask_migrate", "alembic") if name in sys.modules
    )
    found["shop_module"] = shop.__file__
    json.dump(found, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
