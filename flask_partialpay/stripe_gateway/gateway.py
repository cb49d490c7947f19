"""The ``stripe`` gateway: a PaymentIntent per payment, Stripe's webhooks for outcomes.

At start the gateway creates the payment's PaymentIntent (keyed by the payment's
``public_id``: a replayed start, an SDK retry after a timeout, or the shop's own retry
reach the same one) and sends the shopper to the card page, where Stripe.js collects the
card and confirms it. Stripe's signed webhook, never the browser, says whether the money
was taken. Every call to Stripe goes through :class:`.client.StripeApi`, which refuses to
run inside one of the shop's transactions.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from flask import url_for
from sqlalchemy import select

from flask_partialpay.core.errors import (
    CardAuthenticationRequired,
    CardDeclined,
    NotificationIgnored,
    OutOfOrder,
    RefundNotPossible,
    SignatureError,
)
from flask_partialpay.core.money import to_minor
from flask_partialpay.host.config import setting
from flask_partialpay.host.i18n import gettext
from flask_partialpay.payments.gateways.base import GatewayEvent, StartOutcome
from flask_partialpay.payments.models import Payment, Refund
from flask_partialpay.stripe_gateway import NAME, events
from flask_partialpay.stripe_gateway.client import StripeApi
from flask_partialpay.stripe_gateway.saved_cards import StripeSavedCards

if TYPE_CHECKING:
    import stripe
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

# PaymentIntent states Stripe lets the shop cancel.
_CANCELABLE = frozenset(
    {"requires_payment_method", "requires_confirmation", "requires_action", "requires_capture"}
)
_REFUSED_REFUND = frozenset({events.STRIPE_FAILED, events.STRIPE_CANCELED})


class SavedCard(Protocol):
    """What charging a saved card needs: Stripe's ids of the customer and the card."""

    processor_customer: str
    payment_method: str


def payment_key(payment: Payment) -> str:
    """The idempotency key of the PaymentIntent of ``payment``: one per payment, ever."""
    return f"partialpay-payment-{payment.public_id}"


def _intent_params(payment: Payment) -> dict[str, Any]:
    # No ``description``, and no ``automatic_payment_methods``: the pinned API version
    # turns automatic payment methods on by default, and Stripe-compatible test servers
    # refuse both. The reference people quote travels in the metadata.
    return {
        "amount": payment.amount_minor,
        "currency": payment.currency.lower(),
        "metadata": {
            events.PAYMENT_KEY: payment.public_id,
            events.REFERENCE_KEY: payment.reference,
        },
    }


class StripeGateway(StripeSavedCards):
    """Cards through Stripe (see the module's description)."""

    name = NAME
    confirmed_by_manager = False
    supports_refund = True

    def __init__(self, session: Callable[[], Session], api: StripeApi | None = None) -> None:
        self._session = session
        #: The app's Stripe client (tests give it a recorded-response HTTP client).
        self.api = api or StripeApi()

    def label(self) -> str:
        return gettext("Card (Stripe)")

    # -- payments -----------------------------------------------------------------------

    def start(self, payment: Payment) -> StartOutcome:
        """Create the PaymentIntent (once, by its key); the shopper pays on the card page."""
        params, key = _intent_params(payment), payment_key(payment)
        redirect_url = url_for("partialpay.stripe_pay", public_id=payment.public_id)
        self._session().commit()  # reading the payment may have begun one: end it
        intent = self.api.create_payment_intent(params, idempotency_key=key)
        return StartOutcome(
            redirect_url=redirect_url,
            gateway_reference=intent.id,
        )

    def client_secret(self, payment: Payment) -> str:
        """What Stripe.js needs on the card page to confirm the payment's PaymentIntent.

        The session's transaction is ended first: nothing stays open while Stripe answers.
        """
        intent_id = payment.gateway_reference
        params, key = _intent_params(payment), payment_key(payment)
        self._session().commit()
        if intent_id is None:
            # Started, but its id was not recorded (a crash between the two): the key
            # gives back the same PaymentIntent.
            intent = self.api.create_payment_intent(params, idempotency_key=key)
        else:
            intent = self.api.retrieve_payment_intent(intent_id)
        return str(intent.client_secret)

    def cancel(self, payment: Payment) -> bool:
        """True when Stripe will never charge ``payment``: the shop may replace it.

        A Stripe error propagates: the payment may still be charged, so it stays under way.
        """
        intent_id, public_id = payment.gateway_reference, payment.public_id
        self._session().commit()  # nothing stays open while Stripe answers
        if intent_id is None:
            return True  # nothing was created at Stripe
        return self._cancel_intent(intent_id, public_id)

    def _cancel_intent(self, intent_id: str, public_id: str) -> bool:
        import stripe

        intent = self.api.retrieve_payment_intent(intent_id)
        if intent.status in events.CHARGED_OR_CHARGING:
            return False
        if intent.status == events.STRIPE_CANCELED:
            return True
        try:
            self.api.cancel_payment_intent(
                intent_id, idempotency_key=f"partialpay-cancel-{public_id}"
            )
        except stripe.InvalidRequestError:
            # Refused: confirmed meanwhile (in the shopper's other tab), or Stripe replays
            # its refusal of an earlier cancel under this key (the PaymentIntent was
            # processing then). Ask what it is now, and cancel anew if it still can be:
            # cancelling is harmless to repeat, so a fresh key is safe.
            now = self.api.retrieve_payment_intent(intent_id).status
            if now not in _CANCELABLE:
                return now == events.STRIPE_CANCELED
            self.api.cancel_payment_intent(
                intent_id, idempotency_key=f"partialpay-cancel-{public_id}-{uuid.uuid4().hex}"
            )
        return True

    def charge_saved_card(self, payment: Payment, saved_card: SavedCard, *, return_url: str) -> str:
        """Charge a saved card without the shopper (off session); the PaymentIntent's id.

        ``return_url`` (absolute) is where a shopper would come back after a bank's page:
        Stripe requires one to confirm a PaymentIntent open to every payment method of the
        account, even off session, where a bank that wants the cardholder fails the charge
        instead (:class:`CardAuthenticationRequired`).

        The outcome arrives by webhook, as for any payment. A decline, or a bank that wants
        the cardholder to authenticate (Stripe's 402, or a PaymentIntent it leaves in
        ``requires_action``, cancelled here), raises a :class:`CardDeclined` the caller shows.
        """
        import stripe

        params = {
            **_intent_params(payment),
            "customer": saved_card.processor_customer,
            "payment_method": saved_card.payment_method,
            "confirm": True,
            "off_session": True,
            "return_url": return_url,
        }
        key, public_id = payment_key(payment), payment.public_id
        self._session().commit()  # nothing stays open while Stripe answers
        try:
            intent = self.api.create_payment_intent(params, idempotency_key=key)
        except stripe.CardError as error:
            log.info("Stripe declined payment %s: %s", public_id, error.code)
            if error.code == "authentication_required":
                raise CardAuthenticationRequired() from None
            raise CardDeclined() from None
        if intent.status not in events.CHARGED_OR_CHARGING and self._cancel_intent(
            str(intent.id), public_id
        ):
            # Left waiting for the cardholder (``requires_action``): off session nobody is
            # there to act, and no webhook would ever decide the payment. Cancelled first,
            # so it can never take money, then refused as Stripe's 402 would be.
            log.info("Stripe left payment %s %s off session", public_id, intent.status)
            raise CardAuthenticationRequired()
        return str(intent.id)

    # -- notifications ------------------------------------------------------------------

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify a webhook's ``Stripe-Signature`` and translate its event."""
        import stripe

        try:
            stripe.WebhookSignature.verify_header(
                body,
                headers.get("stripe-signature"),
                setting("STRIPE_WEBHOOK_SECRET"),
                tolerance=int(setting("STRIPE_WEBHOOK_TOLERANCE")),
            )
        except (stripe.SignatureVerificationError, ValueError):
            raise SignatureError() from None
        try:
            event = json.loads(body)
            if not isinstance(event, Mapping):
                raise TypeError("an event is an object")
            translated = events.translate(event, _Lookups(self.api))
        except (ValueError, KeyError, TypeError):
            # Signed yet unreadable: Stripe and the shop disagree about the format.
            raise SignatureError("This notification could not be read.") from None
        return self._settled(translated)

    def _settled(self, event: GatewayEvent) -> GatewayEvent:
        """``event``, once a failure is final: Stripe lets a failed PaymentIntent be retried.

        After ``payment_intent.payment_failed`` the shopper may confirm the same
        PaymentIntent again with another card. The shop records the payment as failed
        only once the PaymentIntent can no longer take money: it is cancelled first; if
        it was charged meanwhile, the failure is ignored and the success decides.
        """
        if event.kind != "payment.failed":
            return event
        import stripe

        try:
            cancelled = self._cancel_intent(event.gateway_reference, event.payment_public_id)
        except stripe.StripeError as error:
            log.warning("could not settle the failure of %s: %s", event.payment_public_id, error)
            raise OutOfOrder() from None  # Stripe sends the event again later
        if not cancelled:
            raise NotificationIgnored()
        return event

    def reconcile_events(self, *, since: datetime) -> Iterator[GatewayEvent]:
        """Every payment and refund event Stripe has since ``since``, in the shop's terms."""
        import stripe

        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        lookups = _Lookups(self.api)
        for found in self.api.events_since(int(since.timestamp())):
            try:
                event = self._settled(events.translate(found.to_dict(), lookups))
            except (NotificationIgnored, OutOfOrder):
                continue
            except (ValueError, KeyError, TypeError, stripe.StripeError):
                log.warning("could not read Stripe event %s", found.id)
                continue
            yield event

    # -- refunds ------------------------------------------------------------------------

    def refund(self, payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
        """Refund at Stripe under the shop's key: asked again, it refunds once.

        A refusal raises :class:`RefundNotPossible` (the shop takes its request back); no
        answer (a timeout) propagates as is: the refund stays requested and reconcile
        finishes it.
        """
        import stripe

        if payment.gateway_reference is None:
            raise RefundNotPossible(amount=amount, currency=payment.currency)
        params = {
            "payment_intent": payment.gateway_reference,
            "amount": to_minor(amount, payment.currency),
            "metadata": {
                events.REFUND_KEY: idempotency_key,
                events.PAYMENT_KEY: payment.public_id,
            },
        }
        currency = payment.currency
        self._session().commit()  # nothing stays open while Stripe answers
        try:
            made = self.api.create_refund(
                params, idempotency_key=f"partialpay-refund-{idempotency_key}"
            )
        except (stripe.InvalidRequestError, stripe.CardError) as error:
            log.warning("Stripe refused refund %s: %s", idempotency_key, error.user_message)
            raise RefundNotPossible(amount=amount, currency=currency) from None
        if made.status in _REFUSED_REFUND:
            raise RefundNotPossible(amount=amount, currency=currency)
        return str(made.id)

    def refund_made(self, idempotency_key: str) -> str | None:
        """Stripe's id of the refund asked under ``idempotency_key``, if Stripe made it."""
        session = self._session()
        intent_id = session.scalar(
            select(Payment.gateway_reference)
            .join(Refund, Refund.payment_id == Payment.id)
            .where(Refund.idempotency_key == idempotency_key)
        )
        session.commit()  # nothing stays open while Stripe answers
        if intent_id is None:
            return None
        for made in self.api.refunds_of(payment_intent=intent_id):
            if _metadata_of(made).get(events.REFUND_KEY) == idempotency_key:
                return None if made.status in _REFUSED_REFUND else str(made.id)
        return None


def _metadata_of(made: stripe.Refund) -> dict[str, Any]:
    metadata = made.to_dict().get("metadata")
    return metadata if isinstance(metadata, dict) else {}


class _Lookups:
    """What an event leaves out, asked of Stripe through the app's client."""

    def __init__(self, api: StripeApi) -> None:
        self._api = api

    def payment_intent(self, intent_id: str) -> Mapping[str, Any]:
        return self._api.retrieve_payment_intent(intent_id).to_dict()

    def newest_refund(self, charge_id: str) -> Mapping[str, Any] | None:
        for made in self._api.refunds_of(charge=charge_id):
            return made.to_dict()
        return None
