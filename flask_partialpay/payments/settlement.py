"""What follows when a payment starts, succeeds, fails or is refunded, beyond its order.

The payment lifecycle (:mod:`.lifecycle`, :mod:`.refunds`) moves a payment and its order's
counters. Other money may hang on it: a paid top-up credits the customer's wallet; the
wallet part of an instalment is held when the rest is started, captured when the rest is
paid and released when it fails; what a payment brings beyond the order goes to the
wallet; the money held at checkout becomes the wallet part of the order placed from it.
All of that belongs to :mod:`flask_partialpay.wallet`, a layer above this one, so the
lifecycle (and the order service) never imports it: it calls the one :class:`Settlement`
installed here, in the same transaction. :mod:`flask_partialpay.extension` installs the
wallet's (:class:`flask_partialpay.wallet.settlement.WalletSettlement`) when it is
imported, which is before any payment can move.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from flask_partialpay.payments.models import OrderRecord, Payment


class Settlement(Protocol):
    """The steps the lifecycle hands on; each runs inside the payment's transaction."""

    def order_opened(self, session: Session, account: OrderRecord, checkout_key: str) -> None:
        """The host placed ``account``'s order from the checkout that held ``checkout_key``."""

    def started(self, session: Session, payment: Payment, *, wallet_part_minor: int) -> None:
        """``payment`` pays the rest of an instalment whose other part is the wallet's."""

    def succeeded(self, session: Session, account: OrderRecord, payment: Payment) -> None:
        """``payment`` now counts towards ``account`` (an order still open or completed)."""

    def deliver(self, session: Session, payment: Payment) -> None:
        """``payment`` counted, on any order: what it bought must be delivered (a top-up)."""

    def failed(self, session: Session, payment: Payment, *, reason: str | None) -> None:
        """``payment`` will never count."""

    def refunded(
        self, session: Session, payment: Payment, amount_minor: int, idempotency_key: str
    ) -> None:
        """``amount_minor`` of ``payment`` is being returned."""

    def refund_refused(
        self, session: Session, payment: Payment, amount_minor: int, idempotency_key: str
    ) -> None:
        """A refund of ``amount_minor`` recorded as requested was refused by the processor."""


class _NotInstalled:
    """Refuses every step: money must never move with half of its consequences skipped."""

    def __getattr__(self, name: str) -> object:
        raise RuntimeError(
            "flask_partialpay.payments.settlement: no settlement installed (import "
            "flask_partialpay, which installs the wallet's)"
        )


_installed: Settlement = _NotInstalled()  # type: ignore[assignment]


def install(settlement: Settlement) -> None:
    """Make ``settlement`` the one the lifecycle calls (done once, at import)."""
    global _installed
    _installed = settlement


def current() -> Settlement:
    """The installed settlement."""
    return _installed
