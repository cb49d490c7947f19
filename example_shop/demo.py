"""``flask --app example_shop demo``: create the database and the demo accounts and goods."""

from __future__ import annotations

from decimal import Decimal

import click
from flask_migrate import upgrade
from sqlalchemy import select

from flask_partialpay.money import to_minor

from . import partialpay
from .models import Product, User, db

DEMO_USERS = [
    # email, name, password, admin
    ("asha@example.com", "Asha Rao", "asha-demo", False),
    ("ravi@example.com", "Ravi Kumar", "ravi-demo", False),
    ("admin@example.com", "Shop Admin", "admin-demo", True),
]

GOODS, TOPUP = False, True
DEMO_PRODUCTS = [
    # sku, name, description, price, currency, taxable, wallet top-up
    ("kurta", "Cotton kurta", "Hand-block printed, in indigo.", "200", "INR", True, GOODS),
    ("chai", "Masala chai tin", "250 g of Assam leaf with spices.", "100", "INR", True, GOODS),
    (
        "course",
        "Online business course",
        "Twelve weeks with a mentor; pay in parts.",
        "5000",
        "USD",
        False,
        GOODS,
    ),
    ("notebook", "Linen notebook", "A5, 192 dotted pages.", "12.50", "USD", False, GOODS),
    # Wallet credit sold through the cart: bought on its own, never paid from the wallet.
    ("wallet-topup-500", "Wallet top-up", "Adds ₹500 to your wallet.", "500", "INR", False, TOPUP),
]
# The README's example: Asha starts with ₹100 in her wallet.
DEMO_WALLET_CREDIT = ("asha@example.com", "100", "INR", "Welcome credit")


def seed(*, welcome_credit: bool = True) -> None:
    """Add the demo accounts and products that are missing (safe to run again).

    ``welcome_credit``: also put Asha's ₹100 in her wallet (once, however often it runs).
    """
    for email, name, password, is_admin in DEMO_USERS:
        if db.session.scalars(select(User).where(User.email == email)).first() is None:
            user = User(email=email, name=name, is_admin=is_admin)
            user.set_password(password)
            db.session.add(user)
    for sku, name, description, price, currency, taxable, is_topup in DEMO_PRODUCTS:
        if db.session.scalars(select(Product).where(Product.sku == sku)).first() is None:
            db.session.add(
                Product(
                    sku=sku,
                    name=name,
                    description=description,
                    price_minor=to_minor(Decimal(price), currency),
                    currency=currency,
                    taxable=taxable,
                    is_wallet_topup=is_topup,
                )
            )
    db.session.commit()
    if welcome_credit:
        _credit_welcome()


def _credit_welcome() -> None:
    email, credit, currency, memo = DEMO_WALLET_CREDIT
    user = db.session.scalars(select(User).where(User.email == email)).one()
    # The key makes running the seed again credit nothing more.
    partialpay.state().wallets.credit(
        str(user.id),
        credit,
        currency,
        reason="adjustment",
        idempotency_key=f"demo-welcome-credit:{user.id}",
        memo=memo,
    )


@click.command("demo")
def demo_command() -> None:
    """Bring the database up to date and add the demo accounts and goods."""
    upgrade(revision="heads")
    seed()
    click.echo("Demo shop ready. Sign in as:")
    for email, _name, password, is_admin in DEMO_USERS:
        click.echo(f"  {email} / {password}{'  (admin)' if is_admin else ''}")
