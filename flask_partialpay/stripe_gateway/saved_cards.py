"""Saved cards at Stripe: the shopper's consent, the card saved once paid, one-click payments.

With the shopper's consent (the card page's "Save this card" box), the payment's
PaymentIntent is given the shopper's Stripe Customer and ``setup_future_usage``; when it
succeeds, Stripe attaches the card to that Customer and the shop keeps the references
(:mod:`flask_partialpay.payments.saved_cards`). A later payment of theirs is then paid in
one click (the PaymentIntent given the saved card and confirmed), or charged off-session
by a payment plan (:meth:`StripeGateway.charge_saved_card`).

Every call to Stripe goes through the gateway's :class:`.client.StripeApi`, outside the
shop's transactions; the shop's reads and writes around them run in transactions of their
own, committed before Stripe is asked.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple, TypeVar

from flask_partialpay.core.errors import (
    CardAuthenticationRequired,
    CardDeclined,
    PaymentError,
    ProcessorUnavailable,
)
from flask_partialpay.core.markers import N_
from flask_partialpay.db.transactions import in_transaction, run_in_transaction
from flask_partialpay.host.config import setting
from flask_partialpay.payments import saved_cards
from flask_partialpay.payments.gateways.base import GatewayEvent
from flask_partialpay.payments.models import Payment
from flask_partialpay.payments.queries import payment_by_public_id
from flask_partialpay.payments.saved_cards import SavedCard
from flask_partialpay.stripe_gateway import NAME, events
from flask_partialpay.stripe_gateway.client import StripeApi

if TYPE_CHECKING:
    import stripe
    from sqlalchemy.orm import Session

T = TypeVar("T")
log = logging.getLogger(__name__)

#: The PaymentIntent's ``setup_future_usage`` that consent sets: the card may be charged
#: later without the shopper (a payment plan), which also covers one-click payments.
FUTURE_USAGE = "off_session"
_SAVES_THE_CARD = frozenset({"on_session", "off_session"})
# The Customer's metadata that names the shop customer it was made for.
CUSTOMER_KEY = "partialpay_customer"


def customer_key(customer_id: str) -> str:
    """The idempotency key of the Stripe Customer of a shop customer: one per customer."""
    return f"partialpay-customer-{customer_id}"


class StripeSavedCards:
    """The saved-card side of :class:`.gateway.StripeGateway` (a base class of it)."""

    name: str
    api: StripeApi
    _session: Callable[[], Session]

    def _transaction(self, work: Callable[[], T]) -> T:
        """``work`` in a transaction of its own, committed before Stripe is asked anything."""
        session = self._session()
        if session.in_transaction() and not in_transaction():
            session.commit()  # what the request read so far: nothing stays open
        return run_in_transaction(session, work, retries=int(setting("DB_RETRIES")))

    # -- the shopper's Stripe Customer --------------------------------------------------

    def customer_for(self, customer_id: str) -> str:
        """The Stripe Customer of a shop customer, made at Stripe at their first consent.

        Made under a key derived from the shop's customer id, so two first consents at
        once reach one Customer at Stripe; the shop keeps the first it records.
        """
        kept = self._transaction(
            lambda: saved_cards.processor_customer(self._session(), NAME, customer_id)
        )
        if kept is not None:
            return kept
        made = self._call(
            "POST",
            "/v1/customers",
            lambda client: client.v1.customers.create(
                {"metadata": {CUSTOMER_KEY: customer_id}},
                {"idempotency_key": customer_key(customer_id)},
            ),
        )
        made_id = str(made.id)
        return self._transaction(
            lambda: saved_cards.keep_processor_customer(self._session(), NAME, customer_id, made_id)
        )

    # -- consent on the card page -------------------------------------------------------

    def consent_to_save(self, payment: Payment, *, save: bool) -> None:
        """Have Stripe save (or no longer save) the card the shopper is about to confirm.

        Sent by the card page before Stripe.js confirms: the PaymentIntent gets the
        shopper's Customer and ``setup_future_usage``, so Stripe attaches the card to the
        Customer when the payment succeeds (and only then). Unticked again (a second
        attempt after a decline, say), the intent is told to save nothing; a shopper who
        never consented costs no call.
        """
        intent_id, customer_id = self._intent_of_payment(payment)
        if save:
            customer = self.customer_for(customer_id)
            self._update_intent(
                intent_id, {"customer": customer, "setup_future_usage": FUTURE_USAGE}
            )
            return
        kept = self._transaction(
            lambda: saved_cards.processor_customer(self._session(), NAME, customer_id)
        )
        if kept is None:
            return  # never consented: no intent of theirs was set up to save a card
        intent = self.api.retrieve_payment_intent(intent_id)
        if getattr(intent, "setup_future_usage", None):
            self._update_intent(intent_id, {"setup_future_usage": ""})  # "": unset at Stripe

    # -- the card saved once its payment succeeded --------------------------------------

    def after_event(self, event: GatewayEvent) -> None:
        """Save the card a succeeded payment used, when the shopper agreed to it.

        Called by the notification inbox after the payment's success was committed, outside
        any transaction (see :func:`flask_partialpay.payments.notifications.receive`).
        Only for a shopper who once agreed to save a card (the shop made them a Stripe
        Customer): any other payment costs no call. Stripe is asked what the PaymentIntent
        became, never the webhook's copy trusted for it: the card is saved only if the
        intent was set up for future use, for the Customer the shop made for the shopper.
        """
        if event.kind != "payment.succeeded":
            return
        public_id = event.payment_public_id

        def owner() -> tuple[str, str | None] | None:
            session = self._session()
            payment = payment_by_public_id(session, public_id)
            if payment is None:
                return None
            kept = saved_cards.processor_customer(session, NAME, payment.customer_id)
            return payment.customer_id, kept

        found = self._transaction(owner)
        if found is None:
            return
        customer_id, kept = found
        if kept is None:
            return  # the shopper never agreed to save a card: Stripe is not asked anything
        intent = self.api.retrieve_payment_intent(event.gateway_reference)
        customer = _id_of(getattr(intent, "customer", None))
        method_id = _id_of(getattr(intent, "payment_method", None))
        if getattr(intent, "setup_future_usage", None) not in _SAVES_THE_CARD:
            return
        if customer is None or method_id is None:
            return
        if customer != kept:
            log.warning(
                "payment %s was set up to save its card for a Stripe customer the shop did "
                "not make for its shopper; the card was not saved",
                public_id,
            )
            return
        method = self._call(
            "GET",
            f"/v1/payment_methods/{method_id}",
            lambda client: client.v1.payment_methods.retrieve(method_id),
        )
        card = getattr(method, "card", None)
        if method.type != "card" or card is None:
            return  # not a card (a bank debit, a wallet): nothing the shop offers again
        self._transaction(
            lambda: saved_cards.save_card(
                self._session(),
                customer_id=customer_id,
                gateway=NAME,
                processor_customer=kept,
                payment_method=method_id,
                brand=str(card.brand),
                last4=str(card.last4),
                exp_month=int(card.exp_month),
                exp_year=int(card.exp_year),
            )
        )

    # -- paying with a saved card -------------------------------------------------------

    def pay_with_saved_card(
        self, payment: Payment, card: SavedCard, *, return_url: str, attempt_key: str
    ) -> str | None:
        """Charge ``card`` for ``payment`` while the shopper is there (one click).

        The payment's PaymentIntent is given the card and confirmed; the webhook says
        whether the money was taken. Returns where the shopper must go to let their bank
        confirm the payment (3-D Secure), or None when nothing is asked of them.
        ``attempt_key`` comes from the page the shopper clicked: a double click is one
        confirmation; a click on a page shown again is a new attempt. A decline raises
        :class:`CardDeclined`; a bank that asks for a confirmation Stripe cannot send the
        shopper to raises :class:`CardAuthenticationRequired`.
        """
        import stripe

        public_id = payment.public_id
        intent_id, customer_id = self._intent_of_payment(payment)
        refs = self._card_refs(card)
        if refs is None or refs.customer_id != customer_id:
            raise PaymentError(N_("This card cannot pay this payment."))
        self._update_intent(
            intent_id,
            {"payment_method": refs.payment_method, "customer": refs.processor_customer},
        )
        try:
            intent = self._call(
                "POST",
                f"/v1/payment_intents/{intent_id}/confirm",
                lambda client: client.v1.payment_intents.confirm(
                    intent_id,
                    # Stripe wants it for a PaymentIntent open to redirecting methods (the
                    # pinned API version's default), and for a bank's 3-D Secure page.
                    {"return_url": return_url},
                    {"idempotency_key": f"partialpay-confirm-{public_id}-{attempt_key}"},
                ),
            )
        except stripe.CardError as error:
            log.info("Stripe declined saved card for %s: %s", public_id, error.code)
            if error.code == "authentication_required":
                raise CardAuthenticationRequired() from None
            raise CardDeclined() from None
        except stripe.InvalidRequestError:
            # Confirmed already (another tab, a click on an older page): if it is taking
            # the money, the shopper only waits for the outcome.
            if self.api.retrieve_payment_intent(intent_id).status in events.CHARGED_OR_CHARGING:
                return None
            raise PaymentError() from None
        except stripe.StripeError:
            raise ProcessorUnavailable() from None
        if intent.status == "requires_action":
            action = intent.next_action
            if action is not None and action.type == "redirect_to_url":
                redirect = action.redirect_to_url
                if redirect is not None and redirect.url:
                    return str(redirect.url)
            raise CardAuthenticationRequired()
        return None

    # -- removal ------------------------------------------------------------------------

    def forget_saved_card(self, card: SavedCard) -> None:
        """Detach the card from the shopper's Stripe Customer: Stripe can no longer charge it.

        A card Stripe no longer has, or no longer attaches, is forgotten already. Any other
        failure raises :class:`ProcessorUnavailable` (the shop has removed the card anyway).
        """
        import stripe

        refs = self._card_refs(card, removed_too=True)
        if refs is None:
            return
        method_id = refs.payment_method
        try:
            self._call(
                "POST",
                f"/v1/payment_methods/{method_id}/detach",
                lambda client: client.v1.payment_methods.detach(method_id),
            )
        except stripe.InvalidRequestError as error:
            log.info("Stripe had forgotten payment method %s already: %s", method_id, error.code)
        except stripe.StripeError:
            raise ProcessorUnavailable() from None

    # -- helpers ------------------------------------------------------------------------

    # The shop's rows are read again in a transaction of their own, committed, and only
    # their values used afterwards: an ORM object the request loaded would reload itself
    # (opening a transaction) at its first use after a commit, in the middle of a call.

    def _intent_of_payment(self, payment: Payment) -> tuple[str, str]:
        """The payment's PaymentIntent id and its shopper, read afresh."""
        public_id = payment.public_id

        def read() -> tuple[str | None, str, str] | None:
            stored = payment_by_public_id(self._session(), public_id)
            if stored is None:
                return None
            return stored.gateway_reference, stored.customer_id, stored.gateway

        found = self._transaction(read)
        if found is None or found[0] is None or found[2] != NAME:
            raise PaymentError(N_("This payment has no card payment at Stripe to change."))
        return found[0], found[1]

    def _card_refs(self, card: SavedCard, *, removed_too: bool = False) -> _CardRefs | None:
        """The saved card's references, read afresh; None if it was removed meanwhile."""
        card_id = card.id

        def read() -> _CardRefs | None:
            stored = self._session().get(SavedCard, card_id)
            if stored is None or stored.gateway != NAME or (stored.removed and not removed_too):
                return None
            return _CardRefs(stored.customer_id, stored.processor_customer, stored.payment_method)

        return self._transaction(read)

    def _update_intent(self, intent_id: str, params: dict[str, Any]) -> stripe.PaymentIntent:
        return self._call(
            "POST",
            f"/v1/payment_intents/{intent_id}",
            lambda client: client.v1.payment_intents.update(intent_id, params),  # type: ignore[arg-type]
        )

    def _call(self, method: str, path: str, action: Callable[[stripe.StripeClient], T]) -> T:
        # The client's one door to Stripe: it refuses a call inside a transaction and
        # counts the call, as for the gateway's own.
        return self.api._call(method, path, action)


class _CardRefs(NamedTuple):
    customer_id: str
    processor_customer: str
    payment_method: str


def _id_of(value: Any) -> str | None:
    """A Stripe reference as its id, whether Stripe sent the id or the expanded object."""
    if value is None or isinstance(value, str):
        return value
    found = getattr(value, "id", None)
    return str(found) if found is not None else None
