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
from sqlalchemy.engine.interfaces import ExecuteStyle

from bench.ledger_app import LedgerApp
from bench.workloads import CURRENCY, DEBIT, FUNDING

HOW_COUNTED = """\
One credit, debit, hold and capture through `partialpay.wallets`, each on a wallet that
already had one operation of its kind (creating the account is not counted), each from a
fresh session as a request would. Counted: every statement SQLAlchemy hands the driver's
cursor, once (the `before_cursor_execute` event: SELECT, INSERT, UPDATE, SAVEPOINT, RELEASE
SAVEPOINT, an explicit BEGIN such as SQLite's `BEGIN IMMEDIATE`), whatever its form:
`INSERT … ON CONFLICT` / `INSERT IGNORE`, `UPDATE … RETURNING`, a multi-row `INSERT …
VALUES (…), (…)` are one statement each. An `executemany` also counts as one, marked with
its row count: one statement text prepared once, which psycopg 3 sends in one pipeline (one
round trip), sqlite3 runs in process and PyMySQL rewrites into one multi-row statement if it
is an INSERT … VALUES (any other, PyMySQL sends once per row: the mark shows how many).
Plus the BEGIN a driver sends on its own: counted when the driver's connection enters a
transaction on a statement that is not itself a BEGIN (psycopg does so before a
transaction's first statement, pysqlite before the first data change unless the extension
began explicitly; PyMySQL never does, InnoDB opens the transaction at the first statement),
shown as `BEGIN (driver)`. Plus one per COMMIT or ROLLBACK the driver sends (the `commit` /
`rollback` events, when the driver has a transaction open: psycopg's and sqlite3's
`commit()` send nothing otherwise; PyMySQL's always sends one). The statement list shows
each statement's verb, first table and form, in order of first use.\
"""

_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE|JOIN)\s+[`\"]?(\w+)", re.IGNORECASE)
_MULTI_ROW = re.compile(r"\bVALUES\s*\(.*?\)\s*,\s*\(", re.IGNORECASE | re.DOTALL)
# What a statement's form says about its round trips, shown after its verb and table.
_FORMS = (
    ("ON CONFLICT", "ON CONFLICT"),
    ("ON DUPLICATE KEY", "ON DUPLICATE KEY"),
    ("RETURNING", "RETURNING"),
    ("FOR UPDATE", "FOR UPDATE"),
)
DRIVER_BEGIN = "BEGIN (driver)"


@dataclass
class Count:
    #: Labels of the statements sent, in order, the driver's own BEGINs included.
    executed: list[str] = field(default_factory=list)
    begins: int = 0
    commits: int = 0
    rollbacks: int = 0

    @property
    def total(self) -> int:
        return len(self.executed) + self.commits + self.rollbacks

    def summary(self) -> str:
        """The statements by kind and table, in order of first use: ``UPDATE account×2``."""
        kinds = Counter(self.executed)
        return ", ".join(f"{kind}×{times}" if times > 1 else kind for kind, times in kinds.items())


def label(statement: str, *, rows: int | None = None) -> str:
    """``INSERT idempotency ON CONFLICT``, ``UPDATE account RETURNING``, ``BEGIN IMMEDIATE``."""
    words = statement.split()
    if not words:
        return "?"
    first = words[0].upper()
    if first in ("BEGIN", "SAVEPOINT", "RELEASE", "COMMIT", "ROLLBACK"):
        # BEGIN IMMEDIATE / DEFERRED stay apart from a plain BEGIN: they lock differently.
        return " ".join(w.upper() for w in words[:2]) if first == "BEGIN" else first
    verb = "INSERT IGNORE" if first == "INSERT" and words[1:2] == ["IGNORE"] else first
    table = _TABLE.search(statement)
    parts = [verb, table.group(1).removeprefix("partialpay_") if table else ""]
    upper = statement.upper()
    parts += [form for marker, form in _FORMS if marker in upper]
    if rows is not None:
        parts.append(f"[executemany of {rows}]")
    elif _MULTI_ROW.search(statement):
        parts.append("[multi-row]")
    return " ".join(part for part in parts if part)


def _driver_in_transaction(dialect: str, dbapi_connection: Any) -> bool | None:
    """Whether the driver's connection has a transaction open; None: not known (PyMySQL)."""
    if dialect == "sqlite":
        return bool(dbapi_connection.in_transaction)
    if dialect == "postgresql":
        status = dbapi_connection.info.transaction_status
        return bool(status != type(status).IDLE)
    return None


@contextmanager
def counting(engine: Engine) -> Iterator[Count]:
    count = Count()
    dialect = engine.dialect.name
    # Whether the driver had a transaction open before the statement being executed.
    was_open: list[bool | None] = [None]

    def state(conn: Any) -> bool | None:
        return _driver_in_transaction(dialect, conn.connection.dbapi_connection)

    def before(
        conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        rows = None
        if many and context is not None and context.execute_style is ExecuteStyle.EXECUTEMANY:
            rows = len(parameters)
        was_open[0] = state(conn)
        count.executed.append(label(statement, rows=rows))

    def after(conn: Any, *_args: Any) -> None:
        opened = was_open[0] is False and state(conn) is True
        if opened and not count.executed[-1].startswith("BEGIN"):
            count.executed.insert(len(count.executed) - 1, DRIVER_BEGIN)
            count.begins += 1

    def sends_end(conn: Any) -> bool:
        # A driver that cannot say (PyMySQL) sends COMMIT / ROLLBACK on every call.
        return state(conn) is not False

    def committed(conn: Any) -> None:
        count.commits += sends_end(conn)

    def rolled_back(conn: Any) -> None:
        count.rollbacks += sends_end(conn)

    listeners: list[tuple[str, Callable[..., None]]] = [
        ("before_cursor_execute", before),
        ("after_cursor_execute", after),
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
