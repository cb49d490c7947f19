"""``flask --app example_shop demo``: create the database and the demo accounts, goods and
the instalment offer's Buy message."""

from __future__ import annotations

from decimal import Decimal

import click
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy import select, text

from flask_partialpay import PartialPayModel
from flask_partialpay.core.money import to_minor
from flask_partialpay.plans.policy import IntervalUnit, PlanMode, PlanPolicy
from flask_partialpay.sandbox.models import SandboxModel

from . import partialpay
from .forms import BUTTON_LABELS, BUY
from .models import Message, Product, User, db

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
    (
        "workshop",
        "Weaving workshop",
        "Four Saturday mornings at the loom; pay a quarter now, the rest monthly.",
        "100",
        "USD",
        False,
        GOODS,
    ),
    # Wallet credit sold through the cart: bought on its own, never paid from the wallet.
    ("wallet-topup-500", "Wallet top-up", "Adds ₹500 to your wallet.", "500", "INR", False, TOPUP),
]
# The example of docs/demo.md: Asha starts with ₹100 in her wallet.
DEMO_WALLET_CREDIT = ("asha@example.com", "100", "INR", "Welcome credit")
# The instalment walk-through of docs/instalments.md: the $5000 course may be paid in
# parts, at least 1% ($50) first, and counts as successful at 90% ($4,500); the admin has
# sent Asha its Buy button with "Allow Partial Payments" ticked.
DEMO_OFFER_SKU = "course"
DEMO_MINIMUM_PERCENT, DEMO_SUCCESS_PERCENT = Decimal("1"), Decimal("90")
# The payment plan of docs/payment-plans.md: the $100 workshop is paid 25% first, then 3
# monthly instalments ($25.00 each), and the admin has sent Asha its Buy button.
DEMO_PLAN_SKU = "workshop"
DEMO_PLAN = PlanPolicy(
    PlanMode.SCHEDULE, first_percent=Decimal("25"), count=3, every=1, unit=IntervalUnit.MONTH
)
DEMO_PLAN_MESSAGE = (
    "admin@example.com",
    "asha@example.com",
    "Hello Asha, here is the Weaving workshop: pay a quarter now and the rest in three "
    "monthly instalments.",
)
DEMO_MESSAGE = (
    "admin@example.com",
    "asha@example.com",
    "Hello Asha, here is the Online business course. You can pay it in parts: "
    "tick Make Payment Partial when you pay.",
)


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
    _seed_instalment_offer()
    _seed_plan_offer()


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


def _seed_instalment_offer() -> None:
    """The course's partial-payment policy and the admin's Buy message to Asha, once.

    The message marks it done: running the seed again neither sends a second one nor
    undoes a policy the admin has changed since.
    """
    author_email, recipient_email, body = DEMO_MESSAGE
    author = db.session.scalars(select(User).where(User.email == author_email)).one()
    recipient = db.session.scalars(select(User).where(User.email == recipient_email)).one()
    sent = db.session.scalars(
        select(Message).where(
            Message.author_id == author.id,
            Message.recipient_id == recipient.id,
            Message.body == body,
        )
    ).first()
    if sent is not None:
        return
    course = db.session.scalars(select(Product).where(Product.sku == DEMO_OFFER_SKU)).one()
    offer_id = str(course.id)
    partialpay.instalments.set_policy(
        offer_id,
        allow_partial=True,
        minimum_percent=DEMO_MINIMUM_PERCENT,
        success_percent=DEMO_SUCCESS_PERCENT,
        by=str(author.id),
    )
    # The seed runs from the command line, outside any request: links are built as paths,
    # the way a request to the site's root would build them.
    with current_app.test_request_context("/"):
        url = partialpay.instalments.buy_link(
            offer_id, allow_partial=True, customer_id=str(recipient.id)
        )
    db.session.add(
        Message(
            recipient_id=recipient.id,
            author_id=author.id,
            body=body,
            button_kind=BUY,
            button_label=BUTTON_LABELS[BUY],
            button_url=url,
        )
    )
    db.session.commit()


def _seed_plan_offer() -> None:
    """The workshop's payment plan and the admin's Buy message to Asha, once (as above)."""
    author_email, recipient_email, body = DEMO_PLAN_MESSAGE
    author = db.session.scalars(select(User).where(User.email == author_email)).one()
    recipient = db.session.scalars(select(User).where(User.email == recipient_email)).one()
    sent = db.session.scalars(
        select(Message).where(Message.recipient_id == recipient.id, Message.body == body)
    ).first()
    if sent is not None:
        return
    workshop = db.session.scalars(select(Product).where(Product.sku == DEMO_PLAN_SKU)).one()
    offer_id = str(workshop.id)
    partialpay.instalments.set_policy(
        offer_id,
        allow_partial=True,
        minimum_percent=Decimal(0),
        success_percent=None,
        plan=DEMO_PLAN,
        by=str(author.id),
    )
    with current_app.test_request_context("/"):
        url = partialpay.instalments.buy_link(
            offer_id, allow_partial=True, customer_id=str(recipient.id)
        )
    db.session.add(
        Message(
            recipient_id=recipient.id,
            author_id=author.id,
            body=body,
            button_kind=BUY,
            button_label=BUTTON_LABELS[BUY],
            button_url=url,
        )
    )
    db.session.commit()


def drop_everything() -> None:
    """Drop the shop's and the extension's tables and the migration record: an empty database."""
    db.session.remove()
    # The sandbox processor's tables too, whether or not the shop enables it now.
    for metadata in (db.metadata, PartialPayModel.metadata, SandboxModel.metadata):
        metadata.drop_all(db.engine)
    with db.engine.begin() as connection:
        connection.execute(text("DROP TABLE IF EXISTS alembic_version"))


@click.command("demo")
@click.option(
    "--reset",
    is_flag=True,
    help="Drop every table of the shop and the extension first (all orders, payments, "
    "wallets and accounts are lost), then create the demo afresh.",
)
def demo_command(reset: bool) -> None:
    """Bring the database up to date and add the demo accounts, goods and messages.

    Run again, it adds only what is missing: what you did in the demo stays. With
    ``--reset`` the demo starts over as on the first run (Asha's wallet holds ₹100, the
    first order is #1001), for the documentation's walk-throughs from the start.
    """
    if reset:
        drop_everything()
        click.echo(f"Dropped every table of {db.engine.url.render_as_string()}.")
    upgrade(revision="heads")
    seed()
    click.echo("Demo shop ready. Sign in as:")
    for email, _name, password, is_admin in DEMO_USERS:
        click.echo(f"  {email} / {password}{'  (admin)' if is_admin else ''}")
