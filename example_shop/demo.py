"""``flask --app example_shop demo``: create the database and the demo accounts and goods."""

from __future__ import annotations

from decimal import Decimal

import click
from flask_migrate import upgrade
from sqlalchemy import select

from flask_partialpay.money import to_minor

from .models import Product, User, db

DEMO_USERS = [
    # email, name, password, admin
    ("asha@example.com", "Asha Rao", "asha-demo", False),
    ("ravi@example.com", "Ravi Kumar", "ravi-demo", False),
    ("admin@example.com", "Shop Admin", "admin-demo", True),
]

DEMO_PRODUCTS = [
    # sku, name, description, price, currency, taxable
    ("kurta", "Cotton kurta", "Hand-block printed, in indigo.", "200", "INR", True),
    ("chai", "Masala chai tin", "250 g of Assam leaf with spices.", "100", "INR", True),
    (
        "course",
        "Online business course",
        "Twelve weeks with a mentor; pay in parts.",
        "5000",
        "USD",
        False,
    ),
    ("notebook", "Linen notebook", "A5, 192 dotted pages.", "12.50", "USD", False),
]


def seed() -> None:
    """Add the demo accounts and products that are missing (safe to run again)."""
    for email, name, password, is_admin in DEMO_USERS:
        if db.session.scalars(select(User).where(User.email == email)).first() is None:
            user = User(email=email, name=name, is_admin=is_admin)
            user.set_password(password)
            db.session.add(user)
    for sku, name, description, price, currency, taxable in DEMO_PRODUCTS:
        if db.session.scalars(select(Product).where(Product.sku == sku)).first() is None:
            db.session.add(
                Product(
                    sku=sku,
                    name=name,
                    description=description,
                    price_minor=to_minor(Decimal(price), currency),
                    currency=currency,
                    taxable=taxable,
                )
            )
    db.session.commit()


@click.command("demo")
def demo_command() -> None:
    """Bring the database up to date and add the demo accounts and goods."""
    upgrade(revision="heads")
    seed()
    click.echo("Demo shop ready. Sign in as:")
    for email, _name, password, is_admin in DEMO_USERS:
        click.echo(f"  {email} / {password}{'  (admin)' if is_admin else ''}")
