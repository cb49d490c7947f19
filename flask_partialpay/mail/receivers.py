"""The extension's own receivers of its money signals: each queues its e-mail.

They listen to the in-transaction phase of each signal, so the e-mail is written in the
transaction that moved the money and goes if and only if that commits; the sending waits
for the commit (see :mod:`.events`). Connected for an app only when its e-mail is on.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from flask_partialpay.core.money import to_minor
from flask_partialpay.core.vocabulary import OrderPurpose
from flask_partialpay.host import signals
from flask_partialpay.mail import context as mail_context
from flask_partialpay.mail import events
from flask_partialpay.payments.models import OrderRecord, Payment


def _session() -> Any:
    context = mail_context.current()
    return context.session if context is not None else None


# Each takes the signal's keyword arguments (documented in host/signals.py) as ``sent``:
# blinker passes them all, and a signal may gain one.


def on_payment_recorded(app: Flask, **sent: Any) -> None:
    context = mail_context.current()
    if context is None:
        return
    payment: Payment = sent["payment"]
    gateway = context.gateways.get(payment.gateway)
    if gateway is not None and gateway.confirmed_by_manager:
        events.transfer_awaiting(context.session, payment)


def on_payment_succeeded(app: Flask, **sent: Any) -> None:
    order: OrderRecord = sent["order"]
    # A payment a manager confirmed has its own e-mail (transfer_confirmed), with the same
    # invoice; a top-up's is the wallet's (wallet_credited).
    if sent["confirmed_by"] is None and order.purpose == OrderPurpose.ORDER:
        events.payment_received(_session(), sent["payment"], order)


def on_payment_confirmed(app: Flask, **sent: Any) -> None:
    events.transfer_confirmed(_session(), sent["payment"], sent["order"])


def on_payment_rejected(app: Flask, **sent: Any) -> None:
    events.transfer_rejected(_session(), sent["payment"], sent["reason"])


def on_order_completed(app: Flask, **sent: Any) -> None:
    order: OrderRecord = sent["order"]
    if order.purpose == OrderPurpose.ORDER:
        events.order_completed(_session(), order)


def on_order_declined(app: Flask, **sent: Any) -> None:
    events.order_declined(_session(), sent["order"])


def on_instalment_waived(app: Flask, **sent: Any) -> None:
    order: OrderRecord = sent["order"]
    amount_minor = to_minor(sent["amount"], order.currency)
    events.instalment_waived(_session(), order, sent["number"], amount_minor, sent["reason"])


def on_wallet_credited(app: Flask, **sent: Any) -> None:
    events.wallet_credited(_session(), sent["transfer"], sent["owner_id"])


def on_wallet_debited(app: Flask, **sent: Any) -> None:
    events.wallet_debited(_session(), sent["transfer"], sent["owner_id"])


_RECEIVERS = (
    (signals.payment_recorded, on_payment_recorded),
    (signals.payment_succeeded, on_payment_succeeded),
    (signals.payment_confirmed, on_payment_confirmed),
    (signals.payment_rejected, on_payment_rejected),
    (signals.order_completed, on_order_completed),
    (signals.order_declined, on_order_declined),
    (signals.instalment_waived, on_instalment_waived),
    (signals.wallet_credited, on_wallet_credited),
    (signals.wallet_debited, on_wallet_debited),
)


def connect(app: Flask) -> None:
    """Queue the e-mails of ``app``'s money signals (only this app's)."""
    for signal, receiver in _RECEIVERS:
        signal.connect(receiver, sender=app)
