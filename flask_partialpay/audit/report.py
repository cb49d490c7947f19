"""What the audit found and how much it read: :class:`Violation`, :class:`AuditReport`.

Also the wording every check shares: an amount for a reader (:func:`money_text`) and a
count with its noun (:func:`counted`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_partialpay.core.errors import UnknownCurrency
from flask_partialpay.core.money import from_minor


@dataclass(frozen=True)
class Violation:
    """One broken invariant: its code, what it is about ("account 12") and what is wrong."""

    invariant: str
    subject: str
    message: str
    #: What the subject is, for a reader: "wallet of customer 7, USD".
    about: str = ""

    def __str__(self) -> str:
        about = f" ({self.about})" if self.about else ""
        return f"{self.invariant}  {self.subject}{about}: {self.message}"


@dataclass
class AuditReport:
    """The violations found, and how much of the ledger was read to find them."""

    violations: list[Violation] = field(default_factory=list)
    accounts: int = 0
    entries: int = 0
    transfers: int = 0
    holds: int = 0
    idempotency_keys: int = 0
    orders: int = 0
    payments: int = 0
    charges: int = 0
    #: Whether the sandbox processor's records were compared (only where it is enabled).
    sandbox_checked: bool = True

    def summary(self) -> str:
        checked = ", ".join(
            counted(number, noun)
            for number, noun in (
                (self.accounts, "account"),
                (self.entries, "entry"),
                (self.transfers, "transfer"),
                (self.holds, "hold"),
                (self.idempotency_keys, "idempotency key"),
                (self.orders, "order"),
                (self.payments, "payment"),
                *([(self.charges, "processor charge")] if self.sandbox_checked else []),
            )
        )
        if not self.violations:
            return f"Audit passed: no violations in {checked}."
        return f"Audit FAILED: {counted(len(self.violations), 'violation')} in {checked}."

    def add(self, invariant: str, subject: str, message: str, about: str = "") -> None:
        self.violations.append(Violation(invariant, subject, message, about))


def counted(number: int, noun: str) -> str:
    """``number`` of ``noun``: "1 entry", "2,500 entries", "2 idempotency keys"."""
    if number == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") and not noun.endswith("key") else noun + "s"
    return f"{number:,} {plural}"


def money_text(minor: Any, currency: str) -> str:
    """An amount for a reader; raw minor units when the currency itself is broken."""
    try:
        return str(from_minor(int(minor), currency))
    except (UnknownCurrency, TypeError, ValueError):
        return f"{minor} minor units of {currency!r}"
