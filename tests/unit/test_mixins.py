"""OrderMixin and OfferMixin: their defaults, and what ``init_app`` refuses to wire.

The flows (a checkout, a Buy button, the receivers) run on the thirty-line shop in
tests/hosts/test_thirty_lines.py; here, each default on a model of its own, in SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from flask_partialpay import (
    CartSummary,
    ConfigurationError,
    OfferInfo,
    OfferMixin,
    OrderMixin,
    PartialPay,
)
from flask_partialpay.mixins import ModelOfferCatalogue, row_id


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)


class Order(OrderMixin, db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int]
    status: Mapped[str] = mapped_column(String(20), default="new")


class Invoice(OrderMixin, db.Model):  # type: ignore[name-defined,misc]
    """References of its own ("INV-7"), a total as a Decimal, no status column."""

    partialpay_reference_attribute = "number"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(20), unique=True)
    customer_id: Mapped[str] = mapped_column(String(20))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal]
    paid: Mapped[bool] = mapped_column(default=False)

    def partialpay_total(self) -> Decimal:
        return self.total

    def partialpay_paid(self) -> None:
        self.paid = True

    def partialpay_completed(self, by: str) -> None:
        self.paid = True

    def partialpay_declined(self, by: str) -> None:
        pass


class Product(OfferMixin, db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    currency: Mapped[str] = mapped_column(String(3))
    price_minor: Mapped[int]
    hidden: Mapped[bool] = mapped_column(default=False)

    @classmethod
    def partialpay_offers(cls):  # type: ignore[no-untyped-def]
        return super().partialpay_offers().where(cls.hidden.is_(False))


class Statusless(OrderMixin, db.Model):  # type: ignore[name-defined,misc]
    id: Mapped[int] = mapped_column(primary_key=True)


class Keyed(OrderMixin, db.Model):  # type: ignore[name-defined,misc]
    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    status: Mapped[str] = mapped_column(String(8), default="")


@pytest.fixture
def app() -> Iterator[Flask]:
    app = Flask("mixins")
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="x", TESTING=True)
    db.init_app(app)
    PartialPay().init_app(app, db, order_model=Order, offer_model=Product)
    with app.app_context():
        db.create_all()
        yield app


def test_a_reference_is_a_row_id_or_nothing() -> None:
    assert [row_id(text) for text in ("1", "42", "9" * 18)] == [1, 42, int("9" * 18)]
    for text in ("", "0", "01", "1e3", "-1", "+1", " 1", "1 ", "１", "1.0", "9" * 19, "0x1"):
        assert row_id(text) is None, text


def test_the_order_loader_reads_the_orders_columns(app: Flask) -> None:
    db.session.add(Order(customer_id=7, currency="EUR", total_minor=3520))
    db.session.flush()
    info = app.extensions["partialpay"].order_loader("1")
    assert (info.reference, info.customer_id, info.currency, info.total) == (
        "1",
        "7",
        "EUR",
        Decimal("35.20"),
    )
    assert app.extensions["partialpay"].order_loader("01") is None
    assert app.extensions["partialpay"].order_loader("2") is None


def test_a_reference_attribute_and_an_own_total(app: Flask) -> None:
    db.session.add(Invoice(number="INV-7", customer_id="c7", currency="EUR", total=Decimal("12")))
    db.session.flush()
    invoice = Invoice.partialpay_find(db.session(), "INV-7")
    assert invoice is not None and invoice.partialpay_reference == "INV-7"
    assert invoice.partialpay_info().total == Decimal("12.00")
    assert Invoice.partialpay_find(db.session(), "1") is None


def test_the_catalogue_finds_offers_and_places_one_unit(app: Flask) -> None:
    db.session.add_all(
        [
            Product(name="Tea course", currency="EUR", price_minor=30000),
            Product(name="100% tea", currency="EUR", price_minor=500),
            Product(name="Staff tea", currency="EUR", price_minor=100, hidden=True),
        ]
    )
    db.session.flush()
    catalogue = app.extensions["partialpay"].offer_catalogue
    assert isinstance(catalogue, ModelOfferCatalogue)
    assert [offer.name for offer in catalogue.search("TEA")] == ["100% tea", "Tea course"]
    assert [offer.name for offer in catalogue.search("%")] == ["100% tea"]  # no wildcard
    assert catalogue.get("1") == OfferInfo("1", "Tea course", Decimal("300.00"), "EUR")
    assert catalogue.get("3") is None  # not sold as an offer
    assert catalogue.get("1 OR 1=1") is None
    info = catalogue.place_order(catalogue.get("1"), "7")  # type: ignore[arg-type]
    order = db.session.get(Order, int(info.reference))
    assert order is not None and (order.customer_id, order.total_minor) == (7, 30000)
    assert not db.session.new and order in db.session  # flushed, not committed
    db.session.rollback()
    assert db.session.get(Order, int(info.reference)) is None


def bare(**config: object) -> tuple[Flask, SQLAlchemy]:
    app = Flask("bare_mixins")
    app.config.update(SQLALCHEMY_DATABASE_URI="sqlite://", SECRET_KEY="x", **config)
    database = SQLAlchemy()
    database.init_app(app)
    return app, database


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"order_model": Statusless}, "no status column"),
        ({"order_model": Keyed}, "no single integer primary key"),
        ({"order_model": Base}, "with OrderMixin"),
        ({"offer_model": Product}, "needs order_model too"),
        ({"order_model": Order, "offer_model": Order}, "with OfferMixin"),
        (
            {"order_model": Order, "offer_model": Product, "offer_catalogue": object()},
            "not both",
        ),
    ],
)
def test_init_app_refuses_models_it_cannot_use(options: dict[str, object], message: str) -> None:
    app, database = bare()
    with pytest.raises(ConfigurationError, match=message):
        PartialPay().init_app(app, database, **options)  # type: ignore[arg-type]


def test_a_model_with_hooks_of_its_own_needs_no_status() -> None:
    app, database = bare()
    PartialPay().init_app(app, database, order_model=Invoice)


def test_submit_checkout_without_an_order_model_says_what_to_pass() -> None:
    app, database = bare()
    partialpay = PartialPay(app, database)
    cart = CartSummary("7", "EUR", Decimal("10.00"), Decimal("0.00"))
    with (
        app.test_request_context("/checkout", method="POST"),
        pytest.raises(ConfigurationError, match="order_model=Order"),
    ):
        partialpay.submit_checkout(cart, lambda: None)  # type: ignore[arg-type,return-value]


class _NumberedBase(DeclarativeBase):
    pass


class Numbered(OrderMixin, _NumberedBase):
    """An order whose reference is an integer column of its own, not its primary key."""

    __tablename__ = "mixins_numbered_order"
    partialpay_reference_attribute = "number"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(sa.BigInteger, unique=True)
    customer_id: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    total_minor: Mapped[int]
    status: Mapped[str] = mapped_column(String(8), default="")


def test_an_integer_reference_attribute_reads_only_numbers(database_url: str) -> None:
    """Hostile references name no order: on PostgreSQL, comparing "abc" or a number past
    BIGINT with an integer column would be a database error, a 500 for the shopper."""
    engine = sa.create_engine(database_url)
    _NumberedBase.metadata.drop_all(engine)
    _NumberedBase.metadata.create_all(engine)
    try:
        with Session(engine) as session:
            session.add(Numbered(number=5001, customer_id=7, currency="EUR", total_minor=100))
            session.flush()
            found = Numbered.partialpay_find(session, "5001")
            assert found is not None and found.partialpay_reference == "5001"
            for hostile in ("abc", "5001 ", "05001", "-1", "9" * 30, "1e3", "５００１"):
                assert Numbered.partialpay_find(session, hostile) is None, hostile
    finally:
        _NumberedBase.metadata.drop_all(engine)
        engine.dispose()
