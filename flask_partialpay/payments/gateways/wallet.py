"""The "Wallet" gateway: pay an order (or what is left of it) from the wallet balance.

The money leaves the wallet in the transaction that records the payment, guarded by the
spendable balance and the wallet's lock, so the payment succeeds at once or is refused
and nothing is recorded. It is the shop's own ledger, not a processor: unlike the other
gateways it works inside the extension's transactions. Refunds go back to the same
wallet. The wallet part applied at checkout ("Via wallet") is a payment of this gateway
too, but it is held rather than taken: see :mod:`..wallet_parts`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING

from flask_partialpay.core.errors import PaymentError
from flask_partialpay.core.markers import N_
from flask_partialpay.core.money import to_minor
from flask_partialpay.core.vocabulary import WALLET_GATEWAY, OrderPurpose, TransferReason
from flask_partialpay.host.i18n import gettext
from flask_partialpay.ledger import wallet_accounts
from flask_partialpay.payments.gateways.base import NoCallbacks, StartOutcome

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from flask_partialpay.payments.models import Payment

NAME = WALLET_GATEWAY
# Statement lines; the order number is filled in when the line is shown.
FULL_MEMO = N_("For order payment #%(reference)s")
PARTIAL_MEMO = N_("For order payment #%(reference)s (Partial)")
REFUND_MEMO = N_("Refund for order #%(reference)s")


class WalletGateway(NoCallbacks):
    name = NAME
    confirmed_by_manager = False
    supports_refund = True

    def __init__(self, session: Callable[[], Session]) -> None:
        self._session = session

    def label(self) -> str:
        return gettext("Wallet")

    def start(self, payment: Payment) -> StartOutcome:
        # The money moved in the transaction that recorded the payment (see take()).
        return StartOutcome(redirect_url=payment.return_url)

    def take(self, payment: Payment) -> None:
        """Take ``payment`` from the wallet, in the transaction that records it.

        The wallet is the shop's own ledger, not a processor across a network, so this
        (and :meth:`refund`) runs inside the transaction, where a refused debit refuses
        the whole payment.
        """
        if payment.order.purpose != OrderPurpose.ORDER:
            raise PaymentError(N_("Wallet credit cannot be bought with wallet credit."))
        # Keyed by the payment: taking the same payment again finds the debit made.
        wallet_accounts.debit(
            self._session(),
            payment.customer_id,
            payment.amount_minor,
            payment.currency,
            reason=TransferReason.ORDER_PAYMENT,
            idempotency_key=f"wallet-payment:{payment.public_id}",
            memo=FULL_MEMO,
            reference=payment.order.reference,
        )

    def refund(self, payment: Payment, amount: Decimal, *, idempotency_key: str) -> str:
        transfer = wallet_accounts.credit(
            self._session(),
            payment.customer_id,
            to_minor(amount, payment.currency),
            payment.currency,
            reason=TransferReason.REFUND,
            idempotency_key=f"wallet-refund:{idempotency_key}",
            memo=REFUND_MEMO,
            reference=payment.order.reference,
        )
        return f"transfer-{transfer.id}"
