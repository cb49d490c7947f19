"""Defaults for a host whose orders and products are SQLAlchemy models: the mixins.

``class Order(OrderMixin, db.Model)`` and ``partialpay.init_app(app, db, order_model=Order)``
give the extension what a host otherwise writes by hand: the order loader (an order's
reference is its primary key as a string), the :class:`OrderInfo` built from the order's
``customer_id``, ``currency`` and ``total_minor``, and receivers that mark the order paid,
completed or declined in the payment's own transaction. ``class Product(OfferMixin,
db.Model)`` and ``offer_model=Product`` give the offer catalogue of instalment offers: a
Buy button places one order of one unit of the product.

Each default is one method or class attribute the host may override; nothing here is
called outside ``init_app``'s wiring and :meth:`PartialPay.submit_checkout`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Self

from flask import Flask
from sqlalchemy import Select, String, func, inspect, select
from sqlalchemy.exc import IntegrityError, NoInspectionAvailable
from sqlalchemy.orm import Mapped, Mapper, Session, mapped_column, object_session

from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.core.money import from_minor, to_minor
from flask_partialpay.core.vocabulary import OrderPurpose, OrderStatus
from flask_partialpay.db.transactions import StaleSnapshot
from flask_partialpay.host import signals
from flask_partialpay.instalments.offers import OfferInfo
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.payments.orders import OrderInfo

# A primary key as a reference: digits without a leading zero, small enough for a BIGINT.
# Anything else ("07", "1e3", "-1", "１") names no order: never a query, never an error.
_ROW_ID = re.compile(r"[1-9][0-9]{0,17}\Z")
# Where init_app keeps the app's order model, for the receivers below.
ORDER_MODEL_KEY = "partialpay.order_model"


def row_id(text: str) -> int | None:
    """``text`` as a primary key, or None when it is not one (see :data:`_ROW_ID`)."""
    return int(text) if _ROW_ID.match(text) else None


def _mapper(model: type[Any], what: str) -> Mapper[Any]:
    try:
        mapper: Mapper[Any] = inspect(model)
    except NoInspectionAvailable:
        raise ConfigurationError(
            f"{what} must be a mapped SQLAlchemy model (class {model.__name__}(..., db.Model))."
        ) from None
    return mapper


def _integer_key(model: type[Any], what: str) -> None:
    keys = _mapper(model, what).primary_key
    if len(keys) != 1 or _python_type(keys[0].type) is not int:
        raise ConfigurationError(
            f"{what} {model.__name__} has no single integer primary key to use as its "
            "reference: set partialpay_reference_attribute to the column that names it."
        )


def _python_type(column_type: Any) -> type | None:
    try:
        python_type: type = column_type.python_type
    except NotImplementedError:
        return None
    return python_type


class OrderMixin:
    """The host's order model, as the extension reads and updates it.

    Read: ``customer_id`` (the customer's Flask-Login id, ``user.get_id()``, or the int it
    is made from), ``currency`` (an ISO 4217 code) and ``total_minor`` (the order's whole
    total, taxes included, in minor units: an ``int``, cents for EUR). Override
    :meth:`partialpay_total` for a total kept another way.

    Written: the column ``partialpay_checkout_key`` this mixin adds (the checkout that
    placed the order: submitted twice, it places one order), and ``status`` when the
    order is paid, completed by an admin or declined (see :meth:`partialpay_paid`).
    """

    #: The key of the checkout form that placed the order; None for orders placed
    #: otherwise (a Buy button, the host's own code). Unique: the same checkout submitted
    #: twice finds the order the first submission placed.
    partialpay_checkout_key: Mapped[str | None] = mapped_column(
        String(64), unique=True, default=None
    )

    #: The attribute whose value is the order's reference, as the shopper and the admin
    #: pages see it; None: the primary key (an integer column).
    partialpay_reference_attribute: ClassVar[str | None] = None
    #: What the default hooks write in ``status``: ``"paid"``, and the extension's own
    #: words for an order an admin completed or declined (``"completed"``, ``"declined"``).
    partialpay_paid_status: ClassVar[str] = "paid"
    partialpay_completed_status: ClassVar[str] = OrderStatus.COMPLETED.value
    partialpay_declined_status: ClassVar[str] = OrderStatus.DECLINED.value

    if TYPE_CHECKING:
        # The host's columns (see the class's documentation): for the type checker only,
        # declarative mapping must not see them as the mixin's.
        customer_id: Any
        currency: str
        total_minor: int
        status: str

    @property
    def partialpay_reference(self) -> str:
        """The order's reference: its primary key, or ``partialpay_reference_attribute``."""
        attribute = self.partialpay_reference_attribute
        if attribute is not None:
            return str(getattr(self, attribute))
        (identity,) = _mapper(type(self), "order_model").primary_key_from_instance(self)
        return str(identity)

    def partialpay_total(self) -> Decimal:
        """The order's total as a ``Decimal``: ``total_minor`` in the order's currency."""
        return from_minor(self.total_minor, self.currency)

    def partialpay_info(self) -> OrderInfo:
        """The order as the extension needs it (the order loader's answer)."""
        return OrderInfo(
            reference=self.partialpay_reference,
            customer_id=str(self.customer_id),
            currency=self.currency,
            total=self.partialpay_total(),
            checkout_key=self.partialpay_checkout_key,
        )

    @classmethod
    def partialpay_find(cls, session: Session, reference: str) -> Self | None:
        """The order called ``reference``; None for anything that names no order."""
        attribute = cls.partialpay_reference_attribute
        if attribute is not None:
            mapped = _mapper(cls, "order_model").columns.get(attribute)
            value: str | int | None = reference
            if mapped is not None and _python_type(mapped.type) is int:
                # An integer column is compared with an integer, or not at all: "abc" or a
                # number past BIGINT would be a database error (a 500) on PostgreSQL.
                value = row_id(reference)
            if value is None:
                return None
            column = getattr(cls, attribute)
            return session.scalars(select(cls).where(column == value)).one_or_none()
        identity = row_id(reference)
        return None if identity is None else session.get(cls, identity)

    @classmethod
    def partialpay_find_checkout(
        cls, session: Session, key: str, *, lock: bool = False
    ) -> Self | None:
        """The order the checkout with form key ``key`` placed, if it placed one."""
        query = select(cls).where(cls.partialpay_checkout_key == key)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return session.scalars(query).one_or_none()

    @classmethod
    def partialpay_for_offer(cls, offer: OfferInfo, customer_id: str) -> Self:
        """A new order of one unit of ``offer`` for ``customer_id``: what a Buy button places.

        Override it to write more (the order's lines, say); the extension adds and flushes
        it. ``customer_id`` is converted to an int when the column is an integer one.
        """
        order = cls()
        column = _mapper(cls, "order_model").columns.get("customer_id")
        integer = column is not None and _python_type(column.type) is int
        order.customer_id = int(customer_id) if integer else customer_id
        order.currency = offer.currency
        order.total_minor = to_minor(offer.price, offer.currency)
        return order

    # -- the hooks: called inside the payment's transaction, so what they write commits
    # with it; they must not commit, send e-mail or call out (see signals).

    def partialpay_paid(self) -> None:
        """Its confirmed payments reached its total (``order_fully_paid``)."""
        self.status = self.partialpay_paid_status

    def partialpay_completed(self, by: str) -> None:
        """An admin completed it before it was paid in full (``order_completed``, ``by``
        the admin): at the success threshold, or waiving what was left."""
        self.status = self.partialpay_completed_status

    def partialpay_declined(self, by: str) -> None:
        """An admin declined it (``order_declined``): it can no longer be paid."""
        self.status = self.partialpay_declined_status


class OfferMixin:
    """The host's product model, sold as instalment offers through Buy buttons.

    Read: ``name``, ``currency`` and ``price_minor`` (the price of one unit in minor units,
    what an order for it costs in all); override :meth:`partialpay_price` for a price
    kept another way, and :meth:`partialpay_offers` to sell only some products. An offer's
    id is the product's primary key (an integer column).
    """

    if TYPE_CHECKING:
        name: str
        currency: str
        price_minor: int

    def partialpay_price(self) -> Decimal:
        """What one order of the product costs: ``price_minor`` in its currency."""
        return from_minor(self.price_minor, self.currency)

    def partialpay_offer(self) -> OfferInfo:
        (identity,) = _mapper(type(self), "offer_model").primary_key_from_instance(self)
        return OfferInfo(
            offer_id=str(identity),
            name=self.name,
            price=self.partialpay_price(),
            currency=self.currency,
        )

    @classmethod
    def partialpay_offers(cls) -> Select[Any]:
        """The products sold as offers: all of them unless overridden."""
        return select(cls)

    @classmethod
    def partialpay_find(cls, session: Session, offer_id: str) -> Self | None:
        identity = row_id(offer_id)
        if identity is None:
            return None
        (key,) = _mapper(cls, "offer_model").primary_key
        found = session.scalars(cls.partialpay_offers().where(key == identity)).one_or_none()
        return found if isinstance(found, cls) else None


class ModelOfferCatalogue:
    """The :class:`~flask_partialpay.OfferCatalogue` of ``offer_model=`` and ``order_model=``."""

    SEARCH_LIMIT = 50

    def __init__(
        self,
        session: Callable[[], Session],
        offer_model: type[OfferMixin],
        order_model: type[OrderMixin],
    ) -> None:
        self._session = session
        self._offers = offer_model
        self._orders = order_model

    def get(self, offer_id: str) -> OfferInfo | None:
        product = self._offers.partialpay_find(self._session(), offer_id)
        return None if product is None else product.partialpay_offer()

    def search(self, query: str) -> list[OfferInfo]:
        """Offers whose name contains ``query``, ignoring case; the first ones for ""."""
        statement = self._offers.partialpay_offers()
        needle = query.strip().lower()
        name = _mapper(self._offers, "offer_model").columns["name"]
        if needle:
            statement = statement.where(func.lower(name).contains(needle, autoescape=True))
        products = self._session().scalars(statement.order_by(name).limit(self.SEARCH_LIMIT))
        return [
            product.partialpay_offer() for product in products if isinstance(product, OfferMixin)
        ]

    def place_order(self, offer: OfferInfo, customer_id: str) -> OrderInfo:
        """One order of one unit, at the product's price now; added and flushed."""
        session = self._session()
        product = self._offers.partialpay_find(session, offer.offer_id)
        if product is None:
            raise LookupError(f"There is no offer {offer.offer_id!r}.")
        order = self._orders.partialpay_for_offer(product.partialpay_offer(), customer_id)
        session.add(order)
        session.flush()
        return order.partialpay_info()


def check_models(order_model: type[Any] | None, offer_model: type[Any] | None) -> None:
    """Refuse at ``init_app`` what the defaults could not work with, saying what to do."""
    if order_model is not None:
        if not (isinstance(order_model, type) and issubclass(order_model, OrderMixin)):
            raise ConfigurationError("order_model must be a model class with OrderMixin.")
        _mapper(order_model, "order_model")
        if order_model.partialpay_reference_attribute is None:
            _integer_key(order_model, "order_model")
        hooks = ("partialpay_paid", "partialpay_completed", "partialpay_declined")
        default_hooks = any(getattr(order_model, h) is getattr(OrderMixin, h) for h in hooks)
        if default_hooks and not hasattr(order_model, "status"):
            raise ConfigurationError(
                f"{order_model.__name__} has no status column for OrderMixin's hooks to "
                "write: add one, or override partialpay_paid, partialpay_completed and "
                "partialpay_declined."
            )
    if offer_model is not None:
        if not (isinstance(offer_model, type) and issubclass(offer_model, OfferMixin)):
            raise ConfigurationError("offer_model must be a model class with OfferMixin.")
        if order_model is None:
            raise ConfigurationError(
                "offer_model needs order_model too: a Buy button places one of its orders."
            )
        _integer_key(offer_model, "offer_model")


def order_loader(
    session: Callable[[], Session], order_model: type[OrderMixin]
) -> Callable[[str], OrderInfo | None]:
    """The order loader of ``order_model``: its order's info, None for an unknown one."""

    def load(reference: str) -> OrderInfo | None:
        order = order_model.partialpay_find(session(), reference)
        return None if order is None else order.partialpay_info()

    return load


def place_for_checkout(
    session: Session, order_model: type[OrderMixin], create: Callable[[], Any], key: str
) -> OrderMixin:
    """Write the host's order for the checkout ``key``, or find the one a twin wrote.

    ``create`` adds the order (and may flush it). In a savepoint: when a concurrent
    submission of the same checkout committed its order first, the unique key refuses
    this one and that order is returned instead (read with a lock; a snapshot too old to
    see it has the work run again, see :class:`StaleSnapshot`).
    """
    try:
        with session.begin_nested():
            order = create()
            if not isinstance(order, order_model):
                raise ConfigurationError(
                    f"The checkout's create_order must return the new {order_model.__name__}."
                )
            order.partialpay_checkout_key = key
            session.flush()
        return order
    except IntegrityError:
        winner = order_model.partialpay_find_checkout(session, key, lock=True)
        if winner is None:
            raise  # another constraint refused the order: the host's error, not a race
    if order_model.partialpay_find_checkout(session, key) is None:
        raise StaleSnapshot()
    return winner


# -- the receivers: the hooks above, called for the app's own orders ----------------------


def connect_receivers(app: Flask, order_model: type[OrderMixin]) -> None:
    """Call ``order_model``'s hooks when the app's orders are paid, completed, declined."""
    app.extensions[ORDER_MODEL_KEY] = order_model
    signals.order_fully_paid.connect(_on_fully_paid, sender=app)
    signals.order_completed.connect(_on_completed, sender=app)
    signals.order_declined.connect(_on_declined, sender=app)


def _host_order(app: Flask, order: OrderRecord) -> OrderMixin | None:
    model: type[OrderMixin] | None = app.extensions.get(ORDER_MODEL_KEY)
    session = object_session(order)
    if model is None or session is None or order.purpose != OrderPurpose.ORDER:
        return None  # a wallet top-up is the extension's own order, not the host's
    return model.partialpay_find(session, order.reference)


def _on_fully_paid(app: Flask, *, order: OrderRecord, **extra: Any) -> None:
    host_order = _host_order(app, order)
    if host_order is not None:
        host_order.partialpay_paid()


def _on_completed(app: Flask, *, order: OrderRecord, by: str | None, **extra: Any) -> None:
    if by is None:
        return  # paid in full: order_fully_paid said so just before
    host_order = _host_order(app, order)
    if host_order is not None:
        host_order.partialpay_completed(by)


def _on_declined(app: Flask, *, order: OrderRecord, by: str, **extra: Any) -> None:
    host_order = _host_order(app, order)
    if host_order is not None:
        host_order.partialpay_declined(by)
