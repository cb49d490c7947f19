"""SQL statements per wallet operation, counted with SQLAlchemy's engine events.

How they are counted: :data:`HOW_COUNTED`, also written under the results table.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event

from bench.ledger_app import LedgerApp
from bench.workloads import CURRENCY, DEBIT, FUNDING

HOW_COUNTED = """\
One credit, debit, hold and capture through `partialpay.wallets`, each on a wallet that
already had one operation of its kind (creating the account is not counted), each from a
fresh session as a request would. Counted: every statement SQLAlchemy hands the driver's
cursor (the `before_cursor_execute` event: SELECT, INSERT, UPDATE, SAVEPOINT, RELEASE
SAVEPOINT, and on SQLite the extension's explicit `BEGIN IMMEDIATE`); plus one per COMMIT or
ROLLBACK (the `commit` / `rollback` events: the driver's `commit()` sends one); plus, on
PostgreSQL only, one BEGIN per transaction (the `begin` event), which psycopg sends before a
transaction's first statement. PyMySQL sends no BEGIN (InnoDB opens the transaction at the
first statement), and pysqlite's implicit BEGIN is not used (the explicit one is counted).
The statement list shows each statement's verb and first table, in order of first use.\
"""

# Drivers that send a BEGIN of their own before a transaction's first statement.
_SENDS_BEGIN = {"postgresql"}
_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+[`\"]?(\w+)", re.IGNORECASE)


@dataclass
class Count:
    executed: list[str] = field(default_factory=list)
    begins: int = 0
    commits: int = 0
    rollbacks: int = 0
    sends_begin: bool = False

    @property
    def total(self) -> int:
        begins = self.begins if self.sends_begin else 0
        return len(self.executed) + self.commits + self.rollbacks + begins

    def summary(self) -> str:
        """The statements by kind and table, in order of first use: ``UPDATE account×2``."""
        kinds = Counter(self.executed)
        return ", ".join(f"{kind}×{times}" if times > 1 else kind for kind, times in kinds.items())


def _label(statement: str) -> str:
    words = statement.split()
    verb = " ".join(words[:2]) if words[:1] == ["RELEASE"] else (words[0] if words else "?")
    if verb.upper().startswith(("SAVEPOINT", "RELEASE", "BEGIN")):
        return verb.upper().split()[0]
    table = _TABLE.search(statement)
    name = table.group(1).removeprefix("partialpay_") if table else ""
    return f"{verb.upper()} {name}".strip()


@contextmanager
def counting(engine: Engine) -> Iterator[Count]:
    count = Count(sends_begin=engine.dialect.name in _SENDS_BEGIN)

    def executed(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        count.executed.append(_label(statement))

    def began(_conn: Any) -> None:
        count.begins += 1

    def committed(_conn: Any) -> None:
        count.commits += 1

    def rolled_back(_conn: Any) -> None:
        count.rollbacks += 1

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", executed),
        ("begin", began),
        ("commit", committed),
        ("rollback", rolled_back),
    ]
    for name, listener in listeners:
        event.listen(engine, name, listener)
    try:
        yield count
    finally:
        for name, listener in listeners:
            event.remove(engine, name, listener)


def statements_per_operation(ledger: LedgerApp) -> dict[str, Count]:
    """Statements of one credit, debit, hold and capture on an existing wallet."""
    owner = "counted"
    counts: dict[str, Count] = {}
    with ledger.context():
        wallets = ledger.partialpay.wallets
        engine = ledger.db.engine
        wallets.credit(owner, FUNDING, CURRENCY, reason="topup")
        wallets.debit(owner, DEBIT, CURRENCY, reason="order_payment", idempotency_key="warm-d")
        warm = wallets.hold(owner, DEBIT, CURRENCY, reference="warm", idempotency_key="warm-h")
        wallets.capture(warm.id)
        ledger.db.session.remove()  # each counted operation starts as a request would

        with counting(engine) as counts["credit"]:
            wallets.credit(owner, DEBIT, CURRENCY, reason="topup", idempotency_key="count-c")
        ledger.db.session.remove()
        with counting(engine) as counts["debit"]:
            wallets.debit(owner, DEBIT, CURRENCY, reason="order_payment", idempotency_key="count-d")
        ledger.db.session.remove()
        with counting(engine) as counts["hold"]:
            held = wallets.hold(owner, DEBIT, CURRENCY, reference="c", idempotency_key="count-h")
        hold_id = held.id  # read outside the count: the refresh after commit is the caller's
        ledger.db.session.remove()
        with counting(engine) as counts["capture"]:
            wallets.capture(hold_id)
        ledger.db.session.remove()
    return counts
