"""What a wallet statement line says, in the reader's language.

A transfer stores its memo as the shop wrote it: a message id of the extension's catalog
("For order payment #%(reference)s (Partial)"), or for an adjustment the reason an admin
typed. The statement shows it translated with the order's number filled in; the pages, the
CSV and :class:`flask_partialpay.wallets.StatementLine` all say it through :func:`describe`.
"""

from __future__ import annotations

from flask_partialpay.core.markers import N_
from flask_partialpay.core.vocabulary import TransferReason
from flask_partialpay.host.i18n import gettext

ADJUSTMENT = TransferReason.ADJUSTMENT

# What a statement line says when its transfer has no memo, by the transfer's reason.
REASON_LABELS: dict[str, str] = {
    TransferReason.TOPUP: N_("Wallet top-up"),
    TransferReason.TOPUP_REFUND: N_("Wallet top-up refunded to the card"),
    TransferReason.ORDER_PAYMENT: N_("Order payment"),
    TransferReason.REFUND: N_("Refund"),
    TransferReason.OVERPAYMENT: N_("Overpayment credited"),
    ADJUSTMENT: N_("Adjustment"),
    TransferReason.REVERSAL: N_("Correction"),
}


def reason_label(reason: str) -> str:
    """The kind of movement, in the reader's language."""
    return gettext(REASON_LABELS.get(reason, N_("Adjustment")))


def message_params(memo: str, reference: str | None) -> dict[str, str]:
    """The values a memo's placeholders are filled with (the order's number)."""
    return {"reference": reference or ""} if "%(reference)s" in memo else {}


def describe(reason: str, memo: str, reference: str | None = None) -> str:
    """What a statement line says: the transfer's memo, translated when the shop wrote it.

    An adjustment's memo is the reason an admin typed, shown as written. The shop's memos
    may name the order ("For order payment #%(reference)s (Partial)"): the number is filled
    in after translation, so the catalogs hold one message, not one per order.
    """
    if not memo:
        return reason_label(reason)
    if reason == ADJUSTMENT:
        return memo
    text = gettext(memo)
    return text % {"reference": reference or ""} if "%(reference)s" in text else text
