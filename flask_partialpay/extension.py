"""The ``PartialPay`` extension object: registration, and the services of the app in context.

The per-app state it registers lives in :mod:`.state`, where views and commands find it;
the services are built there, one set per app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Flask
from flask_sqlalchemy import SQLAlchemy

from flask_partialpay.core.errors import ConfigurationError
from flask_partialpay.core.vocabulary import OrderStatus, PaymentStatus, TransferReason
from flask_partialpay.db import sqlite_pragmas
from flask_partialpay.host.config import apply_defaults
from flask_partialpay.host.customers import CustomerDirectory
from flask_partialpay.host.i18n import (
    current_locale,
    format_day,
    format_money,
    gettext,
    status_label,
    translate_error,
)
from flask_partialpay.host.secret_keys import check_secrets
from flask_partialpay.instalments.autopay import check_retry_setting
from flask_partialpay.instalments.offers import OfferCatalogue
from flask_partialpay.instalments.plan_orders import check_grace_setting
from flask_partialpay.instalments.service import InstalmentService
from flask_partialpay.ledger import wallet_currencies
from flask_partialpay.ledger.system_accounts import EXTENSION_KEY as SYSTEM_ACCOUNTS_KEY
from flask_partialpay.mail import init_app as init_mail
from flask_partialpay.migrations import check_sandbox_revisions, wire_flask_migrate
from flask_partialpay.mixins import (
    ModelOfferCatalogue,
    OfferMixin,
    OrderMixin,
    check_models,
    connect_receivers,
)
from flask_partialpay.mixins import order_loader as model_order_loader
from flask_partialpay.payments import notifications
from flask_partialpay.payments import settlement as payment_settlement
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.gateways.manual import ManualGateway
from flask_partialpay.payments.gateways.registry import build_registry
from flask_partialpay.payments.service import OrderService
from flask_partialpay.sandbox.card import SandboxCardGateway
from flask_partialpay.scheduler.plan_charges import connect as connect_plan_charges
from flask_partialpay.scheduler.plan_settings import check_settings as check_plan_job_settings
from flask_partialpay.schema import metadatas
from flask_partialpay.state import AdminCheck, OrderLoader, PartialPayState, partialpay_state
from flask_partialpay.stripe_gateway.gateway import StripeGateway
from flask_partialpay.stripe_gateway.settings import check_settings as check_stripe_settings
from flask_partialpay.wallet.checkout import CartSummary
from flask_partialpay.wallet.checkout_service import CheckoutService
from flask_partialpay.wallet.settlement import WalletSettlement
from flask_partialpay.wallet.wallets import Wallets
from flask_partialpay.web.checkout_page import (
    CheckoutPage,
    SubmittedCheckout,
    checkout_page,
    render_buy_button,
    render_checkout,
    submit_checkout,
)
from flask_partialpay.web.reasons import shopper_reason

# What follows a payment (a top-up credited, a wallet part captured or released, an
# overpayment kept) is the wallet's to do; the payments layer cannot import it, so it calls
# the settlement installed here, before any app exists.
payment_settlement.install(WalletSettlement())


class PartialPay:
    """Partial payments for a Flask shop.

    ``PartialPay(app, db)`` or ``partialpay = PartialPay()`` then
    ``partialpay.init_app(app, db)``. One object may serve several apps; each has its own
    state in ``app.extensions["partialpay"]``.

    The host's calls are on its services, each the one of the app in context (like
    Flask-SQLAlchemy's ``db.session``, nothing of an app is stored here):
    ``partialpay.orders`` (order events, queries, paying an order, the admin's decisions),
    ``partialpay.checkout`` (the wallet at checkout), ``partialpay.instalments`` (offers,
    links, paying an instalment) and ``partialpay.wallets`` (balances, credits, holds).
    ``current_partialpay.<service>`` is the same object.
    """

    def __init__(
        self,
        app: Flask | None = None,
        db: SQLAlchemy | None = None,
        *,
        order_loader: OrderLoader | None = None,
        admin_check: AdminCheck | None = None,
        gateways: Iterable[Gateway] = (),
    ) -> None:
        self._order_loader = order_loader
        self._admin_check = admin_check
        #: The host's own gateways, registered on every app this object serves.
        self._gateways = tuple(gateways)
        if app is not None:
            self.init_app(app, db)

    # -- registration -------------------------------------------------------------------

    def init_app(
        self,
        app: Flask,
        db: SQLAlchemy | None = None,
        *,
        order_loader: OrderLoader | None = None,
        admin_check: AdminCheck | None = None,
        customer_directory: CustomerDirectory | None = None,
        offer_catalogue: OfferCatalogue | None = None,
        gateways: Iterable[Gateway] = (),
        clock: Callable[[], datetime] | None = None,
        order_model: type[OrderMixin] | None = None,
        offer_model: type[OfferMixin] | None = None,
    ) -> None:
        """Register on ``app``; ``db`` is the host's Flask-SQLAlchemy object.

        ``order_loader`` and ``admin_check`` given here apply to this app only and take
        precedence over the ones registered with the decorators. ``customer_directory``
        lets the admin wallet pages find customers by name or email (see
        :mod:`flask_partialpay.host.customers`). ``offer_catalogue`` gives the host's offers to
        instalment Buy links and the admin offer pages (see
        :mod:`flask_partialpay.instalments.offers`).
        ``gateways`` are the host's own payment methods (see :class:`Gateway`), registered
        on this app beside the built-in ones and those given to the constructor;
        ``PARTIALPAY_GATEWAYS`` says which are offered (see
        :mod:`flask_partialpay.payments.gateways.registry`). ``clock`` returns the time as an
        aware UTC datetime (default: the system clock); tests give one to move time forward.

        ``order_model`` is the host's order model with :class:`OrderMixin`: its defaults
        are the order loader (unless ``order_loader`` is given), the receivers that mark
        an order paid, completed or declined, and the orders
        :meth:`submit_checkout` places. ``offer_model``, the host's product model with
        :class:`OfferMixin`, is the offer catalogue (instead of ``offer_catalogue``): a Buy
        button places one ``order_model`` order of one unit.
        """
        if "partialpay" in app.extensions:
            raise ConfigurationError(
                "PartialPay is already registered on this app; call init_app once per app."
            )
        db = db or app.extensions.get("sqlalchemy")
        if not isinstance(db, SQLAlchemy):
            raise ConfigurationError(
                "PartialPay needs the app's Flask-SQLAlchemy object: "
                "call init_app(app, db) after db.init_app(app)."
            )
        apply_defaults(app)
        wallet_currencies.check_setting(app.config["PARTIALPAY_WALLET_CURRENCIES"])
        check_grace_setting(app.config["PARTIALPAY_PLAN_GRACE_DAYS"])
        check_plan_job_settings(app.config)
        check_retry_setting(
            app.config["PARTIALPAY_PLAN_RETRY_DAYS"], app.config["PARTIALPAY_PLAN_GRACE_DAYS"]
        )
        check_models(order_model, offer_model)
        if offer_model is not None and offer_catalogue is not None:
            raise ConfigurationError("Pass offer_model= or offer_catalogue= to init_app, not both.")
        self._set_sqlite_pragmas(app, db)
        state = PartialPayState(
            extension=self,
            db=db,
            own_order_loader=order_loader,
            own_admin_check=admin_check,
            customer_directory=customer_directory,
            offer_catalogue=offer_catalogue,
            order_model=order_model,
            offer_model=offer_model,
        )
        if order_model is not None:
            if order_loader is None:
                state.own_order_loader = model_order_loader(lambda: state.session, order_model)
            if offer_model is not None:
                state.offer_catalogue = ModelOfferCatalogue(
                    lambda: state.session, offer_model, order_model
                )
        if clock is not None:
            state.clock = clock
        state.gateway_registry = build_registry(
            built_in=self._built_in_gateways(state),
            host_gateways=[*self._gateways, *gateways],
            wallet=state.wallet_gateway,
            enabled_names=app.config["PARTIALPAY_GATEWAYS"],
        )
        state.gateway_registry.allow_topups(app.config["PARTIALPAY_TOPUP_GATEWAYS"])
        # After the registry checked PARTIALPAY_GATEWAYS: the sandbox's secret is needed
        # only when it is offered, and its tables only then.
        check_secrets(app)
        check_stripe_settings(app)
        # Flask-Migrate, when the app has it: the extension's branches, the host's own
        # revisions kept apart, plain upgrade and downgrade; then the sandbox's tables must
        # come out of it.
        wire_flask_migrate(app)
        check_sandbox_revisions(app)
        app.extensions["partialpay"] = state
        app.extensions[SYSTEM_ACCOUNTS_KEY] = state.system_accounts
        # PARTIALPAY_MAIL: the e-mails of the money signals, queued in their transaction.
        init_mail(app, state)
        if order_model is not None:
            connect_receivers(app, order_model)
        # The automatic charges' e-mails, queued when their payments are decided.
        connect_plan_charges(app)

        from flask_partialpay.web import register_views

        register_views(app)
        app.add_template_filter(format_money, "partialpay_money")
        app.add_template_filter(format_day, "partialpay_date")
        app.add_template_global(gettext, "_pp")
        app.add_template_global(current_locale, "partialpay_locale")
        app.add_template_global(status_label, "partialpay_status_label")
        app.add_template_global(translate_error, "partialpay_error")
        app.add_template_global(state.instalments.buy_link, "partialpay_buy_link")
        app.add_template_global(shopper_reason, "partialpay_reason")
        app.add_template_global(render_checkout, "partialpay_checkout")
        app.add_template_global(render_buy_button, "partialpay_buy_button")
        app.add_template_global(state.checkout.wallet_spendable, "partialpay_wallet_spendable")
        # The fixed words, for templates to compare with instead of bare strings
        # (``partialpay_payment_status.PENDING``); prefixed like every global here, so a
        # host's own ``OrderStatus`` never meets the extension's.
        app.add_template_global(OrderStatus, "partialpay_order_status")
        app.add_template_global(PaymentStatus, "partialpay_payment_status")
        app.add_template_global(TransferReason, "partialpay_transfer_reason")

        from flask_partialpay.cli import partialpay_cli

        app.cli.add_command(partialpay_cli)

    @staticmethod
    def _set_sqlite_pragmas(app: Flask, db: SQLAlchemy) -> None:
        # Flask-SQLAlchemy creates the app's engines in db.init_app, which comes first: the
        # engine the extension's tables use (the default one) exists now, and the pragmas
        # are set on it whatever engine options the host passed.
        with app.app_context():
            try:
                engine = db.engine
            except RuntimeError as error:  # db.init_app(app) was not called (yet)
                raise ConfigurationError(
                    "PartialPay needs the app's Flask-SQLAlchemy object: "
                    "call init_app(app, db) after db.init_app(app)."
                ) from error
        sqlite_pragmas.apply_to(
            engine,
            sqlite_pragmas.SqlitePragmas(
                journal_mode=app.config["PARTIALPAY_SQLITE_JOURNAL_MODE"],
                synchronous=app.config["PARTIALPAY_SQLITE_SYNCHRONOUS"],
            ),
        )

    @staticmethod
    def _built_in_gateways(state: PartialPayState) -> list[Gateway]:
        return [
            SandboxCardGateway(
                lambda: state.session,
                state.transaction,
                # The processor posts its notifications to the shop's own handler.
                lambda body, headers: notifications.receive("sandbox_card", body, headers),
            ),
            # Offered only when PARTIALPAY_GATEWAYS names it; Stripe's SDK is loaded at
            # its first call, so an app without it runs without the SDK.
            StripeGateway(lambda: state.session),
            ManualGateway(),
        ]

    # -- the checkout, for hosts with an order_model ------------------------------------

    @staticmethod
    def checkout_page(cart: CartSummary, lines: Iterable[tuple[str, Decimal]]) -> CheckoutPage:
        """What the host's checkout page shows for ``cart``; ``lines`` are its totals lines.

        Returns the lines to show (``lines``, then "Via wallet" and "New total to pay" when
        the customer's wallet applies), the "Use wallet balance" choice, the payment
        methods and a new checkout key. Render them inside the checkout form with
        ``{{ partialpay_checkout(page) }}``. See :mod:`flask_partialpay.web.checkout_page`.
        """
        return checkout_page(cart, lines)

    @staticmethod
    def submit_checkout(
        cart: CartSummary,
        create_order: Callable[[], OrderMixin],
        *,
        return_url: Callable[[Any], str] | None = None,
        back: str | None = None,
    ) -> SubmittedCheckout:
        """In the view the checkout form posts to: place the order and start paying it.

        Holds the wallet part, calls ``create_order()`` (the host writes its order, an
        ``order_model`` instance: added, not committed) inside the extension's
        transaction, opens the order's record and starts paying the rest with the method
        chosen. Returns where to send the shopper (``.url``) and the order (``.order``,
        None when nothing was placed: a flashed message says why, or the wallet choice was
        applied). The same form submitted twice places, holds and pays once. Needs
        ``init_app(..., order_model=...)``.
        """
        return submit_checkout(cart, create_order, return_url=return_url, back=back)

    def order_loader(self, loader: OrderLoader) -> OrderLoader:
        """Decorator: ``loader(reference)`` returns the host's order as an :class:`OrderInfo`.

        It takes effect whenever it is applied, before or after ``init_app``, for every app
        that was not given its own ``order_loader=`` in ``init_app``.
        """
        self._order_loader = loader
        return loader

    def admin_check(self, check: AdminCheck) -> AdminCheck:
        """Decorator: ``check(user)`` says whether a user may use the admin pages.

        Like :meth:`order_loader`, it takes effect whenever it is applied.
        """
        self._admin_check = check
        return check

    def create_tables(self) -> None:
        """Create the extension's tables in the app's database (without migrations).

        The sandbox card processor's tables only when the app enables the sandbox card.
        """
        engine = self.state().db.engine
        for metadata in metadatas():
            metadata.create_all(engine)

    @staticmethod
    def state() -> PartialPayState:
        """The state of the app in context (the same as ``current_partialpay``)."""
        return partialpay_state()

    # -- the services of the app in context ---------------------------------------------

    @property
    def orders(self) -> OrderService:
        """The host's order events and queries, paying an order, the admin's decisions."""
        return partialpay_state().orders

    @property
    def checkout(self) -> CheckoutService:
        """The wallet at the host's checkout: the "Via wallet" line, the choice, the hold."""
        return partialpay_state().checkout

    @property
    def instalments(self) -> InstalmentService:
        """Instalment offers: policies, Buy and Complete Payment links, paying instalments."""
        return partialpay_state().instalments

    @property
    def wallets(self) -> Wallets:
        """Customers' wallets: balances, credits, debits and holds."""
        return partialpay_state().wallets
