"""Accounts and their entries, read together in one pass in id order.

Checks ``currency_sum``, ``balance_cache``, ``held_cache``, ``entry_chain``,
``negative_spendable`` and the entries' part of ``append_only``.

A wallet caches its balance: the cache must equal the sum of its entries, each entry must
go on from where the one before ended, and its entries follow its transfers' order (the
wallet's row lock serialises them). A system account keeps no running balance (see
:mod:`flask_partialpay.ledger.transfers`): its balance is the sum of its entries, its
cached columns stay 0, and its entries have no chain to check (those written before
pp0009 carry numbers, which are not read) nor any order: movements of different wallets
write them concurrently. Per currency, the wallets' cached balances and the system
accounts' entry sums add up to zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from flask_partialpay.audit.reading import Progress, as_int, stream
from flask_partialpay.audit.report import AuditReport, money_text
from flask_partialpay.core.vocabulary import AccountKind, HoldStatus
from flask_partialpay.ledger.models import Entry, Hold, LedgerAccount, Transfer


def _account_about(kind: str, owner_id: str, currency: str) -> str:
    if kind == AccountKind.WALLET:
        return f"wallet of customer {owner_id}, {currency}"
    return f"{kind}, {currency}"


@dataclass
class _AccountRun:
    """What the audit remembers while it reads one account's entries in id order."""

    id: int
    kind: str
    about: str
    currency: str
    balance_minor: int
    held_minor: int
    active_holds_minor: int
    entries_minor: int = 0
    last_entry_id: int | None = None
    last_after_minor: int = 0
    last_transfer_id: int | None = None

    @property
    def subject(self) -> str:
        return f"account {self.id}"

    @property
    def is_wallet(self) -> bool:
        return self.kind == AccountKind.WALLET

    @property
    def balance(self) -> int:
        """The account's balance: a wallet's cache, a system account's entry sum."""
        return self.balance_minor if self.is_wallet else self.entries_minor


def check_accounts(session: Session, report: AuditReport, progress: Progress | None) -> None:
    """Read every account with its entries in one streamed pass; ``progress`` per batch."""
    active_holds = (
        select(
            Hold.account_id.label("account_id"),
            func.sum(Hold.amount_minor).label("active_holds_minor"),
        )
        .where(Hold.status == HoldStatus.ACTIVE)
        .group_by(Hold.account_id)
        .subquery()
    )
    statement = (
        select(
            LedgerAccount.id.label("account_id"),
            LedgerAccount.kind,
            LedgerAccount.owner_id,
            LedgerAccount.currency,
            LedgerAccount.balance_minor,
            LedgerAccount.held_minor,
            active_holds.c.active_holds_minor,
            Entry.id.label("entry_id"),
            Entry.transfer_id,
            Entry.amount_minor,
            Entry.balance_before_minor,
            Entry.balance_after_minor,
            Entry.created_at,
            Transfer.id.label("transfer_found"),
            Transfer.created_at.label("transfer_created_at"),
        )
        .select_from(LedgerAccount)
        .outerjoin(active_holds, active_holds.c.account_id == LedgerAccount.id)
        .outerjoin(Entry, Entry.account_id == LedgerAccount.id)
        .outerjoin(Transfer, Transfer.id == Entry.transfer_id)
        .order_by(LedgerAccount.id, Entry.id)
    )
    currency_totals: dict[str, int] = {}
    run: _AccountRun | None = None
    for rows in stream(session, statement):
        entries = 0
        for row in rows:
            if run is None or row.account_id != run.id:
                if run is not None:
                    _finish_account(run, report, currency_totals)
                run = _AccountRun(
                    id=row.account_id,
                    kind=row.kind,
                    about=_account_about(row.kind, row.owner_id, row.currency),
                    currency=row.currency,
                    balance_minor=row.balance_minor,
                    held_minor=row.held_minor,
                    active_holds_minor=as_int(row.active_holds_minor),
                )
                report.accounts += 1
            if row.entry_id is not None:
                entries += 1
                _check_entry(run, row, report)
        report.entries += entries
        if progress is not None and entries:
            progress(entries)
    if run is not None:
        _finish_account(run, report, currency_totals)
    for currency, total in sorted(currency_totals.items()):
        if total != 0:
            report.add(
                "currency_sum",
                f"currency {currency}",
                f"the balances of its accounts (wallets' cached balances, system accounts' "
                f"entries) add up to {money_text(total, currency)}, not zero",
            )


def _check_entry(run: _AccountRun, row: Any, report: AuditReport) -> None:
    entry = f"entry {row.entry_id}"
    money = run.currency
    if row.transfer_found is None:
        report.add(
            "append_only",
            entry,
            f"on account {run.id} belongs to transfer {row.transfer_id}, which does not exist",
        )
    elif row.created_at != row.transfer_created_at:
        report.add(
            "append_only",
            entry,
            f"was written at {row.created_at.isoformat()} but its transfer "
            f"{row.transfer_id} at {row.transfer_created_at.isoformat()}",
        )
    if not run.is_wallet:
        run.entries_minor += row.amount_minor
        return
    if run.last_transfer_id is not None and row.transfer_id <= run.last_transfer_id:
        report.add(
            "append_only",
            run.subject,
            f"{entry} (transfer {row.transfer_id}) was written after entry "
            f"{run.last_entry_id} of a later transfer ({run.last_transfer_id})",
            run.about,
        )
    if row.balance_before_minor is None or row.balance_after_minor is None:
        report.add(
            "entry_chain", run.subject, f"{entry} has no balance before or after it", run.about
        )
        run.entries_minor += row.amount_minor
        run.last_entry_id = row.entry_id
        run.last_transfer_id = row.transfer_id
        return
    if row.balance_before_minor + row.amount_minor != row.balance_after_minor:
        report.add(
            "entry_chain",
            run.subject,
            f"{entry} goes from {money_text(row.balance_before_minor, money)} by "
            f"{money_text(row.amount_minor, money)} "
            f"to {money_text(row.balance_after_minor, money)}",
            run.about,
        )
    if run.last_entry_id is None:
        if row.balance_before_minor != 0:
            report.add(
                "entry_chain",
                run.subject,
                f"{entry}, its first, starts at {money_text(row.balance_before_minor, money)} "
                "instead of zero",
                run.about,
            )
    elif row.balance_before_minor != run.last_after_minor:
        report.add(
            "entry_chain",
            run.subject,
            f"{entry} starts at {money_text(row.balance_before_minor, money)} but entry "
            f"{run.last_entry_id} before it ended at {money_text(run.last_after_minor, money)}",
            run.about,
        )
    run.entries_minor += row.amount_minor
    run.last_entry_id = row.entry_id
    run.last_after_minor = row.balance_after_minor
    run.last_transfer_id = row.transfer_id


def _finish_account(run: _AccountRun, report: AuditReport, currency_totals: dict[str, int]) -> None:
    money = run.currency
    currency_totals[money] = currency_totals.get(money, 0) + run.balance
    if run.is_wallet and run.balance_minor != run.entries_minor:
        report.add(
            "balance_cache",
            run.subject,
            f"its balance is {money_text(run.balance_minor, money)} but its entries add up to "
            f"{money_text(run.entries_minor, money)}",
            run.about,
        )
    if not run.is_wallet and (run.balance_minor, run.held_minor) != (0, 0):
        report.add(
            "balance_cache",
            run.subject,
            f"a system account keeps no balance of its own, but it has "
            f"{money_text(run.balance_minor, money)} posted and "
            f"{money_text(run.held_minor, money)} held (its balance is its entries' sum, "
            f"{money_text(run.entries_minor, money)})",
            run.about,
        )
    if run.held_minor != run.active_holds_minor:
        report.add(
            "held_cache",
            run.subject,
            f"it has {money_text(run.held_minor, money)} held but its active holds add up to "
            f"{money_text(run.active_holds_minor, money)}",
            run.about,
        )
    if run.is_wallet and run.balance_minor - run.held_minor < 0:
        report.add(
            "negative_spendable",
            run.subject,
            f"its spendable balance is {money_text(run.balance_minor - run.held_minor, money)} "
            f"({money_text(run.balance_minor, money)} posted, "
            f"{money_text(run.held_minor, money)} held)",
            run.about,
        )
