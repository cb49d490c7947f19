"""A card gateway that charges saved cards off session, counting each call by its key.

It stands for a processor such as Stripe: a call with a key it has answered is answered
again the same way without taking money twice, and it knows which keys it charged.
``answers`` says what the next calls get: ``"accept"`` (the charge is sent; the shop
learns its outcome later), ``"decline"``, ``"authenticate"`` (the bank wants the
cardholder) or ``"lose"`` (the processor acts, the answer never arrives). With
``log_path`` each call also appends its key to a file (one short line per write, so the
appends of several processes do not interleave).
"""

from __future__ import annotations

from collections import Counter, deque
from pathlib import Path
from typing import Any

from flask_partialpay.core.errors import CardAuthenticationRequired, CardDeclined
from flask_partialpay.payments.gateways.base import NoCallbacks, NoRefunds, StartOutcome
from flask_partialpay.payments.models import Payment
from tests.unit import bare

NAME = "fakecard"


class FakeCards(NoCallbacks, NoRefunds):
    name = NAME
    confirmed_by_manager = False
    supports_refund = False

    def __init__(self, log_path: Path | None = None) -> None:
        self.log_path = log_path
        self.answers: deque[str] = deque()
        self.default = "accept"
        #: Every call's key, in order (repeats included).
        self.keys: list[str] = []
        #: What each call was for: (key, amount in minor units, return URL).
        self.seen: list[tuple[str, int, str]] = []
        #: Keys whose first call charged the card (a repeat answers, charges nothing).
        self.charged: dict[str, str] = {}
        #: Calls made while the shop's session had a transaction open (must stay empty).
        self.inside_transaction: list[str] = []

    def label(self) -> str:
        return "Fake card"

    def start(self, payment: Payment) -> StartOutcome:
        return StartOutcome(redirect_url=payment.return_url)

    def charge_saved_card(self, payment: Payment, saved_card: Any, *, return_url: str) -> str:
        key = f"fake-{payment.public_id}"
        if bare.db.session().in_transaction():
            self.inside_transaction.append(key)
        self.keys.append(key)
        self.seen.append((key, payment.amount_minor, return_url))
        if self.log_path is not None:
            with open(self.log_path, "a", encoding="ascii") as log:
                log.write(f"{key}\n")
        if key in self.charged:
            return self.charged[key]
        answer = self.answers.popleft() if self.answers else self.default
        if answer == "decline":
            raise CardDeclined()
        if answer == "authenticate":
            raise CardAuthenticationRequired()
        reference = f"ch_{payment.public_id[:20]}"
        self.charged[key] = reference
        if answer == "lose":
            raise ConnectionError("the answer was lost on the way back")
        return reference

    def calls_per_key(self) -> Counter[str]:
        return Counter(self.keys)
