"""The extension's per-app state and the ``current_partialpay`` proxy to it.

Views and CLI commands reach the extension through this module, never through
:mod:`.extension`: the extension registers the blueprints and commands, so their importing it
back would make a cycle. ``current_partialpay`` works like Flask's ``current_app``: it is the
:class:`PartialPayState` of the app in context, looked up at each use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any, TypeVar, cast

from flask import current_app
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy.orm import Session
from werkzeug.local import LocalProxy

from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.db.base import utcnow
from flask_partialpay.db.transactions import in_transaction, run_in_transaction
from flask_partialpay.host.config import setting
from flask_partialpay.host.customers import CustomerDirectory
from flask_partialpay.instalments.offers import OfferCatalogue
from flask_partialpay.instalments.service import InstalmentService
from flask_partialpay.ledger.system_accounts import SystemAccountIds
from flask_partialpay.mixins import OfferMixin, OrderMixin
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.gateways.registry import GatewayRegistry
from flask_partialpay.payments.gateways.wallet import WalletGateway
from flask_partialpay.payments.orders import OrderInfo
from flask_partialpay.payments.service import OrderService
from flask_partialpay.wallet.checkout_service import CheckoutService
from flask_partialpay.wallet.wallets import Wallets

if TYPE_CHECKING:
    # For the annotation only: at run time the state gets the extension object handed in.
    from flask_partialpay.extension import PartialPay

T = TypeVar("T")
OrderLoader = Callable[[str], OrderInfo | None]
AdminCheck = Callable[[Any], bool]


def _default_admin_check(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False) and getattr(user, "is_admin", False))


@dataclass
class PartialPayState:
    """Everything the extension keeps for one app: ``app.extensions["partialpay"]``."""

    extension: PartialPay
    db: SQLAlchemy
    #: Given to ``init_app`` for this app only; None: the extension object's (decorators).
    own_order_loader: OrderLoader | None
    own_admin_check: AdminCheck | None
    customer_directory: CustomerDirectory | None = None
    offer_catalogue: OfferCatalogue | None = None
    #: The host's order and product models, with :class:`OrderMixin` and
    #: :class:`OfferMixin` (``init_app(order_model=..., offer_model=...)``), or None.
    order_model: type[OrderMixin] | None = None
    offer_model: type[OfferMixin] | None = None
    #: What time it is: an aware UTC datetime. Given to ``init_app`` by tests (and by a host
    #: that wants a clock of its own) to move time forward; due dates, reminders, overdue
    #: instalments and the scheduler all read it, never the system clock directly.
    clock: Callable[[], datetime] = utcnow
    #: The services the host calls, ``partialpay.<service>`` (see each class).
    orders: OrderService = field(init=False)
    checkout: CheckoutService = field(init=False)
    instalments: InstalmentService = field(init=False)
    wallets: Wallets = field(init=False)
    wallet_gateway: WalletGateway = field(init=False)
    #: Which gateways this app has and offers; built by ``init_app``.
    gateway_registry: GatewayRegistry = field(init=False)
    #: The ids of this app's system accounts, so that a movement needs no SELECT for them
    #: (``init_app`` also puts it in ``app.extensions``, where the ledger finds it).
    system_accounts: SystemAccountIds = field(default_factory=SystemAccountIds)

    def __post_init__(self) -> None:
        self.orders = OrderService(self)
        self.checkout = CheckoutService(self)
        self.instalments = InstalmentService(self)
        self.wallets = Wallets(self)
        self.wallet_gateway = WalletGateway(lambda: self.session)

    @property
    def session(self) -> Session:
        return self.db.session()

    # Looked up at each call, not copied at init_app: a host that registers its callbacks
    # with ``@partialpay.order_loader`` after ``init_app`` gets them used all the same.
    @property
    def order_loader(self) -> OrderLoader | None:
        return self.own_order_loader or self.extension._order_loader

    @property
    def admin_check(self) -> AdminCheck:
        return self.own_admin_check or self.extension._admin_check or _default_admin_check

    def transaction(self, work: Callable[[], T]) -> T:
        """Run ``work`` in a fresh transaction, committed, retried on contention.

        Changes the host left pending in the session are committed first: a retry rolls
        back, and it must not take the host's work with it. Called from inside another
        unit of work (a signal receiver, say), it joins that one instead.
        """
        session = self.session
        if session.in_transaction() and not in_transaction():
            session.commit()
        return run_in_transaction(session, work, retries=int(setting("DB_RETRIES")))

    def at_once(self, work: Callable[[], T | None]) -> T | None:
        """Run ``work``, one statement the database commits as it runs it (see
        :func:`~flask_partialpay.db.transactions.autocommitted`), after committing what
        the host left pending; None when called from inside another unit of work, whose
        transaction it must join, or when ``work`` did nothing."""
        if in_transaction():
            return None
        session = self.session
        if session.in_transaction():
            session.commit()
        return work()

    @property
    def gateways(self) -> dict[str, Gateway]:
        """The gateways offered at checkout, in ``PARTIALPAY_GATEWAYS`` order (no wallet)."""
        return self.gateway_registry.enabled

    def gateway(self, name: str) -> Gateway:
        """The enabled gateway or the wallet called ``name``; :class:`UnknownGateway` if none."""
        return self.gateway_registry.get(name)

    def is_admin(self, user: Any) -> bool:
        return bool(self.admin_check(user))

    def now(self) -> datetime:
        """The app's clock: an aware UTC datetime."""
        moment = self.clock()
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ConfigurationError("The PartialPay clock must return an aware datetime.")
        return moment

    def today(self) -> date:
        """The date in UTC by the app's clock: the day due dates are compared with."""
        return self.now().astimezone(UTC).date()


def partialpay_state() -> PartialPayState:
    """The state of the app in context; a clear error when the extension is not registered."""
    try:
        state = current_app.extensions["partialpay"]
    except KeyError:
        raise ConfigurationError(
            "PartialPay is not registered on this app: call partialpay.init_app(app, db)."
        ) from None
    assert isinstance(state, PartialPayState)
    return state


#: The :class:`PartialPayState` of the app in context (as ``current_app`` is the app).
current_partialpay = cast(PartialPayState, LocalProxy(partialpay_state))
