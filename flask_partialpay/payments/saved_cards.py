"""Saved cards: a processor's references to a shopper's card, kept with their consent.

A card is saved only when the shopper ticked "Save this card" and the payment it paid
succeeded; a later payment of theirs may then be charged to it in one click, or off-session
by a payment plan. The shop never holds card data: a :class:`SavedCard` is the processor's
customer and payment method ids, and what the shopper needs to recognise the card (brand,
last four digits, expiry). :class:`ProcessorCustomer` is the processor's customer made for
one shop customer, kept from the first consent so that every card of theirs hangs on the
same one.

Generic to gateways (the column ``gateway`` says whose references they are); the calls to
the processor are the gateway's, made outside these transactions.
"""

from __future__ import annotations

import re
import secrets
from datetime import date, datetime

from sqlalchemy import Integer, String, UniqueConstraint, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from flask_partialpay.core.errors import PaymentError
from flask_partialpay.db.base import PartialPayModel, UTCDateTime, utcnow
from flask_partialpay.db.transactions import insert_or_winner, update_rows

# A processor's ids (Stripe's "cus_…" and "pm_…" are under 30 characters).
REFERENCE_LENGTH = 64
BRAND_LENGTH = 32
# Exactly four digits: the display part of a card number, and nothing longer can be stored.
_LAST4 = re.compile(r"[0-9]{4}\Z")


class ProcessorCustomer(PartialPayModel):
    """The processor's customer that holds one shop customer's saved cards."""

    __tablename__ = "partialpay_processor_customer"
    __table_args__ = (UniqueConstraint("gateway", "customer_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    gateway: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[str] = mapped_column(String(64))
    processor_customer: Mapped[str] = mapped_column(String(REFERENCE_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SavedCard(PartialPayModel):
    """A card a shopper agreed to keep for their next payments: references, never card data.

    ``removed_at`` is set when the shopper removes it; the row stays, so that the
    processor's payment method is never saved again under another row.
    """

    __tablename__ = "partialpay_saved_card"
    __table_args__ = (UniqueConstraint("gateway", "payment_method"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What the pages' URLs name (the sequential id would tell how many cards the shop keeps).
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    gateway: Mapped[str] = mapped_column(String(32))
    processor_customer: Mapped[str] = mapped_column(String(REFERENCE_LENGTH))
    payment_method: Mapped[str] = mapped_column(String(REFERENCE_LENGTH))
    # The processor's brand code ("visa", "mastercard", "amex", ...).
    brand: Mapped[str] = mapped_column(String(BRAND_LENGTH))
    last4: Mapped[str] = mapped_column(String(4))
    exp_month: Mapped[int] = mapped_column(Integer)
    exp_year: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    @property
    def removed(self) -> bool:
        return self.removed_at is not None

    def expired(self, on: date) -> bool:
        """Whether the card's expiry month is over on ``on`` (it is good to its last day)."""
        return (self.exp_year, self.exp_month) < (on.year, on.month)


def saved_cards(
    session: Session, customer_id: str, *, gateway: str | None = None
) -> list[SavedCard]:
    """The customer's saved cards (not removed), oldest first; of one gateway when given."""
    query = select(SavedCard).where(
        SavedCard.customer_id == customer_id, SavedCard.removed_at.is_(None)
    )
    if gateway is not None:
        query = query.where(SavedCard.gateway == gateway)
    return list(session.scalars(query.order_by(SavedCard.id)))


def saved_card(session: Session, customer_id: str, public_id: str) -> SavedCard | None:
    """The customer's saved card with this public id; None if it is another's or removed."""
    card = session.scalars(select(SavedCard).where(SavedCard.public_id == public_id)).one_or_none()
    if card is None or card.customer_id != customer_id or card.removed:
        return None
    return card


def save_card(
    session: Session,
    *,
    customer_id: str,
    gateway: str,
    processor_customer: str,
    payment_method: str,
    brand: str,
    last4: str,
    exp_month: int,
    exp_year: int,
) -> SavedCard:
    """Keep a card for ``customer_id``; saving the same payment method again finds its row.

    The row found is returned as it is, removed or not: a payment method the shopper
    removed is not brought back by a late notification of the payment that saved it.
    A payment method already saved for another customer is refused (it cannot be theirs).
    """
    if not _LAST4.match(last4):
        raise ValueError("last4 must be the last four digits of the card, and only those")
    if not 1 <= exp_month <= 12:
        raise ValueError(f"exp_month must be 1 to 12, not {exp_month}")
    card = SavedCard(
        public_id=secrets.token_hex(16),
        customer_id=customer_id,
        gateway=gateway,
        processor_customer=processor_customer,
        payment_method=payment_method,
        brand=brand[:BRAND_LENGTH],
        last4=last4,
        exp_month=exp_month,
        exp_year=exp_year,
    )
    found, _inserted = insert_or_winner(
        session,
        card,
        select(SavedCard).where(
            SavedCard.gateway == gateway, SavedCard.payment_method == payment_method
        ),
    )
    if found.customer_id != customer_id:
        raise PaymentError("This card is saved for another customer.")
    return found


def remove_card(session: Session, card: SavedCard) -> bool:
    """Mark the card removed; False if it was already (a second click changes nothing)."""
    removed = update_rows(
        session,
        update(SavedCard)
        .where(SavedCard.id == card.id, SavedCard.removed_at.is_(None))
        .values(removed_at=utcnow()),
    )
    session.refresh(card)
    return removed == 1


def processor_customer(session: Session, gateway: str, customer_id: str) -> str | None:
    """The processor's customer kept for this shop customer, if one was made."""
    return session.scalar(
        select(ProcessorCustomer.processor_customer).where(
            ProcessorCustomer.gateway == gateway, ProcessorCustomer.customer_id == customer_id
        )
    )


def keep_processor_customer(
    session: Session, gateway: str, customer_id: str, reference: str
) -> str:
    """Record the processor's customer made for ``customer_id``; the one kept wins.

    Two first consents at once may each have had a customer made (a processor that
    ignores the idempotency key does that): the first recorded is the one every card uses.
    """
    row, _inserted = insert_or_winner(
        session,
        ProcessorCustomer(gateway=gateway, customer_id=customer_id, processor_customer=reference),
        select(ProcessorCustomer).where(
            ProcessorCustomer.gateway == gateway, ProcessorCustomer.customer_id == customer_id
        ),
    )
    return row.processor_customer
