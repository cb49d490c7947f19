"""The ledger's workloads, through the public API only (``partialpay.wallets``).

Every debit carries an idempotency key, as a host's checkout would, so the key's claim is
part of what is measured. Wallets are funded through the API before the clock starts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from bench.harness import Client, Operation
from bench.ledger_app import LedgerApp, client_ledger

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


def run_id() -> str:
    # Keys unique across runs on the same tables (a replay would measure a different path).
    return uuid.uuid4().hex[:12]


# Each workload gives a picklable client (a partial of a module-level function with the
# URL and the run's id): it is opened in a client process of its own (bench.harness).


def spread_debits(ledger: LedgerApp) -> Client:
    """Each client debits its own wallets in turn: no two clients contend for a row."""
    return partial(_spread_client, ledger.url, run_id())


def hot_debits(ledger: LedgerApp) -> Client:
    """Every client debits the one wallet: the row lock of its account is the queue."""
    return partial(_hot_client, ledger.url, run_id())


def hold_and_capture(ledger: LedgerApp) -> Client:
    """The checkout's wallet path: hold under the checkout's key, then capture the hold."""
    return partial(_checkout_client, ledger.url, run_id())


def spread_debit(ledger: LedgerApp, run: str, index: int) -> Operation:
    """Client ``index``'s debit of the spread workload, in ``ledger``'s app context."""
    wallets = ledger.partialpay.wallets

    def debit(number: int) -> object:
        return wallets.debit(
            spread_owner(index, number), DEBIT, CURRENCY, reason="order_payment",
            idempotency_key=f"{run}-{index}-{number}",
        )  # fmt: skip

    return debit


@contextmanager
def _spread_client(url: str, run: str, index: int) -> Iterator[Operation]:
    with client_ledger(url) as ledger, ledger.context():
        yield spread_debit(ledger, run, index)


@contextmanager
def _hot_client(url: str, run: str, index: int) -> Iterator[Operation]:
    with client_ledger(url) as ledger, ledger.context():
        wallets = ledger.partialpay.wallets

        def debit(number: int) -> object:
            return wallets.debit(
                HOT_WALLET, DEBIT, CURRENCY, reason="order_payment",
                idempotency_key=f"{run}-{index}-{number}",
            )  # fmt: skip

        yield debit


@contextmanager
def _checkout_client(url: str, run: str, index: int) -> Iterator[Operation]:
    with client_ledger(url) as ledger, ledger.context():
        wallets = ledger.partialpay.wallets

        def checkout(number: int) -> object:
            held = wallets.hold(
                HOLD_WALLET, DEBIT, CURRENCY, reference=f"order-{run}-{index}-{number}",
                idempotency_key=f"{run}-{index}-{number}",
            )  # fmt: skip
            return wallets.capture(held.id)

        yield checkout
