"""Order accounts: the extension's record of what a host order costs and what was paid.

This module is the only writer of an :class:`.OrderRecord`'s columns (tests/
test_order_counters_single_writer.py checks it): the other modules call its named
functions, each one write with its guard, so that the counters, the closing and the status
cannot drift apart. Counters move by atomic ``UPDATE ... SET col = col + x`` (never read,
add and write back), most of them conditional on what they must not exceed.

- Opening: :func:`open_record` / :func:`ensure_record` (a host's order),
  :func:`add_topup_order` (a purchase of wallet credit), :func:`attach_offer` and
  :func:`set_instalment_terms` (the offer and the policy it was placed under).
- Counters: :func:`add_payment` (``paid_minor``), :func:`reserve`,
  :func:`reserve_within_total` and :func:`unreserve` (``reserved_minor``, the wallet money
  held at checkout), :func:`record_refund` (``refunded_minor``), :func:`record_overpayment`
  (``overpaid_minor``).
- Closing: :func:`close` (``closed_as``), :func:`complete_by_hand` (``completed_by``),
  :func:`record_declined_by` (``declined_by``).
- Waiving: :func:`add_waived` (``waived_minor``, what admins let the customer off).
- Status: never set by hand. :func:`derive_status` computes it from the amounts and from
  how the order was closed, and :func:`refresh_status` is the only writer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import IdempotencyConflict
from flask_partialpay.core.ids import host_id
from flask_partialpay.core.money import amount, to_minor
from flask_partialpay.core.vocabulary import CLOSED_AS, OrderPurpose, OrderStatus
from flask_partialpay.db.transactions import insert_or_winner, update_rows
from flask_partialpay.payments import settlement
from flask_partialpay.payments.models import OrderRecord

ClosedAs = Literal[OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.DECLINED]
# The purpose of an order that buys wallet credit (see :mod:`.topups`).
WALLET_TOPUP = OrderPurpose.WALLET_TOPUP


@dataclass(frozen=True)
class OrderInfo:
    """What the host tells the extension about one of its orders.

    ``total`` is the amount to collect, taxes and fees included; ``customer_id`` is the
    Flask-Login id (``user.get_id()``) of the customer who may pay it.
    """

    reference: str
    customer_id: str
    currency: str
    total: Decimal
    #: The order buys wallet credit: paying it credits the customer's wallet, and it may
    #: not itself be paid from the wallet.
    wallet_topup: bool = False
    #: The key the host gave ``partialpay.checkout.hold_wallet`` at this order's checkout.
    #: Whichever call opens the order's record first (placing it, or paying it from a
    #: second submission of the same checkout) attaches the wallet part held under it, so
    #: no gateway is ever asked for the total before the "Via wallet" part is subtracted.
    checkout_key: str | None = None

    def __post_init__(self) -> None:
        # Checked here so that a host's mistake is named where it is made. Ids may be the
        # host's ints; they are kept as strings, as ``user.get_id()`` gives them.
        for name in ("reference", "customer_id"):
            object.__setattr__(self, name, host_id(getattr(self, name), f"OrderInfo.{name}"))
        if not isinstance(self.currency, str):
            raise TypeError(f"OrderInfo.currency must be a str, not {type(self.currency).__name__}")
        object.__setattr__(self, "total", amount(self.total, self.currency))


def derive_status(
    *,
    total_minor: int,
    paid_minor: int,
    closed_as: str | None,
    completed_by_hand: bool = False,
    waived_minor: int = 0,
) -> OrderStatus:
    """Open until the confirmed payments reach what is owed (the total less what admins
    waived of its instalments), or an admin completes it at the success threshold; then
    Completed; or as closed."""
    if closed_as in CLOSED_AS:
        return OrderStatus(closed_as)
    if paid_minor >= total_minor - waived_minor or completed_by_hand:
        return OrderStatus.COMPLETED
    return OrderStatus.OPEN


def refresh_status(session: Session, account: OrderRecord) -> OrderStatus:
    """Re-read the account (after a write in this transaction) and store its status.

    The move is checked against :class:`.OrderStatus`'s table: a status the amounts would
    move backwards (a completed order open again, a closed one reopened) raises
    :class:`.IllegalTransition` instead of being stored.
    """
    session.refresh(account)
    status = derive_status(
        total_minor=account.total_minor,
        paid_minor=account.paid_minor,
        closed_as=account.closed_as,
        completed_by_hand=account.completed_by is not None,
        waived_minor=account.waived_minor,
    )
    if account.status != status:
        account.status = OrderStatus.move(account.status, status)
        if status != OrderStatus.OPEN:
            # The customer may open the offer again: a new order, not this closed one.
            account.open_offer_id = None
        session.flush()
    return status


def ensure_record(session: Session, info: OrderInfo) -> OrderRecord:
    """The account for ``info.reference``, created on first use (see :func:`open_record`)."""
    return open_record(session, info)[0]


def open_record(session: Session, info: OrderInfo) -> tuple[OrderRecord, bool]:
    """The account for ``info.reference``, and whether this call created it.

    Registering the same order again is harmless; registering it with another customer,
    currency or total is refused, since the host's order must not change under a payment.
    Two requests registering it at once get the same account, on every database.
    """
    total_minor = to_minor(info.total, info.currency)
    found = _by_reference(session, info.reference)
    account, created = (found, False) if found is not None else _insert(session, info)
    if (account.customer_id, account.currency, account.total_minor, account.purpose) != (
        info.customer_id,
        info.currency,
        total_minor,
        WALLET_TOPUP if info.wallet_topup else OrderPurpose.ORDER,
    ):
        raise IdempotencyConflict(
            "Order %(reference)s was registered with other details.",
            reference=info.reference,
        )
    return account, created


def _insert(session: Session, info: OrderInfo) -> tuple[OrderRecord, bool]:
    total_minor = to_minor(info.total, info.currency)
    candidate = OrderRecord(
        reference=info.reference,
        customer_id=info.customer_id,
        currency=info.currency,
        total_minor=total_minor,
        paid_minor=0,
        status=derive_status(total_minor=total_minor, paid_minor=0, closed_as=None),
        purpose=WALLET_TOPUP if info.wallet_topup else OrderPurpose.ORDER,
    )
    return insert_or_winner(
        session, candidate, select(OrderRecord).where(OrderRecord.reference == info.reference)
    )


def _by_reference(session: Session, reference: str) -> OrderRecord | None:
    return session.scalars(
        select(OrderRecord).where(OrderRecord.reference == reference)
    ).one_or_none()


def add_payment(
    session: Session, account: OrderRecord, amount_minor: int, *, unreserve: bool = False
) -> OrderStatus:
    """Count a confirmed payment towards the order (an atomic increment, not read-modify-write).

    ``unreserve``: the payment is a held wallet part, counted in ``reserved_minor`` until now.
    """
    values = {"paid_minor": OrderRecord.paid_minor + amount_minor}
    if unreserve:
        values["reserved_minor"] = OrderRecord.reserved_minor - amount_minor
    update_rows(session, update(OrderRecord).where(OrderRecord.id == account.id).values(values))
    return refresh_status(session, account)


def close(session: Session, account: OrderRecord, closed_as: ClosedAs) -> bool:
    """Mark the order cancelled, refunded or declined; only the first close counts."""
    changed = update_rows(
        session,
        update(OrderRecord)
        .where(OrderRecord.id == account.id, OrderRecord.closed_as.is_(None))
        .values(closed_as=closed_as),
    )
    refresh_status(session, account)
    return changed == 1


def open_order(session: Session, info: OrderInfo) -> OrderRecord:
    """The order's record, with the wallet part of its checkout attached.

    Whichever call comes first (the host placing the order, or a second submission of the
    same checkout paying it) opens the account and attaches the part in one transaction,
    so no payment ever sees the order without its "Via wallet" part subtracted. The part
    is the wallet's: the installed settlement attaches it.
    """
    account = ensure_record(session, info)
    if info.checkout_key is not None:
        settlement.current().order_opened(session, account, info.checkout_key)
    return account


def complete_by_hand(session: Session, account: OrderRecord, *, by: str) -> OrderStatus:
    """Record the admin who completed the order by hand (only the first counts); its status."""
    update_rows(
        session,
        update(OrderRecord)
        .where(OrderRecord.id == account.id, OrderRecord.completed_by.is_(None))
        .values(completed_by=by),
    )
    return refresh_status(session, account)


def add_waived(session: Session, account: OrderRecord, waived_minor: int) -> OrderStatus:
    """Count ``waived_minor`` more as waived (an atomic increment); the order's status,
    Completed when its payments now reach what is left owed. The caller holds the order's
    lock and checked that the Open order owes at least that much."""
    update_rows(
        session,
        update(OrderRecord)
        .where(OrderRecord.id == account.id)
        .values(waived_minor=OrderRecord.waived_minor + waived_minor),
    )
    return refresh_status(session, account)


def record_declined_by(session: Session, account: OrderRecord, by: str) -> None:
    """Name the admin who declined the order (after :func:`close` as declined)."""
    account.declined_by = by
    session.flush()


def add_topup_order(
    session: Session, *, reference: str, customer_id: str, currency: str, total_minor: int
) -> OrderRecord:
    """A new order buying ``total_minor`` of wallet credit (its reference is new: no race)."""
    account = OrderRecord(
        reference=reference,
        customer_id=customer_id,
        currency=currency,
        total_minor=total_minor,
        paid_minor=0,
        status=derive_status(total_minor=total_minor, paid_minor=0, closed_as=None),
        purpose=WALLET_TOPUP,
    )
    session.add(account)
    session.flush()
    return account


def attach_offer(account: OrderRecord, *, offer_id: str, title: str) -> None:
    """Record the host's offer a new order buys; the caller flushes (the slot may be taken).

    While the order is Open it holds the customer's one Open slot for the offer
    (``open_offer_id``, unique with the customer).
    """
    account.offer_id = offer_id
    account.open_offer_id = offer_id if account.status == OrderStatus.OPEN else None
    account.title = title[:255]


def set_instalment_terms(
    account: OrderRecord,
    *,
    minimum_first_minor: int,
    success_minor: int | None,
    plan: str | None = None,
) -> None:
    """Make the order one paid in instalments, with its first minimum and success threshold
    (and, paid on a schedule, the plan policy it was placed with, stored as JSON)."""
    account.instalments = True
    account.minimum_first_minor = minimum_first_minor
    account.success_minor = success_minor
    account.plan = plan


def set_automatic_payments(
    account: OrderRecord, *, card_id: int | None, agreed_at: datetime | None
) -> None:
    """Record the customer's consent to have ``card_id`` charged on the order's due dates
    (at ``agreed_at``), or its withdrawal (``card_id=None``). The caller holds the order's
    lock (:func:`flask_partialpay.payments.lifecycle.lock_order`)."""
    account.autopay_card_id = card_id
    account.autopay_agreed_at = agreed_at if card_id is not None else None


def reserve(session: Session, account: OrderRecord, amount_minor: int) -> None:
    """Count a pending wallet part's hold as reserved for the order (an atomic increment)."""
    update_rows(
        session,
        update(OrderRecord)
        .where(OrderRecord.id == account.id)
        .values(reserved_minor=OrderRecord.reserved_minor + amount_minor),
    )


def reserve_within_total(
    session: Session, account: OrderRecord, amount_minor: int, *, asked_elsewhere_minor: int
) -> bool:
    """Reserve ``amount_minor`` only if the Open order can still take it; whether it did.

    In one conditional UPDATE, so two checkouts reserving at once cannot together exceed
    what is owed: paid, reserved, what gateways are asked for and this part fit in the
    total less what was waived.
    """
    reserved = update_rows(
        session,
        update(OrderRecord)
        .where(
            OrderRecord.id == account.id,
            OrderRecord.status == OrderStatus.OPEN,
            OrderRecord.paid_minor
            + OrderRecord.reserved_minor
            + asked_elsewhere_minor
            + amount_minor
            <= OrderRecord.total_minor - OrderRecord.waived_minor,
        )
        .values(reserved_minor=OrderRecord.reserved_minor + amount_minor),
    )
    return reserved == 1


def unreserve(session: Session, order_id: int, amount_minor: int) -> None:
    """A wallet part's hold no longer counts for the order (an atomic decrement)."""
    update_rows(
        session,
        update(OrderRecord)
        .where(OrderRecord.id == order_id)
        .values(reserved_minor=OrderRecord.reserved_minor - amount_minor),
    )


def record_refund(session: Session, account: OrderRecord, amount_minor: int) -> bool:
    """Count a host's refund of the order, unless it would exceed what was paid; whether it did.

    Conditional in the UPDATE itself, so two refunds at once cannot together exceed it.
    """
    counted = update_rows(
        session,
        update(OrderRecord)
        .where(
            OrderRecord.id == account.id,
            OrderRecord.refunded_minor + amount_minor <= OrderRecord.paid_minor,
        )
        .values(refunded_minor=OrderRecord.refunded_minor + amount_minor),
    )
    return counted == 1


def record_overpayment(session: Session, account: OrderRecord, excess_minor: int) -> bool:
    """Claim ``excess_minor`` more as handled overpayment; False if another handler did first.

    Conditional on the overpaid amount ``account`` was read with: a second handler of the
    same excess finds it changed and changes nothing.
    """
    claimed = update_rows(
        session,
        update(OrderRecord)
        .where(
            OrderRecord.id == account.id,
            OrderRecord.overpaid_minor == account.overpaid_minor,
        )
        .values(overpaid_minor=account.overpaid_minor + excess_minor),
    )
    return claimed == 1
