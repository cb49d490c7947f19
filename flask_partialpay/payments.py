"""Payments towards orders: start, succeed, fail, confirm, reject, refund.

This is the one module that changes a payment's status or an order's paid amount. Each
change is a conditional update (``... WHERE status = 'pending'``) whose row count says
whether this call made it; a duplicate, late or concurrent repeat finds nothing to change
and does nothing. Signals are sent only by the call that made the change.

Functions here work inside the caller's transaction and do not commit; the extension's
service methods wrap them in :func:`..transactions.run_in_transaction`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, lazyload

from flask_partialpay import instalments, orders, overpayments, signals, topups, wallet_parts
from flask_partialpay.errors import AmountNotAllowed, CurrencyMismatch, IdempotencyConflict, OrderDeclined, OrderNotPayable, OutOfOrder, PaymentError, RefundNotPossible, UnknownGateway
from flask_partialpay.gateways.base import Gateway, GatewayEvent
from flask_partialpay.gateways.wallet import NAME as WALLET
from flask_partialpay.gateways.wallet import WalletGateway
from flask_partialpay.markers import N_
from flask_partialpay.models import RETURN_URL_LENGTH, OrderAccount, Payment, Refund, utcnow
from flask_partialpay.models import GatewayEvent as GatewayEventRecord
from flask_partialpay.money import from_minor, to_minor
from flask_partialpay.redirects import require_return_path
from flask_partialpay.transactions import insert_or_winner, update_rows
from flask_partialpay.vocabulary import OrderStatus, PaymentStatus, RefundStatus

PENDING = PaymentStatus.PENDING
SUCCEEDED = PaymentStatus.SUCCEEDED
FAILED = PaymentStatus.FAILED
REJECTED = PaymentStatus.REJECTED
CANCELLED = PaymentStatus.CANCELLED
# A refund through a processor: requested, then succeeded or failed (see models.Refund).
REFUND_REQUESTED = RefundStatus.REQUESTED
REFUND_SUCCEEDED = RefundStatus.SUCCEEDED
REFUND_FAILED = RefundStatus.FAILED

# A gateway may report success after the shop gave up on a payment (the shopper left, the
# order was cancelled): the money was taken all the same, so it is recorded.
_MAY_SUCCEED_FROM = (PENDING, CANCELLED)


@dataclass(frozen=True)
class Started:
    """A payment recorded as started; where the shopper goes once its gateway was asked."""

    payment: Payment
    #: False when the request was a replay of one made earlier (the same idempotency key).
    created: bool
    #: Filled in after the commit, by asking the gateway (see :func:`.gateway_calls.begin`).
    redirect_url: str = ""


def _fingerprint(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


def start(
    session: Session,
    *,
    account: OrderAccount,
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
    fingerprint = _fingerprint(*parts)
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
        wallet_parts.hold_for_instalment(
            session, account, rest=payment, amount_minor=wallet_part_minor
        )
    # Only now, with the new payment under way: the wallet part waits for it.
    for stale in under_way.replaced:
        fail(session, stale, to_state=CANCELLED, reason=REPLACED)
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
        select(Payment)
        .where(Payment.idempotency_key == payment.idempotency_key)
        .options(lazyload(Payment.order)),
    )


# Nothing more may be asked of the order now: card payments under way (or the wallet part
# held for it) cover what is due.
COVERED_BY_PAYMENTS_UNDER_WAY = N_("Payments already under way cover what is due.")


def payable_now(
    session: Session,
    account: OrderAccount,
    customer_id: str,
    gateways: Callable[[str], Gateway] | None,
    *,
    replaceable: Collection[str] = (),
    idempotency_key: str | None = None,
) -> Decimal:
    """What "pay all that is due" asks for: the most :func:`start` accepts now.

    Raises :class:`PaymentError` when that is nothing because payments under way cover
    the due amount (a closed or paid order is left to :func:`start` to refuse). A payment
    made a moment ago under ``idempotency_key`` (the same form submitted twice, committed
    after this request looked for it) is not counted as under way: this request replays it.
    """
    allowed, _ = allowed_range(
        session,
        account,
        customer_id,
        gateways,
        lock=False,
        replaceable=replaceable,
        own_key=idempotency_key,
    )
    if allowed.maximum <= 0 and account.status == OrderStatus.OPEN:
        raise PaymentError(COVERED_BY_PAYMENTS_UNDER_WAY)
    return allowed.maximum


WALLET_PART_WITH_TRANSFER = N_(
    "Part of a payment can come from the wallet only with a card: a bank transfer takes "
    "too long for the wallet money to stay reserved. Pay it all from the wallet, or by "
    "transfer without the wallet."
)


def allowed_range(
    session: Session,
    account: OrderAccount,
    customer_id: str,
    gateways: Callable[[str], Gateway] | None,
    *,
    lock: bool = True,
    replaceable: Collection[str] = (),
    own_key: str | None = None,
) -> tuple[instalments.PaymentRange, Pending]:
    """What ``customer_id``'s next payment towards the order may be, and what is under way.

    ``lock``: read the payments under way with their row locks (when starting a payment);
    a page that only shows the range reads them without. ``replaceable``: see :func:`start`.
    ``own_key``: the idempotency key of the request asking; a payment already made under
    it is that request's own (a double submit), not one under way beside it.
    """
    under_way = Pending.of(
        session,
        account,
        customer_id,
        gateways,
        lock=lock,
        replaceable=replaceable,
        own_key=own_key,
    )
    allowed = instalments.payment_range(
        account,
        counted_minor=account.paid_minor + account.reserved_minor + under_way.counted_minor,
        # The one definition of what may be paid next: the order's due, less what card
        # payments under way may still charge.
        room_minor=account.due_minor - under_way.busy_minor,
    )
    return allowed, under_way


# Why a pending card payment stopped: the shopper started another payment instead.
REPLACED = "replaced by a newer payment"


@dataclass(frozen=True)
class Pending:
    """An order's payments under way when another one starts.

    ``busy_minor``: what gateways may still charge, so a new payment may not ask for it
    again. ``counted_minor``: what also counts towards an instalment order's first
    minimum (transfers awaiting a manager are included: they are claims, not charges, so
    they do not make the order's due smaller). ``replaced``: the same shopper's earlier
    card payments their processor confirmed it will never charge; they are cancelled for
    the new one.
    """

    busy_minor: int
    counted_minor: int
    replaced: list[Payment]

    @classmethod
    def of(
        cls,
        session: Session,
        account: OrderAccount,
        customer_id: str,
        gateways: Callable[[str], Gateway] | None,
        *,
        lock: bool = True,
        replaceable: Collection[str] = (),
        own_key: str | None = None,
    ) -> Pending:
        if gateways is None:
            return cls(0, 0, [])
        query = (
            select(Payment)
            .where(
                Payment.order_id == account.id,
                Payment.status == PENDING,
                Payment.hold_id.is_(None),
            )
            .order_by(Payment.id)
            .options(lazyload(Payment.order))
            .execution_options(populate_existing=True)
        )
        rows = session.scalars(query.with_for_update() if lock else query)
        busy = counted = 0
        replaced: list[Payment] = []
        for payment in rows:
            if own_key is not None and payment.idempotency_key == own_key:
                continue
            counted += payment.amount_minor
            gateway = _known(gateways, payment.gateway)
            if gateway is not None and gateway.confirmed_by_manager:
                continue
            if payment.customer_id == customer_id and payment.public_id in replaceable:
                counted -= payment.amount_minor
                replaced.append(payment)
            else:
                # A gateway no longer configured may still charge: it counts as under way.
                busy += payment.amount_minor
        return cls(busy, counted, replaced)


def _known(gateways: Callable[[str], Gateway], name: str) -> Gateway | None:
    try:
        return gateways(name)
    except UnknownGateway:
        return None


def awaits_manager(gateways: Callable[[str], Gateway], payment: Payment) -> bool:
    """A pending payment only a manager can make count (a bank transfer)."""
    gateway = _known(gateways, payment.gateway)
    return payment.status == PENDING and gateway is not None and gateway.confirmed_by_manager


def new_payment(
    account: OrderAccount,
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
    return Payment(
        # Hex: no separators, and the same under MariaDB's case-insensitive collation.
        public_id=secrets.token_hex(16),
        order_id=account.id,
        customer_id=customer_id,
        gateway=gateway,
        amount_minor=amount_minor,
        currency=account.currency,
        status=PENDING,
        refunded_minor=0,
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint
        or _fingerprint(account.reference, gateway, amount_minor, customer_id),
        return_url=return_url,
    )


def payment_by_key(session: Session, idempotency_key: str, *, lock: bool = False) -> Payment | None:
    """The payment made under ``idempotency_key``, if any.

    ``lock``: a locking read, which sees a payment committed a moment ago by a concurrent
    request (MariaDB's REPEATABLE READ serves a plain read from an older snapshot).
    """
    query = select(Payment).where(Payment.idempotency_key == idempotency_key)
    if lock:
        query = (
            query.options(lazyload(Payment.order))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    return session.scalars(query).one_or_none()


def earlier_payment(session: Session, idempotency_key: str | None) -> Payment | None:
    """The payment made under ``idempotency_key``, if any."""
    return None if idempotency_key is None else payment_by_key(session, idempotency_key)


def _replay(
    session: Session, idempotency_key: str | None, fingerprint: str, *, lock: bool = False
) -> Payment | None:
    """The payment made earlier under this key, if any; a different request is a conflict."""
    if idempotency_key is None:
        return None
    existing = payment_by_key(session, idempotency_key, lock=lock)
    if existing is not None and existing.request_fingerprint != fingerprint:
        raise IdempotencyConflict()
    return existing


def asked_of_gateways(session: Session, account: OrderAccount) -> int:
    """Minor units the order's pending payments ask of gateways (wallet parts excluded)."""
    return int(
        session.scalar(
            select(func.coalesce(func.sum(Payment.amount_minor), 0)).where(
                Payment.order_id == account.id,
                Payment.status == PENDING,
                Payment.hold_id.is_(None),
            )
        )
        or 0
    )


def lock_order(session: Session, order_id: int) -> OrderAccount:
    """The order, read with its row lock, before any of its payments is changed.

    Every path that changes an order and its payments locks the order first, then the
    payments, then wallets: a gateway's success and a host's cancel arriving together then
    queue instead of deadlocking (a deadlock's retry would also repeat the loser's signals).
    The locking read also sees the latest committed row where MariaDB's REPEATABLE READ
    would serve a plain read from an older snapshot.
    """
    return session.get_one(OrderAccount, order_id, with_for_update=True, populate_existing=True)


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
    from_states = (PENDING,) if confirmed_by is not None else _MAY_SUCCEED_FROM
    values: dict[str, object] = {"decided_by": confirmed_by}
    if gateway_reference is not None:
        values["gateway_reference"] = gateway_reference
    account = lock_order(session, payment.order_id)
    was_open = account.status == OrderStatus.OPEN
    if not _transition(session, payment, from_states=from_states, to_state=SUCCEEDED, **values):
        return False
    is_wallet_part = payment.hold_id is not None
    status = orders.add_payment(session, account, payment.amount_minor, unreserve=is_wallet_part)
    app = signals.sender()
    signals.payment_succeeded.send(app, payment=payment, order=account, confirmed_by=confirmed_by)
    if confirmed_by is not None:
        signals.payment_confirmed.send(app, payment=payment, order=account, by=confirmed_by)
    if account.purpose == topups.PURPOSE:
        topups.credit_paid_topup(session, payment)
    if was_open and status == OrderStatus.COMPLETED:
        signals.order_fully_paid.send(app, order=account)
        signals.order_completed.send(app, order=account, by=None)
    if account.closed_as is not None:
        # Paid after the host closed the order: the gateway holds money the shop must return.
        signals.refund_owed.send(app, order=account, payment=payment, amount=payment.amount)
        return True
    if not is_wallet_part:
        # This payment paid the rest of an instalment, or of the order: the wallet money
        # held for it is taken now (and held again first, if its hold lapsed meanwhile).
        wallet_parts.settle_parts_of(session, payment)
        wallet_parts.settle(session, account)
        if payment.gateway != WALLET:
            wallet_parts.retake_lapsed(session, account)
    overpayments.settle_excess(session, account, payment)
    return True


def fail(
    session: Session,
    payment: Payment,
    *,
    to_state: str = FAILED,
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
        from_states=(PENDING,),
        to_state=to_state,
        failure_message=(reason or "")[:255] or None,
        decided_by=decided_by,
    )
    if changed:
        app = signals.sender()
        signals.payment_failed.send(app, payment=payment, reason=reason)
        if to_state == REJECTED:
            signals.payment_rejected.send(app, payment=payment, by=decided_by, reason=reason)
        if payment.hold_id is not None:
            wallet_parts.on_dropped(session, payment, reason)
        else:
            wallet_parts.drop_parts_of(session, payment)
            if reason not in _WALLET_PARTS_WAIT:
                wallet_parts.on_other_payment_failed(session, payment.order)
    return changed


# Why a pending card payment stopped: its processor cancelled it at the shop's request
# (the notification of a replacement, or of a replacement whose new payment was refused).
CANCELLED_AT_PROCESSOR = N_("cancelled before it was charged")
# Why a card payment stopped before it began: its processor could not be reached.
PROCESSOR_UNREACHABLE = N_("the payment service could not be reached")
# A payment stopped for one of these reasons is followed by another attempt: the order's
# wallet parts stay held for it (or lapse), rather than go back at once.
_WALLET_PARTS_WAIT = (REPLACED, CANCELLED_AT_PROCESSOR, PROCESSOR_UNREACHABLE)


def apply_event(session: Session, gateway: Gateway, event: GatewayEvent) -> bool:
    """Apply a verified gateway notification once; whether it changed anything.

    False for a repeat of one already applied, and for news the shop had already (a
    refund it asked for and recorded). Raises :class:`OutOfOrder` for a notification that
    cannot apply yet (a refund of a payment not yet known to have succeeded): the gateway
    delivers it again later.
    """
    payment = session.scalars(
        select(Payment).where(
            Payment.public_id == event.payment_public_id, Payment.gateway == gateway.name
        )
    ).one_or_none()
    if payment is None:
        raise PaymentError("No payment %(id)s for this gateway.", id=event.payment_public_id)
    if event.currency != payment.currency:
        raise CurrencyMismatch(got=event.currency, expected=payment.currency)
    if event.kind != "refund.succeeded" and event.amount_minor != payment.amount_minor:
        raise PaymentError(
            "The gateway reports another amount for payment %(id)s.", id=payment.public_id
        )
    if event.kind == "refund.succeeded" and payment.status != SUCCEEDED:
        raise OutOfOrder()
    try:
        with session.begin_nested():
            session.add(
                GatewayEventRecord(
                    gateway=gateway.name,
                    event_id=event.event_id,
                    kind=event.kind,
                    payment_id=payment.id,
                )
            )
    except IntegrityError:
        return False
    if event.kind == "payment.succeeded":
        return succeed(session, payment, gateway_reference=event.gateway_reference)
    if event.kind == "payment.failed":
        return fail(session, payment, reason=event.message)
    if event.kind == "payment.cancelled":
        return fail(session, payment, to_state=CANCELLED, reason=CANCELLED_AT_PROCESSOR)
    return _refund_reported(session, payment, gateway, event)


def _refund_reported(
    session: Session, payment: Payment, gateway: Gateway, event: GatewayEvent
) -> bool:
    """A processor reports a refund: the shop's own request confirmed, or one made there."""
    if event.refund_key is not None:
        own = refund_by_key(session, event.refund_key)
        if own is not None and own.payment_id == payment.id:
            return confirm_refund(session, own, gateway_reference=event.gateway_reference)
    known = session.scalar(
        select(Refund.id).where(
            Refund.payment_id == payment.id, Refund.gateway_reference == event.gateway_reference
        )
    )
    if known is not None:
        return False  # the notification of a refund the shop itself asked for
    _record_refund(
        session,
        payment,
        amount_minor=event.amount_minor,
        gateway_reference=event.gateway_reference,
        idempotency_key=f"{gateway.name}:{event.gateway_reference}",
        requested_by=None,
    )
    return True


def refund(
    session: Session,
    payment: Payment,
    gateway: WalletGateway,
    *,
    amount: Decimal,
    idempotency_key: str,
    requested_by: str | None,
) -> Refund:
    """Give ``amount`` of a succeeded wallet payment back to the wallet, at most once per key.

    The wallet is the shop's own ledger, so this happens inside the transaction, together
    with whatever caused it (a cancel). A refund through a card processor is asked outside
    the transaction instead: see :func:`.gateway_calls.refund`.
    """
    previous = refund_by_key(session, idempotency_key)
    if previous is not None:
        if previous.payment_id != payment.id or previous.amount_minor != to_minor(
            amount, payment.currency
        ):
            raise IdempotencyConflict()
        return previous
    record = _record_refund(
        session,
        payment,
        amount_minor=to_minor(amount, payment.currency),
        gateway_reference=None,
        idempotency_key=idempotency_key,
        requested_by=requested_by,
    )
    record.gateway_reference = gateway.refund(payment, amount, idempotency_key=idempotency_key)
    session.flush()
    return record


def refund_by_key(session: Session, idempotency_key: str) -> Refund | None:
    """The refund recorded under ``idempotency_key`` (a locking read: see payment_by_key)."""
    return session.scalars(
        select(Refund)
        .where(Refund.idempotency_key == idempotency_key)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()


def request_refund(
    session: Session,
    payment: Payment,
    *,
    amount_minor: int,
    idempotency_key: str,
    requested_by: str | None,
) -> tuple[Refund, bool]:
    """Record a refund to ask of a processor after the commit; (refund, newly requested).

    Counted in the payment's refunds at once, with a conditional update, so that two
    refunds can never together exceed it; the same key returns the first request, and with
    another amount or payment is a conflict. A top-up's refund takes the credit back out
    of the wallet now, and is refused if the customer spent it.
    """
    record, created = insert_or_winner(
        session,
        Refund(
            payment_id=payment.id,
            amount_minor=amount_minor,
            currency=payment.currency,
            idempotency_key=idempotency_key,
            status=REFUND_REQUESTED,
            requested_by=requested_by,
        ),
        select(Refund).where(Refund.idempotency_key == idempotency_key),
    )
    if not created:
        if (record.payment_id, record.amount_minor) != (payment.id, amount_minor):
            raise IdempotencyConflict()
        return record, False
    _reserve_refund(session, payment, amount_minor)
    if payment.order.purpose == topups.PURPOSE:
        topups.debit_refunded_topup(session, payment, amount_minor, idempotency_key)
    return record, True


def confirm_refund(session: Session, record: Refund, *, gateway_reference: str) -> bool:
    """The processor made a requested refund; False if that was known already."""
    changed = update_rows(
        session,
        update(Refund)
        .where(Refund.id == record.id, Refund.status == REFUND_REQUESTED)
        .values(
            status=RefundStatus.move(REFUND_REQUESTED, REFUND_SUCCEEDED),
            gateway_reference=gateway_reference,
        ),
    )
    session.refresh(record)
    if changed:
        payment = session.get_one(Payment, record.payment_id)
        signals.payment_refunded.send(signals.sender(), payment=payment, refund=record)
    return changed == 1


def refuse_refund(session: Session, record: Refund, *, message: str) -> bool:
    """The processor refused a requested refund: it no longer counts; False if decided."""
    changed = update_rows(
        session,
        update(Refund)
        .where(Refund.id == record.id, Refund.status == REFUND_REQUESTED)
        .values(
            status=RefundStatus.move(REFUND_REQUESTED, REFUND_FAILED),
            failure_message=message[:255],
        ),
    )
    session.refresh(record)
    if not changed:
        return False
    update_rows(
        session,
        update(Payment)
        .where(Payment.id == record.payment_id)
        .values(refunded_minor=Payment.refunded_minor - record.amount_minor),
    )
    payment = session.get_one(Payment, record.payment_id, populate_existing=True)
    if payment.order.purpose == topups.PURPOSE:
        topups.credit_refused_refund(session, payment, record.amount_minor, record.idempotency_key)
    return True


def _reserve_refund(session: Session, payment: Payment, amount_minor: int) -> None:
    """Count ``amount_minor`` in the payment's refunds, or raise: never past what it paid."""
    if amount_minor <= 0:
        raise RefundNotPossible(
            amount=from_minor(amount_minor, payment.currency), currency=payment.currency
        )
    reserved = update_rows(
        session,
        update(Payment)
        .where(
            Payment.id == payment.id,
            Payment.status == SUCCEEDED,
            Payment.refunded_minor + amount_minor <= Payment.amount_minor,
        )
        .values(refunded_minor=Payment.refunded_minor + amount_minor),
    )
    if reserved != 1:
        raise RefundNotPossible(
            amount=from_minor(amount_minor, payment.currency), currency=payment.currency
        )


def _record_refund(
    session: Session,
    payment: Payment,
    *,
    amount_minor: int,
    gateway_reference: str | None,
    idempotency_key: str,
    requested_by: str | None,
) -> Refund:
    """A refund that has happened (to the wallet, or made at the processor): recorded."""
    _reserve_refund(session, payment, amount_minor)
    if payment.order.purpose == topups.PURPOSE:
        # The money returned to the card leaves the wallet it was credited to; if the
        # customer has spent it, the refund is refused (InsufficientFunds) and nothing moves.
        topups.debit_refunded_topup(session, payment, amount_minor, idempotency_key)
    record = Refund(
        payment_id=payment.id,
        amount_minor=amount_minor,
        currency=payment.currency,
        idempotency_key=idempotency_key,
        gateway_reference=gateway_reference,
        requested_by=requested_by,
        status=REFUND_SUCCEEDED,
    )
    session.add(record)
    session.flush()
    session.refresh(payment)
    app = signals.sender()
    signals.payment_refunded.send(app, payment=payment, refund=record)
    if payment.gateway == WALLET:
        signals.wallet_refunded.send(
            app, order=payment.order, payment=payment, amount=record.amount, refund=record
        )
    return record


@dataclass(frozen=True)
class Closed:
    """What closing an order did with the money: minor units back to the wallet, and owed
    at the gateways (reported with ``refund_owed``)."""

    to_wallet_minor: int
    owed_minor: int


def close_order(
    session: Session,
    account: OrderAccount,
    closed_as: orders.ClosedAs,
    wallet_gateway: WalletGateway | None = None,
) -> Closed | None:
    """The host cancelled or refunded its order; only the first close does anything (else None).

    Pending payments stop (a held wallet part goes back to the balance). What the wallet
    paid is credited back to it now, whatever is left of it after earlier refunds. What
    another gateway took and nobody has refunded or reported yet is reported with
    ``refund_owed``: an admin refunds it there.
    """
    if not orders.close(session, account, closed_as):
        return None
    to_wallet = 0
    others: list[Payment] = []
    # Locking reads: the latest committed payments (a success that committed a moment ago
    # is seen, not MariaDB's older snapshot), held until this close commits.
    current = session.scalars(
        select(Payment)
        .where(Payment.order_id == account.id)
        .order_by(Payment.id)
        .options(lazyload(Payment.order))
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    for payment in list(current):
        if payment.status == PENDING:
            fail(session, payment, to_state=CANCELLED, reason="order " + closed_as)
        elif payment.status != SUCCEEDED:
            continue
        elif payment.gateway == WALLET and wallet_gateway is not None:
            key = f"close:{payment.public_id}"
            back = refund_rest(session, payment, wallet_gateway, idempotency_key=key)
            to_wallet += back.amount_minor if back is not None else 0
        else:
            others.append(payment)
    session.refresh(account)
    # What the host's partial refunds already returned or reported is not owed again.
    owed = max(account.paid_minor - account.refunded_minor - to_wallet, 0)
    return Closed(to_wallet, report_owed(account, others, owed))


def report_owed(account: OrderAccount, others: list[Payment], owed_minor: int) -> int:
    """Say which gateway payments ``owed_minor`` should be refunded from, oldest first.

    Returns how much was reported: at most what those payments have left to refund.
    """
    app = signals.sender()
    reported = 0
    for payment in others:
        portion = min(owed_minor - reported, payment.amount_minor - payment.refunded_minor)
        if portion > 0:
            signals.refund_owed.send(
                app, order=account, payment=payment, amount=from_minor(portion, payment.currency)
            )
            reported += portion
    return reported


def refund_rest(
    session: Session,
    payment: Payment,
    gateway: WalletGateway,
    *,
    idempotency_key: str,
    at_most_minor: int | None = None,
) -> Refund | None:
    """Refund what is left of ``payment`` (or ``at_most_minor`` of it); None if nothing is.

    The payment row is read with a lock, so a refund racing this one (an admin's click)
    is either already counted or waits; the conditional reservation in
    :func:`_record_refund` would refuse the excess all the same.
    """
    current = lock_payment(session, payment.id)
    left = current.amount_minor - current.refunded_minor
    take = left if at_most_minor is None else min(left, at_most_minor)
    if current.status != SUCCEEDED or take <= 0:
        return None
    return refund(
        session,
        current,
        gateway,
        amount=from_minor(take, current.currency),
        idempotency_key=idempotency_key,
        requested_by=None,
    )
