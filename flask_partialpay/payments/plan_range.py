"""What a single payment on an order may be: at least the first minimum, at most what is due.

For an instalment order the first payments together (confirmed and awaiting confirmation)
must reach the minimum copied from the offer's policy; once they have, any amount up to
what is due is accepted. An offer bought without instalments is paid in full in one
payment; a host's own order takes any amount up to what is due (the host decides).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask_partialpay.core.money import (
    from_minor,
)
from flask_partialpay.payments.models import OrderRecord


@dataclass(frozen=True)
class PaymentRange:
    """What the next payment towards an order may be, in the order's currency."""

    minimum: Decimal
    maximum: Decimal
    #: The order is paid in parts: the shopper may choose the amount.
    partial: bool
    #: The minimum of a first payment applies (nothing counted towards it yet).
    first: bool


def payment_range(account: OrderRecord, *, counted_minor: int, room_minor: int) -> PaymentRange:
    """The allowed amounts of the next payment.

    ``counted_minor``: what the order's payments already put towards the first minimum
    (paid, held, and awaiting a manager). ``room_minor``: what may still be asked for.
    An instalment order takes any amount from what is left of the minimum (one cent once it
    is reached) up to the room; an offer bought without instalments takes the room exactly;
    a host's own order takes any amount up to the room (the host decides).
    """
    currency = account.currency
    room = max(room_minor, 0)
    if account.instalments:
        still_to_reach = account.minimum_first_minor - counted_minor
        smallest = max(min(still_to_reach, room), 1)
        return PaymentRange(
            minimum=from_minor(smallest, currency),
            maximum=from_minor(room, currency),
            partial=True,
            first=still_to_reach > 0,
        )
    if account.offer_id is not None:
        return PaymentRange(
            from_minor(max(room, 1), currency), from_minor(room, currency), False, False
        )
    return PaymentRange(from_minor(1, currency), from_minor(room, currency), False, False)
