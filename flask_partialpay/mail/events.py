"""The e-mails the extension sends, one public function per event.

Each function queues its e-mail in the caller's transaction (``session``), addressed and
written in the language the host's customer directory gives, and has it sent after that
transaction commits. Called again for the same event (a retried job, a second worker),
it queues nothing more. It does nothing when e-mail is off, the event is switched off in
``PARTIALPAY_MAIL_EVENTS``, or the customer has no address.

The money events are queued by :mod:`.receivers` from the extension's signals, and so is
``instalment_waived`` (an admin waived what was left of an instalment). The plan
events (``instalment_due``, ``instalment_charged``, ``instalment_charge_failed``,
``instalment_overdue``, ``instalment_long_overdue``) are for the code that runs due
instalments to call.

A broken template never stops the change it would tell of: its error is logged and no
e-mail is queued. Database errors propagate, so a retried transaction queues again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import date
from decimal import ROUND_CEILING, Decimal
from typing import Any, NamedTuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from flask_partialpay.core import money
from flask_partialpay.core.markers import N_
from flask_partialpay.core.vocabulary import PaymentStatus
from flask_partialpay.db.transactions import after_commit, in_transaction
from flask_partialpay.host.config import setting
from flask_partialpay.host.i18n import format_money
from flask_partialpay.ledger.models import Entry, Transfer
from flask_partialpay.mail import context as mail_context
from flask_partialpay.mail import delivery, rendering
from flask_partialpay.mail.context import MailContext
from flask_partialpay.mail.outbox import enqueue
from flask_partialpay.payments.card_labels import card_label
from flask_partialpay.payments.models import OrderRecord, Payment
from flask_partialpay.payments.saved_cards import SavedCard

log = logging.getLogger(__name__)

PAYMENT_RECEIVED = "payment_received"
TRANSFER_AWAITING = "transfer_awaiting"
TRANSFER_CONFIRMED = "transfer_confirmed"
TRANSFER_REJECTED = "transfer_rejected"
ORDER_COMPLETED = "order_completed"
ORDER_DECLINED = "order_declined"
WALLET_CREDITED = "wallet_credited"
WALLET_DEBITED = "wallet_debited"
LOW_BALANCE = "low_balance"
INSTALMENT_DUE = "instalment_due"
INSTALMENT_CHARGED = "instalment_charged"
INSTALMENT_CHARGE_FAILED = "instalment_charge_failed"
INSTALMENT_OVERDUE = "instalment_overdue"
INSTALMENT_LONG_OVERDUE = "instalment_long_overdue"
INSTALMENT_WAIVED = "instalment_waived"

#: Every event's subject line (a msgid, translated in the recipient's language).
SUBJECTS: Mapping[str, str] = {
    PAYMENT_RECEIVED: N_("Payment received for order %(order)s"),
    TRANSFER_AWAITING: N_("Bank transfer %(payment)s awaits confirmation"),
    TRANSFER_CONFIRMED: N_("Your bank transfer for order %(order)s is confirmed"),
    TRANSFER_REJECTED: N_("Your bank transfer for order %(order)s was rejected"),
    ORDER_COMPLETED: N_("Order %(order)s is complete"),
    ORDER_DECLINED: N_("Order %(order)s was declined"),
    WALLET_CREDITED: N_("%(amount)s added to your wallet"),
    WALLET_DEBITED: N_("%(amount)s paid from your wallet"),
    LOW_BALANCE: N_("Your wallet balance is low: %(balance)s"),
    INSTALMENT_DUE: N_("Instalment %(number)s of order %(order)s is due on %(date)s"),
    INSTALMENT_CHARGED: N_("Instalment %(number)s of order %(order)s was charged"),
    INSTALMENT_CHARGE_FAILED: N_("We could not charge instalment %(number)s of order %(order)s"),
    INSTALMENT_OVERDUE: N_("Instalment %(number)s of order %(order)s is overdue"),
    INSTALMENT_LONG_OVERDUE: N_(
        "Instalment %(number)s of order %(order)s is still unpaid since %(date)s"
    ),
    INSTALMENT_WAIVED: N_("Instalment waived: order %(order)s, instalment %(number)s"),
}
#: The names ``PARTIALPAY_MAIL_EVENTS`` may list.
EVENTS = frozenset(SUBJECTS)


class Recipient(NamedTuple):
    address: str
    locale: str
    #: One of the shop's own addresses (``PARTIALPAY_MAIL_ADMIN``), not the customer's.
    for_admin: bool


def event_enabled(event: str) -> bool:
    chosen = setting("MAIL_EVENTS")
    return chosen is None or event in chosen


def _default_locale() -> str:
    return str(setting("DEFAULT_LOCALE"))


def _admins() -> list[Recipient]:
    """``PARTIALPAY_MAIL_ADMIN``, each in ``PARTIALPAY_DEFAULT_LOCALE``."""
    configured = setting("MAIL_ADMIN")
    if not configured:
        return []
    addresses = [configured] if isinstance(configured, str) else list(configured)
    return [Recipient(address, _default_locale(), for_admin=True) for address in addresses]


def _customer(context: MailContext, customer_id: str, event: str) -> Recipient | None:
    """The customer's address and language, or None (logged) when there is no address."""
    directory = context.customer_directory
    if directory is None:
        log.debug("no customer directory: the %s e-mail to %s is not sent", event, customer_id)
        return None
    info = directory.get(customer_id)
    if info is None or not info.email:
        log.debug(
            "customer %s has no e-mail address: the %s e-mail is not sent", customer_id, event
        )
        return None
    return Recipient(info.email, info.locale or _default_locale(), for_admin=False)


def _queue(
    session: Session,
    context: MailContext,
    *,
    event: str,
    key: str,
    recipients: Iterable[Recipient],
    customer_id: str | None,
    subject_params: Mapping[str, Any],
    values: Mapping[str, Any],
) -> list[int]:
    """Render and queue one e-mail per recipient; deliver them after the commit."""
    queued: list[int] = []
    for address, locale, for_admin in recipients:
        try:
            rendered = rendering.render(
                event,
                locale,
                SUBJECTS[event],
                subject_params=dict(subject_params),
                for_admin=for_admin,
                **values,
            )
        except Exception:
            # A mistake in a (host's) template must not undo the payment it tells of.
            log.exception("the %s e-mail %s could not be written; none is sent", event, key)
            continue
        mail_id = enqueue(
            session,
            event=event,
            event_key=key,
            recipient=address,
            customer_id=customer_id,
            locale=locale,
            rendered=rendered,
            now=context.now(),
        )
        if mail_id is not None:
            queued.append(mail_id)
    if queued:
        if in_transaction():
            after_commit(lambda: _deliver_after_commit(queued))
        else:
            # The caller commits its own transaction, later: sending now would race it.
            # deliver_pending sends these.
            log.debug(
                "e-mails %s queued outside a unit of work; deliver_pending sends them", queued
            )
    return queued


def _deliver_after_commit(ids: list[int]) -> None:
    context = mail_context.current()
    if context is not None:
        delivery.deliver(context, ids)


def _for_customer(
    session: Session,
    event: str,
    key: str,
    customer_id: str,
    subject_params: Mapping[str, Any],
    values: Mapping[str, Any],
    *,
    copy_admins: bool = False,
) -> list[int]:
    context = mail_context.current()
    if context is None or not event_enabled(event):
        return []
    recipients: list[Recipient] = []
    found = _customer(context, customer_id, event)
    if found is not None:
        recipients.append(found)
    if copy_admins:
        recipients += _admins()
    return _queue(
        session,
        context,
        event=event,
        key=key,
        recipients=recipients,
        customer_id=customer_id,
        subject_params=subject_params,
        values=values,
    )


# -- the money events, queued by the receivers --------------------------------------------


def _gateways() -> dict[str, Any]:
    context = mail_context.current()
    return dict(context.gateways) if context is not None else {}


def _invoices(session: Session, order: OrderRecord) -> list[Payment]:
    return list(
        session.scalars(
            select(Payment)
            .where(Payment.order_id == order.id, Payment.status == PaymentStatus.SUCCEEDED)
            .order_by(Payment.id)
        )
    )


def _invoice_values(session: Session, payment: Payment, order: OrderRecord) -> dict[str, Any]:
    invoices = _invoices(session, order)
    ids = [invoice.id for invoice in invoices]
    number = ids.index(payment.id) + 1 if payment.id in ids else None
    return {
        "order": order,
        "payment": payment,
        "payments": invoices,
        "gateways": _gateways(),
        "invoice_number": f"{order.reference}-{number}" if number else None,
    }


def payment_received(session: Session, payment: Payment, order: OrderRecord) -> list[int]:
    """A payment now counts towards the customer's order: the e-mail has its invoice."""
    return _invoice_mail(session, PAYMENT_RECEIVED, payment, order)


def transfer_confirmed(session: Session, payment: Payment, order: OrderRecord) -> list[int]:
    """A manager confirmed the customer's bank transfer: the e-mail has its invoice."""
    return _invoice_mail(session, TRANSFER_CONFIRMED, payment, order)


def _invoice_mail(session: Session, event: str, payment: Payment, order: OrderRecord) -> list[int]:
    return _for_customer(
        session,
        event,
        payment.public_id,
        payment.customer_id,
        {"order": order.reference},
        _invoice_values(session, payment, order),
    )


def transfer_rejected(session: Session, payment: Payment, reason: str | None) -> list[int]:
    """A manager rejected the customer's bank transfer, saying why (``reason``) or not."""
    order = payment.order
    return _for_customer(
        session,
        TRANSFER_REJECTED,
        payment.public_id,
        payment.customer_id,
        {"order": order.reference},
        {"order": order, "payment": payment, "reason": reason},
    )


def transfer_awaiting(session: Session, payment: Payment) -> list[int]:
    """The shop's managers are told a bank transfer waits for their confirmation."""
    context = mail_context.current()
    if context is None or not event_enabled(TRANSFER_AWAITING):
        return []
    return _queue(
        session,
        context,
        event=TRANSFER_AWAITING,
        key=payment.public_id,
        recipients=_admins(),
        customer_id=None,
        subject_params={"payment": payment.reference},
        values={"order": payment.order, "payment": payment},
    )


def order_completed(session: Session, order: OrderRecord) -> list[int]:
    """The customer's order is Completed (paid, or completed by the shop)."""
    return _order_mail(session, ORDER_COMPLETED, order)


def order_declined(session: Session, order: OrderRecord) -> list[int]:
    """The shop declined the customer's order: it can no longer be paid."""
    return _order_mail(session, ORDER_DECLINED, order)


def _order_mail(session: Session, event: str, order: OrderRecord) -> list[int]:
    return _for_customer(
        session,
        event,
        order.reference,
        order.customer_id,
        {"order": order.reference},
        {"order": order},
    )


def _wallet_balance(session: Session, transfer: Transfer, account_id: int) -> tuple[int, int]:
    """The wallet's balance before and after ``transfer``, in minor units."""
    before, after = session.execute(
        select(Entry.balance_before_minor, Entry.balance_after_minor).where(
            Entry.transfer_id == transfer.id, Entry.account_id == account_id
        )
    ).one()
    assert before is not None and after is not None, "a wallet's entry keeps its balances"
    return before, after


def wallet_credited(session: Session, transfer: Transfer, owner_id: str) -> list[int]:
    """Money was added to the customer's wallet."""
    if not _wanted(WALLET_CREDITED):
        return []
    _, after = _wallet_balance(session, transfer, transfer.to_account_id)
    return _wallet_mail(session, WALLET_CREDITED, transfer, owner_id, after)


def wallet_debited(session: Session, transfer: Transfer, owner_id: str) -> list[int]:
    """Money left the customer's wallet; and, if its balance just fell below
    ``PARTIALPAY_LOW_BALANCE``, the low balance e-mail."""
    wants_debit, wants_low = _wanted(WALLET_DEBITED), _wanted(LOW_BALANCE)
    if not (wants_debit or wants_low):
        return []
    before, after = _wallet_balance(session, transfer, transfer.from_account_id)
    queued = []
    if wants_debit:
        queued += _wallet_mail(session, WALLET_DEBITED, transfer, owner_id, after)
    threshold = low_balance_minor(transfer.currency)
    # Once per crossing: only the movement that took it from at least the threshold to
    # below it, so a low wallet spent further, or topped up a little, is not told again.
    if wants_low and threshold is not None and before >= threshold > after:
        queued += _for_customer(
            session,
            LOW_BALANCE,
            str(transfer.id),
            owner_id,
            {"balance": _Money(after, transfer.currency)},
            {
                "balance": money.from_minor(after, transfer.currency),
                "threshold": money.from_minor(threshold, transfer.currency),
                "currency": transfer.currency,
            },
        )
    return queued


def _wanted(event: str) -> bool:
    return mail_context.current() is not None and event_enabled(event)


def _wallet_mail(
    session: Session, event: str, transfer: Transfer, owner_id: str, balance_minor: int
) -> list[int]:
    return _for_customer(
        session,
        event,
        str(transfer.id),
        owner_id,
        {"amount": _Money(transfer.amount_minor, transfer.currency)},
        {
            "transfer": transfer,
            "balance": money.from_minor(balance_minor, transfer.currency),
            "currency": transfer.currency,
        },
    )


def low_balance_minor(currency: str) -> int | None:
    """``PARTIALPAY_LOW_BALANCE`` for ``currency`` in minor units; None: no threshold."""
    thresholds = setting("LOW_BALANCE")
    if not thresholds:
        return None
    raw = thresholds.get(currency, thresholds.get("*"))
    if raw is None:
        return None
    return threshold_minor(raw, currency)


def threshold_minor(raw: str | int | Decimal, currency: str) -> int:
    """A threshold in major units in ``currency``'s minor units, rounded up: a ``"*"`` of
    ``"9.50"`` is ¥10 in JPY, which has no minor unit. Checked at ``init_app``."""
    if isinstance(raw, str):
        money.check_plain_number(raw)
    elif isinstance(raw, bool) or not isinstance(raw, (int, Decimal)):
        raise TypeError('write a threshold as a string: "10.00"')
    number = Decimal(raw)
    if not number.is_finite() or number < 0:
        raise ValueError(f"not a threshold: {raw!r}")
    scaled = number.scaleb(money.currency_exponent(currency))
    return int(scaled.to_integral_value(rounding=ROUND_CEILING))


class _Money:
    """An amount formatted in the reader's locale when the subject is translated."""

    def __init__(self, minor: int, currency: str) -> None:
        self.minor = minor
        self.currency = currency

    def __str__(self) -> str:
        return format_money(money.from_minor(self.minor, self.currency), self.currency)


# -- the plan events, for the code that runs due instalments --------------------------------


def _instalment_values(
    order: OrderRecord, number: int, amount_minor: int, **more: Any
) -> dict[str, Any]:
    return {
        "order": order,
        "number": number,
        "amount": money.from_minor(amount_minor, order.currency),
        **more,
    }


def instalment_due(
    session: Session,
    order: OrderRecord,
    number: int,
    amount_minor: int,
    due_on: date,
    pay_url: str,
    *,
    charged_to: SavedCard | None = None,
) -> list[int]:
    """Remind the customer that instalment ``number`` (``amount_minor``) is due on ``due_on``.

    Once per instalment and due date: a reminder sent again for a due date that moved is
    a new e-mail. ``pay_url`` is the page where it is paid; ``charged_to``, the saved card
    automatic payments will charge that day (the e-mail then says there is nothing to do).
    Returns the queued e-mails' ids.
    """
    return _for_customer(
        session,
        INSTALMENT_DUE,
        f"{order.reference}:{number}:{due_on.isoformat()}",
        order.customer_id,
        {"number": number, "order": order.reference, "date": _LongDate(due_on)},
        _instalment_values(
            order,
            number,
            amount_minor,
            due_on=due_on,
            pay_url=pay_url,
            autopay_card=None if charged_to is None else _CardName(charged_to),
        ),
    )


def instalment_charged(
    session: Session, order: OrderRecord, number: int, amount_minor: int
) -> list[int]:
    """Tell the customer their saved card was charged for instalment ``number``. Once per
    instalment."""
    return _for_customer(
        session,
        INSTALMENT_CHARGED,
        f"{order.reference}:{number}",
        order.customer_id,
        {"number": number, "order": order.reference},
        _instalment_values(order, number, amount_minor),
    )


def instalment_charge_failed(
    session: Session,
    order: OrderRecord,
    number: int,
    amount_minor: int,
    attempt: int,
    pay_url: str,
    *,
    reason: str | None = None,
    next_try_on: date | None = None,
) -> list[int]:
    """Tell the customer the automatic charge of instalment ``number`` failed, with the
    link to pay it by hand (``pay_url``), why (``reason``, already in words for them) and
    when it is tried again (``next_try_on``; None: no more tries). Once per attempt."""
    return _for_customer(
        session,
        INSTALMENT_CHARGE_FAILED,
        f"{order.reference}:{number}:{attempt}",
        order.customer_id,
        {"number": number, "order": order.reference},
        _instalment_values(
            order,
            number,
            amount_minor,
            pay_url=pay_url,
            reason=reason,
            next_try_on=next_try_on,
        ),
    )


def instalment_overdue(
    session: Session,
    order: OrderRecord,
    number: int,
    amount_minor: int,
    due_on: date,
    pay_url: str,
) -> list[int]:
    """Tell the customer instalment ``number`` is overdue, with a copy to
    ``PARTIALPAY_MAIL_ADMIN``. Once per instalment."""
    return _for_customer(
        session,
        INSTALMENT_OVERDUE,
        f"{order.reference}:{number}",
        order.customer_id,
        {"number": number, "order": order.reference},
        _instalment_values(order, number, amount_minor, due_on=due_on, pay_url=pay_url),
        copy_admins=True,
    )


def instalment_long_overdue(
    session: Session,
    order: OrderRecord,
    number: int,
    amount_minor: int,
    due_on: date,
    overdue_since: date,
) -> list[int]:
    """Tell the shop's staff (``PARTIALPAY_MAIL_ADMIN``) that instalment ``number`` is still
    unpaid, overdue since ``overdue_since`` (``PARTIALPAY_PLAN_OVERDUE_ACTION`` is
    ``notify_admin``). Once per instalment."""
    context = mail_context.current()
    if context is None or not event_enabled(INSTALMENT_LONG_OVERDUE):
        return []
    return _queue(
        session,
        context,
        event=INSTALMENT_LONG_OVERDUE,
        key=f"{order.reference}:{number}",
        recipients=_admins(),
        customer_id=order.customer_id,
        subject_params={
            "number": number,
            "order": order.reference,
            "date": _LongDate(overdue_since),
        },
        values=_instalment_values(
            order, number, amount_minor, due_on=due_on, overdue_since=overdue_since
        ),
    )


class _CardName:
    """A saved card named in the reader's language ("Visa •••• 4242") when it is rendered."""

    def __init__(self, card: SavedCard) -> None:
        self.card = card

    def __str__(self) -> str:
        return card_label(self.card)


class _LongDate:
    """A date written in the reader's locale when the subject is translated."""

    def __init__(self, day: date) -> None:
        self.day = day

    def __str__(self) -> str:
        return rendering.long_date(self.day)


def instalment_waived(
    session: Session, order: OrderRecord, number: int, amount_minor: int, reason: str
) -> list[int]:
    """Tell the customer the shop waived ``amount_minor`` (what was left) of instalment
    ``number``, and why (``reason``, the admin's words). Once per instalment."""
    return _for_customer(
        session,
        INSTALMENT_WAIVED,
        f"{order.reference}:{number}",
        order.customer_id,
        {"number": number, "order": order.reference},
        _instalment_values(order, number, amount_minor, reason=reason),
    )
