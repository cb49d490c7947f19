"""What a payment gateway does for the extension.

A gateway starts a payment (the result is known at once, or the shopper is sent to a
page), reports the outcome later through a signed callback that :mod:`..payments`
applies, and refunds where it can. The extension never asks a gateway whether a payment
succeeded from the shopper's browser: only the callback (or a manager) decides.

A gateway stands for a processor across a network. The extension calls it only outside
its database transactions (:mod:`..gateway_calls`): before one, or after it committed,
never while it holds row locks, and never again because a transaction was retried. Each
call carries a key derived from the payment (its ``public_id``) or the refund (its
idempotency key), so that a call repeated after a timeout or a crash begins one payment
and refunds once.

Beyond the protocol, a gateway may offer (the extension looks for them):

* ``cancel(payment) -> bool``: make sure the processor never charges a payment the
  shopper abandoned; True if it never will. Such a payment may then be replaced by a new
  one. Without it, an abandoned payment counts as under way until it fails.
* ``reconcile_events(*, since) -> Iterable[GatewayEvent]``: every event the processor
  has about payments and refunds since then, for ``flask partialpay reconcile``.
* ``refund_made(idempotency_key) -> str | None``: the processor's id of a refund asked
  under that key, if it made it (reconcile finishes refunds whose answer was lost).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from flask_partialpay.core.errors import NoNotifications, PaymentError

if TYPE_CHECKING:
    from flask_partialpay.payments.models import Payment

EventKind = Literal["payment.succeeded", "payment.failed", "payment.cancelled", "refund.succeeded"]


@dataclass(frozen=True)
class StartOutcome:
    """Where the shopper goes next once a payment was started."""

    redirect_url: str
    #: The processor's id of what it created for the payment (a Stripe PaymentIntent),
    #: when it created one at start: recorded on the payment, so that the pay page and
    #: ``cancel`` find it again.
    gateway_reference: str | None = None


@dataclass(frozen=True)
class GatewayEvent:
    """A verified notification from a gateway, in the extension's own terms."""

    event_id: str
    kind: EventKind
    payment_public_id: str
    amount_minor: int
    currency: str
    gateway_reference: str
    message: str | None = None
    #: For a refund the shop asked for: the idempotency key it asked with.
    refund_key: str | None = None


@runtime_checkable
class Gateway(Protocol):
    """The protocol every payment method implements."""

    #: Stable identifier stored with each payment ("sandbox_card", "manual").
    name: str
    #: True when a manager, not a callback, decides whether a payment counts.
    confirmed_by_manager: bool
    supports_refund: bool

    def label(self) -> str:
        """The method's name as the shopper sees it, in their language."""

    def start(self, payment: Payment) -> StartOutcome:
        """Begin ``payment`` (already committed as pending) and say where the shopper goes.

        Called outside any transaction, and again when the shopper's request is replayed:
        key the processor's request by ``payment.public_id``, so it begins one payment.
        """

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify a notification and translate it; raise SignatureError if forged.

        ``headers`` has lower-case names.
        """

    def refund(self, payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
        """Return ``amount`` of ``payment`` to the payer; give the gateway's refund id.

        Called outside any transaction, after the shop recorded the refund as requested.
        Called with the same ``idempotency_key`` again, it must not refund twice. Raise
        :class:`..errors.RefundNotPossible` (or another :class:`..errors.PaymentError`)
        when the processor refuses: the shop then takes the refund back.
        """


class NoCallbacks:
    """Mixin for gateways that never call back (a manager decides instead)."""

    name: str

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        raise NoNotifications(name=self.name)


class NoRefunds:
    """Mixin for gateways whose refunds happen outside the shop."""

    name: str
    supports_refund = False

    def refund(self, payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
        raise PaymentError("Refund %(name)s payments outside the shop.", name=self.name)
