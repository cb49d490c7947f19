"""The ``PartialPay`` extension object: registration and the host's calls.

The per-app state it registers lives in :mod:`.state`, where views and commands find it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from flask import Flask, request
from flask_login import current_user
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import select

from flask_partialpay.core.errors import (
    ConfigurationError,
    OrderNotFound,
    PaymentError,
    WalletBalanceChanged,
)
from flask_partialpay.core.ids import HostId, host_id
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import from_minor, to_minor
from flask_partialpay.core.vocabulary import (
    OrderPurpose,
    OrderStatus,
    PaymentStatus,
    TransferReason,
)
from flask_partialpay.host.config import apply_defaults
from flask_partialpay.host.customers import CustomerDirectory
from flask_partialpay.host.i18n import (
    current_locale,
    format_money,
    gettext,
    status_label,
    translate_error,
)
from flask_partialpay.host.redirects import require_return_path
from flask_partialpay.host.secret_keys import check_secrets
from flask_partialpay.instalments.api import OfferMethods
from flask_partialpay.instalments.offers import OfferCatalogue
from flask_partialpay.ledger import wallet_currencies
from flask_partialpay.migrations import check_sandbox_revisions
from flask_partialpay.payments import (
    closing,
    due,
    gateway_calls,
    lifecycle,
    notifications,
    order_refunds,
    orders,
)
from flask_partialpay.payments import settlement as payment_settlement
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.gateways.external import ExternalGateway
from flask_partialpay.payments.gateways.manual import ManualGateway
from flask_partialpay.payments.gateways.registry import build_registry
from flask_partialpay.payments.models import RETURN_URL_LENGTH, OrderAccount, Payment
from flask_partialpay.payments.order_refunds import RefundSplit
from flask_partialpay.payments.orders import OrderInfo
from flask_partialpay.sandbox.card import SandboxCardGateway
from flask_partialpay.schema import metadatas
from flask_partialpay.state import AdminCheck, OrderLoader, PartialPayState, partialpay_state
from flask_partialpay.wallet import checkout
from flask_partialpay.wallet import parts as wallet_parts
from flask_partialpay.wallet.checkout import CartSummary, FeeLine, WalletChoice, WalletOffer
from flask_partialpay.wallet.settlement import WalletSettlement
from flask_partialpay.web.forms.wallet import WalletChoiceForm
from flask_partialpay.web.reasons import shopper_reason

# What follows a payment (a top-up credited, a wallet part captured or released, an
# overpayment kept) is the wallet's to do; the payments layer cannot import it, so it calls
# the settlement installed here, before any app exists.
payment_settlement.install(WalletSettlement())


@dataclass(frozen=True)
class WalletChoiceView:
    """The wallet choice for one checkout page: the offer, its form, and whether it was saved."""

    offer: WalletOffer
    form: WalletChoiceForm
    saved: bool


class PartialPay(OfferMethods):
    """Partial payments for a Flask shop.

    ``PartialPay(app, db)`` or ``partialpay = PartialPay()`` then
    ``partialpay.init_app(app, db)``. One object may serve several apps; each has its own
    state in ``app.extensions["partialpay"]``.
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
        :mod:`flask_partialpay.payments.gateways.registry`).
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
        state = PartialPayState(
            extension=self,
            db=db,
            own_order_loader=order_loader,
            own_admin_check=admin_check,
            customer_directory=customer_directory,
            offer_catalogue=offer_catalogue,
        )
        state.gateway_registry = build_registry(
            built_in=self._built_in_gateways(state),
            host_gateways=[*self._gateways, *gateways],
            wallet=state.wallet_gateway,
            enabled_names=app.config["PARTIALPAY_GATEWAYS"],
        )
        # After the registry checked PARTIALPAY_GATEWAYS: the sandbox's secret is needed
        # only when it is offered, and its tables only then.
        check_secrets(app)
        check_sandbox_revisions(app)
        app.extensions["partialpay"] = state

        from flask_partialpay.web import register_views

        register_views(app)
        app.add_template_filter(format_money, "partialpay_money")
        app.add_template_global(gettext, "_pp")
        app.add_template_global(current_locale, "partialpay_locale")
        app.add_template_global(status_label, "partialpay_status_label")
        app.add_template_global(translate_error, "partialpay_error")
        app.add_template_global(self.buy_link, "partialpay_buy_link")
        app.add_template_global(shopper_reason, "partialpay_reason")
        app.add_template_global(self.wallet_spendable, "partialpay_wallet_spendable")
        # The fixed words, for templates to compare with instead of bare strings
        # (``partialpay_payment_status.PENDING``); prefixed like every global here, so a
        # host's own ``OrderStatus`` never meets the extension's.
        app.add_template_global(OrderStatus, "partialpay_order_status")
        app.add_template_global(PaymentStatus, "partialpay_payment_status")
        app.add_template_global(TransferReason, "partialpay_transfer_reason")

        from flask_partialpay.cli import partialpay_cli

        app.cli.add_command(partialpay_cli)

    @staticmethod
    def _built_in_gateways(state: PartialPayState) -> list[Gateway]:
        return [
            SandboxCardGateway(
                lambda: state.session,
                state.transaction,
                # The processor posts its notifications to the shop's own handler.
                lambda body, headers: notifications.receive("sandbox_card", body, headers),
            ),
            ManualGateway(),
        ]

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

    # -- the host's order events ---------------------------------------------------------

    def order_placed(self, info: OrderInfo, *, checkout_key: str | None = None) -> OrderAccount:
        """The host placed an order; the extension opens its account (idempotent).

        ``info.checkout_key`` (or ``checkout_key`` here): the key given to
        :meth:`hold_wallet` for this checkout. The wallet money held then becomes the
        order's pending wallet payment ("Via wallet"), and the other gateways are asked
        only for the rest. Give it in the order loader's :class:`OrderInfo` too: then a
        second submission of the checkout that pays the order before this call arrives
        attaches it first. ``info.total`` is the order's whole total, before the "Via
        wallet" line.
        """
        state = self.state()
        if checkout_key is not None:
            info = replace(info, checkout_key=checkout_key)

        def work() -> OrderAccount:
            account = wallet_parts.open_order(state.session, info)
            state.session.refresh(account)
            return account

        return state.transaction(work)

    def order_paid(
        self,
        reference: HostId,
        *,
        amount: Decimal | None = None,
        method: str = "external",
        idempotency_key: str | None = None,
    ) -> bool:
        """The host collected ``amount`` (default: all that is due) outside the extension.

        Recorded as a succeeded payment so the order's paid amount stays the sum of its
        payments. Reporting the same event again (same ``idempotency_key``, by default one
        per order and method) records nothing and returns False.
        """
        state = self.state()
        reference = host_id(reference, "reference")
        key = idempotency_key or f"{method}:{reference}"

        def work() -> bool:
            account = self._account_or_load(state, reference)
            previous = lifecycle.payment_by_key(state.session, key)
            charge = amount if amount is not None else account.due
            if previous is not None and amount is None:
                charge = previous.amount
            started = lifecycle.start(
                state.session,
                account=account,
                gateway=ExternalGateway(method),
                amount=charge,
                customer_id=account.customer_id,
                return_url="/",
                idempotency_key=key,
            )
            return lifecycle.succeed(state.session, started.payment)

        return state.transaction(work)

    def order_cancelled(self, reference: HostId) -> bool:
        """The host cancelled its order: pending payments stop, the wallet part goes back to
        the wallet, money a gateway took is reported (``refund_owed``); False if it was
        closed already or is unknown."""
        return self._close(reference, OrderStatus.CANCELLED) is not None

    def order_refunded(
        self,
        reference: HostId,
        *,
        amount: Decimal | None = None,
        idempotency_key: str | None = None,
    ) -> RefundSplit | None:
        """The host refunded its order, in full or (with ``amount``) in part.

        In full: like a cancel, recorded as refunded. In part: the wallet is credited its
        proportional share at once and the rest is reported as owed at the gateways (see
        :mod:`flask_partialpay.payments.order_refunds` for the rounding); ``idempotency_key`` is
        then required, so that reporting the same refund twice credits once. Returns how
        the amount was split, or None for a full refund of an unknown or closed order.
        """
        reference = host_id(reference, "reference")
        if amount is None:
            closed = self._close(reference, OrderStatus.REFUNDED)
            if closed is None:
                return None
            account = self.account(reference)
            assert account is not None
            currency = account.currency
            return RefundSplit(
                amount=from_minor(closed.to_wallet_minor + closed.owed_minor, currency),
                to_wallet=from_minor(closed.to_wallet_minor, currency),
                owed_at_gateways=from_minor(closed.owed_minor, currency),
            )
        if not idempotency_key:
            raise ConfigurationError("order_refunded(amount=...) needs an idempotency_key.")
        state = self.state()

        def work() -> RefundSplit:
            account = self.account(reference)
            if account is None:
                raise OrderNotFound(reference=reference)
            return order_refunds.refund_part(
                state.session,
                account,
                to_minor(amount, account.currency),
                idempotency_key=idempotency_key,
                wallet_gateway=state.wallet_gateway,
            )

        return state.transaction(work)

    def _close(self, reference: HostId, closed_as: orders.ClosedAs) -> closing.Closed | None:
        state = self.state()

        def work() -> closing.Closed | None:
            account = self.account(reference)
            if account is None:
                return None
            return closing.close_order(
                state.session, account, closed_as, wallet_gateway=state.wallet_gateway
            )

        return state.transaction(work)

    # -- the wallet at checkout -----------------------------------------------------------

    def cart_fees(self, cart: CartSummary) -> list[FeeLine]:
        """Call inside the host's cart-totals computation; add the lines to the totals.

        With the wallet applied this is the "Via wallet" line: negative, non-taxable.
        """
        return self.wallet_offer(cart).fee_lines()

    def wallet_offer(self, cart: CartSummary) -> WalletOffer:
        """What the wallet does for ``cart`` now: eligible, spendable, applied, covers all."""
        return checkout.wallet_offer(self.state(), cart, checkout.stored_choice(cart.currency))

    def wallet_choice(self, cart: CartSummary) -> WalletChoiceView:
        """The "Use wallet balance" form for the host's checkout page, and its submission.

        Call it in the view that shows the cart, for GET and POST. When the request is the
        form's submission and it is valid, the choice is saved and ``saved`` is True: the
        host redirects back to the page. When it is not valid, the form carries its errors
        (shown next to its fields) and nothing changed. Render it with
        ``{% include "partialpay/_wallet_choice.html" %}`` (the variable ``wallet``).

        Included inside the host's checkout form (``{% set wallet_in_checkout_form = true
        %}`` first), the choice is also submitted by the checkout button: call this in the
        checkout view too, before placing the order, so that what the form showed when it
        was submitted (ticked or not, and the amount) is what is applied, "Apply" pressed
        or not. ``saved`` then says the submitted choice was stored; compare the "Via
        wallet" amount now with the one the shopper was shown before charging anything.
        """
        offer = self.wallet_offer(cart)
        form = WalletChoiceForm(prefix="wallet", currency=cart.currency, maximum=offer.maximum)
        submitted = request.method == "POST" and (
            form.apply.name in request.form or form.shown.name in request.form
        )
        if not submitted:
            form = WalletChoiceForm(
                formdata=None,
                prefix="wallet",
                currency=cart.currency,
                maximum=offer.maximum,
                data={
                    "use_wallet": offer.applied > 0,
                    "amount": "" if offer.chosen_amount is None else str(offer.chosen_amount),
                },
            )
            return WalletChoiceView(offer=offer, form=form, saved=False)
        if not (offer.eligible and offer.changeable) or not form.validate():
            return WalletChoiceView(offer=offer, form=form, saved=False)
        chosen = WalletChoice(use=bool(form.use_wallet.data), amount=form.amount.amount)
        checkout.store_choice(cart.currency, chosen)
        return WalletChoiceView(offer=self.wallet_offer(cart), form=form, saved=True)

    def hold_wallet(
        self, cart: CartSummary, *, checkout_key: str, expected: Decimal | None = None
    ) -> Decimal:
        """Hold the wallet part of the order about to be placed; the amount held.

        Call it when the shopper places the order, before the host writes it, with a key
        unique to this checkout (the checkout form's). The amount is decided again here from
        the balance now; submitting the same checkout twice holds once. ``expected`` is the
        "Via wallet" amount the shopper was shown (carried by the checkout form): it is
        only compared, never used. When the amount now differs from it, or the balance is
        gone by the time it is held, :class:`WalletBalanceChanged` is raised and nothing is
        held: show the cart again with its new total. Then pass the key to
        :meth:`order_placed`.
        """
        state = self.state()

        def work() -> Decimal:
            earlier = wallet_parts.checkout_hold(state.session, checkout_key)
            if earlier is not None:
                return earlier.amount
            applied = self.wallet_offer(cart).applied
            if (expected is not None and applied != expected) or applied <= 0:
                # Perhaps a second submission of this checkout held the balance a moment
                # ago (so it looks spent): its hold is this checkout's.
                twin = wallet_parts.checkout_hold(state.session, checkout_key, lock=True)
                if twin is not None:
                    return twin.amount
            if expected is not None and applied != expected:
                raise WalletBalanceChanged()
            if applied <= 0 or cart.customer_id is None:
                return from_minor(0, cart.currency)
            return wallet_parts.hold_for_checkout(
                state.session,
                customer_id=cart.customer_id,
                currency=cart.currency,
                amount_minor=to_minor(applied, cart.currency),
                checkout_key=checkout_key,
            ).amount

        return state.transaction(work)

    # -- payments ------------------------------------------------------------------------

    def available_gateways(
        self, cart: CartSummary | None = None, *, order: str | None = None
    ) -> list[Gateway]:
        """The payment methods to offer, in the configured order.

        With the ``cart`` being checked out (or the reference of the ``order`` being paid),
        the "Wallet" gateway comes first when the customer's spendable balance covers all of
        it: the whole order is then paid from the wallet and nothing else.
        """
        state = self.state()
        offered: list[Gateway] = list(state.gateways.values())
        if self._wallet_covers(cart, order):
            offered.insert(0, state.wallet_gateway)
        return offered

    def _wallet_covers(self, cart: CartSummary | None, order: str | None) -> bool:
        if cart is not None:
            return self.wallet_offer(cart).covers_total
        if order is None or not current_user.is_authenticated:
            return False
        account = self.account(order)
        if (
            account is None
            or account.purpose != OrderPurpose.ORDER
            or account.status != OrderStatus.OPEN
        ):
            return False
        summary = CartSummary(
            customer_id=current_user.get_id(),
            currency=account.currency,
            subtotal=account.due,
            tax=from_minor(0, account.currency),
        )
        return account.customer_id == summary.customer_id and (
            self.wallet_offer(summary).covers_total
        )

    def pay(
        self,
        reference: HostId,
        *,
        gateway: str,
        return_url: str,
        amount: Decimal | None = None,
        idempotency_key: str | None = None,
    ) -> lifecycle.Started:
        """Start paying ``amount`` (default: all that is due) of the current user's order.

        Without ``amount`` it pays the order's ``due`` less what card payments under way
        may still charge: the most the payment may be, ``payment_range(account).maximum``,
        so "pay all" is never refused for asking too much. Returns the payment and the URL
        to send the shopper to. Raises :class:`OrderNotFound` when the order is unknown or
        not the current user's, :class:`OrderNotPayable` when it is closed or paid, and
        :class:`PaymentError` when payments under way already cover what is due.
        """
        state = self.state()
        reference = host_id(reference, "reference")
        chosen = state.gateway(gateway)
        # The shopper is redirected there after paying: never to another site.
        require_return_path(return_url, max_length=RETURN_URL_LENGTH)
        customer_id = current_user.get_id() if current_user.is_authenticated else None

        def record(replaceable: frozenset[str]) -> lifecycle.Started:
            if customer_id is None:
                raise PaymentError(N_("Sign in to pay this order."))
            account = self._account_or_load(state, reference)
            if account.customer_id != customer_id:
                raise OrderNotFound(reference=reference)
            charge = amount
            if charge is None:
                # "All that is due" was decided by the first request under this key: a
                # repeat after it paid (the wallet settles at once) replays it. Otherwise
                # it is the most the payment may be, by the same rule start() checks.
                earlier = lifecycle.payment_by_key(state.session, idempotency_key)
                charge = (
                    earlier.amount
                    if earlier is not None
                    else due.payable_now(
                        state.session,
                        account,
                        customer_id,
                        state.gateway,
                        replaceable=replaceable,
                        idempotency_key=idempotency_key,
                    )
                )
            return lifecycle.start(
                state.session,
                account=account,
                gateway=chosen,
                amount=charge,
                customer_id=customer_id,
                return_url=return_url,
                idempotency_key=idempotency_key,
                gateways=state.gateway,
                replaceable=replaceable,
            )

        return gateway_calls.start_payment(
            state,
            reference=reference,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            record=record,
        )

    def account(self, reference: HostId) -> OrderAccount | None:
        """The extension's account of the host's order ``reference``; None if it has none."""
        reference = host_id(reference, "reference")
        return (
            self.state()
            .session.scalars(select(OrderAccount).where(OrderAccount.reference == reference))
            .one_or_none()
        )

    def via_wallet(self, order: OrderAccount) -> Decimal:
        """The order's "Via wallet" part now: held for it at checkout, or taken for it.

        It drops to zero when the part goes back to the wallet (the card failed, the hold
        lapsed) and comes back if it is taken again. Hosts that show the line on their
        order page read it here, for instance from the ``wallet_applied``,
        ``wallet_captured`` and ``wallet_released`` signals (their ``order``).
        """
        return from_minor(
            wallet_parts.via_wallet_minor(self.state().session, order), order.currency
        )

    def wallet_spendable(self, reference: HostId) -> Decimal:
        """What the current customer's wallet could pay towards their open order now.

        Zero when the order is not theirs, not open, buys wallet credit, or the wallet is
        locked or not kept in the order's currency. The payment step offers "Use my wallet
        balance" when this is above zero: after a declined card, say, whose wallet part
        went back to the wallet. Templates read it as ``partialpay_wallet_spendable``.
        """
        account = self.account(host_id(reference, "reference"))
        customer_id = current_user.get_id() if current_user.is_authenticated else None
        if (
            account is None
            or account.customer_id != customer_id
            or account.status != OrderStatus.OPEN
            or account.purpose != OrderPurpose.ORDER
        ):
            return Decimal(0)
        spendable = self.state().wallets.spendable(account.customer_id, account.currency)
        return min(spendable, account.due)

    def payments_for(self, reference: HostId) -> list[Payment]:
        """The payments of the host's order ``reference``, oldest first (empty if none).

        Every attempt is listed: ``status`` says which succeeded (the order's invoices),
        are pending (a card page open, a transfer awaiting confirmation), or failed, were
        cancelled or replaced. ``account(reference).payments`` gives the same list.
        """
        reference = host_id(reference, "reference")
        return list(
            self.state().session.scalars(
                select(Payment)
                .join(OrderAccount)
                .where(OrderAccount.reference == reference)
                .order_by(Payment.id)
            )
        )

    def _account_or_load(self, state: PartialPayState, reference: str) -> OrderAccount:
        """The order's account, checked against the host's order as it is now.

        With an order loader, the host's order is read on every payment: if its total,
        currency or customer changed since the account was opened, the payment is refused
        (IdempotencyConflict) rather than collecting a stale total.
        """
        if state.order_loader is None:
            account = self.account(reference)
            if account is None:
                raise ConfigurationError(
                    "Pass order_loader= to init_app (or use @partialpay.order_loader), "
                    "or call partialpay.order_placed(...) before paying an order."
                )
            return account
        info = state.order_loader(reference)
        if info is None:
            raise OrderNotFound(reference=reference)
        return wallet_parts.open_order(state.session, info)
