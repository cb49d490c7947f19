"""Order accounts: the extension's record of what a host order costs and what was paid.

An order's status is never set by hand: :func:`derive_status` computes it from the amounts
and from how the host closed the order, and :func:`refresh_status` is the only writer.
"""

from __future__ import annotations

from dataclasses import dataclass
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
from flask_partialpay.payments.models import OrderAccount

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
    #: The key the host gave :meth:`PartialPay.hold_wallet` at this order's checkout.
    #: Whichever call opens the order's account first (placing it, or paying it from a
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
    *, total_minor: int, paid_minor: int, closed_as: str | None, completed_by_hand: bool = False
) -> OrderStatus:
    """Open until the confirmed payments reach the total (or an admin completes it at the
    success threshold), then Completed; or as closed."""
    if closed_as in CLOSED_AS:
        return OrderStatus(closed_as)
    if paid_minor >= total_minor or completed_by_hand:
        return OrderStatus.COMPLETED
    return OrderStatus.OPEN


def refresh_status(session: Session, account: OrderAccount) -> OrderStatus:
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
    )
    if account.status != status:
        account.status = OrderStatus.move(account.status, status)
        if status != OrderStatus.OPEN:
            # The customer may open the offer again: a new order, not this closed one.
            account.open_offer_id = None
        session.flush()
    return status


def ensure_account(session: Session, info: OrderInfo) -> OrderAccount:
    """The account for ``info.reference``, created on first use (see :func:`open_account`)."""
    return open_account(session, info)[0]


def open_account(session: Session, info: OrderInfo) -> tuple[OrderAccount, bool]:
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


def _insert(session: Session, info: OrderInfo) -> tuple[OrderAccount, bool]:
    total_minor = to_minor(info.total, info.currency)
    candidate = OrderAccount(
        reference=info.reference,
        customer_id=info.customer_id,
        currency=info.currency,
        total_minor=total_minor,
        paid_minor=0,
        status=derive_status(total_minor=total_minor, paid_minor=0, closed_as=None),
        purpose=WALLET_TOPUP if info.wallet_topup else OrderPurpose.ORDER,
    )
    return insert_or_winner(
        session, candidate, select(OrderAccount).where(OrderAccount.reference == info.reference)
    )


def _by_reference(session: Session, reference: str) -> OrderAccount | None:
    return session.scalars(
        select(OrderAccount).where(OrderAccount.reference == reference)
    ).one_or_none()


def add_payment(
    session: Session, account: OrderAccount, amount_minor: int, *, unreserve: bool = False
) -> OrderStatus:
    """Count a confirmed payment towards the order (an atomic increment, not read-modify-write).

    ``unreserve``: the payment is a held wallet part, counted in ``reserved_minor`` until now.
    """
    values = {"paid_minor": OrderAccount.paid_minor + amount_minor}
    if unreserve:
        values["reserved_minor"] = OrderAccount.reserved_minor - amount_minor
    update_rows(session, update(OrderAccount).where(OrderAccount.id == account.id).values(values))
    return refresh_status(session, account)


def close(session: Session, account: OrderAccount, closed_as: ClosedAs) -> bool:
    """Mark the order cancelled, refunded or declined; only the first close counts."""
    changed = update_rows(
        session,
        update(OrderAccount)
        .where(OrderAccount.id == account.id, OrderAccount.closed_as.is_(None))
        .values(closed_as=closed_as),
    )
    refresh_status(session, account)
    return changed == 1


def open_order(session: Session, info: OrderInfo) -> OrderAccount:
    """The order's account, with the wallet part of its checkout attached.

    Whichever call comes first (the host placing the order, or a second submission of the
    same checkout paying it) opens the account and attaches the part in one transaction,
    so no payment ever sees the order without its "Via wallet" part subtracted. The part
    is the wallet's: the installed settlement attaches it.
    """
    account = ensure_account(session, info)
    if info.checkout_key is not None:
        settlement.current().order_opened(session, account, info.checkout_key)
    return account
