"""The ledger's workloads, through the public API only (``partialpay.wallets``).

Every debit carries an idempotency key, as a host's checkout would, so the key's claim is
part of what is measured. Wallets are funded through the API before the clock starts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from bench.harness import Client, Operation
from bench.ledger_app import LedgerApp

CURRENCY = "USD"
#: Each wallet starts with this much, so that no debit of a run is refused for funds.
FUNDING = "1000000.00"
DEBIT = "1.00"
#: Wallets per client in the spread workload: a client never touches another's wallets.
WALLETS_PER_CLIENT = 4
HOT_WALLET = "hot"
HOLD_WALLET = "checkout"


def spread_owner(client: int, number: int) -> str:
    return f"spread-{client}-{number % WALLETS_PER_CLIENT}"


def fund(ledger: LedgerApp, owners: list[str]) -> None:
    with ledger.context():
        for owner in owners:
            ledger.partialpay.wallets.credit(owner, FUNDING, CURRENCY, reason="topup")


def fund_spread(ledger: LedgerApp, clients: int) -> None:
    fund(
        ledger,
        [spread_owner(c, n) for c in range(clients) for n in range(WALLETS_PER_CLIENT)],
    )


def _run_id() -> str:
    # Keys unique across runs on the same tables (a replay would measure a different path).
    return uuid.uuid4().hex[:12]


def spread_debits(ledger: LedgerApp) -> Client:
    """Each client debits its own wallets in turn: no two clients contend for a row."""
    run = _run_id()

    @contextmanager
    def client(index: int) -> Iterator[Operation]:
        with ledger.context():
            wallets = ledger.partialpay.wallets

            def debit(number: int) -> object:
                return wallets.debit(
                    spread_owner(index, number), DEBIT, CURRENCY, reason="order_payment",
                    idempotency_key=f"{run}-{index}-{number}",
                )  # fmt: skip

            yield debit

    return client


def hot_debits(ledger: LedgerApp) -> Client:
    """Every client debits the one wallet: the row lock of its account is the queue."""
    run = _run_id()

    @contextmanager
    def client(index: int) -> Iterator[Operation]:
        with ledger.context():
            wallets = ledger.partialpay.wallets

            def debit(number: int) -> object:
                return wallets.debit(
                    HOT_WALLET, DEBIT, CURRENCY, reason="order_payment",
                    idempotency_key=f"{run}-{index}-{number}",
                )  # fmt: skip

            yield debit

    return client


def hold_and_capture(ledger: LedgerApp) -> Client:
    """The checkout's wallet path: hold under the checkout's key, then capture the hold."""
    run = _run_id()

    @contextmanager
    def client(index: int) -> Iterator[Operation]:
        with ledger.context():
            wallets = ledger.partialpay.wallets

            def checkout(number: int) -> object:
                held = wallets.hold(
                    HOLD_WALLET, DEBIT, CURRENCY, reference=f"order-{run}-{index}-{number}",
                    idempotency_key=f"{run}-{index}-{number}",
                )  # fmt: skip
                return wallets.capture(held.id)

            yield checkout

    return client
