"""What a payment gateway does for the extension.

A gateway starts a payment (the result is known at once, or the shopper is sent to a
page), reports the outcome later through a signed callback that :mod:`..payments`
applies, and refunds where it can. The extension never asks a gateway whether a payment
succeeded from the shopper's browser: only the callback (or a manager) decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from ..errors import NoNotifications, PaymentError

if TYPE_CHECKING:
    from ..models import Payment

EventKind = Literal["payment.succeeded", "payment.failed", "refund.succeeded"]


@dataclass(frozen=True)
class StartOutcome:
    """Where the shopper goes next once a payment was started."""

    redirect_url: str
    #: The gateway took the money at once (the wallet): the payment succeeds right away,
    #: in the transaction that started it.
    settled: bool = False


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
        """Begin ``payment`` (already stored as pending) and say where the shopper goes."""

    def parse_callback(self, body: bytes, headers: Mapping[str, str]) -> GatewayEvent:
        """Verify a notification and translate it; raise SignatureError if forged.

        ``headers`` has lower-case names.
        """

    def refund(self, payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
        """Return ``amount`` of ``payment`` to the payer; give the gateway's refund id.

        Called with the same ``idempotency_key`` again, it must not refund twice.
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
