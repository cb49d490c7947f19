"""A customer's wallet account in the ledger: credit, debit, hold, capture, what it may spend.

Functions here work inside the caller's transaction, on top of :mod:`.transfers`: the
wallet service (:mod:`flask_partialpay.wallet.wallets`) wraps them in a transaction each,
and code that moves wallet money inside a larger unit of work (a gateway callback crediting
a top-up, say) calls them directly. An idempotency key, when given, is claimed in the same
transaction. :func:`spendable` is the one rule for what a wallet can pay now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flask_partialpay.core.errors import InvalidAmount
from flask_partialpay.core.ids import request_fingerprint
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import amount, from_minor, to_minor
from flask_partialpay.core.vocabulary import AccountKind, HoldStatus, TransferReason
from flask_partialpay.db.transactions import autocommitted
from flask_partialpay.host import signals
from flask_partialpay.host.config import setting
from flask_partialpay.ledger import accounts, transfers, wallet_currencies
from flask_partialpay.ledger.idempotency_keys import (
    ClaimedKey,
    claim_key,
    record_result,
    record_values,
)
from flask_partialpay.ledger.models import Hold, LedgerAccount, Transfer

Amount = Decimal | str | int


def balance(session: Session, owner_id: str, currency: str) -> Decimal:
    """The wallet's balance less what its holds reserve; a hold past its time reserves nothing.

    What a debit may take (the ledger's guard frees lapsed holds first), before the
    checkout's own rules: see :func:`spendable`.
    """
    found = accounts.find_account(session, AccountKind.WALLET, owner_id, currency)
    return _balance_of(session, found, currency)


def _balance_of(session: Session, found: LedgerAccount | None, currency: str) -> Decimal:
    if found is None:
        return from_minor(0, currency)
    if found.held_minor == 0:
        # Nothing held: no active hold, so none has lapsed (held_minor is the sum of the
        # active holds, which the audit checks). Skipping the query keeps the read to the
        # one row however many holds the wallet had before.
        return from_minor(found.balance_minor, currency)
    lapsed_holds = session.scalar(
        select(func.coalesce(func.sum(Hold.amount_minor), 0)).where(
            Hold.account_id == found.id,
            Hold.status == HoldStatus.ACTIVE,
            Hold.expires_at <= transfers.now(),
        )
    )
    return from_minor(found.balance_minor - found.held_minor + int(lapsed_holds or 0), currency)


def spendable(session: Session, owner_id: str, currency: str) -> Decimal:
    """What the wallet can spend on an order now: the one rule the checkout, the payment
    step and instalments all offer the wallet by.

    Nothing when wallets are not kept in ``currency`` (``PARTIALPAY_WALLET_CURRENCIES``)
    or the wallet is locked; otherwise its :func:`balance`, from the same read of the
    wallet's row.
    """
    if not wallet_currencies.spendable_in(currency):
        return from_minor(0, currency)
    found = accounts.find_account(session, AccountKind.WALLET, owner_id, currency)
    if found is not None and found.locked:
        return from_minor(0, currency)
    return _balance_of(session, found, currency)


def positive_minor(value: Amount, currency: str) -> int:
    """Minor units of an amount given by code, through the money core; zero is refused."""
    minor = to_minor(amount(value, currency), currency)
    if minor <= 0:
        raise InvalidAmount("zero", N_("Enter an amount greater than zero."))
    return minor


def _replayed(
    session: Session, key: str | None, operation: str, print_: str
) -> tuple[ClaimedKey | None, Transfer | Hold | None]:
    """(claimed key to fill, None) for a new key; (None, original result) for a replay."""
    if key is None:
        return None, None
    claimed = claim_key(session, key, operation, print_, transfers.now())
    if claimed.new:
        return claimed, None
    # A locking read: on MariaDB a plain one could serve this transaction's older snapshot,
    # taken before the other transaction committed the original.
    if claimed.transfer_id is not None:
        return None, session.get_one(
            Transfer, claimed.transfer_id, with_for_update={"read": True}, populate_existing=True
        )
    return None, session.get_one(
        Hold, claimed.hold_id, with_for_update={"read": True}, populate_existing=True
    )


Direction = Literal["credit", "debit"]


def credit(
    session: Session,
    owner_id: str,
    amount_minor: int,
    currency: str,
    *,
    reason: str,
    idempotency_key: str | None = None,
    memo: str | None = None,
    created_by: str | None = None,
    reference: str | None = None,
) -> Transfer:
    """Add money to a wallet from the system account for ``reason``."""
    return _transfer(
        session, "credit", owner_id, amount_minor, currency, reason=reason,
        idempotency_key=idempotency_key, memo=memo, created_by=created_by, reference=reference,
    )  # fmt: skip


def debit(
    session: Session,
    owner_id: str,
    amount_minor: int,
    currency: str,
    *,
    reason: str,
    idempotency_key: str | None = None,
    memo: str | None = None,
    created_by: str | None = None,
    reference: str | None = None,
) -> Transfer:
    """Take money from a wallet, guarded by its spendable balance and lock."""
    return _transfer(
        session, "debit", owner_id, amount_minor, currency, reason=reason,
        idempotency_key=idempotency_key, memo=memo, created_by=created_by, reference=reference,
    )  # fmt: skip


def _transfer(
    session: Session,
    direction: Direction,
    owner_id: str,
    amount_minor: int,
    currency: str,
    *,
    reason: str,
    idempotency_key: str | None,
    memo: str | None,
    created_by: str | None,
    reference: str | None = None,
) -> Transfer:
    print_ = request_fingerprint(direction, owner_id, amount_minor, currency, reason, memo)
    record, original = _replayed(session, idempotency_key, direction, print_)
    if isinstance(original, Transfer):
        return original
    if direction == "debit":
        transfer, _ = transfers.debit_wallet(
            session, owner_id, currency, amount_minor, reason=reason, memo=memo or "",
            reference=reference, created_by=created_by, record=record,
        )  # fmt: skip
    else:
        wallet_currencies.warn_if_unspendable(owner_id, currency)
        transfer = transfers.credit_wallet(
            session, owner_id, currency, amount_minor, reason=reason, memo=memo or "",
            reference=reference, created_by=created_by, record=record,
        )  # fmt: skip
    signal = signals.wallet_debited if direction == "debit" else signals.wallet_credited
    signal.send(signals.sender(), transfer=transfer, owner_id=owner_id)
    return transfer


@dataclass(frozen=True)
class Movement:
    """A debit or credit of a wallet as the wallet service is asked for it."""

    direction: Direction
    owner_id: str
    amount_minor: int
    currency: str
    reason: str
    idempotency_key: str | None = None
    memo: str | None = None
    created_by: str | None = None


def move_at_once(session: Session, movement: Movement) -> Transfer | None:
    """A debit or credit that is a transaction of its own, as one statement the database
    commits as it runs it (:func:`~flask_partialpay.db.transactions.autocommitted`),
    when nothing else must join its transaction; None when it cannot be, or wrote nothing,
    and :func:`debit` or :func:`credit` in a transaction of its own does the work instead.

    It can be on PostgreSQL, or on MariaDB as one call of a stored procedure that commits
    it (:mod:`~flask_partialpay.ledger.stored_routine`), once the system account's id is
    known, and when no receiver listens to ``wallet_debited`` (``wallet_credited``) inside
    the transaction: such a receiver's writes commit with the movement, and its error
    undoes it, so it needs a transaction that is still open when it runs. Receivers of
    the ``committed`` twin are sent it as after any commit. The statement takes the
    wallet's row lock and releases it when it commits, so parallel movements of one wallet
    wait for the statement only, never for a client's round trip.
    """
    direction, owner_id, currency = movement.direction, movement.owner_id, movement.currency
    signal = signals.wallet_debited if direction == "debit" else signals.wallet_credited
    house = transfers.one_statement_house(session, movement.reason, currency)
    if house is None or signal.has_receivers_for(signals.sender()):
        return None
    claim = None
    if movement.idempotency_key is not None:
        print_ = request_fingerprint(
            direction, owner_id, movement.amount_minor, currency, movement.reason, movement.memo
        )
        claim = record_values(movement.idempotency_key, direction, print_, transfers.now())

    def move() -> Transfer | None:
        return transfers.move_wallet_in_one_statement(
            session, owner_id, currency, movement.amount_minor, debit=direction == "debit",
            house=house, reason=movement.reason, memo=movement.memo or "",
            created_by=movement.created_by, claim=claim,
        )  # fmt: skip

    moved = autocommitted(session, move)
    if moved is None:
        return None
    if direction == "credit":
        wallet_currencies.warn_if_unspendable(owner_id, currency)
    # Outside a unit of work: the committed twin is sent at once.
    signal.send(signals.sender(), transfer=moved, owner_id=owner_id)
    return moved


def hold_ttl() -> timedelta:
    """How long a wallet hold reserves money before it lapses (``PARTIALPAY_HOLD_TTL``)."""
    return timedelta(seconds=int(setting("HOLD_TTL")))


def hold(
    session: Session,
    owner_id: str,
    amount_minor: int,
    currency: str,
    *,
    reference: str,
    expires_in: timedelta | None = None,
    idempotency_key: str | None = None,
) -> Hold:
    """Reserve a wallet's money until ``expires_in`` from now (default: :func:`hold_ttl`)."""
    ttl = hold_ttl() if expires_in is None else expires_in
    if ttl <= timedelta(0):
        raise ValueError("expires_in must be a positive timedelta")
    print_ = request_fingerprint("hold", owner_id, amount_minor, currency, reference)
    record, original = _replayed(session, idempotency_key, "hold", print_)
    if isinstance(original, Hold):
        return original
    placed = transfers.place_hold(
        session, owner_id, currency, amount_minor, reference=reference,
        expires_at=transfers.now() + ttl,
    )  # fmt: skip
    if record is not None:
        record_result(session, record, hold_id=placed.id)
    return placed


def capture(session: Session, hold_id: int, amount_minor: int | None, *, memo: str | None) -> Hold:
    """Take ``amount_minor`` (default: all) of an active hold as an order payment."""
    captured, transfer, wallet = transfers.capture_hold(
        session, hold_id, amount_minor, reason=TransferReason.ORDER_PAYMENT, memo=memo or ""
    )
    signals.wallet_debited.send(signals.sender(), transfer=transfer, owner_id=wallet.owner_id)
    return captured


def is_locked(session: Session, owner_id: str, currency: str) -> bool:
    """Whether an admin locked the wallet (a wallet never opened is not locked)."""
    found = accounts.find_account(session, AccountKind.WALLET, owner_id, currency)
    return bool(found and found.locked)
