"""Settings an admin changes at run time, stored in the database.

Unlike the ``PARTIALPAY_*`` config keys (fixed when the app starts), these are switched on
the admin Settings page and take effect on the next checkout, in every worker: each
checkout reads them afresh, once per transaction. A setting never written is at its
default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from flask_partialpay.core.markers import N_
from flask_partialpay.db.records import StoreSetting
from flask_partialpay.db.transactions import update_rows


@dataclass(frozen=True)
class Switch:
    """An on/off setting: its label and help as the admin reads them (translated later)."""

    name: str
    label: str
    hint: str
    default: bool


WALLET_PARTIAL_PAYMENT = "wallet_partial_payment"
WALLET_AUTO_DEDUCT = "wallet_auto_deduct"
WALLET_AUTO_DEDUCT_REMOVABLE = "wallet_auto_deduct_removable"

SWITCHES: tuple[Switch, ...] = (
    Switch(
        WALLET_PARTIAL_PAYMENT,
        N_("Partial payment with the wallet"),
        N_(
            "At checkout, shoppers may pay part of an order from their wallet balance and "
            "the rest with another payment method."
        ),
        True,
    ),
    Switch(
        WALLET_AUTO_DEDUCT,
        N_("Auto-deduct wallet balance"),
        N_(
            "The largest available wallet balance is applied as soon as the shopper "
            "reaches checkout, without a click."
        ),
        False,
    ),
    Switch(
        WALLET_AUTO_DEDUCT_REMOVABLE,
        N_("Shoppers may remove an auto-deducted balance"),
        N_("When off, an auto-deducted balance stays applied and the shopper cannot change it."),
        True,
    ),
)
BY_NAME: Mapping[str, Switch] = {switch.name: switch for switch in SWITCHES}

_TRUE, _FALSE = "1", "0"


#: Where :func:`current` keeps what it read, in ``session.info``: the transaction it read
#: in, and the values.
_READ = "partialpay_store_settings"


def current(session: Session) -> dict[str, bool]:
    """Every switch's value now: one query, the first time in a transaction.

    A cart page asks several times (its totals, the wallet form, the payment methods): the
    later asks in the same transaction get what the first read, which is what that
    transaction would see again on PostgreSQL's and MariaDB's snapshots anyway. A change
    through :func:`change` in the transaction is read again.
    """
    kept = session.info.get(_READ)
    transaction = session.get_transaction()
    if kept is not None and transaction is not None and kept[0] is transaction:
        return dict(kept[1])
    stored = {
        name: value
        for name, value in session.execute(select(StoreSetting.name, StoreSetting.value))
    }
    values = {
        switch.name: stored[switch.name] == _TRUE if switch.name in stored else switch.default
        for switch in SWITCHES
    }
    # The query began the transaction if none was open; a session that autocommits has none.
    transaction = session.get_transaction()
    if transaction is not None:
        session.info[_READ] = (transaction, values)
    return dict(values)


def change(session: Session, values: Mapping[str, bool], *, by: str | None) -> list[str]:
    """Store ``values``; the names of the switches whose value changed."""
    before = current(session)
    changed = []
    for name, value in values.items():
        if name not in BY_NAME:
            raise KeyError(name)
        if before[name] == value:
            continue
        _write(session, name, _TRUE if value else _FALSE, by)
        changed.append(name)
    return changed


def _write(session: Session, name: str, value: str, by: str | None) -> None:
    session.info.pop(_READ, None)
    # An upsert that works on all three databases: update, else insert; an insert that loses
    # a race to another admin's insert becomes an update.
    statement = (
        update(StoreSetting).where(StoreSetting.name == name).values(value=value, updated_by=by)
    )
    if update_rows(session, statement) == 1:
        return
    try:
        with session.begin_nested():
            session.add(StoreSetting(name=name, value=value, updated_by=by))
    except IntegrityError:
        update_rows(session, statement)
