"""The extension's fixed words: statuses, account kinds, transfer reasons, order purposes.

Each set is a :class:`enum.StrEnum`, so a member *is* the string stored in the database
(``PaymentStatus.PENDING == "pending"``): the tables keep their values and need no
migration, and code compares and writes members instead of bare strings.

The statuses that change over a record's life carry a table of the moves they allow.
:meth:`Lifecycle.move` checks one move against it: an illegal move raises
:class:`~flask_partialpay.core.errors.IllegalTransition`, a repeat (the same status again)
passes quietly, since a redelivered notification or a retried request asks for the status
a record already has. The writers of these statuses check their moves here before the
conditional update that makes them, so a move the table forbids is a bug caught where it
is written, never a row in a state no one planned.

Pure Python: no Flask, no SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from typing import Self

from flask_partialpay.core.errors import IllegalTransition


class Lifecycle(StrEnum):
    """A status with a table of allowed moves (filled in after each class, see below)."""

    @classmethod
    def moves(cls) -> Mapping[Self, frozenset[Self]]:
        """Each status, and the statuses it may become (a repeat is not listed)."""
        return _MOVES[cls]  # type: ignore[return-value]

    @classmethod
    def allows(cls, current: str, target: str) -> bool:
        """Whether ``current`` may become ``target``; a repeat is allowed."""
        current, target = cls(current), cls(target)
        return current == target or target in cls.moves()[current]

    @classmethod
    def move(cls, current: str, target: str) -> Self:
        """``target`` as a member, after checking that ``current`` may become it.

        Raises :class:`IllegalTransition` for a move the table does not list (or a word
        that is not a status of this kind); returns quietly on a repeat.
        """
        try:
            allowed = cls.allows(current, target)
        except ValueError:
            allowed = False
        if not allowed:
            raise IllegalTransition(state=current, target=target)
        return cls(target)

    @classmethod
    def move_from(cls, currents: Iterable[str], target: str) -> Self:
        """:meth:`move` from each of ``currents``: a conditional update's declared move."""
        for current in currents:
            cls.move(current, target)
        return cls(target)

    @property
    def is_final(self) -> bool:
        """Whether no move leaves this status."""
        return not type(self).moves()[self]


class OrderStatus(Lifecycle):
    """An order record's status, derived from its amounts by ``orders.derive_status``."""

    OPEN = "open"
    COMPLETED = "completed"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


#: The statuses an order is closed as (``OrderRecord.closed_as``); only the first counts.
CLOSED_AS = frozenset({OrderStatus.DECLINED, OrderStatus.CANCELLED, OrderStatus.REFUNDED})


class PaymentStatus(Lifecycle):
    """A payment's status: pending until it counts (succeeded) or never will."""

    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: A manager did not confirm a bank transfer.
    REJECTED = "rejected"
    #: Replaced, cancelled at the processor, or stopped because the order closed.
    CANCELLED = "cancelled"


class RefundStatus(Lifecycle):
    """A refund's status: a processor's refund is requested first, a wallet's succeeds at once."""

    REQUESTED = "requested"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class HoldStatus(Lifecycle):
    """A wallet hold's status: active, then captured, released or expired exactly once."""

    ACTIVE = "active"
    CAPTURED = "captured"
    RELEASED = "released"
    EXPIRED = "expired"


class AccountKind(StrEnum):
    """What a ledger account is: a customer's wallet or one of the system accounts."""

    WALLET = "wallet"
    TOPUPS = "topups"
    ORDER_PAYMENTS = "order_payments"
    REFUNDS = "refunds"
    ADJUSTMENTS = "adjustments"


class TransferReason(StrEnum):
    """What kind of movement a ledger transfer is."""

    TOPUP = "topup"
    TOPUP_REFUND = "topup_refund"
    ORDER_PAYMENT = "order_payment"
    REFUND = "refund"
    #: Paid to an order beyond its total, and credited back to the customer's wallet.
    OVERPAYMENT = "overpayment"
    ADJUSTMENT = "adjustment"
    REVERSAL = "reversal"


class OrderPurpose(StrEnum):
    """What an order record buys: the host's goods, or wallet credit (a top-up)."""

    ORDER = "order"
    WALLET_TOPUP = "wallet_topup"


class Overpayment(StrEnum):
    """What ``PARTIALPAY_OVERPAYMENT`` does with confirmed payments beyond an order's total."""

    #: Credit the excess to the customer's wallet.
    WALLET = "wallet"
    #: Report it with ``refund_owed`` for an admin to refund at the gateway.
    REFUND = "refund"


class OverdueAction(StrEnum):
    """What ``PARTIALPAY_PLAN_OVERDUE_ACTION`` does with an order whose instalment has been
    overdue for ``PARTIALPAY_PLAN_OVERDUE_ACTION_DAYS``."""

    #: Nothing more than the overdue e-mail and signal.
    NOTHING = "nothing"
    #: An e-mail to the shop's staff (``PARTIALPAY_MAIL_ADMIN``).
    NOTIFY_ADMIN = "notify_admin"
    #: The order is declined, as an admin's Decline does it.
    DECLINE = "decline"
    #: Declined, and what other gateways took is refunded to the customer's wallet.
    DECLINE_AND_CREDIT = "decline_and_credit"


class MailStatus(StrEnum):
    """Where an e-mail of the outbox (``partialpay_mail``) stands."""

    #: Waiting to be sent: just queued, or its last delivery failed.
    PENDING = "pending"
    #: Claimed by one sender, which is talking to the mail server now.
    SENDING = "sending"
    #: Handed to the mail server (or to a host's ``mail_ready`` receiver).
    SENT = "sent"
    #: Gave up after ``PARTIALPAY_MAIL_MAX_ATTEMPTS`` deliveries.
    FAILED = "failed"


#: The name of the gateway that pays from the customer's wallet.
WALLET_GATEWAY = "wallet"


_MOVES: dict[type[Lifecycle], Mapping[Lifecycle, frozenset[Lifecycle]]] = {
    # Open until paid in full (or completed by hand at the success threshold), or closed.
    # The host may still cancel or refund a completed order; an admin declines only an
    # open one. A closed order never reopens, since only the first close counts.
    OrderStatus: {
        OrderStatus.OPEN: frozenset(
            {
                OrderStatus.COMPLETED,
                OrderStatus.DECLINED,
                OrderStatus.CANCELLED,
                OrderStatus.REFUNDED,
            }
        ),
        OrderStatus.COMPLETED: frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED}),
        OrderStatus.DECLINED: frozenset(),
        OrderStatus.CANCELLED: frozenset(),
        OrderStatus.REFUNDED: frozenset(),
    },
    # A gateway may report success after the shop gave up on a payment (cancelled): the
    # money was taken all the same, so it is recorded. Nothing else leaves a final status.
    PaymentStatus: {
        PaymentStatus.PENDING: frozenset(
            {
                PaymentStatus.SUCCEEDED,
                PaymentStatus.FAILED,
                PaymentStatus.REJECTED,
                PaymentStatus.CANCELLED,
            }
        ),
        PaymentStatus.CANCELLED: frozenset({PaymentStatus.SUCCEEDED}),
        PaymentStatus.SUCCEEDED: frozenset(),
        PaymentStatus.FAILED: frozenset(),
        PaymentStatus.REJECTED: frozenset(),
    },
    RefundStatus: {
        RefundStatus.REQUESTED: frozenset({RefundStatus.SUCCEEDED, RefundStatus.FAILED}),
        RefundStatus.SUCCEEDED: frozenset(),
        RefundStatus.FAILED: frozenset(),
    },
    HoldStatus: {
        HoldStatus.ACTIVE: frozenset(
            {HoldStatus.CAPTURED, HoldStatus.RELEASED, HoldStatus.EXPIRED}
        ),
        HoldStatus.CAPTURED: frozenset(),
        HoldStatus.RELEASED: frozenset(),
        HoldStatus.EXPIRED: frozenset(),
    },
}
