"""Signed "Buy" and "Complete Payment" links.

A link carries what it offers (an offer, with or without partial payment; an order to
finish paying) signed with the app's secret and the time it was made. Opening it checks
the signature (a tampered or forged link is refused) and its age. A valid signature is
not authorisation: a link made for one customer is refused to everyone else, and the
pages behind it check again who is asking.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from flask_partialpay.core.errors import LinkError, LinkExpired
from flask_partialpay.host.config import setting

# Each kind of link has its own salt: a Buy token is never accepted as a Complete token.
_BUY = "partialpay.buy-link"
_COMPLETE = "partialpay.complete-payment-link"


@dataclass(frozen=True)
class BuyLink:
    """A "Buy" button: the offer, whether partial payment is allowed, and for whom.

    ``customer_id`` None: anyone signed in may use it (a page block on a landing page).
    """

    offer_id: str
    allow_partial: bool
    customer_id: str | None = None


@dataclass(frozen=True)
class CompleteLink:
    """A "Complete Payment" button: one customer's order, to pay what is still due."""

    customer_id: str
    reference: str


def _serializer(salt: str) -> URLSafeTimedSerializer:
    secret = setting("LINK_SECRET") or current_app.config.get("SECRET_KEY")
    if not secret:
        raise RuntimeError("Set SECRET_KEY (or PARTIALPAY_LINK_SECRET) to sign payment links.")
    return URLSafeTimedSerializer(secret, salt=salt)


def _load(salt: str, token: str) -> Any:
    try:
        return _serializer(salt).loads(token, max_age=int(setting("LINK_MAX_AGE")))
    except SignatureExpired:
        raise LinkExpired() from None
    except BadSignature:
        raise LinkError() from None


def sign_buy(link: BuyLink) -> str:
    return str(
        _serializer(_BUY).dumps(
            {"o": link.offer_id, "p": int(link.allow_partial), "c": link.customer_id}
        )
    )


def read_buy(token: str) -> BuyLink:
    payload = _load(_BUY, token)
    try:
        offer_id, partial, customer_id = payload["o"], payload["p"], payload["c"]
    except (TypeError, KeyError):
        raise LinkError() from None
    if not isinstance(offer_id, str) or partial not in (0, 1):
        raise LinkError()
    if customer_id is not None and not isinstance(customer_id, str):
        raise LinkError()
    return BuyLink(offer_id, bool(partial), customer_id)


def sign_complete(link: CompleteLink) -> str:
    return str(_serializer(_COMPLETE).dumps({"c": link.customer_id, "r": link.reference}))


def read_complete(token: str) -> CompleteLink:
    payload = _load(_COMPLETE, token)
    try:
        customer_id, reference = payload["c"], payload["r"]
    except (TypeError, KeyError):
        raise LinkError() from None
    if not (isinstance(customer_id, str) and isinstance(reference, str)):
        raise LinkError()
    return CompleteLink(customer_id, reference)
