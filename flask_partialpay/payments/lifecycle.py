"""A payment's life: started, succeeded or failed, under the order's lock and a key.

This is the one module that changes a payment's status (refunds aside, see
:mod:`.refunds`). Each change is a conditional update (``... WHERE status = 'pending'``)
whose row count says whether this call made it; a duplicate, late or concurrent repeat
finds nothing to change and does nothing. Signals are sent only by the call that made the
change, and what follows for the wallet is handed to the installed settlement
(:mod:`.settlement`).

Functions here work inside the caller's transaction and do not commit; the services wrap
them in :func:`flask_partialpay.db.transactions.run_in_transaction`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session, lazyload

from flask_partialpay.core.errors import (
    AmountNotAllowed,
    IdempotencyConflict,
    OrderDeclined,
    OrderNotPayable,
    PaymentError,
)
from flask_partialpay.core.ids import payment_reference, request_fingerprint
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import from_minor, to_minor
from flask_partialpay.core.vocabulary import OrderStatus, PaymentStatus
from flask_partialpay.db.base import utcnow
from flask_partialpay.db.transactions import insert_or_winner, update_rows
from flask_partialpay.host import signals
from flask_partialpay.host.redirects import require_return_path
from flask_partialpay.payments import orders, settlement
from flask_partialpay.payments.due import allowed_range
from flask_partialpay.payments.gateways.base import Gateway
from flask_partialpay.payments.gateways.wallet import WalletGateway
from flask_partialpay.payments.models import RETURN_URL_LENGTH, OrderRecord, Payment

# A gateway may report success after the shop gave up on a payment (the shopper left, the
# order was cancelled): the money was taken all the same, so it is recorded.
_MAY_SUCCEED_FROM = (PaymentStatus.PENDING, PaymentStatus.CANCELLED)


@dataclass(frozen=True)
class Started:
    """A payment recorded as started; where the shopper goes once its gateway was asked."""

    payment: Payment
    #: False when the request was a replay of one made earlier (the same idempotency key).
    created: bool
    #: Filled in after the commit, by asking the gateway (see :func:`.gateway_calls.begin`).
    redirect_url: str = ""


def start(
    session: Session,
    *,
    account: OrderRecord,
    gateway: Gateway,
    amount: Decimal,
    customer_id: str,
    return_url: str,
    idempotency_key: str | None,
    gateways: Callable[[str], Gateway] | None = None,
    wallet_part_minor: int = 0,
    replaceable: Collection[str] = (),
) -> Started:
    """Record a pending payment of ``amount`` towards the order.

    The gateway is not called here: this runs inside the transaction, and the gateway is
    asked after the commit (:func:`.gateway_calls.begin`). Only the wallet, the shop's own
    ledger, takes its money here, so a payment from the wallet succeeds or is refused at
    once.

    The amount must be positive and at most what is still due; for an instalment order at
    least the first minimum, and for an offer bought without instalments all of it (see
    :mod:`.instalments`). The same idempotency key with the same details returns the first
    payment (a form submitted twice pays once); with other details it is a conflict.

    ``gateways`` looks up the gateway of other payments under way: given, card payments
    not yet decided count against what may be asked, so two payments started at once
    cannot both charge what is due (see :class:`Pending`). ``replaceable``: the public ids
    of the customer's earlier payments their processor confirmed it will never charge
    (:func:`.gateway_calls.cancel_abandoned`); they are cancelled for this one.

    ``wallet_part_minor``: this payment pays the rest of an instalment whose other part
    comes from the customer's wallet. The limits apply to the whole instalment, and the
    wallet part is held with it (captured when this payment succeeds, released if it fails).
    """
    amount_minor = to_minor(amount, account.currency)
    parts: tuple[object, ...] = (account.reference, gateway.name, amount_minor, customer_id)
    if wallet_part_minor:
        if gateway.confirmed_by_manager:
            raise PaymentError(WALLET_PART_WITH_TRANSFER)
        parts += (wallet_part_minor,)
    fingerprint = request_fingerprint(*parts)
    replay = _replay(session, idempotency_key, fingerprint)
    if replay is not None:
        return Started(replay, created=False)
    # Under the order's lock: two payments started at once are checked one after the other,
    # so together they cannot ask for more than is due.
    account = lock_order(session, account.id)
    # A request with the same key that was waiting for that lock finds the first payment
    # now (a locking read: MariaDB's snapshot may predate it).
    replay = _replay(session, idempotency_key, fingerprint, lock=True)
    if replay is not None:
        return Started(replay, created=False)
    if account.closed_as == OrderStatus.DECLINED:
        raise OrderDeclined()
    if account.status != OrderStatus.OPEN:
        raise OrderNotPayable()
    allowed, under_way = allowed_range(
        session, account, customer_id, gateways, replaceable=replaceable
    )
    whole = from_minor(amount_minor + wallet_part_minor, account.currency)
    if not allowed.minimum <= whole <= allowed.maximum:
        raise AmountNotAllowed(
            minimum=allowed.minimum, maximum=allowed.maximum, currency=account.currency
        )
    payment, created = _insert_payment(
        session,
        new_payment(
            account,
            gateway=gateway.name,
            amount_minor=amount_minor,
            customer_id=customer_id,
            idempotency_key=idempotency_key,
            return_url=return_url,
            fingerprint=fingerprint,
        ),
    )
    if not created:
        # The same key was claimed a moment ago by a concurrent request for another order.
        if payment.request_fingerprint != fingerprint:
            raise IdempotencyConflict()
        return Started(payment, created=False)
    signals.payment_recorded.send(signals.sender(), payment=payment)
    if wallet_part_minor:
        settlement.current().started(session, payment, wallet_part_minor=wallet_part_minor)
    # Only now, with the new payment under way: the wallet part waits for it.
    for stale in under_way.replaced:
        fail(session, stale, to_state=PaymentStatus.CANCELLED, reason=REPLACED)
    if isinstance(gateway, WalletGateway):
        gateway.take(payment)
        succeed(session, payment)
    return Started(payment, created=True)


def _insert_payment(session: Session, payment: Payment) -> tuple[Payment, bool]:
    if payment.idempotency_key is None:
        session.add(payment)
        session.flush()
        return payment, True
    return insert_or_winner(
        session,
        payment,
        _under_key(payment.idempotency_key).options(lazyload(Payment.order)),
    )


WALLET_PART_WITH_TRANSFER = N_(
    "Part of a payment can come from the wallet only with a card: a bank transfer takes "
    "too long for the wallet money to stay reserved. Pay it all from the wallet, or by "
    "transfer without the wallet."
)


# Why a pending card payment stopped: the shopper started another payment instead.
REPLACED = "replaced by a newer payment"


def new_payment(
    account: OrderRecord,
    *,
    gateway: str,
    amount_minor: int,
    customer_id: str,
    idempotency_key: str | None,
    return_url: str,
    fingerprint: str | None = None,
) -> Payment:
    """A pending payment towards ``account`` (not yet added to the session).

    ``return_url`` is where the shopper goes after paying: it must be a path on this site
    (:class:`ConfigurationError` otherwise), so no payment can send anyone elsewhere.
    """
    require_return_path(return_url, max_length=RETURN_URL_LENGTH)
    # Hex: no separators, and the same under MariaDB's case-insensitive collation.
    public_id = secrets.token_hex(16)
    return Payment(
        public_id=public_id,
        reference=payment_reference(public_id),
        order_id=account.id,
        customer_id=customer_id,
        gateway=gateway,
        amount_minor=amount_minor,
        currency=account.currency,
        status=PaymentStatus.PENDING,
        refunded_minor=0,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint
        or request_fingerprint(account.reference, gateway, amount_minor, customer_id),
        return_url=return_url,
    )


def _under_key(idempotency_key: str) -> Select[Payment]:
    """The query for the payment made under ``idempotency_key`` (keys are unique)."""
    return select(Payment).where(Payment.idempotency_key == idempotency_key)


def payment_by_key(
    session: Session, idempotency_key: str | None, *, lock: bool = False
) -> Payment | None:
    """The payment made under ``idempotency_key``, if any (None without a key).

    The one lookup of a payment by its key: a replayed request, a wallet part taken at
    checkout and a top-up submitted twice all find their first payment here.
    ``lock``: a locking read, which sees a payment committed a moment ago by a concurrent
    request (MariaDB's REPEATABLE READ serves a plain read from an older snapshot).
    """
    if idempotency_key is None:
        return None
    query = _under_key(idempotency_key)
    if lock:
        query = (
            query.options(lazyload(Payment.order))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    return session.scalars(query).one_or_none()


def _replay(
    session: Session, idempotency_key: str | None, fingerprint: str, *, lock: bool = False
) -> Payment | None:
    """The payment made earlier under this key, if any; a different request is a conflict."""
    existing = payment_by_key(session, idempotency_key, lock=lock)
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict()
    return existing


def lock_order(session: Session, order_id: int) -> OrderRecord:
    """The order, read with its row lock, before any of its payments is changed.

    Every path that changes an order and its payments locks the order first, then the
    payments, then wallets: a gateway's success and a host's cancel arriving together then
    queue instead of deadlocking (a deadlock's retry would also repeat the loser's signals).
    The locking read also sees the latest committed row where MariaDB's REPEATABLE READ
    would serve a plain read from an older snapshot.
    """
    return session.get_one(OrderRecord, order_id, with_for_update=True, populate_existing=True)


def lock_payment(session: Session, payment_id: int) -> Payment:
    """The payment as committed now, read with its row lock (held until the commit)."""
    # Without the joined order: PostgreSQL refuses FOR UPDATE on an outer join's nullable side.
    return session.get_one(
        Payment,
        payment_id,
        with_for_update=True,
        populate_existing=True,
        options=[lazyload(Payment.order)],
    )


def _transition(
    session: Session,
    payment: Payment,
    *,
    from_states: Collection[str],
    to_state: str,
    **values: object,
) -> bool:
    """Move ``payment`` to ``to_state`` if it is still in one of ``from_states``.

    The declared move is checked against :class:`.PaymentStatus`'s table first (a move it
    forbids raises :class:`.IllegalTransition`); the conditional update then makes it only
    if the payment is still where the move starts, so a repeat changes nothing.
    """
    target = PaymentStatus.move_from(from_states, to_state)
    changed = update_rows(
        session,
        update(Payment)
        .where(Payment.id == payment.id, Payment.status.in_(from_states))
        .values(status=target, decided_at=utcnow(), **values),
    )
    session.refresh(payment)
    return changed == 1


def succeed(
    session: Session,
    payment: Payment,
    *,
    gateway_reference: str | None = None,
    confirmed_by: str | None = None,
) -> bool:
    """Count ``payment`` towards its order; False if it already counted (a repeat)."""
    from_states = (PaymentStatus.PENDING,) if confirmed_by is not None else _MAY_SUCCEED_FROM
    values: dict[str, object] = {"decided_by": confirmed_by}
    if gateway_reference is not None:
        values["gateway_reference"] = gateway_reference
    account = lock_order(session, payment.order_id)
    was_open = account.status == OrderStatus.OPEN
    if not _transition(
        session, payment, from_states=from_states, to_state=PaymentStatus.SUCCEEDED, **values
    ):
        return False
    is_wallet_part = payment.hold_id is not None
    status = orders.add_payment(session, account, payment.amount_minor, unreserve=is_wallet_part)
    app = signals.sender()
    signals.payment_succeeded.send(app, payment=payment, order=account, confirmed_by=confirmed_by)
    if confirmed_by is not None:
        signals.payment_confirmed.send(app, payment=payment, order=account, by=confirmed_by)
    settlement.current().deliver(session, payment)
    if was_open and status == OrderStatus.COMPLETED:
        signals.order_fully_paid.send(app, order=account)
        signals.order_completed.send(app, order=account, by=None)
    if account.closed_as is not None:
        # Paid after the host closed the order: the gateway holds money the shop must return.
        signals.refund_owed.send(app, order=account, payment=payment, amount=payment.amount)
        return True
    settlement.current().succeeded(session, account, payment)
    return True


def note_gateway_reference(session: Session, payment_id: int, reference: str) -> bool:
    """Record the processor's id for a payment that has none yet; whether this call did.

    A processor that creates its object at start (a Stripe PaymentIntent) names it before
    any notification arrives; the pay page and ``cancel`` find it by this id. A payment
    that already has one keeps it (a replayed start names the same object anyway).
    """
    changed = update_rows(
        session,
        update(Payment)
        .where(Payment.id == payment_id, Payment.gateway_reference.is_(None))
        .values(gateway_reference=reference),
    )
    return changed == 1


def fail(
    session: Session,
    payment: Payment,
    *,
    to_state: str = PaymentStatus.FAILED,
    reason: str | None = None,
    decided_by: str | None = None,
) -> bool:
    """Mark a pending ``payment`` as never counting; False if it was no longer pending.

    A payment cancelled because it was replaced (here, or by its processor at the shop's
    request) leaves the order's wallet parts held: they wait for the payment that
    replaces it, or lapse.
    """
    lock_order(session, payment.order_id)
    changed = _transition(
        session,
        payment,
        from_states=(PaymentStatus.PENDING,),
        to_state=to_state,
        failure_message=(reason or "")[:255] or None,
        decided_by=decided_by,
    )
    if changed:
        app = signals.sender()
        signals.payment_failed.send(app, payment=payment, reason=reason)
        if to_state == PaymentStatus.REJECTED:
            signals.payment_rejected.send(app, payment=payment, by=decided_by, reason=reason)
        settlement.current().failed(session, payment, reason=reason)
    return changed


# Why a pending card payment stopped: its processor cancelled it at the shop's request
# (the notification of a replacement, or of a replacement whose new payment was refused).
CANCELLED_AT_PROCESSOR = N_("cancelled before it was charged")


# Why a card payment stopped before it began: its processor could not be reached.
PROCESSOR_UNREACHABLE = N_("the payment service could not be reached")


# A payment stopped for one of these reasons is followed by another attempt: the order's
# wallet parts stay held for it (or lapse), rather than go back at once.
WALLET_PARTS_WAIT = (REPLACED, CANCELLED_AT_PROCESSOR, PROCESSOR_UNREACHABLE)
