"""The shop's own tables: users, products, carts, orders and the inbox. The extension owns
none of them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from flask_login import UserMixin
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from flask_partialpay import OrderInfo
from flask_partialpay.core.money import from_minor


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


# The largest id an Integer column holds on every database (INT is 32 bits on PostgreSQL
# and MariaDB): a bigger number is no row, and must not reach a query, where SQLite and
# PostgreSQL answer with an error instead of finding nothing.
MAX_ROW_ID = 2**31 - 1
# An order's number is its id plus this (the first order is #1001).
ORDER_NUMBER_OFFSET = 1000


def naive_utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class User(UserMixin, db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shop_user"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    # The language last chosen in the switcher while signed in: the shop's e-mails to the
    # user are written in it. None: the shop's default (English).
    language: Mapped[str | None] = mapped_column(String(8), default=None)

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password)

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class Product(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shop_product"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(String(500), default="")
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    taxable: Mapped[bool] = mapped_column(Boolean, default=True)
    # Buying it adds its price to the customer's wallet; it is sold on its own, never
    # with goods, and never paid from the wallet.
    is_wallet_topup: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")

    @property
    def price(self) -> Decimal:
        return from_minor(self.price_minor, self.currency)


class CartLine(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shop_cart_line"
    __table_args__ = (UniqueConstraint("user_id", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("shop_user.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("shop_product.id"))
    quantity: Mapped[int] = mapped_column(Integer, default=1)

    product: Mapped[Product] = relationship(lazy="joined")


class Order(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shop_order"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("shop_user.id"), index=True)
    currency: Mapped[str] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(BigInteger)
    tax_minor: Mapped[int] = mapped_column(BigInteger)
    # Goods plus tax: what the order costs, before the wallet part.
    total_minor: Mapped[int] = mapped_column(BigInteger)
    # The "Via wallet" line: held from the wallet when the order was placed, not charged.
    # Follows the extension's part (see show_wallet_part): zero once released.
    wallet_minor: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    is_wallet_topup: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # One unit of an offer, placed when its "Buy" link or "Buy now" was opened (not from a
    # cart): paid on the extension's payment step, in instalments where the link allows it.
    is_offer: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # awaiting_payment -> paid, or declined (an offer order) / cancelled / refunded
    status: Mapped[str] = mapped_column(String(20), default="awaiting_payment")
    # The checkout form's key: submitting checkout twice places one order.
    checkout_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=naive_utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)

    lines: Mapped[list[OrderLine]] = relationship(lazy="selectin", order_by="OrderLine.id")
    user: Mapped[User] = relationship(lazy="joined")

    @property
    def number(self) -> str:
        return str(ORDER_NUMBER_OFFSET + self.id)

    @property
    def status_label(self) -> str:
        """The status in the words of the page: an offer order reads Open / Completed."""
        if self.is_offer:
            return OFFER_STATUS_LABELS.get(self.status, _plain_label(self.status))
        return _plain_label(self.status)

    @property
    def subtotal(self) -> Decimal:
        return from_minor(self.subtotal_minor, self.currency)

    @property
    def tax(self) -> Decimal:
        return from_minor(self.tax_minor, self.currency)

    @property
    def total(self) -> Decimal:
        return from_minor(self.total_minor, self.currency)

    def info(self) -> OrderInfo:
        """The order as the extension needs it: its whole total, before the wallet part."""
        return OrderInfo(
            reference=self.number,
            customer_id=str(self.user_id),
            currency=self.currency,
            total=self.total,
            wallet_topup=self.is_wallet_topup,
            # So that whichever request opens the extension's account attaches the
            # wallet part held at this checkout (a double-submitted checkout, say).
            checkout_key=self.checkout_key,
        )

    @property
    def via_wallet(self) -> Decimal:
        return from_minor(self.wallet_minor, self.currency)

    @property
    def to_pay(self) -> Decimal:
        """The "New total to pay" shown at checkout: the total less the wallet part."""
        return from_minor(self.total_minor - self.wallet_minor, self.currency)


OFFER_STATUS_LABELS = {"awaiting_payment": "Open", "paid": "Completed"}


def _plain_label(status: str) -> str:
    return status.replace("_", " ").capitalize()


def order_by_number(number: str) -> Order | None:
    """The order shown to people as ``number`` (its id plus 1000), if there is one.

    Only the number as the shop writes it: ASCII digits without a leading zero. ``isdigit``
    alone also accepts "²" (which ``int`` refuses) and "١٠٠١" (which ``int`` reads as 1001).
    """
    # More than ten digits is beyond any id (and int() refuses more than 4300 of them).
    if not (number.isascii() and number.isdigit()) or number.startswith("0") or len(number) > 10:
        return None
    order_id = int(number) - ORDER_NUMBER_OFFSET
    if not 1 <= order_id <= MAX_ROW_ID:
        return None
    return db.session.get(Order, order_id)


class OrderLine(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "shop_order_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("shop_order.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("shop_product.id"))
    name: Mapped[str] = mapped_column(String(120))
    unit_price_minor: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer)

    def line_total(self, currency: str) -> Decimal:
        return from_minor(self.unit_price_minor * self.quantity, currency)


class Message(db.Model):  # type: ignore[name-defined,misc]
    """A message from the shop to one customer, with at most one button.

    The button's URL is signed when the message is sent and kept as it was, like a link in
    a chat message: a "Buy" link bound to the recipient stays theirs.
    """

    __tablename__ = "shop_message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("shop_user.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("shop_user.id"))
    body: Mapped[str] = mapped_column(String(1000))
    # "" (no button), "buy" or "complete"
    button_kind: Mapped[str] = mapped_column(String(16), default="")
    button_label: Mapped[str] = mapped_column(String(60), default="")
    button_url: Mapped[str] = mapped_column(String(1000), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=naive_utcnow)

    recipient: Mapped[User] = relationship(foreign_keys=[recipient_id], lazy="joined")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
