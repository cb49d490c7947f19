"""A wallet's debit or credit in one statement, on PostgreSQL.

PostgreSQL runs data-modifying statements inside ``WITH``, each reading what the ones
before it returned. So the wallet's guarded UPDATE, the transfer's INSERT, both entries and
the idempotency record go in one round trip instead of four::

    WITH moved AS (UPDATE account ... WHERE <the wallet> AND <the guard> RETURNING ...),
         transfer AS (INSERT INTO transfer ... SELECT ... FROM moved RETURNING id),
         entries AS (INSERT INTO entry ... SELECT ... FROM transfer, moved ...),
         recorded AS (UPDATE idempotency SET transfer_id = transfer.id FROM transfer ...)
    SELECT transfer.id, moved.* FROM transfer, moved

Inside a transaction that claimed the key first (:mod:`.idempotency_keys`), the statement
ties that record to the transfer (``recorded`` above), and a debit is four statements
counting BEGIN and COMMIT. As a transaction of its own (``claims_key``), it inserts the
record itself, ``claimed AS (INSERT INTO idempotency ... SELECT ... FROM transfer)``: a
plain INSERT, so a key another request holds fails the whole statement with a unique
violation (after waiting for that request's commit) and nothing is written; the caller then
finds the original on the ordinary path. The statement is then the whole transaction: one
round trip, committed by the database as it runs it (``autocommitted`` in
:mod:`flask_partialpay.db.transactions`), with the wallet's row locked only while it runs.
It runs on a connection of its own in autocommit mode, not the session's (which holds none
then): the session would wrap it in its transaction's bookkeeping, a begin, a commit that
sends nothing and a release, for a statement that needs none of it.

The guard is the same ``WHERE`` clause as the one-statement-at-a-time path
(:func:`.wallet_rows.guarded_update`), with the same row lock and the same re-check of a row
another transaction changed meanwhile. The writes after it read ``moved``'s rows: when the
guard refuses (or there is no such wallet), ``moved`` is empty, so the transfer, the entries
and the record write nothing either, and the statement returns no row; the caller then
finds out why on the slow path, as after a refused UPDATE (:mod:`.transfers`). Each entry's
balance after is the one the UPDATE returned, exact under the row's lock as before.

Only for a system account whose id is cached (no statement to find it): a movement that
must open one takes the slow path, so that a refused one opens nothing.
"""

from __future__ import annotations

from functools import cache
from typing import Any, cast

from sqlalchemy import (
    Column,
    Connection,
    Select,
    Table,
    bindparam,
    insert,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from flask_partialpay.db.records import IdempotencyRecord
from flask_partialpay.ledger.models import Entry, Transfer
from flask_partialpay.ledger.wallet_rows import (
    RETURNED,
    WalletRow,
    Which,
    guard_params,
    spendable_covers,
)
from flask_partialpay.ledger.wallet_rows import guarded_update as wallet_update

_transfers = cast(Table, Transfer.__table__)
_entries = cast(Table, Entry.__table__)
_records = cast(Table, IdempotencyRecord.__table__)

# The transfer's columns, each given as a parameter ``t_<column>`` (but for the wallet's
# side, which comes from the UPDATE).
_TRANSFER_VALUES = (
    "amount_minor",
    "currency",
    "reason",
    "memo",
    "reference",
    "created_by",
    "created_at",
)


def supported(session: Session) -> bool:
    """Whether the database runs INSERT and UPDATE inside WITH (PostgreSQL only)."""
    return session.get_bind().dialect.name == "postgresql"


def _param(name: str, column: Column[Any]) -> BindParameter[Any]:
    return bindparam(name, type_=column.type)


@cache
def _statement(debit: bool, claims_key: bool = False) -> Select[Any]:
    """A debit (the wallet pays, guarded) or a credit (the wallet is paid, unguarded).

    ``claims_key``: the idempotency record is inserted by the statement itself, tied to the
    transfer (parameters ``k_*``), rather than claimed before it and updated here.
    """
    moved = wallet_update(by_owner_key=True, guarded=debit).returning(*RETURNED).cte("moved")
    house = _param("h_house", _entries.c.account_id)
    wallet_delta = _param("d_balance", _entries.c.amount_minor)
    created_at = _param("t_created_at", _transfers.c.created_at)
    sides = (moved.c.id, house) if debit else (house, moved.c.id)
    transfer = (
        insert(_transfers)
        .from_select(
            ["from_account_id", "to_account_id", "reverses_id", *_TRANSFER_VALUES],
            select(
                *sides,
                null(),
                *(_param(f"t_{name}", _transfers.c[name]) for name in _TRANSFER_VALUES),
            ),
        )
        .returning(_transfers.c.id)
        .cte("transfer")
    )
    wallet_entry = select(
        transfer.c.id,
        moved.c.id,
        wallet_delta,
        moved.c.balance_minor - wallet_delta,
        moved.c.balance_minor,
        created_at,
    ).select_from(transfer.join(moved, true()))
    house_entry = select(transfer.c.id, house, -wallet_delta, null(), null(), created_at)
    # The source's entry first, as on the other path: UNION ALL keeps the branches' order.
    both = (wallet_entry, house_entry) if debit else (house_entry, wallet_entry)
    entries = (
        insert(_entries)
        .from_select(
            [
                "transfer_id",
                "account_id",
                "amount_minor",
                "balance_before_minor",
                "balance_after_minor",
                "created_at",
            ],
            union_all(*both),
        )
        .cte("entries")
    )
    recorded = _claimed(transfer) if claims_key else _recorded(transfer)
    return (
        select(transfer.c.id, *(moved.c[column.name] for column in RETURNED))
        .select_from(transfer.join(moved, true()))
        .add_cte(entries, recorded)
    )


def _recorded(transfer: Any) -> Any:
    """Tie the record claimed earlier in the transaction (``r_id``) to the transfer."""
    # No record (r_id NULL): the condition holds for no row; no transfer: nothing to tie.
    written = select(transfer.c.id)
    return (
        _records.update()
        .where(_records.c.id == bindparam("r_id", type_=_records.c.id.type), written.exists())
        .values(transfer_id=written.scalar_subquery())
        .cte("recorded")
    )


def _claimed(transfer: Any) -> Any:
    """Insert the idempotency record with the transfer: a plain INSERT, so that a key
    already taken fails the whole statement (unique violation) and nothing is written;
    no transfer (the guard refused), no record."""
    columns = ("key", "operation", "fingerprint", "created_at")
    return (
        insert(_records)
        .from_select(
            [*columns, "transfer_id"],
            select(*(_param(f"k_{name}", _records.c[name]) for name in columns), transfer.c.id),
        )
        .cte("claimed")
    )


def move_wallet(
    connection: Connection,
    which: Which,
    house_id: int,
    *,
    debit: bool,
    amount_minor: int,
    transfer_values: dict[str, Any],
    record_id: int | None = None,
    claim: dict[str, Any] | None = None,
) -> tuple[int, WalletRow] | None:
    """Move ``amount_minor`` between the wallet ``which`` (by owner) and ``house_id``, write
    the transfer (its other columns from ``transfer_values``) and both entries, and tie the
    idempotency record ``record_id`` (if any) to it, or insert the record ``claim`` (its
    key, operation, fingerprint and created_at) with it: the transfer's id and the wallet
    as changed, or None when nothing was written (the guard refused, or no such wallet).

    On ``connection``: the session's inside a transaction, or one of its own in autocommit
    mode for a movement that is its own transaction
    (:func:`~flask_partialpay.db.transactions.autocommit_connection`)."""
    params = which.params()
    params.update({f"t_{name}": transfer_values[name] for name in _TRANSFER_VALUES})
    params["d_balance"] = -amount_minor if debit else amount_minor
    params["d_held"] = 0
    params["h_house"] = house_id
    params["r_id"] = record_id
    if debit:
        params.update(guard_params(spendable_covers(amount_minor)))
    if claim is not None:
        params.update({f"k_{name}": value for name, value in claim.items()})
    # Core on the connection: the ORM adds nothing to a Core statement but its Python.
    row = connection.execute(_statement(debit, claim is not None), params).one_or_none()
    if row is None:
        return None
    transfer_id, *wallet = row
    return transfer_id, WalletRow(*wallet)
