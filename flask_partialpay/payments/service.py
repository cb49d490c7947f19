"""The host's order events and order queries: ``partialpay.orders``.

One :class:`OrderService` per app, built from its state; ``partialpay.orders`` and
``current_partialpay.orders`` are the one of the app in context. Each event is one database
transaction, retried on contention.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import TYPE_CHECKING

from flask_login import current_user
from sqlalchemy import select

from flask_partialpay.core.errors import ConfigurationError, OrderNotFound, PaymentError
from flask_partialpay.core.ids import HostId, host_id
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import from_minor, to_minor
from flask_partialpay.core.vocabulary import OrderStatus
from flask_partialpay.host.redirects import require_return_path
from flask_partialpay.payments import (
    closing,
    decisions,
    due,
    gateway_calls,
    lifecycle,
    order_refunds,
    orders,
)
from flask_partialpay.payments.gateways.external import ExternalGateway
from flask_partialpay.payments.models import RETURN_URL_LENGTH, OrderRecord, Payment
from flask_partialpay.payments.order_refunds import RefundSplit
from flask_partialpay.payments.orders import OrderInfo

if TYPE_CHECKING:
    from flask_partialpay.state import PartialPayState

SIGN_IN_TO_PAY = N_("Sign in to pay this order.")


class OrderService:
    """The host's orders as the extension keeps them: events, queries, payments, decisions."""

    def __init__(self, state: PartialPayState) -> None:
        self._state = state

    # -- the host's order events ---------------------------------------------------------

    def placed(self, info: OrderInfo, *, checkout_key: str | None = None) -> OrderRecord:
        """The host placed an order; the extension opens its record (idempotent).

        ``info.checkout_key`` (or ``checkout_key`` here): the key given to
        ``partialpay.checkout.hold_wallet`` for this checkout. The wallet money held then
        becomes the order's pending wallet payment ("Via wallet"), and the other gateways
        are asked only for the rest. Give it in the order loader's :class:`OrderInfo` too:
        then a second submission of the checkout that pays the order before this call
        arrives attaches it first. ``info.total`` is the order's whole total, before the
        "Via wallet" line.
        """
        state = self._state
        if checkout_key is not None:
            info = replace(info, checkout_key=checkout_key)

        def work() -> OrderRecord:
            account = orders.open_order(state.session, info)
            state.session.refresh(account)
            return account

        return state.transaction(work)

    def paid(
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
        state = self._state
        reference = host_id(reference, "reference")
        key = idempotency_key or f"{method}:{reference}"

        def work() -> bool:
            account = self._account_or_load(reference)
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

    def cancelled(self, reference: HostId) -> bool:
        """The host cancelled its order: pending payments stop, the wallet part goes back to
        the wallet, money a gateway took is reported (``refund_owed``); False if it was
        closed already or is unknown."""
        return self._close(reference, OrderStatus.CANCELLED) is not None

    def refunded(
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
            account = self.find(reference)
            assert account is not None
            currency = account.currency
            return RefundSplit(
                amount=from_minor(closed.to_wallet_minor + closed.owed_minor, currency),
                to_wallet=from_minor(closed.to_wallet_minor, currency),
                owed_at_gateways=from_minor(closed.owed_minor, currency),
            )
        if not idempotency_key:
            raise ConfigurationError("orders.refunded(amount=...) needs an idempotency_key.")
        state = self._state

        def work() -> RefundSplit:
            account = self.find(reference)
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
        state = self._state

        def work() -> closing.Closed | None:
            account = self.find(reference)
            if account is None:
                return None
            return closing.close_order(
                state.session, account, closed_as, wallet_gateway=state.wallet_gateway
            )

        return state.transaction(work)

    # -- queries -------------------------------------------------------------------------

    def find(self, reference: HostId) -> OrderRecord | None:
        """The extension's account of the host's order ``reference``; None if it has none."""
        reference = host_id(reference, "reference")
        return self._state.session.scalars(
            select(OrderRecord).where(OrderRecord.reference == reference)
        ).one_or_none()

    def payments(self, reference: HostId) -> list[Payment]:
        """The payments of the host's order ``reference``, oldest first (empty if none).

        Every attempt is listed: ``status`` says which succeeded (the order's invoices),
        are pending (a card page open, a transfer awaiting confirmation), or failed, were
        cancelled or replaced. ``find(reference).payments`` gives the same list.
        """
        reference = host_id(reference, "reference")
        return list(
            self._state.session.scalars(
                select(Payment)
                .join(OrderRecord)
                .where(OrderRecord.reference == reference)
                .order_by(Payment.id)
            )
        )

    # -- paying --------------------------------------------------------------------------

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

        An order placed from a checkout whose wallet part was held has that part attached
        first, by the wallet through :mod:`flask_partialpay.payments.settlement`: paying
        needs nothing from the layers above this one.
        """
        state = self._state
        reference = host_id(reference, "reference")
        chosen = state.gateway(gateway)
        # The shopper is redirected there after paying: never to another site.
        require_return_path(return_url, max_length=RETURN_URL_LENGTH)
        customer_id = current_user.get_id() if current_user.is_authenticated else None

        def record(replaceable: frozenset[str]) -> lifecycle.Started:
            if customer_id is None:
                raise PaymentError(SIGN_IN_TO_PAY)
            account = self._account_or_load(reference)
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

    def _account_or_load(self, reference: str) -> OrderRecord:
        """The order's record, checked against the host's order as it is now.

        With an order loader, the host's order is read on every payment: if its total,
        currency or customer changed since the account was opened, the payment is refused
        (IdempotencyConflict) rather than collecting a stale total.
        """
        state = self._state
        if state.order_loader is None:
            account = self.find(reference)
            if account is None:
                raise ConfigurationError(
                    "Pass order_loader= to init_app (or use @partialpay.order_loader), "
                    "or call partialpay.orders.placed(...) before paying an order."
                )
            return account
        info = state.order_loader(reference)
        if info is None:
            raise OrderNotFound(reference=reference)
        return orders.open_order(state.session, info)

    # -- the admin's decisions -------------------------------------------------------------

    def complete(self, reference: HostId, *, by: str) -> None:
        """Complete an Open order by hand once its confirmed payments reach the success
        threshold; raises :class:`CompletionNotAllowed` saying why not otherwise."""
        state = self._state

        def work() -> None:
            account = self.find(reference)
            if account is None:
                raise OrderNotFound(reference=reference)
            decisions.complete_by_hand(state.session, account, by=by, gateways=state.gateway)

        state.transaction(work)

    def decline(self, reference: HostId, *, by: str) -> closing.Closed:
        """Decline an Open order: the customer can no longer pay it (see
        :mod:`flask_partialpay.payments.decisions`)."""
        state = self._state

        def work() -> closing.Closed:
            account = self.find(reference)
            if account is None:
                raise OrderNotFound(reference=reference)
            return decisions.decline(
                state.session, account, by=by, wallet_gateway=state.wallet_gateway
            )

        return state.transaction(work)
