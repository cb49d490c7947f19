"""The wallet against a plain Python model of it: random sequences, step by step.

Hypothesis draws sequences of credits, debits, holds, captures (whole, part, exact, too
much), releases, an admin's locks and unlocks, expiries (the ledger's clock moved to or
past a hold's time, with or without the sweep after it), clock ticks and replays of earlier
calls with their idempotency keys, sometimes with changed details. Each step runs on the
database and on the model; after each one both must agree on the decision (accepted, or the
same error), the spendable, posted and held balances and every hold's state. After each
sequence the ledger must pass its audit.

SQLite only, for speed: the same calls run on PostgreSQL and MariaDB in
``test_wallet_api.py`` and ``test_wallet_concurrency.py``.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from flask_partialpay.core.errors import (
    HoldExceeded,
    HoldNotActive,
    IdempotencyConflict,
    InsufficientFunds,
    PartialPayError,
    WalletLocked,
)
from flask_partialpay.core.money import from_minor
from flask_partialpay.db.base import utcnow
from flask_partialpay.ledger import transfers
from flask_partialpay.ledger.models import Hold
from tests.unit.bare import db
from tests.unit.test_wallet_api import (
    ORDER_MEMO,
    USD,
    audit_problems,
    ledger_problems,
    posted_minor,
    wallet_account,
    wallets,
)

# -- the model ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """A credit, debit or hold as the caller makes it (what an idempotency key stands for)."""

    kind: str  # "credit", "debit" or "hold"
    amount: int  # minor units
    key: str | None = None
    reference: str = "order-1"
    ttl_minutes: int = 30
    spelling: str = "decimal"  # how the amount is passed: Decimal, str or int

    def details(self) -> tuple[object, ...]:
        """What the key is bound to (a hold's lifetime is not part of it)."""
        if self.kind == "hold":
            return (self.kind, self.amount, self.reference)
        return (self.kind, self.amount)


@dataclass
class ModelHold:
    amount: int
    expires_at: datetime
    status: str = "active"
    db_id: int = 0


@dataclass
class Model:
    """A wallet as a person would describe it: money in, money out, money set aside."""

    now: datetime
    posted: int = 0
    locked: bool = False
    holds: list[ModelHold] = field(default_factory=list)
    # key -> (what it was used for, the id of the transfer or hold it produced)
    keys: dict[str, tuple[tuple[object, ...], int]] = field(default_factory=dict)

    def live(self, hold: ModelHold) -> bool:
        return hold.status == "active" and hold.expires_at > self.now

    def spendable(self) -> int:
        return self.posted - sum(hold.amount for hold in self.holds if self.live(hold))

    def held(self) -> int:
        """Active holds not yet swept, past their time or not (what the account caches)."""
        return sum(hold.amount for hold in self.holds if hold.status == "active")

    def expire_stale(self) -> int:
        stale = [h for h in self.holds if h.status == "active" and h.expires_at <= self.now]
        for hold in stale:
            hold.status = "expired"
        return len(stale)


@dataclass(frozen=True)
class Decision:
    """What a step came to: accepted, or refused with an error (and a hold's status)."""

    error: type[BaseException] | None = None
    status: str | None = None

    def __str__(self) -> str:
        if self.error is None:
            return "accepted"
        return self.error.__name__ + (f" ({self.status})" if self.status else "")

    @classmethod
    def of(cls, error: BaseException | None) -> Decision:
        if error is None:
            return cls()
        status = error.params.get("status") if isinstance(error, PartialPayError) else None
        return cls(type(error), status)


ACCEPTED = Decision()


class Refused(Exception):
    """The model's refusal, carrying the decision the database must also reach."""

    def __init__(self, decision: Decision) -> None:
        super().__init__(decision)
        self.decision = decision


def model_call(model: Model, call: Call) -> int | None:
    """Apply a credit, debit or hold to the model; the replayed id, or None if new."""
    if call.key is not None and call.key in model.keys:
        details, result = model.keys[call.key]
        if details != call.details():
            raise Refused(Decision(IdempotencyConflict))
        return result
    if call.kind == "credit":
        model.posted += call.amount
        return None
    if model.locked:
        raise Refused(Decision(WalletLocked))
    if model.spendable() < call.amount:
        raise Refused(Decision(InsufficientFunds))
    if model.posted - model.held() < call.amount:
        # The ledger's guard counts every active hold, lapsed or not; only when that refuses
        # does it expire the wallet's lapsed holds and try again. Otherwise they wait for
        # the sweep: a guard that passes with them counted passes without them too.
        model.expire_stale()
    if call.kind == "debit":
        model.posted -= call.amount
    else:
        expires_at = model.now + timedelta(minutes=call.ttl_minutes)
        model.holds.append(ModelHold(call.amount, expires_at))
    return None


def model_settle(model: Model, hold: ModelHold, take: int | None, capture: bool) -> None:
    if capture and take is not None and take > hold.amount:
        raise Refused(Decision(HoldExceeded))
    if hold.status != "active":
        raise Refused(Decision(HoldNotActive, hold.status))
    if hold.expires_at <= model.now:
        raise Refused(Decision(HoldNotActive, "expired"))
    if capture and model.locked:
        raise Refused(Decision(WalletLocked))
    if capture:
        model.posted -= hold.amount if take is None else take
        hold.status = "captured"
    else:
        hold.status = "released"


# -- the steps ----------------------------------------------------------------------------

amounts = st.one_of(st.integers(1, 500), st.integers(1, 6000))
spellings = st.sampled_from(["decimal", "str", "int"])
keyed = st.booleans()
hold_index = st.integers(0, 30)
money_in = st.tuples(st.just("credit"), amounts, keyed, spellings)
money_out = st.tuples(st.just("debit"), amounts, keyed, spellings)
set_aside = st.tuples(st.just("hold"), amounts, keyed, spellings, st.integers(1, 60))
capture = st.tuples(
    st.just("capture"),
    hold_index,
    st.sampled_from(["whole", "exact", "part", "too_much"]),
    st.integers(1, 99),
)
steps = st.one_of(
    money_in,
    money_out,
    set_aside,
    set_aside,
    capture,
    capture,
    st.tuples(st.just("release"), hold_index),
    st.tuples(st.just("expire"), hold_index),
    st.tuples(st.just("lapse"), hold_index, st.integers(0, 2)),
    st.tuples(st.just("tick"), st.integers(1, 45)),
    st.tuples(st.just("sweep")),
    st.tuples(st.just("lock"), st.booleans()),
    st.tuples(st.just("replay"), st.integers(0, 30)),
    st.tuples(st.just("reuse_key"), st.integers(0, 30), st.sampled_from(["amount", "kind"])),
)


def _funded_first(first_and_rest: tuple[tuple[Any, ...], list[tuple[Any, ...]]]) -> list[Any]:
    first, rest = first_and_rest
    return [first, *rest] if first[1] else rest


# Every sequence starts with some money in the wallet, or none at all.
sequences = st.tuples(
    st.tuples(st.just("credit"), st.integers(0, 20000), keyed, spellings),
    st.lists(steps, min_size=20, max_size=50),
).map(_funded_first)


def spelled(minor: int, spelling: str) -> Decimal | str | int:
    value = from_minor(minor, USD)
    if spelling == "int" and minor % 100 == 0:
        return minor // 100
    if spelling == "str":
        return str(value)
    return value


class Clock:
    """The ledger's clock, moved only forward by the test."""

    def __init__(self) -> None:
        self.now = utcnow().replace(second=0, microsecond=0)

    def __call__(self) -> datetime:
        return self.now


class Run:
    """One sequence: a fresh wallet, the model beside it, and the steps applied to both."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.owner = f"model-{uuid.uuid4().hex[:12]}"
        self.model = Model(now=clock.now)
        self.issued: list[Call] = []
        self.numbers = itertools.count(1)

    def db_call(self, call: Call) -> int:
        """The call on the database; the id of the transfer or hold it returned."""
        value = spelled(call.amount, call.spelling)
        if call.kind == "credit":
            return wallets().credit(
                self.owner, value, USD, reason="topup", memo="Wallet top-up",
                idempotency_key=call.key,
            ).id  # fmt: skip
        if call.kind == "debit":
            return wallets().debit(
                self.owner, value, USD, reason="order_payment", memo=ORDER_MEMO,
                idempotency_key=call.key,
            ).id  # fmt: skip
        return wallets().hold(
            self.owner, value, USD, reference=call.reference,
            expires_in=timedelta(minutes=call.ttl_minutes), idempotency_key=call.key,
        ).id  # fmt: skip

    def call(self, call: Call) -> None:
        if call.key is not None:
            self.issued.append(call)
        try:
            replayed = model_call(self.model, call)
            expected = ACCEPTED
        except Refused as refused:
            replayed, expected = None, refused.decision
        result, got = self.attempt(lambda: self.db_call(call))
        assert got == expected, f"{call}: the database said {got}, the model {expected}"
        event(f"{call.kind}{'' if replayed is None else ' replayed'}: {got}")
        if got != ACCEPTED:
            return
        assert result is not None
        if replayed is not None:
            assert result == replayed, "a replay must return the original"
            return
        if call.kind == "hold":
            self.model.holds[-1].db_id = result
        if call.key is not None:
            self.model.keys[call.key] = (call.details(), result)

    def settle(self, index: int, mode: str | None, share: int = 0) -> None:
        """Capture (``mode``: whole, exact, part, too_much) or release (``mode`` None)."""
        if not self.model.holds:
            return
        hold = self.model.holds[index % len(self.model.holds)]
        capture = mode is not None
        take: int | None = None
        if mode == "exact":
            take = hold.amount
        elif mode == "part":
            take = max(hold.amount * share // 100, 1)
        elif mode == "too_much":
            take = hold.amount + share
        try:
            model_settle(self.model, hold, take, capture)
            expected = ACCEPTED
        except Refused as refused:
            expected = refused.decision
        if capture:
            value = None if take is None else from_minor(take, USD)
            _, got = self.attempt(lambda: wallets().capture(hold.db_id, value, memo=ORDER_MEMO).id)
        else:
            _, got = self.attempt(lambda: wallets().release(hold.db_id).id)
        assert got == expected, (
            f"{mode or 'release'} {take} of {hold}: the database said {got}, the model {expected}"
        )
        event(f"{mode or 'release'}: {got}")

    def sweep(self) -> None:
        expected = self.model.expire_stale()
        assert wallets().release_expired_holds() == expected
        event(f"sweep expired {min(expected, 2)}{'+' if expected >= 2 else ''}")

    def advance(self, to: datetime) -> None:
        if to > self.clock.now:
            self.clock.now = to
            self.model.now = to

    @staticmethod
    def attempt(work: Callable[[], int]) -> tuple[int | None, Decision]:
        try:
            return work(), ACCEPTED
        except (PartialPayError, ValueError) as error:
            return None, Decision.of(error)

    def step(self, step: tuple[Any, ...]) -> None:
        kind = step[0]
        if kind in ("credit", "debit", "hold"):
            keyed, spelling = step[2], step[3]
            key = f"{self.owner}-{next(self.numbers)}" if keyed else None
            ttl = step[4] if kind == "hold" else 30
            reference = f"order-{next(self.numbers)}"
            self.call(Call(kind, step[1], key, reference, ttl, spelling))
        elif kind == "capture":
            self.settle(step[1], step[2], step[3])
        elif kind == "release":
            self.settle(step[1], None)
        elif kind == "expire":
            if self.model.holds:
                hold = self.model.holds[step[1] % len(self.model.holds)]
                self.advance(hold.expires_at)
            self.sweep()
        elif kind == "lapse" and self.model.holds:
            # To a hold's expiry (or just past it) without sweeping: it has lapsed but is
            # still "active" in the table until something sweeps it.
            hold = self.model.holds[step[1] % len(self.model.holds)]
            self.advance(hold.expires_at + timedelta(seconds=step[2]))
        elif kind == "tick":
            self.advance(self.clock.now + timedelta(minutes=step[1]))
        elif kind == "sweep":
            self.sweep()
        elif kind == "lock":
            wallets().set_locked(self.owner, USD, step[1], by="admin")
            self.model.locked = step[1]
        elif kind in ("replay", "reuse_key") and self.issued:
            earlier = self.issued[step[1] % len(self.issued)]
            if kind == "reuse_key" and step[2] == "amount":
                earlier = replace(earlier, amount=earlier.amount + 1)
            elif kind == "reuse_key":
                earlier = replace(earlier, kind="debit" if earlier.kind != "debit" else "credit")
            self.call(earlier)

    def compare(self) -> None:
        model = self.model
        assert wallets().balance(self.owner, USD) == from_minor(model.spendable(), USD)
        assert posted_minor(self.owner) == model.posted
        account = wallet_account(self.owner)
        assert (account.held_minor if account else 0) == model.held()
        statuses = dict(
            db.session.execute(
                sa.select(Hold.id, Hold.status).where(
                    Hold.id.in_([hold.db_id for hold in model.holds])
                )
            ).all()
        )
        assert statuses == {hold.db_id: hold.status for hold in model.holds}
        db.session.commit()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    ticking = Clock()
    monkeypatch.setattr(transfers, "now", ticking)
    return ticking


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(sequence=sequences)
def test_the_wallet_behaves_like_its_model(
    app: Flask, clock: Clock, sequence: list[tuple[Any, ...]]
) -> None:
    # Holds left active by an earlier example must not be counted by this one's sweeps.
    clock.now += timedelta(days=2)
    wallets().release_expired_holds()
    run = Run(clock)
    event(f"steps: {len(sequence) // 10 * 10}+")
    for step in sequence:
        run.step(step)
        run.compare()
    assert ledger_problems() == []
    assert audit_problems() == []
