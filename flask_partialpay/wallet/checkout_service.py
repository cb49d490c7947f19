"""The wallet at the host's checkout: ``partialpay.checkout``.

One :class:`CheckoutService` per app, built from its state; ``partialpay.checkout`` and
``current_partialpay.checkout`` are the one of the app in context. How much of the wallet
applies is decided in :mod:`.checkout`; this is what the host calls, from its cart totals
to the order placed. It reads no request: the shopper's submitted choice is handed in
(:func:`flask_partialpay.wallet_choice` reads the form for a host that uses the
extension's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from flask_login import current_user

from flask_partialpay.core.errors import WalletBalanceChanged
from flask_partialpay.core.ids import HostId
from flask_partialpay.core.money import from_minor, to_minor
from flask_partialpay.core.vocabulary import OrderPurpose, OrderStatus
from flask_partialpay.payments import orders
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.payments.orders import OrderInfo
from flask_partialpay.wallet import checkout, parts
from flask_partialpay.wallet.checkout import CartSummary, FeeLine, WalletChoice, WalletOffer

if TYPE_CHECKING:
    from flask_partialpay.state import PartialPayState


class CheckoutService:
    """The "Via wallet" line of the host's cart, the shopper's choice, and its hold."""

    def __init__(self, state: PartialPayState) -> None:
        self._state = state

    def cart_fees(self, cart: CartSummary) -> list[FeeLine]:
        """Call inside the host's cart-totals computation; add the lines to the totals.

        With the wallet applied this is the "Via wallet" line: negative, non-taxable.
        """
        return self.wallet_offer(cart).fee_lines()

    def wallet_offer(self, cart: CartSummary) -> WalletOffer:
        """What the wallet does for ``cart`` now: eligible, spendable, applied, covers all."""
        return checkout.wallet_offer(self._state, cart, checkout.stored_choice(cart.currency))

    def choose(self, cart: CartSummary, choice: WalletChoice) -> WalletOffer:
        """Keep the shopper's "Use wallet balance" choice for ``cart``; the offer after it.

        The choice is kept in the shopper's (signed) session, per currency, and is only
        ever an upper bound: the amount applied is decided again from the balance each
        time. Nothing is kept when the wallet is not offered for this cart or the admin's
        settings make its deduction fixed; the offer returned then shows what applies.
        """
        offer = self.wallet_offer(cart)
        if not (offer.eligible and offer.changeable):
            return offer
        checkout.store_choice(cart.currency, choice)
        return self.wallet_offer(cart)

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
        ``partialpay.orders.placed``.
        """
        state = self._state

        def work() -> Decimal:
            earlier = parts.checkout_hold(state.session, checkout_key)
            if earlier is not None:
                return earlier.amount
            applied = self.wallet_offer(cart).applied
            if (expected is not None and applied != expected) or applied <= 0:
                # Perhaps a second submission of this checkout held the balance a moment
                # ago (so it looks spent): its hold is this checkout's.
                twin = parts.checkout_hold(state.session, checkout_key, lock=True)
                if twin is not None:
                    return twin.amount
            if expected is not None and applied != expected:
                raise WalletBalanceChanged()
            if applied <= 0 or cart.customer_id is None:
                return from_minor(0, cart.currency)
            return parts.hold_for_checkout(
                state.session,
                customer_id=cart.customer_id,
                currency=cart.currency,
                amount_minor=to_minor(applied, cart.currency),
                checkout_key=checkout_key,
            ).amount

        return state.transaction(work)

    def place(
        self,
        cart: CartSummary,
        *,
        checkout_key: str,
        expected: Decimal | None,
        find: Callable[[], OrderInfo | None],
        create: Callable[[], OrderInfo],
    ) -> OrderRecord:
        """Hold the wallet part, write the host's order and open its record, in one
        transaction; the record.

        ``find`` returns the order this checkout placed before (the same form submitted
        again), if any; then nothing is held or written. Otherwise the wallet part the
        shopper was shown (``expected``; None: no wallet part, the Wallet method pays it
        all) is held as :meth:`hold_wallet` does, and ``create`` writes the host's order
        (added and flushed, not committed) and returns its info. A balance that changed
        raises :class:`WalletBalanceChanged` and nothing is written, the host's order
        included. No processor is called here: the payment of the rest starts after the
        commit (``partialpay.orders.pay``).
        """
        state = self._state

        def work() -> OrderRecord:
            info = find()
            if info is None:
                if expected is not None:
                    self.hold_wallet(cart, checkout_key=checkout_key, expected=expected)
                info = create()
            account = orders.open_order(state.session, replace(info, checkout_key=checkout_key))
            state.session.refresh(account)
            return account

        return state.transaction(work)

    def available_gateways(
        self, cart: CartSummary | None = None, *, order: str | None = None
    ) -> list[Gateway]:
        """The payment methods to offer, in the configured order.

        With the ``cart`` being checked out (or the reference of the ``order`` being paid),
        the "Wallet" gateway comes first when the customer's spendable balance covers all of
        it: the whole order is then paid from the wallet and nothing else. Here rather than
        on ``partialpay.orders`` because that answer is the wallet offer's.
        """
        state = self._state
        offered: list[Gateway] = list(state.gateways.values())
        if self._wallet_covers(cart, order):
            offered.insert(0, state.wallet_gateway)
        return offered

    def _wallet_covers(self, cart: CartSummary | None, order: str | None) -> bool:
        if cart is not None:
            return self.wallet_offer(cart).covers_total
        if order is None or not current_user.is_authenticated:
            return False
        account = self._state.orders.find(order)
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

    def via_wallet(self, order: OrderRecord) -> Decimal:
        """The order's "Via wallet" part now: held for it at checkout, or taken for it.

        It drops to zero when the part goes back to the wallet (the card failed, the hold
        lapsed) and comes back if it is taken again. Hosts that show the line on their
        order page read it here, for instance from the ``wallet_applied``,
        ``wallet_captured`` and ``wallet_released`` signals (their ``order``).
        """
        return from_minor(parts.via_wallet_minor(self._state.session, order), order.currency)

    def wallet_spendable(self, reference: HostId) -> Decimal:
        """What the current customer's wallet could pay towards their open order now.

        Zero when the order is not theirs, not open, buys wallet credit, or the wallet is
        locked or not kept in the order's currency. The payment step offers "Use my wallet
        balance" when this is above zero: after a declined card, say, whose wallet part
        went back to the wallet. Templates read it as ``partialpay_wallet_spendable``.
        """
        account = self._state.orders.find(reference)
        customer_id = current_user.get_id() if current_user.is_authenticated else None
        if (
            account is None
            or account.customer_id != customer_id
            or account.status != OrderStatus.OPEN
            or account.purpose != OrderPurpose.ORDER
        ):
            return Decimal(0)
        spendable = self._state.wallets.spendable(account.customer_id, account.currency)
        return min(spendable, account.due)
