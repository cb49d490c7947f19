"""The host's calls for instalment offers: ``partialpay.instalments``.

Policies, Buy and Complete Payment links, orders placed from an offer, and paying an
instalment. One :class:`InstalmentService` per app, built from its state;
``partialpay.instalments`` and ``current_partialpay.instalments`` are the one of the app in
context.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from decimal import Decimal
from typing import TYPE_CHECKING

from flask import url_for
from flask_login import current_user
from sqlalchemy import ColumnElement

from flask_partialpay.core.errors import (
    ConfigurationError,
    InsufficientFunds,
    OrderNotFound,
    PaymentError,
    WalletBalanceChanged,
    WalletLocked,
)
from flask_partialpay.core.ids import HostId, host_id, optional_host_id
from flask_partialpay.core.money import from_minor, to_minor
from flask_partialpay.db.paging import Page
from flask_partialpay.host.config import setting
from flask_partialpay.instalments import autopay, links, offer_orders, plan_orders, waivers
from flask_partialpay.instalments import policy as policies
from flask_partialpay.instalments.offers import OfferCatalogue, OfferInfo
from flask_partialpay.instalments.plan_orders import OrderPlan
from flask_partialpay.instalments.policy import Policy
from flask_partialpay.ledger import wallet_accounts
from flask_partialpay.payments import due, gateway_calls, lifecycle, saved_cards
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.models import OrderRecord
from flask_partialpay.payments.plan_range import PaymentRange
from flask_partialpay.payments.saved_cards import SavedCard
from flask_partialpay.payments.service import SIGN_IN_TO_PAY
from flask_partialpay.plans.policy import PlanPolicy, check_plan, raise_first_problem

if TYPE_CHECKING:
    from flask_partialpay.state import PartialPayState

log = logging.getLogger(__name__)


def grace_days() -> int:
    """Days after its due date an unpaid instalment is still due, not overdue."""
    return int(setting("PLAN_GRACE_DAYS"))


def warn_committed_order() -> None:
    log.warning(
        "OfferCatalogue.place_order committed its order: a concurrent request that loses "
        "the offer's slot can then leave a second host order behind. Add and flush the "
        "order there; the extension commits it with the order's record."
    )


class InstalmentService:
    """Instalment offers, as the host and the extension's own pages use them."""

    def __init__(self, state: PartialPayState) -> None:
        self._state = state

    # -- the offer's settings -----------------------------------------------------------

    def policy(self, offer_id: HostId) -> Policy:
        """The offer's "Allow Partial Payments" settings (off for an offer never set up)."""
        return policies.policy_for(self._state.session, host_id(offer_id, "offer_id"))

    def set_policy(
        self,
        offer_id: HostId,
        *,
        allow_partial: bool,
        minimum_percent: Decimal,
        success_percent: Decimal | None,
        plan: PlanPolicy | None = None,
        by: str | None = None,
    ) -> Policy:
        """Store the offer's settings; raises :class:`InvalidPercent` for ones that make no
        sense (see :func:`flask_partialpay.instalments.check_policy`).

        ``plan``: a schedule customers pay on (see :mod:`flask_partialpay.plans`); None or
        a free plan: any amount above the minimum, whenever they like. A schedule is checked
        against the offer's price and today (:func:`~flask_partialpay.plans.check_plan`):
        :class:`~flask_partialpay.plans.policy.InvalidPlan` for the first problem.
        """
        state = self._state
        offer_id = host_id(offer_id, "offer_id")
        policy = Policy(offer_id, allow_partial, minimum_percent, success_percent, plan)
        if policy.plan is not None:
            offer = self.catalogue().get(offer_id)
            if offer is None:
                raise OrderNotFound(reference=offer_id)
            raise_first_problem(
                check_plan(
                    policy.plan,
                    offer.currency,
                    total_minor=to_minor(offer.price, offer.currency),
                    today=state.today(),
                )
            )
        state.transaction(lambda: policies.save_policy(state.session, policy, by=by))
        return policy

    def catalogue(self) -> OfferCatalogue:
        catalogue = self._state.offer_catalogue
        if catalogue is None:
            raise ConfigurationError(
                "Instalment offers need the host's offers: init_app(app, db, offer_catalogue=...)."
            )
        return catalogue

    # -- links --------------------------------------------------------------------------

    def buy_link(
        self,
        offer_id: HostId,
        *,
        allow_partial: bool,
        customer_id: HostId | None = None,
        external: bool = False,
    ) -> str:
        """A signed "Buy" link for the offer (for a message, or a page block).

        ``allow_partial``: the "Allow Partial Payments" box of the button; partial payment
        is offered only if the offer allows it too. ``customer_id``: only that customer
        may use the link (a message to them); None: anyone signed in.
        """
        link = links.BuyLink(
            host_id(offer_id, "offer_id"),
            allow_partial,
            optional_host_id(customer_id, "customer_id"),
        )
        token = links.sign_buy(link)
        return url_for("partialpay.buy", token=token, _external=external)

    def complete_payment_link(
        self,
        customer_id: HostId,
        *,
        order: HostId | None = None,
        offer_name: str | None = None,
        external: bool = False,
    ) -> str:
        """A signed "Complete Payment" link to the customer's Open order, found by its
        number or by the offer's name; raises :class:`OrderNotFound` if there is none."""
        state = self._state
        customer_id = host_id(customer_id, "customer_id")
        account = offer_orders.find_for_link(
            state.session,
            state.offer_catalogue,
            customer_id,
            reference=optional_host_id(order, "order"),
            offer_name=offer_name,
        )
        token = links.sign_complete(links.CompleteLink(customer_id, account.reference))
        return url_for("partialpay.complete_payment", token=token, _external=external)

    # -- orders for offers ---------------------------------------------------------------

    def order_for_offer(self, offer_id: HostId, *, allow_partial: bool) -> OrderRecord:
        """The current customer's Open order for the offer, placed with the host if new."""
        offer_id = host_id(offer_id, "offer_id")
        state = self._state
        if not current_user.is_authenticated:
            raise PaymentError(SIGN_IN_TO_PAY)
        customer_id = str(current_user.get_id())
        catalogue = self.catalogue()
        offer = catalogue.get(offer_id)
        if offer is None:
            raise OrderNotFound(reference=offer_id)

        def work() -> OrderRecord:
            in_parts = offer_orders.paid_in_parts(
                state.session, offer_id, allow_partial=allow_partial
            )
            found = offer_orders.holding_slot(state.session, customer_id, offer_id)
            if found is not None:
                # Opened again (by this link or another, paid in parts or not): the same order.
                if in_parts and not found.instalments:
                    return offer_orders.allow_parts_if_unpaid(
                        state.session, found, today=state.today()
                    )
                return found
            # The host's order is written in this transaction and committed with the
            # account that claims the customer's slot for the offer. When a concurrent
            # request claimed it first, register() has the whole work rolled back (the
            # host's order with it) and run again, and it returns that request's order.
            session_transaction = state.session.get_transaction()
            info = catalogue.place_order(offer, customer_id)
            if state.session.get_transaction() is not session_transaction:
                warn_committed_order()
            return offer_orders.register(
                state.session, info, offer, in_parts=in_parts, today=state.today()
            )

        return state.transaction(work)

    def open_offer(self, offer_id: HostId, *, allow_partial: bool) -> str:
        """Place (or find) the current customer's order for the offer; its payment step URL.

        The host's own offer page calls it with ``allow_partial=False``: an offer opened
        by its direct link is paid in full.
        """
        account = self.order_for_offer(offer_id, allow_partial=allow_partial)
        return url_for("partialpay.pay_step", reference=account.reference)

    def offer(self, offer_id: HostId) -> OfferInfo | None:
        return self.catalogue().get(host_id(offer_id, "offer_id"))

    # -- schedules ------------------------------------------------------------------------

    def order_plan(self, account: OrderRecord) -> OrderPlan | None:
        """The order's schedule as it stands today (None for an order with none): each
        instalment's status, the next one, what is due now and what is left."""
        state = self._state
        return plan_orders.plan_of(
            state.session, account, today=state.today(), grace_days=grace_days()
        )

    def order_plans(self, accounts: Collection[OrderRecord]) -> dict[int, OrderPlan]:
        """:meth:`order_plan` of several orders in one query, by order id."""
        state = self._state
        return plan_orders.plans_of(
            state.session, accounts, today=state.today(), grace_days=grace_days()
        )

    def customer_orders(
        self, customer_id: HostId, *, before: int | None, after: int | None, per_page: int
    ) -> Page[OrderRecord]:
        """The customer's orders paid in instalments, newest first ("My payments")."""
        return plan_orders.customer_orders_page(
            self._state.session,
            host_id(customer_id, "customer_id"),
            before=before,
            after=after,
            per_page=per_page,
        )

    def overdue_condition(self) -> ColumnElement[bool]:
        """Orders with an overdue instalment today, for the admin's Orders filter."""
        return plan_orders.overdue_condition(today=self._state.today(), grace_days=grace_days())

    def waive(self, reference: HostId, number: int, *, by: str, reason: str) -> waivers.Waived:
        """Waive what is left of instalment ``number`` of the order: the customer will not
        be asked for it; what they paid stays paid (see
        :mod:`flask_partialpay.instalments.waivers`). ``by``: the admin's id; ``reason``:
        theirs, which the customer reads. Raises :class:`OrderNotFound`,
        :class:`~.waivers.InstalmentNotFound`, :class:`~.waivers.AlreadyWaived` (a no-op)
        or :class:`~flask_partialpay.core.errors.WaiverNotAllowed`, having changed nothing.
        """
        state = self._state
        reference = host_id(reference, "reference")

        def work() -> waivers.Waived:
            account = state.orders.find(reference)
            if account is None:
                raise OrderNotFound(reference=reference)
            return waivers.waive(
                state.session,
                account,
                number,
                by=by,
                reason=reason,
                now=state.now(),
                today=state.today(),
                grace_days=grace_days(),
            )

        return state.transaction(work)

    # -- automatic payments ---------------------------------------------------------------

    def automatic_payments(self, account: OrderRecord) -> autopay.AutomaticPayments:
        """The order's automatic payments today: the card agreed to, when, and whether it
        can still be charged."""
        state = self._state
        return autopay.automatic_payments(state.session, account, today=state.today())

    def cards_for_automatic_payments(self, account: OrderRecord) -> list[SavedCard]:
        """The order's customer's saved cards that automatic payments may charge."""
        state = self._state
        return autopay.chargeable_cards(
            state.session, account.customer_id, today=state.today(), gateways=state.gateway
        )

    def turn_on_automatic_payments(self, reference: HostId, card_id: str) -> None:
        """The current customer agrees to have their saved card ``card_id`` (its public
        id) charged on the order's due dates; :class:`PaymentError` (nothing changed) for
        an order or a card automatic payments cannot use."""
        state = self._state
        customer_id = self._own_customer(reference)

        def work() -> None:
            account = self._own_order(reference, customer_id)
            card = saved_cards.saved_card(state.session, customer_id, card_id)
            if card is None:
                raise PaymentError(autopay.CARD_NOT_USABLE)
            autopay.turn_on(state.session, account, card, now=state.now(), gateways=state.gateway)

        state.transaction(work)

    def turn_off_automatic_payments(self, reference: HostId) -> bool:
        """The current customer stops automatic payments of their order; False if they
        were off already."""
        state = self._state
        customer_id = self._own_customer(reference)
        return state.transaction(
            lambda: autopay.turn_off(state.session, self._own_order(reference, customer_id))
        )

    def _own_customer(self, reference: HostId) -> str:
        if not current_user.is_authenticated:
            raise OrderNotFound(reference=str(reference))
        return str(current_user.get_id())

    def _own_order(self, reference: HostId, customer_id: str) -> OrderRecord:
        account = self._state.orders.find(reference)
        if account is None or account.customer_id != customer_id:
            raise OrderNotFound(reference=str(reference))
        return account

    # -- paying ---------------------------------------------------------------------------

    def payment_range(self, account: OrderRecord) -> PaymentRange:
        """What the order's customer may pay next (for the payment step's hint)."""
        state = self._state
        allowed, _ = due.allowed_range(
            state.session, account, account.customer_id, state.gateway, lock=False
        )
        return allowed

    def pay(
        self,
        reference: HostId,
        *,
        gateway: str,
        amount: Decimal,
        return_url: str,
        idempotency_key: str,
        use_wallet: bool = False,
    ) -> lifecycle.Started:
        """Pay ``amount`` of the current customer's order: all of it, or an instalment.

        ``use_wallet``: the customer's wallet pays as much of it as it holds; when that is
        all of it, ``gateway`` is not used, otherwise ``gateway`` (a card) pays the rest
        and the wallet part is taken when it succeeds. The minimum, the maximum and the
        declined order are checked under the order's lock (see :func:`lifecycle.start`).
        """
        state = self._state
        reference = host_id(reference, "reference")
        customer_id = str(current_user.get_id()) if current_user.is_authenticated else None
        chosen = state.gateway(gateway)

        def record(replaceable: frozenset[str]) -> lifecycle.Started:
            if customer_id is None:
                raise PaymentError(SIGN_IN_TO_PAY)
            account = self._state.orders.find(reference)
            if account is None or account.customer_id != customer_id:
                raise OrderNotFound(reference=reference)
            whole_minor = to_minor(amount, account.currency)
            from_wallet = self._wallet_share(account, whole_minor) if use_wallet else 0
            method: Gateway
            if from_wallet == whole_minor:
                method, rest_minor, part_minor = state.wallet_gateway, whole_minor, 0
            else:
                method, rest_minor, part_minor = chosen, whole_minor - from_wallet, from_wallet
            try:
                return lifecycle.start(
                    state.session,
                    account=account,
                    gateway=method,
                    amount=from_minor(rest_minor, account.currency),
                    customer_id=customer_id,
                    return_url=return_url,
                    idempotency_key=idempotency_key,
                    gateways=state.gateway,
                    wallet_part_minor=part_minor,
                    replaceable=replaceable,
                )
            except (InsufficientFunds, WalletLocked):
                raise WalletBalanceChanged() from None

        return gateway_calls.start_payment(
            state,
            reference=reference,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            record=record,
        )

    def _wallet_share(self, account: OrderRecord, whole_minor: int) -> int:
        """As much of ``whole_minor`` as the customer's wallet can spend now (the one rule:
        :func:`flask_partialpay.ledger.wallet_accounts.spendable`)."""
        spendable = wallet_accounts.spendable(
            self._state.session, account.customer_id, account.currency
        )
        return min(to_minor(spendable, account.currency), whole_minor)
