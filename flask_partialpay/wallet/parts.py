"""The wallet part of an order: held at checkout, captured when the rest is paid.

The life of a "Via wallet" line, start to end:

1. **Checkout.** :func:`hold_for_checkout` reserves the amount in the wallet under the
   checkout's key, before the host writes its order. A double submission finds the same
   hold; when the balance is no longer there (spent, or held by a parallel checkout) the
   shopper is told and nothing is placed.
2. **Order placed.** :func:`attach` turns the hold into a pending payment of the order
   through the "Wallet" gateway, and counts it in the order's ``reserved_minor``, so the
   other gateways are asked only for the rest.
3. **The rest is paid.** :func:`capture_for_order` captures the hold ("For order payment #1234
   (Partial)"): the wallet payment succeeds and the order is paid in full. A hold that
   lapsed meanwhile is replaced by a debit if the wallet still covers it.
4. **The rest fails, is abandoned, or the hold expires.** :func:`drop` releases the hold;
   the balance is whole again and the order is due in full.
5. **Cancel or refund.** The wallet payment is refunded to the wallet, at most what it
   paid in total (see :mod:`.payments`).

Functions here work inside the caller's transaction.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import (
    HoldNotActive,
    InsufficientFunds,
    WalletBalanceChanged,
    WalletLocked,
)
from flask_partialpay.core.markers import N_
from flask_partialpay.core.vocabulary import (
    WALLET_GATEWAY,
    HoldStatus,
    OrderStatus,
    PaymentStatus,
    TransferReason,
)
from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.host import signals
from flask_partialpay.ledger import transfers, wallet_accounts
from flask_partialpay.ledger.models import Hold, LedgerAccount
from flask_partialpay.payments import due, lifecycle, orders
from flask_partialpay.payments.gateways.wallet import PARTIAL_MEMO
from flask_partialpay.payments.models import OrderRecord, Payment

RELEASED_FAILED = N_("the other payment did not go through")
RELEASED_EXPIRED = N_("the wallet reservation expired")


def _checkout_key(checkout_key: str) -> str:
    return f"checkout-hold:{checkout_key}"


def checkout_hold(session: Session, checkout_key: str, *, lock: bool = False) -> Hold | None:
    """The hold placed for this checkout, if any.

    ``lock``: a locking read, which sees a hold a second submission of the checkout
    committed a moment ago where MariaDB's REPEATABLE READ would serve a plain read from an
    older snapshot. Only where nothing is inserted afterwards: on a key not there, MariaDB
    locks the gap, and two transactions that both insert into it would deadlock.
    """
    query = select(IdempotencyRecord.hold_id).where(
        IdempotencyRecord.key == _checkout_key(checkout_key)
    )
    hold_id = session.scalar(query.with_for_update(read=True) if lock else query)
    if hold_id is None:
        return None
    return session.get(Hold, hold_id, with_for_update={"read": True}, populate_existing=True)


def hold_for_checkout(
    session: Session, *, customer_id: str, currency: str, amount_minor: int, checkout_key: str
) -> Hold:
    """Reserve the wallet part of an order about to be placed; once per checkout key."""
    earlier = checkout_hold(session, checkout_key)
    if earlier is not None:
        return earlier
    try:
        return wallet_accounts.hold(
            session,
            customer_id,
            amount_minor,
            currency,
            reference=f"checkout:{checkout_key}"[:64],
            idempotency_key=_checkout_key(checkout_key),
        )
    except (InsufficientFunds, WalletLocked):
        raise WalletBalanceChanged() from None


def attach(session: Session, account: OrderRecord, checkout_key: str) -> Payment | None:
    """Make the checkout's hold the order's pending wallet payment (once per checkout).

    Under the order's lock, so two requests attaching at once queue. A hold that no longer
    fits the order (paid, or another payment already asks for the part the wallet would
    pay) is released rather than kept: the wallet is never asked for money a gateway is
    asked for too.
    """
    key = f"checkout:{checkout_key}"
    account = lifecycle.lock_order(session, account.id)
    existing = lifecycle.payment_by_key(session, key, lock=True)
    if existing is not None:
        return existing
    hold = checkout_hold(session, checkout_key)
    if hold is None or hold.status != HoldStatus.ACTIVE:
        return None
    owner = session.get_one(LedgerAccount, hold.account_id).owner_id
    if (owner, hold.currency) != (account.customer_id, account.currency):
        raise WalletBalanceChanged()
    asked_elsewhere = due.asked_of_gateways(session, account)
    reserved = orders.reserve_within_total(
        session, account, hold.amount_minor, asked_elsewhere_minor=asked_elsewhere
    )
    if not reserved:
        # The order cannot take this much from the wallet (it is paid, or a gateway was
        # already asked for its whole total): give the money back rather than keep it.
        transfers.release_hold(session, hold.id)
        return None
    # The hold now belongs to the order: its statement line will name the order.
    hold.reference = account.reference
    payment = lifecycle.new_payment(
        account,
        gateway=WALLET_GATEWAY,
        amount_minor=hold.amount_minor,
        customer_id=account.customer_id,
        idempotency_key=key,
        return_url="/",
    )
    payment.hold_id = hold.id
    session.add(payment)
    session.flush()
    session.refresh(account)
    app = signals.sender()
    signals.payment_recorded.send(app, payment=payment)
    signals.wallet_applied.send(app, order=account, payment=payment, amount=payment.amount)
    capture_for_order(session, account)
    return payment


def _checkout_parts(account: OrderRecord, *statuses: str) -> tuple[ColumnElement[bool], ...]:
    """Conditions for the order's wallet parts applied at checkout (not an instalment's)."""
    return (
        Payment.order_id == account.id,
        Payment.gateway == WALLET_GATEWAY,
        Payment.hold_id.is_not(None),
        Payment.part_of_id.is_(None),
        Payment.status.in_(statuses),
    )


def via_wallet_minor(session: Session, account: OrderRecord) -> int:
    """The order's "Via wallet" line: its checkout parts held now or taken, in minor units."""
    total = session.scalar(
        select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
            *_checkout_parts(account, PaymentStatus.PENDING, PaymentStatus.SUCCEEDED)
        )
    )
    return int(total or 0)


def pending_parts(session: Session, account: OrderRecord) -> list[Payment]:
    """The order's held checkout parts (those of an instalment wait for their own payment)."""
    query = select(Payment).where(*_checkout_parts(account, PaymentStatus.PENDING))
    return list(session.scalars(query.order_by(Payment.id)))


def parts_of(session: Session, payment: Payment) -> list[Payment]:
    """The pending wallet parts of the instalment that ``payment`` pays the rest of."""
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.part_of_id == payment.id, Payment.status == PaymentStatus.PENDING)
            .order_by(Payment.id)
        )
    )


def hold_for_instalment(
    session: Session,
    account: OrderRecord,
    *,
    rest: Payment,
    amount_minor: int,
) -> Payment:
    """Hold ``amount_minor`` of the wallet as the wallet part of an instalment.

    ``rest`` is the pending payment (a card) for the rest of the instalment: the part is
    captured when it succeeds and released when it fails. Call it in the transaction that
    started ``rest``, under the order's lock; raises :class:`InsufficientFunds` or
    :class:`WalletLocked` (and the caller's transaction is rolled back).
    """
    hold = wallet_accounts.hold(
        session,
        account.customer_id,
        amount_minor,
        account.currency,
        reference=account.reference,
        idempotency_key=f"instalment-hold:{rest.public_id}",
    )
    return _held_part(
        session,
        account,
        hold,
        idempotency_key=f"instalment-part:{rest.public_id}",
        return_url=rest.return_url,
        part_of=rest,
    )


def capture_parts_of(session: Session, payment: Payment) -> None:
    """``payment`` paid the rest of its instalment: take the wallet part held with it."""
    for part in parts_of(session, payment):
        capture(session, part)


def drop_parts_of(session: Session, payment: Payment) -> None:
    """``payment`` failed: the wallet part of its instalment goes back to the balance."""
    for part in parts_of(session, payment):
        drop(session, part, reason=RELEASED_FAILED)


def capture_for_order(session: Session, account: OrderRecord) -> None:
    """Capture the held wallet parts once the other payments cover the rest of the order."""
    session.refresh(account)
    if account.closed_as is not None or account.due_minor > 0:
        return
    for part in pending_parts(session, account):
        capture(session, part)


def capture(session: Session, part: Payment) -> bool:
    """Take a wallet part's money for good; False if it was captured or released already."""
    assert part.hold_id is not None
    reference = part.order.reference
    try:
        wallet_accounts.capture(session, part.hold_id, None, memo=PARTIAL_MEMO)
    except HoldNotActive as error:
        if error.params.get("status") != HoldStatus.EXPIRED:
            return False  # captured or released by another request a moment ago
        # The hold lapsed before the rest was paid. Take the money now if the wallet still
        # has it; the key makes a concurrent second attempt replay this debit.
        try:
            # A savepoint: a refused debit must leave nothing behind (not even its key).
            with session.begin_nested():
                wallet_accounts.debit(
                    session,
                    part.customer_id,
                    part.amount_minor,
                    part.currency,
                    reason=TransferReason.ORDER_PAYMENT,
                    idempotency_key=f"wallet-part:{part.public_id}",
                    memo=PARTIAL_MEMO,
                    reference=reference,
                )
        except (InsufficientFunds, WalletLocked):
            drop(session, part, reason=RELEASED_EXPIRED)
            return False
    if not lifecycle.succeed(session, part):
        return False
    signals.wallet_captured.send(
        signals.sender(), order=part.order, payment=part, amount=part.amount
    )
    return True


def retake_lapsed(session: Session, account: OrderRecord) -> None:
    """The rest was paid after the wallet part's hold lapsed: take that part again.

    A card payment can be recorded long after the shopper paid (the shop's worker died and
    the processor's notification came back later), by which time the part's hold expired
    and its money went back to the balance. The order is then paid as the shopper was
    shown it if the wallet still has the money: held and taken again now. If it has not,
    the part stays due and the order shows it, never silently lost.
    """
    session.refresh(account)
    if account.closed_as is not None or account.status != OrderStatus.OPEN:
        return
    lapsed = session.scalars(
        select(Payment)
        .where(
            *_checkout_parts(account, PaymentStatus.CANCELLED),
            Payment.failure_message == RELEASED_EXPIRED,
        )
        .order_by(Payment.id)
    )
    for part in list(lapsed):
        key = f"retake:{part.public_id}"
        if part.amount_minor > account.due_minor or lifecycle.payment_by_key(
            session, key, lock=True
        ):
            continue
        try:
            # A savepoint: a refused hold must leave nothing behind (not even its key).
            with session.begin_nested():
                hold = wallet_accounts.hold(
                    session,
                    account.customer_id,
                    part.amount_minor,
                    account.currency,
                    reference=account.reference,
                    idempotency_key=f"retake-hold:{part.public_id}",
                )
        except (InsufficientFunds, WalletLocked):
            continue  # the money is gone: the part stays due
        again = _held_part(session, account, hold, idempotency_key=key, return_url=part.return_url)
        capture(session, again)
        session.refresh(account)


def _held_part(
    session: Session,
    account: OrderRecord,
    hold: Hold,
    *,
    idempotency_key: str,
    return_url: str,
    part_of: Payment | None = None,
) -> Payment:
    """A pending wallet payment of the order for ``hold``, counted as reserved.

    ``part_of``: the payment paying the rest of the instalment this part belongs to.
    """
    orders.reserve(session, account, hold.amount_minor)
    part = lifecycle.new_payment(
        account,
        gateway=WALLET_GATEWAY,
        amount_minor=hold.amount_minor,
        customer_id=account.customer_id,
        idempotency_key=idempotency_key,
        return_url=return_url,
    )
    part.hold_id = hold.id
    part.part_of_id = None if part_of is None else part_of.id
    session.add(part)
    session.flush()
    session.refresh(account)
    app = signals.sender()
    signals.payment_recorded.send(app, payment=part)
    signals.wallet_applied.send(app, order=account, payment=part, amount=part.amount)
    return part


def _wallet_account_id(session: Session, part: Payment) -> int:
    return session.get_one(Hold, part.hold_id).account_id


def drop(session: Session, part: Payment, *, reason: str) -> bool:
    """Give a pending wallet part's money back to the balance; False if it was not pending."""
    return lifecycle.fail(session, part, to_state=PaymentStatus.CANCELLED, reason=reason)


def on_dropped(session: Session, part: Payment, reason: str | None) -> None:
    """A wallet part stopped being pending without being captured: free its money."""
    assert part.hold_id is not None
    try:
        transfers.release_hold(session, part.hold_id)
    except HoldNotActive:
        # Lapsed: expiring it frees the money just the same.
        transfers.expire_holds(session, account_id=_wallet_account_id(session, part))
    orders.unreserve(session, part.order_id, part.amount_minor)
    session.refresh(part.order)
    signals.wallet_released.send(
        signals.sender(), order=part.order, payment=part, amount=part.amount, reason=reason
    )


def on_other_payment_failed(session: Session, account: OrderRecord) -> None:
    """The card (or transfer) meant to pay the rest failed: release the wallet parts.

    Unless another payment for the rest is still under way: then the wallet waits for it.
    """
    if not pending_parts(session, account):
        return
    still_trying = session.scalar(
        select(Payment.id)
        .where(
            Payment.order_id == account.id,
            Payment.status == PaymentStatus.PENDING,
            Payment.hold_id.is_(None),
        )
        .limit(1)
    )
    if still_trying is not None:
        return
    for part in pending_parts(session, account):
        drop(session, part, reason=RELEASED_FAILED)


def expire_parts(session: Session) -> int:
    """Release the wallet parts whose hold lapsed (a shopper who never paid the rest)."""
    lapsed = list(
        session.scalars(
            select(Payment)
            .join(Hold, Hold.id == Payment.hold_id)
            .where(
                Payment.status == PaymentStatus.PENDING,
                (Hold.status != HoldStatus.ACTIVE) | (Hold.expires_at <= transfers.now()),
            )
        )
    )
    return sum(drop(session, part, reason=RELEASED_EXPIRED) for part in lapsed)
